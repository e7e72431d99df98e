// Benchmark helper: the client load of the HTTP benchmarks. Consumes an undici dispatcher and a URL;
// produces, per run, the completed requests per second, every latency (µs), the client's and the
// servers' CPU time per request, and how many responses each pod (`x-pod` header) served.

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
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
  /**
   * With a {@link LoopOptions.clock} and at least one completed request: of every completed request sent
   * once, in whole µs (unsorted), its client-side time: from its issue until undici wrote its headers to a
   * socket, plus from undici's parse of the response headers until the caller resumed (wall-clock:
   * event-loop waits in between are included, as is a connect when the request opened a connection).
   */
  readonly clientUs?: readonly number[];
  /** With a clock (as `clientUs`): the rest of the same requests' latency (socket write → response parsed), µs. */
  readonly remoteUs?: readonly number[];
  /** With a clock (as `clientUs`): completed requests left out of `clientUs`: sent more than once (a retry), or unmarked. */
  readonly clientSkipped?: number;
}

/** Options of the load loops. */
export interface LoopOptions {
  /**
   * Split each request's latency into client-side and remote time with this clock (`clientUs`,
   * `remoteUs` of the sample). The caller owns it: one clock for all of a client's loops, see {@link ClientClock}.
   */
  readonly clock?: ClientClock;
}

/** Bound on requests per measured run, whatever the duration (every loop is bounded in count and time). */
export const MAX_REQUESTS = 1_000_000;

/** Timestamps of one request in flight, set from undici's diagnostics channels (see {@link ClientClock}). */
interface Marks {
  /** undici request objects made for it: more than one is a retry. */
  created: number;
  sentAt: number;
  headersAt: number;
}

/**
 * The request header that ties undici's request objects to the load's requests. Every request carries
 * it, measured or not: warm-up and measured requests have one shape, so the JIT's work on it is done
 * before the measurement.
 */
const ID_HEADER = 'x-load-id';
/** Every load request's id, with or without a clock: unique in the process, so that two clocks running at once never take each other's requests. */
let lastId = 0;

/**
 * Marks requests with undici's diagnostics channels: `undici:request:create` (when undici makes its
 * request object: inside the dispatch call, or later for a request that waited in a pool for a
 * connection), `undici:client:sendHeaders` (headers written to a socket), `undici:request:headers`
 * (response headers parsed, before any handler sees them). A request is recognised by its `x-load-id`.
 * Give one clock to every loop of a client, warm-up included, and close it at the end: subscribing
 * switches undici's channels to their active form, which deoptimises the code that publishes to them (V8
 * compiles it again later), and that must not happen at the start of the measurement. The loops refuse a
 * closed clock.
 *
 * @example
 * ```ts
 * const clock = new ClientClock()
 * try {
 *   await closedLoop(target, 32, 3000, undefined, { clock })
 *   const [s] = await interleavedOpenLoop([target], 200, 10_000, undefined, { clock })
 *   console.log(s.clientUs)
 * } finally {
 *   clock.close()
 * }
 * ```
 */
export class ClientClock {
  readonly #waiting = new Map<string, Marks>();
  readonly #marks = new WeakMap<object, Marks>();
  readonly #onCreate = (m: unknown) => {
    const request = (m as { request: { headers?: unknown } }).request;
    const headers = request.headers;
    if (!Array.isArray(headers)) return;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (headers[i] !== ID_HEADER) continue;
      const marks = this.#waiting.get(String(headers[i + 1]));
      if (marks === undefined) return;
      marks.created++;
      this.#marks.set(request, marks);
      return;
    }
  };
  readonly #onSend = (m: unknown) => this.#stamp(m, 'sentAt');
  readonly #onHeaders = (m: unknown) => this.#stamp(m, 'headersAt');
  #closed = false;

  #stamp(m: unknown, mark: 'sentAt' | 'headersAt'): void {
    const marks = this.#marks.get((m as { request: object }).request);
    if (marks !== undefined) marks[mark] = performance.now();
  }

  constructor() {
    subscribe('undici:request:create', this.#onCreate);
    subscribe('undici:client:sendHeaders', this.#onSend);
    subscribe('undici:request:headers', this.#onHeaders);
  }

  /** A new request, sent with this `x-load-id`: its marks, filled in as undici reports it. */
  begin(id: string): Marks {
    const marks: Marks = { created: 0, sentAt: Number.NaN, headersAt: Number.NaN };
    this.#waiting.set(id, marks);
    return marks;
  }

  /** The request with this id is over. */
  end(id: string): void {
    this.#waiting.delete(id);
  }

  /** True once closed: the loops then refuse to start with it. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Unsubscribe from undici's channels. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    unsubscribe('undici:request:create', this.#onCreate);
    unsubscribe('undici:client:sendHeaders', this.#onSend);
    unsubscribe('undici:request:headers', this.#onHeaders);
  }
}

class Recorder {
  readonly latencies: number[] = [];
  readonly client: number[] = [];
  readonly remote: number[] = [];
  clientSkipped = 0;
  readonly pods: Record<string, number> = {};
  errors = 0;
  constructor(
    private readonly target: LoadTarget,
    private readonly clock?: ClientClock,
  ) {}

  async one(): Promise<void> {
    const start = performance.now();
    const id = String(++lastId);
    const marks = this.clock?.begin(id);
    try {
      const res = await request(this.target.url, {
        dispatcher: this.target.dispatcher,
        ...(this.target.newConnectionPerRequest === true ? { reset: true } : {}),
        headers: { [ID_HEADER]: id },
      });
      const resumedAt = performance.now();
      const pod = res.headers['x-pod'];
      await res.body.dump();
      const latencyUs = Math.round((performance.now() - start) * 1000);
      this.latencies.push(latencyUs);
      if (marks !== undefined) {
        const us = Math.round((marks.sentAt - start + (resumedAt - marks.headersAt)) * 1000);
        if (marks.created === 1 && Number.isFinite(us)) {
          this.client.push(us);
          this.remote.push(latencyUs - us);
        } else this.clientSkipped++;
      }
      const key = typeof pod === 'string' ? pod : '?';
      this.pods[key] = (this.pods[key] ?? 0) + 1;
    } catch {
      this.errors++;
    } finally {
      if (marks !== undefined) this.clock!.end(id);
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

/** Options of {@link closedLoop}. */
export interface ClosedLoopOptions extends LoopOptions {
  /** Stop after issuing this many requests (failed ones included); a positive integer, {@link MAX_REQUESTS} at most. */
  readonly maxRequests?: number;
}

/**
 * Closed loop: `concurrency` workers, each issuing its next request when the previous one ends, for
 * `durationMs` and at most `maxRequests` requests ({@link MAX_REQUESTS} without it). With a `clock`, the
 * sample also has each request's client-side and remote time.
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
  options: ClosedLoopOptions = {},
): Promise<LoadSample> {
  const max = options.maxRequests ?? MAX_REQUESTS;
  if (!Number.isInteger(max) || max < 1 || max > MAX_REQUESTS) {
    throw new RangeError(`maxRequests must be an integer from 1 to ${MAX_REQUESTS}, got ${max}`);
  }
  refuseClosed(options.clock);
  const rec = new Recorder(target, options.clock);
  const end = performance.now() + durationMs;
  let issued = 0;
  const worker = async () => {
    while (performance.now() < end && issued < max) {
      issued++;
      await rec.one();
    }
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
 * A `clock` also splits each request's latency into client-side and remote time (`clientUs`, `remoteUs`).
 *
 * @example
 * ```ts
 * const clock = new ClientClock()
 * const [a, b] = await interleavedOpenLoop([direct, mesh], 800, 2000, undefined, { clock })
 * clock.close()
 * ```
 */
export async function interleavedOpenLoop(
  targets: readonly LoadTarget[],
  rate: number,
  durationMs: number,
  servers?: ServerProcesses,
  options: LoopOptions = {},
): Promise<LoadSample[]> {
  refuseClosed(options.clock);
  const recs = targets.map((t) => new Recorder(t, options.clock));
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

/** A loop refuses a closed clock before it issues anything (it would otherwise fail in every request). */
function refuseClosed(clock: ClientClock | undefined): void {
  if (clock?.closed === true) {
    throw new Error('ClientClock is closed: create one per client and close it after its last loop');
  }
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
    ...(rec.client.length + rec.clientSkipped > 0
      ? { clientUs: rec.client, remoteUs: rec.remote, clientSkipped: rec.clientSkipped }
      : {}),
  };
}
