// ⑧ Transport (HTTP): the retry budget of one Service — retries may add only a fraction of the recent
// requests (linkerd / Finagle RetryBudget). Consumes request and retry events; produces allow/deny.

/**
 * A sliding-window ratio budget: over the last `windowMs`, `retries ≤ ratio × requests +
 * minRetriesPerSecond × window`. The window is two half-windows (current and previous), so old traffic
 * fades out in steps of `windowMs / 2`. No timer: time is read from `now()` on each call.
 *
 * @example
 * ```ts
 * const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 10, windowMs: 10_000 }, performance.now.bind(performance))
 * budget.onRequest()
 * if (budget.tryRetry()) retry()
 * ```
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #reserve: number;
  readonly #half: number;
  readonly #now: () => number;
  #epoch = 0;
  #requests = 0;
  #retries = 0;
  #prevRequests = 0;
  #prevRetries = 0;

  constructor(options: { ratio: number; minRetriesPerSecond: number; windowMs: number }, now: () => number) {
    this.#ratio = options.ratio;
    this.#reserve = (options.minRetriesPerSecond * options.windowMs) / 1000;
    this.#half = options.windowMs / 2;
    this.#now = now;
    this.#epoch = Math.floor(now() / this.#half);
  }

  /** Count one original request (not a retry); `now` is the caller's clock reading, when it has one. */
  onRequest(now: number = this.#now()): void {
    this.#roll(now);
    this.#requests++;
  }

  /** Spend one retry if the budget allows it; false means "do not retry". */
  tryRetry(): boolean {
    this.#roll();
    const requests = this.#requests + this.#prevRequests;
    const retries = this.#retries + this.#prevRetries;
    if (retries + 1 > this.#ratio * requests + this.#reserve) return false;
    this.#retries++;
    return true;
  }

  #roll(now: number = this.#now()): void {
    const epoch = Math.floor(now / this.#half);
    if (epoch === this.#epoch) return;
    if (epoch === this.#epoch + 1) {
      this.#prevRequests = this.#requests;
      this.#prevRetries = this.#retries;
    } else {
      this.#prevRequests = 0;
      this.#prevRetries = 0;
    }
    this.#requests = 0;
    this.#retries = 0;
    this.#epoch = epoch;
  }
}
