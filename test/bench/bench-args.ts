// Benchmarks' command lines: `--flag` and `--name=value`, with values checked where they are read, so
// `--rounds=3O` fails at once with a message naming it rather than running no rounds (NaN) for minutes.
// Unknown options are not refused: `npm run bench` hands the same options to every benchmark it runs,
// each reading the ones it knows.

/** Bounds of a numeric option. */
export interface NumberRange {
  readonly min: number;
  readonly max: number;
  /** Whole numbers only. */
  readonly integer?: boolean;
}

/** A benchmark's view of its arguments. */
export interface BenchArgs {
  /** Whether `--name` is given. */
  flag(name: string): boolean;
  /** The value of `--name=value`, or undefined. */
  option(name: string): string | undefined;
  /** `--name=<number>` within `range`, or `fallback` when absent; throws a RangeError naming the value otherwise. */
  number(name: string, fallback: number, range: NumberRange): number;
  /** `--name=<one of choices>`, or `fallback` when absent; throws a RangeError listing the choices otherwise. */
  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T;
}

/**
 * Read `argv` (without node and the script) as a benchmark's options.
 *
 * @example
 * ```ts
 * const args = benchArgs(process.argv.slice(2))
 * const rounds = args.number('rounds', 4, { min: 1, max: 1000, integer: true })
 * ```
 */
export function benchArgs(argv: readonly string[]): BenchArgs {
  const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return {
    flag: (name) => argv.includes(`--${name}`),
    option,
    number(name, fallback, range) {
      const text = option(name);
      if (text === undefined) return fallback;
      const value = text.trim() === '' ? Number.NaN : Number(text);
      const kind = range.integer === true ? 'a whole number' : 'a number';
      if (
        !Number.isFinite(value) ||
        value < range.min ||
        value > range.max ||
        (range.integer === true && !Number.isInteger(value))
      ) {
        throw new RangeError(
          `--${name}=${text}: expected ${kind} from ${range.min} to ${range.max}, e.g. --${name}=${fallback}`,
        );
      }
      return value;
    },
    choice(name, choices, fallback) {
      const text = option(name);
      if (text === undefined) return fallback;
      const found = choices.find((c) => c === text);
      if (found === undefined) throw new RangeError(`--${name}=${text}: expected one of ${choices.join(', ')}`);
      return found;
    },
  };
}
