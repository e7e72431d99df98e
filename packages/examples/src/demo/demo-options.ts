// Demo (command line): the demo's flags, validated once and frozen. Consumes argv, the environment and
// whether stdout is a TTY; produces DemoOptions. Unknown flags are rejected with InvalidArgumentError.

import { InvalidArgumentError } from '@clusterip/resolver';

/**
 * The scenes, in the order the demo plays them.
 *
 * @example
 * ```ts
 * const only: SceneId[] = ['scale', 'rollout']
 * ```
 */
export const SCENE_IDS = ['traffic', 'scale', 'rollout', 'crash', 'affinity', 'topology', 'mismatch'] as const;

/** One of {@link SCENE_IDS}. */
export type SceneId = (typeof SCENE_IDS)[number];

/** What the demo was asked to do. */
export interface DemoOptions {
  /** Non-interactive: summaries instead of a live table, one pass, exit 0 only when every outcome held. */
  readonly once: boolean;
  /** Use the cluster of this kubeconfig instead of starting the embedded one. */
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  /** Where the OpenTelemetry spans go (JSON lines). */
  readonly otelOut: string;
  /** Scenes to play (in the demo's order, whatever the order given); undefined: all. */
  readonly scenes: readonly SceneId[] | undefined;
  /** Requests per second of the frontend's steady loop. */
  readonly rate: number;
  /** The pretend frontend pod's node (its zone is read from the Node). */
  readonly node: string | undefined;
  readonly help: boolean;
}

/**
 * `--help` text.
 *
 * @example
 * ```ts
 * if (options.help) process.stdout.write(`${USAGE}\n`)
 * ```
 */
export const USAGE = `usage: npm run demo -- [options]

  --once                 non-interactive: one summary per scene, exit 0 when every outcome held
                         (also when stdout is not a terminal)
  --kubeconfig <file>    run against that cluster (manifests applied there) instead of the embedded one
  --context <name>       kubeconfig context (default: its current-context)
  --otel-out <file>      where the OpenTelemetry spans go, as JSON lines (default .clusterip/demo-traces.jsonl)
  --scenes <a,b,...>     play only these scenes (traffic, scale, rollout, crash, affinity, topology, mismatch)
  --rate <n>             frontend requests per second, 10-2000 (default 200)
  --node <name>          the node the frontend pretends to run on (topology scene; default: NODE_NAME,
                         else the node of a backend pod)
  --help                 this text`;

const FLAGS = new Set(['once', 'kubeconfig', 'context', 'otel-out', 'scenes', 'rate', 'node', 'help']);
const BOOLEAN = new Set(['once', 'help']);

/**
 * Parse the demo's arguments (`--flag value` or `--flag=value`).
 *
 * @example
 * ```ts
 * const options = parseDemoArgs(['--once', '--kubeconfig', 'kind.yaml'], { isTTY: false, env: process.env })
 * ```
 */
export function parseDemoArgs(
  argv: readonly string[],
  env: { readonly isTTY: boolean; readonly env: Readonly<Record<string, string | undefined>> },
): DemoOptions {
  const values = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (m === null)
      throw new InvalidArgumentError('argv', `demo: unexpected argument ${JSON.stringify(arg)}; see --help`);
    const name = m[1] ?? '';
    if (!FLAGS.has(name)) throw new InvalidArgumentError(name, `demo: unknown option --${name}; see --help`);
    if (BOOLEAN.has(name)) {
      if (m[2] !== undefined) throw new InvalidArgumentError(name, `demo: --${name} takes no value, got ${m[2]}`);
      values.set(name, true);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === '' || (m[2] === undefined && value.startsWith('--'))) {
      throw new InvalidArgumentError(name, `demo: --${name} needs a value`);
    }
    values.set(name, value);
  }
  const str = (name: string) => {
    const v = values.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const rateText = str('rate');
  const rate = rateText === undefined ? 200 : Number(rateText);
  if (!Number.isInteger(rate) || rate < 10 || rate > 2000) {
    throw new InvalidArgumentError('rate', `demo: --rate must be an integer from 10 to 2000, got ${rateText}`);
  }
  const scenesText = str('scenes');
  const scenes = scenesText
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = (scenes ?? []).filter((s) => !(SCENE_IDS as readonly string[]).includes(s));
  if (unknown.length > 0 || scenes?.length === 0) {
    throw new InvalidArgumentError(
      'scenes',
      `demo: unknown scene ${unknown.join(', ') || '(none given)'}; scenes: ${SCENE_IDS.join(', ')}`,
    );
  }
  return Object.freeze({
    once: values.get('once') === true || !env.isTTY,
    kubeconfig: str('kubeconfig'),
    context: str('context'),
    otelOut: str('otel-out') ?? '.clusterip/demo-traces.jsonl',
    scenes: scenes === undefined ? undefined : Object.freeze(scenes as SceneId[]),
    rate,
    node: str('node') ?? (env.env.NODE_NAME || undefined),
    help: values.get('help') === true,
  });
}
