// CLI `clusterip watch <service>`: live endpoint changes of one Service port with ISO timestamps,
// until SIGINT/SIGTERM, `--timeout-seconds` or `--count` changes. Consumes Resolver snapshots;
// produces `WatchEvent`s (model: `diffSnapshots`) and their text or NDJSON lines.

import {
  type Endpoint,
  endpointKey,
  findServicePort,
  type ServicePort,
  type ServiceSnapshot,
} from '@clusterip/resolver';
import { COMMON_HELP, expectPositionals, integerFlag, parseCommandArgs, targetAndPort } from './args.js';
import { connect } from './connect.js';
import { EXIT, EXIT_HELP, exitCodeFor } from './exit-codes.js';
import type { CliIo } from './io.js';
import { requireService } from './lookup.js';
import { writeError } from './render.js';

/**
 * `clusterip watch --help`.
 *
 * @example
 * ```ts
 * io.stdout(WATCH_HELP)
 * ```
 */
export const WATCH_HELP = `Usage: clusterip watch <service> [-n ns] [--port p] [--count N] [--timeout-seconds S] [flags]

Print one line per endpoint change of a Service port, with an ISO timestamp: endpoints added or
removed, readiness/serving/terminating flips, node or zone changes, the Service disappearing or
coming back, the API connection going stale. The first line ("watching") shows the current set.
With --output json every line is one JSON object (NDJSON). Stops on Ctrl-C/SIGTERM (exit 0).

Flags:
      --port <p>              Service port (number or name); default the only (or first) port
      --count <N>             exit after N changes
      --timeout-seconds <S>   exit after S seconds
${COMMON_HELP}

${EXIT_HELP}`;

/** One line of `watch` output. */
export interface WatchEvent {
  /** ISO 8601 timestamp. */
  readonly time: string;
  /**
   * `watching` (first line, not a change), `initial` (an endpoint present at start, not a change),
   * `added`, `removed`, `changed` (conditions, node, zone, hints), `status` (Service gone or back,
   * stale or recovered, a new reason for an empty set).
   */
  readonly type: 'watching' | 'initial' | 'added' | 'removed' | 'changed' | 'status';
  /** `address:port` */
  readonly endpoint?: string;
  readonly pod?: string;
  readonly node?: string;
  readonly zone?: string;
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
  /** For `changed`: `ready true→false`, … */
  readonly changes?: readonly string[];
  /** For `watching` and `status`. */
  readonly message?: string;
}

function endpointFields(e: Endpoint) {
  return {
    endpoint: endpointKey(e),
    ...(e.targetRef?.name === undefined ? {} : { pod: e.targetRef.name }),
    ...(e.nodeName === undefined ? {} : { node: e.nodeName }),
    ...(e.zone === undefined ? {} : { zone: e.zone }),
    ready: e.conditions.ready,
    serving: e.conditions.serving,
    terminating: e.conditions.terminating,
  };
}

function changesOf(a: Endpoint, b: Endpoint): string[] {
  const out: string[] = [];
  for (const k of ['ready', 'serving', 'terminating'] as const) {
    if (a.conditions[k] !== b.conditions[k]) out.push(`${k} ${a.conditions[k]}→${b.conditions[k]}`);
  }
  if (a.nodeName !== b.nodeName) out.push(`node ${a.nodeName ?? '<none>'}→${b.nodeName ?? '<none>'}`);
  if (a.zone !== b.zone) out.push(`zone ${a.zone ?? '<none>'}→${b.zone ?? '<none>'}`);
  const hints = (e: Endpoint) => `${e.hints?.forZones.join(',') ?? ''}/${e.hints?.forNodes.join(',') ?? ''}`;
  if (hints(a) !== hints(b)) out.push(`hints ${hints(a)}→${hints(b)}`);
  return out;
}

function statusOf(s: ServiceSnapshot): string {
  if (s.status === 'not-found') return 'service not found';
  if (s.status === 'unavailable') return `unavailable: ${s.error?.message ?? 'unknown'}`;
  if (s.stale) return `stale (serving the last known set): ${s.error?.message ?? 'api unreachable'}`;
  if (s.endpoints.length === 0 && s.reason !== undefined) return `${s.reason.code}: ${s.reason.message}`;
  return 'ok';
}

/**
 * The events between two snapshots of one watch (pure). With no previous snapshot: one `watching`
 * line and one `initial` line per endpoint.
 *
 * @example
 * ```ts
 * diffSnapshots(previous, next, Date.now(), 'web.shop:http') // [{ type: 'changed', changes: ['ready true→false'], ... }]
 * ```
 */
export function diffSnapshots(
  prev: ServiceSnapshot | undefined,
  next: ServiceSnapshot,
  now: number,
  label: string,
): WatchEvent[] {
  const time = new Date(now).toISOString();
  const events: WatchEvent[] = [];
  const nextStatus = statusOf(next);
  if (prev === undefined) {
    const ready = next.endpoints.filter((e) => e.conditions.ready).length;
    const state = nextStatus === 'ok' ? '' : `; ${nextStatus}`;
    events.push({
      time,
      type: 'watching',
      message: `${label}: ${next.endpoints.length} endpoints (${ready} ready)${state}`,
    });
    for (const e of next.endpoints) events.push({ time, type: 'initial', ...endpointFields(e) });
    return events;
  }
  if (statusOf(prev) !== nextStatus) events.push({ time, type: 'status', message: nextStatus });
  const before = new Map(prev.endpoints.map((e) => [endpointKey(e), e]));
  const after = new Map(next.endpoints.map((e) => [endpointKey(e), e]));
  for (const [key, e] of before) if (!after.has(key)) events.push({ time, type: 'removed', ...endpointFields(e) });
  for (const [key, e] of after) {
    const old = before.get(key);
    if (old === undefined) events.push({ time, type: 'added', ...endpointFields(e) });
    else {
      const changes = changesOf(old, e);
      if (changes.length > 0) events.push({ time, type: 'changed', ...endpointFields(e), changes });
    }
  }
  return events;
}

function conditionsText(e: WatchEvent): string {
  if (e.ready) return 'ready';
  if (e.serving && e.terminating) return 'terminating (serving)';
  if (e.terminating) return 'terminating';
  return 'not ready';
}

/**
 * One text line for an event.
 *
 * @example
 * ```ts
 * renderWatchEvent(event) // '2026-11-21T08:00:00.000Z  removed   10.1.2.3:8080  pod web-1 node a  ready'
 * ```
 */
export function renderWatchEvent(e: WatchEvent): string {
  if (e.type === 'watching' || e.type === 'status') return `${e.time}  ${e.type.padEnd(8)}  ${e.message ?? ''}`;
  const where = [e.pod && `pod ${e.pod}`, e.node && `node ${e.node}`, e.zone && `zone ${e.zone}`]
    .filter(Boolean)
    .join(' ');
  const what = e.type === 'changed' ? (e.changes ?? []).join(', ') : conditionsText(e);
  return `${e.time}  ${e.type.padEnd(8)}  ${e.endpoint}  ${where}${where ? '  ' : ''}${what}`;
}

/**
 * `clusterip watch …`
 *
 * @example
 * ```ts
 * await runWatch(['web', '--count', '3', '-o', 'json'], io)
 * ```
 */
export async function runWatch(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommandArgs('watch', argv, {
    port: { type: 'string' },
    count: { type: 'string' },
    'timeout-seconds': { type: 'string' },
  });
  if (args.common.help) {
    io.stdout(`${WATCH_HELP}\n`);
    return EXIT.ok;
  }
  const [name] = expectPositionals('watch', args, ['service']) as [string];
  const { port: portArg } = targetAndPort('watch', name, args);
  const count = integerFlag('watch', args, 'count', 1, 1_000_000);
  const timeoutSeconds = integerFlag('watch', args, 'timeout-seconds', 1, 86_400 * 365);
  const json = args.common.output === 'json';
  const conn = await connect(args.common, io);
  let timer: NodeJS.Timeout | undefined;
  try {
    const { info } = await requireService(conn, name);
    let port: ServicePort | undefined;
    if (portArg !== undefined) port = findServicePort(info, portArg);
    else if (info.ports.length > 0 && info.type !== 'ExternalName') port = info.ports[0];
    const suffix = port === undefined ? '' : `:${port.name || port.port}`;
    const target = `kubernetes://${info.namespace}/${info.name}${suffix}`;
    const label = `${info.name}.${info.namespace}${suffix}${
      port !== undefined && portArg === undefined && info.ports.length > 1
        ? ` (first of ${info.ports.length} ports; choose with --port)`
        : ''
    }`;
    let changes = 0;
    let prev: ServiceSnapshot | undefined;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const watch = conn.resolver.watch(target, (snapshot) => {
      const events = diffSnapshots(prev, snapshot, Date.now(), label);
      prev = snapshot;
      for (const e of events) {
        io.stdout(`${json ? JSON.stringify(e) : renderWatchEvent(e)}\n`);
        if (e.type !== 'watching' && e.type !== 'initial') changes++;
      }
      if (count !== undefined && changes >= count) finish();
    });
    if (io.signal.aborted) finish();
    io.signal.addEventListener('abort', () => finish(), { once: true });
    // A ref'd timer on purpose (the one exception to "every timer unref()'d"): the command must stay
    // alive until a signal, a count or the timeout, also while the source backs off with unref'd
    // timers after losing the API. Cleared in `finally`.
    timer = setTimeout(finish, (timeoutSeconds ?? 2_147_483) * 1000);
    try {
      await done;
    } finally {
      await watch.close();
    }
    return EXIT.ok;
  } catch (err) {
    writeError(io, err, args.common.output);
    return exitCodeFor(err);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    await conn.close();
  }
}
