// ⑥ Picker: round robin, IPVS `rr` parity (spec §7.3), starting at a random index.
// Consumes the endpoints currently in rotation; produces them in turn.

import type { Random } from '../internal/random.js';
import type { EndpointState } from './endpoint-state.js';
import { uniformIndex } from './selection.js';

/**
 * The round-robin position of one balancer. The start index is randomised on every `reset()` (each
 * eligible-set change) so that many clients that start together do not all hit the first endpoint
 * (grpc-js uses an unseeded random start; ours comes from the injected `random`).
 *
 * @example
 * ```ts
 * const rr = new RoundRobinCursor(); rr.reset(states.length, random)
 * const next = pickRoundRobin(states, rr)
 * ```
 */
export class RoundRobinCursor {
  #next = 0;

  /** Start again at a random index in `[0, n)`. */
  reset(n: number, random: Random): void {
    this.#next = n > 0 ? uniformIndex(n, random()) : 0;
  }

  /** The next index in `[0, n)`; wraps, and tolerates `n` changing between calls. */
  next(n: number): number {
    let i = this.#next;
    if (i >= n) i = 0;
    this.#next = i + 1;
    return i;
  }
}

/** The next endpoint in turn. `active` must not be empty. */
export function pickRoundRobin(active: readonly EndpointState[], cursor: RoundRobinCursor): EndpointState {
  return active[cursor.next(active.length)]!;
}
