// Benchmarks' command lines: `--flag` and `--name=value`, with values checked where they are read, so
// `--rounds=3O` or `--rounds 30` fails at once with a message naming it rather than running the wrong
// benchmark for minutes. Unknown options are not refused: `npm run bench` hands the same options to every
// benchmark it runs, each reading the ones it knows. A repeated option: the last one counts.

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
  /** `--name=<JSON object>`, or `{}` when absent; throws a SyntaxError or TypeError naming the value otherwise. */
  object(name: string, example: string): Record<string, unknown>;
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
  const option = (name: string) => argv.findLast((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  // An option read for a value, given as a bare `--name` (or `--name value`): refused, not defaulted.
  const valued = (name: string) => {
    if (argv.includes(`--${name}`)) throw new RangeError(`--${name}: expected a value, as --${name}=<value>`);
    return option(name);
  };
  return {
    flag: (name) => argv.includes(`--${name}`),
    option: valued,
    number(name, fallback, range) {
      const text = valued(name);
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
      const text = valued(name);
      if (text === undefined) return fallback;
      const found = choices.find((c) => c === text);
      if (found === undefined) throw new RangeError(`--${name}=${text}: expected one of ${choices.join(', ')}`);
      return found;
    },
    object(name, example) {
      const text = valued(name);
      if (text === undefined) return {};
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new SyntaxError(`--${name}=${text}: not JSON (${(error as Error).message}), e.g. --${name}='${example}'`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new TypeError(`--${name}=${text}: expected a JSON object, e.g. --${name}='${example}'`);
      }
      return value as Record<string, unknown>;
    },
  };
}
