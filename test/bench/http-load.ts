// Benchmark helper: the client load of the HTTP benchmarks. Consumes an undici dispatcher and a URL;
// produces, per run, the completed requests per second, every latency (µs), the client's and the
// servers' CPU time per request, and how many responses each pod (`x-pod` header) served.

import { type Dispatcher, request } from 'undici';
import { processCpuUs } from './bench-child.js';

/** Where the load goes. */
export interface LoadTarget {
  readonly url: string;
  readonly dispatcher: Dispatcher;
  /** `true`: a new connection per request (undici `reset`: `connection: close`). */
  readonly newConnectionPerRequest?: boolean;
}

/** Server-side processes whose CPU time is charged to the run, read from /proc. */
export interface ServerProcesses {
  readonly podPids: readonly number[];
  readonly proxyPids: readonly number[];
  readonly ticksPerSecond: number;
}

/** One measured run. */
export interface LoadSample {
  /** Target rate in req/s; 0 for the closed loop (as fast as the client goes). */
  readonly rate: number;
  readonly rps: number;
  /** Latency of every completed request, issue to end of body, in whole µs (unsorted). */
  readonly latenciesUs: readonly number[];
  readonly errors: number;
  /** Open loop only: requests issued more than 10 ms behind the schedule (the client fell behind). */
  readonly late: number;
  /** Client process CPU (user + system) per completed request, µs. */
  readonly clientCpuUs: number;
  /** CPU of the pod processes per completed request, µs (10 ms /proc resolution); NaN when not watched. */
  readonly podCpuUs: number;
  /** CPU of the proxy processes per completed request, µs (10 ms /proc resolution); 0 without a proxy. */
  readonly proxyCpuUs: number;
  /** Completed requests per pod, by the response's `x-pod` header. */
  readonly pods: Readonly<Record<string, number>>;
}

/** Bound on requests per measured run, whatever the duration (every loop is bounded in count and time). */
export const MAX_REQUESTS = 1_000_000;

class Recorder {
  readonly latencies: number[] = [];
  readonly pods: Record<string, number> = {};
  errors = 0;
  constructor(private readonly target: LoadTarget) {}

  async one(): Promise<void> {
    const start = performance.now();
    try {
      const res = await request(this.target.url, {
        dispatcher: this.target.dispatcher,
        ...(this.target.newConnectionPerRequest === true ? { reset: true } : {}),
      });
      const pod = res.headers['x-pod'];
      await res.body.dump();
      this.latencies.push(Math.round((performance.now() - start) * 1000));
      const key = typeof pod === 'string' ? pod : '?';
      this.pods[key] = (this.pods[key] ?? 0) + 1;
    } catch {
      this.errors++;
    }
  }
}

/** CPU so far of the pods and of the proxies, µs. */
function serverCpu(servers: ServerProcesses | undefined): [number, number] {
  if (servers === undefined) return [Number.NaN, 0];
  const sum = (pids: readonly number[]) =>
    pids.reduce((total, pid) => total + processCpuUs(pid, servers.ticksPerSecond), 0);
  return [sum(servers.podPids), sum(servers.proxyPids)];
}

/**
 * Closed loop: `concurrency` workers, each issuing its next request when the previous one ends, for
 * `durationMs` (and at most {@link MAX_REQUESTS}).
 *
 * @example
 * ```ts
 * const s = await closedLoop({ url: 'http://backend/', dispatcher: mesh.dispatcher }, 32, 3000)
 * console.log(s.rps)
 * ```
 */
export async function closedLoop(
  target: LoadTarget,
  concurrency: number,
  durationMs: number,
  servers?: ServerProcesses,
): Promise<LoadSample> {
  const rec = new Recorder(target);
  const end = performance.now() + durationMs;
  const worker = async () => {
    while (performance.now() < end && rec.latencies.length + rec.errors < MAX_REQUESTS) await rec.one();
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const server0 = serverCpu(servers);
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summarise(rec, 0, performance.now() - t0, process.cpuUsage(cpu0), since(server0, servers), 0);
}

/**
 * Open loop at `rate` req/s for `durationMs`: every millisecond tick issues the requests due by then,
 * whatever is still outstanding, so a slow path cannot slow its own load down. Latency runs from each
 * request's issue. Bounded in count (rate × duration) and in time (issuing stops at twice the duration).
 *
 * @example
 * ```ts
 * const s = await openLoop({ url: 'http://backend/', dispatcher: pool }, 2000, 3000)
 * console.log(s.late)
 * ```
 */
export async function openLoop(
  target: LoadTarget,
  rate: number,
  durationMs: number,
  servers?: ServerProcesses,
): Promise<LoadSample> {
  return (await interleavedOpenLoop([target], rate, durationMs, servers))[0]!;
}

/**
 * {@link openLoop} over several targets at once: request i goes to `targets[i % n]`, so every target gets
 * `rate / n` req/s and all of them see the same moments of the machine's noise (a paired comparison of
 * latencies). One sample per target; the CPU figures are the run's totals per request, shared by all.
 *
 * @example
 * ```ts
 * const [a, b] = await interleavedOpenLoop([direct, mesh], 800, 2000)
 * ```
 */
export async function interleavedOpenLoop(
  targets: readonly LoadTarget[],
  rate: number,
  durationMs: number,
  servers?: ServerProcesses,
): Promise<LoadSample[]> {
  const recs = targets.map((t) => new Recorder(t));
  let issued = 0;
  let late = 0;
  const total = Math.min(MAX_REQUESTS, Math.floor((rate * durationMs) / 1000));
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const server0 = serverCpu(servers);
  while (issued < total && performance.now() - t0 < 2 * durationMs) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    if (due - issued > rate / 100) late += due - issued - 1; // more than 10 ms behind the schedule
    while (issued < due) {
      pending.push(recs[issued % recs.length]!.one());
      issued++;
    }
    // Sleep until the next request is due (at least 1 ms, the timer's resolution): at low rates the
    // ticking would otherwise cost more client CPU than the requests, the same on every path.
    const nextAt = (issued * 1000) / rate;
    await new Promise((r) => setTimeout(r, Math.max(1, Math.floor(nextAt - (performance.now() - t0)))));
  }
  late += total - issued; // never issued before the time bound
  await Promise.all(pending);
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const serverUs = since(server0, servers);
  // Shared figures (CPU, lateness) are divided over all targets' requests.
  const all = recs.reduce((n, r) => n + r.latencies.length, 0);
  const share = (r: Recorder) => r.latencies.length / Math.max(1, all);
  return recs.map((r) =>
    summarise(
      r,
      rate / recs.length,
      elapsed,
      { user: cpu.user * share(r), system: cpu.system * share(r) },
      [serverUs[0] * share(r), serverUs[1] * share(r)],
      Math.round(late * share(r)),
    ),
  );
}

function since(start: [number, number], servers: ServerProcesses | undefined): [number, number] {
  const now = serverCpu(servers);
  return [now[0] - start[0], now[1] - start[1]];
}

function summarise(
  rec: Recorder,
  rate: number,
  elapsedMs: number,
  cpu: NodeJS.CpuUsage,
  serverUs: [number, number],
  late: number,
): LoadSample {
  const n = Math.max(1, rec.latencies.length);
  return {
    rate,
    rps: (rec.latencies.length / elapsedMs) * 1000,
    latenciesUs: rec.latencies,
    errors: rec.errors,
    late,
    clientCpuUs: (cpu.user + cpu.system) / n,
    podCpuUs: serverUs[0] / n,
    proxyCpuUs: serverUs[1] / n,
    pods: rec.pods,
  };
}

/**
 * Quantile `q` (0–1) of `sorted` (ascending), nearest rank; NaN when empty.
 *
 * @example
 * ```ts
 * quantile([1, 2, 3, 4], 0.5) // 3
 * ```
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * Median of `values`; NaN when empty.
 *
 * @example
 * ```ts
 * median([3, 1, 2]) // 2
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
