// Reliability helper: an open-loop load generator — requests start at a fixed rate whatever the answers
// do, bounded in count and time. Consumes a `send` function; produces a live tally of every outcome.

import type { ExecutionContext } from 'ava';

/** Options of {@link startOpenLoop}. */
export interface OpenLoopOptions {
  /** Requests started per second (the schedule; what was achieved is in the report). */
  readonly ratePerSecond: number;
  /** The load ends after this long at the latest. */
  readonly maxDurationMs: number;
  /** …or after this many requests were started. Default `ratePerSecond × maxDurationMs / 1000`. */
  readonly maxRequests?: number;
  /**
   * Requests in flight at most. A request due while this many are open is not started and counts as
   * `skipped`: the machine cannot keep the rate, and queueing more would measure an overloaded client
   * (seconds of queueing in front of every pod) rather than the scenario. Default 256.
   */
  readonly maxInFlight?: number;
  /**
   * Send request number `i`; resolve with a label of who answered (a pod name), reject on failure.
   * A rejection is a failed request.
   */
  readonly send: (i: number) => Promise<string>;
}

/** One failed request. */
export interface LoadFailure {
  /** ms since the load started, when the request was sent. */
  readonly sentAtMs: number;
  readonly error: unknown;
}

/** What happened so far (live while the load runs, final after `stop()`). */
export interface LoadReport {
  /** Requests started. */
  started: number;
  /** Requests that ended (ok + failed). */
  completed: number;
  ok: number;
  failed: number;
  /** Due requests not started because `maxInFlight` were open. */
  skipped: number;
  /** Failures, the first 200 kept (`failed` counts all). */
  readonly failures: LoadFailure[];
  /** Successful requests per label (pod). */
  readonly byLabel: Map<string, number>;
  /** Failures per error code / message. */
  readonly failuresByCause: Map<string, number>;
  /** Time from the first start to the last completion. */
  durationMs: number;
  /** Started requests per second over the time the schedule ran. */
  achievedRate: number;
  /** Most requests in flight at once. */
  maxInFlight: number;
  /** Latency percentiles of completed requests (ms). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** A running load. */
export interface OpenLoop {
  readonly report: LoadReport;
  /** Resolves once `n` more requests completed (from the call), or when the load ended. */
  afterCompleted(n: number): Promise<void>;
  /** Stop starting requests, wait for those in flight, and return the final report. Idempotent. */
  stop(): Promise<LoadReport>;
  /** Resolves when the schedule ran out (count or time) and every request completed. */
  readonly finished: Promise<LoadReport>;
}

const TICK_MS = 2;
const KEPT_FAILURES = 200;

/** A short, stable description of an error for counting: its code, gRPC code, or first line. */
export function causeOf(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null | undefined;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.code === 'number') return `grpc-${e.code}`;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return message.split('\n')[0]!.slice(0, 120);
}

/**
 * Start an open-loop load for test `t`: request `i` is due at `i / ratePerSecond` seconds. A timer
 * (every 2 ms, unref'd) starts every due request, so a late tick catches up instead of lowering the
 * rate; the achieved rate shows how well the machine kept up. The load is stopped in `t.teardown`.
 *
 * @example
 * ```ts
 * const load = startOpenLoop(t, { ratePerSecond: 2000, maxDurationMs: 6000, send: async () => {
 *   const res = await request('http://web/', { dispatcher: mesh.dispatcher })
 *   return ((await res.body.json()) as { pod: string }).pod
 * } })
 * await load.afterCompleted(1000)
 * const report = await load.stop()
 * ```
 */
export function startOpenLoop(t: Pick<ExecutionContext, 'teardown'>, options: OpenLoopOptions): OpenLoop {
  const rate = options.ratePerSecond;
  const maxRequests = options.maxRequests ?? Math.floor((rate * options.maxDurationMs) / 1000);
  const maxInFlight = options.maxInFlight ?? 256;
  const report: LoadReport = {
    started: 0,
    completed: 0,
    ok: 0,
    failed: 0,
    skipped: 0,
    failures: [],
    byLabel: new Map(),
    failuresByCause: new Map(),
    durationMs: 0,
    achievedRate: 0,
    maxInFlight: 0,
    p50Ms: 0,
    p99Ms: 0,
    maxMs: 0,
  };
  const latencies: number[] = [];
  const waiters: { at: number; resolve: () => void }[] = [];
  const t0 = performance.now();
  let due = 0;
  let inFlight = 0;
  let scheduleEndedAt: number | undefined;
  let lastCompletionAt = t0;
  let endSchedule!: () => void;
  const scheduleDone = new Promise<void>((resolve) => {
    endSchedule = resolve;
  });
  let drained: (() => void) | undefined;

  const wake = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (report.completed >= w.at || scheduleEndedAt !== undefined) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  };

  const complete = (sentAt: number, label: string | undefined, error: unknown) => {
    const now = performance.now();
    lastCompletionAt = now;
    inFlight--;
    report.completed++;
    latencies.push(now - sentAt);
    if (label !== undefined) {
      report.ok++;
      report.byLabel.set(label, (report.byLabel.get(label) ?? 0) + 1);
    } else {
      report.failed++;
      const cause = causeOf(error);
      report.failuresByCause.set(cause, (report.failuresByCause.get(cause) ?? 0) + 1);
      if (report.failures.length < KEPT_FAILURES) report.failures.push({ sentAtMs: sentAt - t0, error });
    }
    if (waiters.length > 0) wake();
    if (inFlight === 0 && scheduleEndedAt !== undefined) drained?.();
  };

  const fire = (i: number) => {
    const sentAt = performance.now();
    report.started++;
    inFlight++;
    if (inFlight > report.maxInFlight) report.maxInFlight = inFlight;
    let p: Promise<string>;
    try {
      p = options.send(i);
    } catch (error) {
      p = Promise.reject(error);
    }
    p.then(
      (label) => complete(sentAt, label, undefined),
      (error: unknown) => complete(sentAt, undefined, error),
    );
  };

  const finishSchedule = () => {
    if (scheduleEndedAt !== undefined) return;
    scheduleEndedAt = performance.now();
    clearInterval(timer);
    endSchedule();
    wake();
  };

  const tick = () => {
    const elapsed = performance.now() - t0;
    const target = Math.min(maxRequests, Math.floor((elapsed * rate) / 1000) + 1);
    while (due < target) {
      if (inFlight >= maxInFlight) report.skipped++;
      else fire(due);
      due++;
    }
    if (due >= maxRequests || elapsed >= options.maxDurationMs) finishSchedule();
  };
  const timer = setInterval(tick, TICK_MS);
  timer.unref();
  tick();

  let stopping: Promise<LoadReport> | undefined;
  const stop = (): Promise<LoadReport> => {
    stopping ??= (async () => {
      finishSchedule();
      await scheduleDone;
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      const spanMs = (scheduleEndedAt ?? performance.now()) - t0;
      report.durationMs = lastCompletionAt - t0;
      report.achievedRate = spanMs > 0 ? (report.started * 1000) / spanMs : 0;
      latencies.sort((a, b) => a - b);
      const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
      report.p50Ms = pct(0.5);
      report.p99Ms = pct(0.99);
      report.maxMs = latencies[latencies.length - 1] ?? 0;
      return report;
    })();
    return stopping;
  };
  t.teardown(() => stop().then(() => undefined));

  return {
    report,
    afterCompleted(n) {
      if (scheduleEndedAt !== undefined) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ at: report.completed + n, resolve }));
    },
    stop,
    finished: scheduleDone.then(stop),
  };
}

/** One line for `t.log`: rate, counts, latency and failure causes. */
export function describeLoad(name: string, r: LoadReport): string {
  const causes = [...r.failuresByCause].map(([c, n]) => `${c}×${n}`).join(', ');
  return (
    `${name}: ${r.started} started at ${r.achievedRate.toFixed(0)}/s over ${(r.durationMs / 1000).toFixed(1)} s, ` +
    `${r.ok} ok, ${r.failed} failed${causes ? ` (${causes})` : ''}, ${r.skipped} skipped, ` +
    `max in flight ${r.maxInFlight}, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(0)} ms`
  );
}

/**
 * Closed-loop warm-up before a measured load: `count` requests, `concurrency` at a time, failures
 * rethrown. Opens the connections and warms the JIT, so that the open loop's first second measures the
 * scenario and not a cold start (on a busy 2-core machine a cold burst can take longer than a short
 * timeout, which outlier detection would then hold against healthy pods).
 *
 * @example
 * ```ts
 * await warmUp(() => getPod('http://web/', mesh.dispatcher), 400)
 * ```
 */
export async function warmUp(send: (i: number) => Promise<string>, count: number, concurrency = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await send(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * The verdict of a zero-failure scenario: no request failed (the first causes shown), every started
 * request has an outcome, and at least `minimum` succeeded.
 *
 * @example
 * ```ts
 * assertNoFailedRequest(t, await load.stop(), 1000)
 * ```
 */
export function assertNoFailedRequest(t: ExecutionContext, report: LoadReport, minimum: number): void {
  t.deepEqual(
    report.failures.slice(0, 5).map((f) => String(f.error)),
    [],
    'no request failed',
  );
  t.is(report.failed, 0);
  t.is(report.completed, report.started, 'every request has an outcome');
  t.true(report.ok >= minimum, `${report.ok} requests succeeded (at least ${minimum})`);
}
