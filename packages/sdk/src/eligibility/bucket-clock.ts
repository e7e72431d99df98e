// ⑤ Eligible endpoints: one clock per bucket length for the Service breakers of a Mesh. opossum rotates each
// breaker's rolling window on its own interval unless given a `rotateBucketController` (an EventEmitter
// emitting `rotate`, research/apis.md §3.4); a Mesh with a breaker per route would otherwise run one
// interval per route (up to `maxServices`). Consumes bucket lengths; produces shared emitters.

import { EventEmitter } from 'node:events';

/** A shared clock, held until `release()`. */
export interface BucketClockLease {
  /** Emits `rotate` every bucket length; give it to opossum as `rotateBucketController`. */
  readonly controller: EventEmitter;
  /** This user is done (its breaker shut down); the last one stops the timer. Idempotent. */
  release(): void;
}

interface Clock {
  readonly controller: EventEmitter;
  readonly timer: NodeJS.Timeout;
  users: number;
}

/**
 * Clocks by bucket length (ms): one unref'd interval for every breaker whose windows rotate at that
 * pace, started by the first lease and stopped when the last is released. Breakers sharing a clock
 * rotate their buckets at the same instants, which is what opossum's controller is for.
 *
 * @example
 * ```ts
 * const clocks = new BucketClocks()
 * const lease = clocks.acquire(1000)
 * const breaker = createServiceBreaker({ rotateBucketController: lease.controller })
 * await breaker.close(); lease.release()
 * ```
 */
export class BucketClocks {
  readonly #clocks = new Map<number, Clock>();

  /** Number of running clocks (distinct bucket lengths in use). */
  get size(): number {
    return this.#clocks.size;
  }

  acquire(bucketMs: number): BucketClockLease {
    let clock = this.#clocks.get(bucketMs);
    if (clock === undefined) {
      const controller = new EventEmitter();
      controller.setMaxListeners(0); // one listener per breaker
      const timer = setInterval(() => controller.emit('rotate'), bucketMs);
      timer.unref();
      clock = { controller, timer, users: 0 };
      this.#clocks.set(bucketMs, clock);
    }
    clock.users++;
    const held = clock;
    let released = false;
    return {
      controller: held.controller,
      release: () => {
        if (released) return;
        released = true;
        if (--held.users > 0) return;
        clearInterval(held.timer);
        if (this.#clocks.get(bucketMs) === held) this.#clocks.delete(bucketMs);
      },
    };
  }
}
