// Demo (measurement): per scene, requests per Service and pod, failures, p50/p99, retries and affinity hits.
// Consumes request results and SDK channel events; produces a frozen SceneSummary.

/** Counts of one (target Service, pod) pair. */
export interface PodCounts {
  requests: number;
  /** Answers of this pod as the downstream of a backend pod (database calls made by the backends). */
  downstream: number;
  /** Attempts on this pod that failed and were retried elsewhere. */
  retried: number;
  readonly latenciesMs: number[];
}

/** One failed request (after the SDK's retries). */
export interface Failure {
  readonly target: string;
  readonly message: string;
  readonly code: string | undefined;
}

/** What {@link SceneStats.summary} returns. */
export interface SceneSummary {
  readonly requests: number;
  readonly failed: number;
  readonly retried: number;
  readonly affinityHits: number;
  readonly affinityMisses: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  /** Requests per target per pod. */
  readonly byTarget: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly failures: readonly Failure[];
}

/** Latency samples kept per pod per scene: enough for a p99, bounded in memory. */
const MAX_SAMPLES = 5000;
const MAX_FAILURES = 50;

/**
 * Counters of the current scene. `reset()` starts a new window; `after(n)` waits for `n` more answers.
 *
 * @example
 * ```ts
 * stats.reset()
 * await stats.after(100, signal)
 * console.log(stats.summary().failed)
 * ```
 */
export class SceneStats {
  /** target → pod → counts */
  readonly #pods = new Map<string, Map<string, PodCounts>>();
  readonly #all: number[] = [];
  #failures: Failure[] = [];
  #failed = 0;
  #answers = 0;
  #affinityHits = 0;
  #affinityMisses = 0;
  #retriedUnattributed = 0;
  readonly #waiters = new Set<{ at: number; resolve: () => void }>();

  /** Start a new window (the scene's). */
  reset(): void {
    this.#pods.clear();
    this.#all.length = 0;
    this.#failures = [];
    this.#failed = 0;
    this.#answers = 0;
    this.#affinityHits = 0;
    this.#affinityMisses = 0;
    this.#retriedUnattributed = 0;
  }

  #counts(target: string, pod: string): PodCounts {
    let byPod = this.#pods.get(target);
    if (byPod === undefined) {
      byPod = new Map();
      this.#pods.set(target, byPod);
    }
    let c = byPod.get(pod);
    if (c === undefined) {
      c = { requests: 0, downstream: 0, retried: 0, latenciesMs: [] };
      byPod.set(pod, c);
    }
    return c;
  }

  /** A request to `target` answered by `pod` after `latencyMs`; `downstream` names the pod it called, if any. */
  answered(target: string, pod: string, latencyMs: number, downstream?: { target: string; pod: string }): void {
    const c = this.#counts(target, pod);
    c.requests++;
    if (c.latenciesMs.length < MAX_SAMPLES) c.latenciesMs.push(latencyMs);
    if (this.#all.length < MAX_SAMPLES * 4) this.#all.push(latencyMs);
    if (downstream !== undefined) this.#counts(downstream.target, downstream.pod).downstream++;
    this.#answers++;
    this.#wake();
  }

  /** A request failed for good (the SDK's retries included). */
  failed(target: string, error: unknown): void {
    this.#failed++;
    if (this.#failures.length < MAX_FAILURES) {
      const e = error as { message?: unknown; code?: unknown; cause?: { message?: unknown; code?: unknown } };
      const inner = e?.cause !== undefined && typeof e.cause.code === 'string' ? e.cause : e;
      this.#failures.push({
        target,
        message: String(inner?.message ?? error),
        code: typeof inner?.code === 'string' ? inner.code : undefined,
      });
    }
    this.#answers++;
    this.#wake();
  }

  /** An attempt on `pod` of `target` failed and another attempt follows. */
  retried(target: string, pod: string | undefined): void {
    if (pod === undefined) this.#retriedUnattributed++;
    else this.#counts(target, pod).retried++;
  }

  /** A pick under ClientIP affinity reused its binding (`hit`) or chose afresh. */
  affinity(hit: boolean): void {
    if (hit) this.#affinityHits++;
    else this.#affinityMisses++;
  }

  /** Requests answered or failed in this window. */
  get answers(): number {
    return this.#answers;
  }

  /** target → pod → counts (live; read-only by convention). */
  get pods(): ReadonlyMap<string, ReadonlyMap<string, PodCounts>> {
    return this.#pods;
  }

  /** Resolves once `n` more requests ended (answered or failed), or rejects when `signal` aborts. */
  after(n: number, signal: AbortSignal): Promise<void> {
    const at = this.#answers + n;
    if (this.#answers >= at) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        at,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  #wake(): void {
    for (const w of this.#waiters) {
      if (this.#answers >= w.at) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }

  /** The window so far. */
  summary(): SceneSummary {
    const byTarget = new Map<string, Map<string, number>>();
    let requests = 0;
    let retried = this.#retriedUnattributed;
    for (const [target, byPod] of this.#pods) {
      const m = new Map<string, number>();
      for (const [pod, c] of byPod) {
        if (c.requests > 0) m.set(pod, c.requests);
        requests += c.requests;
        retried += c.retried;
      }
      byTarget.set(target, m);
    }
    return Object.freeze({
      requests,
      failed: this.#failed,
      retried,
      affinityHits: this.#affinityHits,
      affinityMisses: this.#affinityMisses,
      p50Ms: percentile(this.#all, 0.5),
      p99Ms: percentile(this.#all, 0.99),
      byTarget,
      failures: [...this.#failures],
    });
  }
}

/**
 * The `q`-quantile (nearest rank) of `samples`, or undefined when there are none.
 *
 * @example
 * ```ts
 * percentile([1, 2, 3, 4], 0.5) // 2
 * ```
 */
export function percentile(samples: readonly number[], q: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}
