// CLI: argument parsing (node:util parseArgs) with the flags every command shares, and validation of
// values. Consumes argv after the command name; produces validated, frozen options or InvalidArgumentError.

import { parseArgs } from 'node:util';
import { InvalidArgumentError, parseServiceTarget, validateNamespace } from '@clusterip/resolver';

/** `parseArgs` option descriptors. */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/**
 * The flags every command accepts (node:util parseArgs descriptors).
 *
 * @example
 * ```ts
 * parseArgs({ args, options: { ...COMMON_OPTIONS, port: { type: 'string' } } })
 * ```
 */
export const COMMON_OPTIONS: OptionSpec = {
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  output: { type: 'string', short: 'o' },
  node: { type: 'string' },
  zone: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/**
 * Help text of the shared flags, appended to every command's `--help`.
 *
 * @example
 * ```ts
 * io.stdout(`${RESOLVE_HELP}\n${COMMON_HELP}`)
 * ```
 */
export const COMMON_HELP = `Common flags:
  -n, --namespace <ns>    namespace of this client (default: the kubeconfig context's, else default)
      --kubeconfig <file> kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account);
                          exec-plugin and OIDC users need: npm install @kubernetes/client-node
      --context <name>    kubeconfig context (default: current-context)
  -o, --output text|json  output format (default text)
      --node <name>       node of this client, for internalTrafficPolicy Local and hints (default: $NODE_NAME)
      --zone <zone>       zone of this client, for topology hints (default: $NODE_ZONE, else the node's label)
  -h, --help              show help`;

/** The shared flags after validation. */
export interface CommonOptions {
  readonly namespace: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  readonly output: 'text' | 'json';
  readonly node: string | undefined;
  readonly zone: string | undefined;
  readonly help: boolean;
}

/** Parsed arguments of one command. */
export interface ParsedArgs {
  readonly common: CommonOptions;
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly positionals: readonly string[];
}

function usage(command: string, option: string, what: string): InvalidArgumentError {
  return new InvalidArgumentError(option, `clusterip ${command}: ${what}: see clusterip ${command} --help`);
}

/**
 * Parse `argv` for `command` with the shared flags plus `extra`. Unknown flags, missing values and
 * bad shared values throw {@link InvalidArgumentError} (exit 2) naming the flag.
 *
 * @example
 * ```ts
 * const args = parseCommandArgs('resolve', ['web', '-n', 'prod', '-o', 'json'], { port: { type: 'string' } })
 * args.common.namespace // 'prod'
 * ```
 */
export function parseCommandArgs(command: string, argv: readonly string[], extra: OptionSpec = {}): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...COMMON_OPTIONS, ...extra },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const flag = /'([^']+)'/.exec(e.message ?? '')?.[1] ?? 'argument';
    const name = flag.split(',').pop()?.trim().split(' ')[0] ?? flag;
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw usage(command, name, `unknown flag ${name}`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw usage(command, name, `flag ${name} needs a value`);
    throw usage(
      command,
      'argv',
      String(e.message ?? err)
        .toLowerCase()
        .replace(/\.$/, ''),
    );
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const output = (v.output as string | undefined) ?? 'text';
  if (output !== 'text' && output !== 'json') {
    throw usage(command, '--output', `--output must be text or json, got ${JSON.stringify(output)}`);
  }
  const namespace = v.namespace as string | undefined;
  if (namespace !== undefined) validateNamespace(namespace);
  for (const key of ['kubeconfig', 'context', 'node', 'zone']) {
    if (v[key] === '') throw usage(command, `--${key}`, `--${key} must not be empty`);
  }
  const common: CommonOptions = Object.freeze({
    namespace,
    kubeconfig: v.kubeconfig as string | undefined,
    context: v.context as string | undefined,
    output,
    node: v.node as string | undefined,
    zone: v.zone as string | undefined,
    help: v.help === true,
  });
  return Object.freeze({
    common,
    values: Object.freeze({ ...v }),
    positionals: Object.freeze([...parsed.positionals]),
  });
}

/**
 * Exactly `count` positionals, named for the message.
 *
 * @example
 * ```ts
 * const [name] = expectPositionals('resolve', args, ['name'])
 * ```
 */
export function expectPositionals(command: string, args: ParsedArgs, names: readonly string[]): string[] {
  if (args.positionals.length !== names.length) {
    const want = names.map((n) => `<${n}>`).join(' ');
    const got = args.positionals.length === 0 ? 'none' : args.positionals.map((p) => JSON.stringify(p)).join(' ');
    throw usage(command, names[0] ?? 'argv', `expected ${want}, got ${got}`);
  }
  return [...args.positionals];
}

/**
 * A positive integer flag (`--count 3`), or `fallback` when absent.
 *
 * @example
 * ```ts
 * const count = integerFlag('watch', args, 'count', 1, 1_000_000) // undefined when absent
 * ```
 */
export function integerFlag(
  command: string,
  args: ParsedArgs,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = args.values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || n < min || n > max) {
    throw usage(command, `--${name}`, `--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/**
 * A Service port flag: a number 1–65535 or a port name.
 *
 * @example
 * ```ts
 * portFlag('endpoints', args) // 8080, 'http' or undefined
 * ```
 */
export function portFlag(command: string, args: ParsedArgs): number | string | undefined {
  const raw = args.values.port;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw === '') throw usage(command, '--port', '--port needs a port number or name');
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n < 1 || n > 65_535) throw usage(command, '--port', `--port must be from 1 to 65535, got ${raw}`);
    return n;
  }
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(raw) || raw.length > 63) {
    throw usage(
      command,
      '--port',
      `--port must be a port number or a port name such as http, got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

/**
 * The target of a command and its Service port, from `<name>[:port]` and `--port`. A port given both ways
 * must agree: `web:http --port 80` is a usage error naming both, not a malformed name (`web:http:80`) or
 * a silent choice. The name is parsed (InvalidNameError, InvalidArgumentError for a bad one).
 *
 * @example
 * ```ts
 * targetAndPort('resolve', 'web', args) // { target: 'web:80', port: 80 } with --port 80
 * ```
 */
export function targetAndPort(
  command: string,
  name: string,
  args: ParsedArgs,
): { target: string; port: number | string | undefined } {
  const flag = portFlag(command, args);
  const named = parseServiceTarget(name).port;
  if (flag === undefined) return { target: name, port: named };
  if (named === undefined) {
    const target = `${name}:${flag}`;
    parseServiceTarget(target);
    return { target, port: flag };
  }
  if (String(named) !== String(flag)) {
    throw usage(
      command,
      '--port',
      `the port is given twice, ${JSON.stringify(String(named))} in ${JSON.stringify(name)} and --port ${flag}: give one`,
    );
  }
  return { target: name, port: named };
}
