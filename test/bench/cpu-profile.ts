// Benchmark helper: reads a V8 CPU profile (`node --cpu-prof` output) and sums self time per function.
// Consumes the parsed .cpuprofile JSON and a request count; produces the top functions in µs per request,
// with this repository's own code (packages/*/dist) listed apart; and starts V8's CPU profiler in-process.

import { Session } from 'node:inspector/promises';

/** The parts of V8's `.cpuprofile` format used here. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
  }[];
  readonly samples: readonly number[];
  /** µs before each sample; sample i is charged the delta to sample i + 1. */
  readonly timeDeltas: readonly number[];
}

/** One function's self time. */
export interface ProfileRow {
  readonly name: string;
  /** Shortened script path and 1-based line. */
  readonly where: string;
  readonly usPerRequest: number;
  /** Share of all non-idle samples, in percent. */
  readonly percent: number;
}

/** What {@link summariseProfile} finds. */
export interface ProfileSummary {
  /** Non-idle sampled time per request, µs. */
  readonly totalUsPerRequest: number;
  /** Self time of this repository's code per request, µs. */
  readonly oursUsPerRequest: number;
  readonly top: readonly ProfileRow[];
  readonly ours: readonly ProfileRow[];
  /** Every function, keyed `name@where`. */
  readonly all: ReadonlyMap<string, ProfileRow>;
}

const OURS = /\/packages\/(sdk|resolver)\/dist\//;

/**
 * Self time per function of a CPU profile, divided by `requests`. `(idle)` is left out of every total.
 *
 * @example
 * ```ts
 * const s = summariseProfile(JSON.parse(readFileSync(file, 'utf8')), 120_000)
 * for (const row of s.ours) console.log(row.name, row.usPerRequest)
 * ```
 */
export function summariseProfile(profile: CpuProfile, requests: number, limit = 25): ProfileSummary {
  const byNode = new Map<number, CpuProfile['nodes'][number]>();
  for (const node of profile.nodes) byNode.set(node.id, node);
  const selfUs = new Map<string, { name: string; where: string; ours: boolean; us: number }>();
  let total = 0;
  let ours = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byNode.get(profile.samples[i]!);
    if (node === undefined) continue;
    const us = profile.timeDeltas[i + 1] ?? 0;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') continue;
    const where = shortUrl(frame.url, frame.lineNumber);
    const key = `${frame.functionName}@${where}`;
    const mine = OURS.test(frame.url);
    let row = selfUs.get(key);
    if (row === undefined) {
      row = { name: frame.functionName || '(anonymous)', where, ours: mine, us: 0 };
      selfUs.set(key, row);
    }
    row.us += us;
    total += us;
    if (mine) ours += us;
  }
  const n = Math.max(1, requests);
  const rows = [...selfUs.values()].sort((a, b) => b.us - a.us);
  const toRow = (r: { name: string; where: string; us: number }): ProfileRow => ({
    name: r.name,
    where: r.where,
    usPerRequest: r.us / n,
    percent: total === 0 ? 0 : (r.us / total) * 100,
  });
  const all = new Map<string, ProfileRow>();
  for (const [key, r] of selfUs) all.set(key, toRow(r));
  return {
    all,
    totalUsPerRequest: total / n,
    oursUsPerRequest: ours / n,
    top: rows.slice(0, limit).map(toRow),
    ours: rows
      .filter((r) => r.ours)
      .slice(0, limit)
      .map(toRow),
  };
}

/** `file:///…/packages/sdk/dist/mesh/x.js` → `sdk/dist/mesh/x.js:12`; node_modules → `undici/lib/…`. */
function shortUrl(url: string, line: number): string {
  if (url === '') return '';
  let path = url.replace(/^file:\/\//, '');
  const pkg = path.lastIndexOf('/node_modules/');
  if (pkg >= 0) path = path.slice(pkg + '/node_modules/'.length);
  else {
    const ours = path.indexOf('/packages/');
    if (ours >= 0) path = path.slice(ours + '/packages/'.length);
  }
  return `${path}:${line + 1}`;
}

/**
 * V8's CPU profiler (what `node --cpu-prof` runs), started in this process, sampling every `intervalUs`.
 * Stop it with `session.post('Profiler.stop')`, then `session.disconnect()`.
 */
export async function startProfiler(intervalUs = 100): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return session;
}
