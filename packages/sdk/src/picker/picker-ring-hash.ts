// ⑥ Picker: consistent hashing of a caller key onto the eligible endpoints (Envoy/grpc ring_hash).
// Consumes the eligible endpoints and PickContext.affinityKey; produces the key's owner, or the next usable one.

import type { EndpointState } from './endpoint-state.js';
import { buildRing, hash32, type Ring, ringPosition } from './selection.js';

/**
 * A ring over all eligible endpoints (ejected ones included, so an ejection does not move other keys).
 * Built once per eligible-set change; `lookup()` walks clockwise past endpoints the caller cannot use.
 *
 * @example
 * ```ts
 * const ring = HashRing.build(states, 100)
 * ring.lookup('user-42', (s) => s.health === 'healthy')
 * ```
 */
export class HashRing {
  readonly #ring: Ring;
  readonly #states: readonly EndpointState[];

  private constructor(ring: Ring, states: readonly EndpointState[]) {
    this.#ring = ring;
    this.#states = states;
  }

  /** Build the ring; the result depends on the endpoints' keys only, not on their order. */
  static build(states: readonly EndpointState[], pointsPerEndpoint: number): HashRing {
    return new HashRing(
      buildRing(
        states.map((s) => s.key),
        pointsPerEndpoint,
      ),
      states,
    );
  }

  /** Number of points on the ring. */
  get size(): number {
    return this.#ring.hashes.length;
  }

  /** Owner of `key`, or the first usable endpoint after it; undefined when none is usable. */
  lookup(key: string, usable: (state: EndpointState) => boolean): EndpointState | undefined {
    const { owners } = this.#ring;
    const n = owners.length;
    let p = ringPosition(this.#ring, hash32(key));
    if (p < 0) return undefined;
    for (let step = 0; step < n; step++) {
      const s = this.#states[owners[p]!]!;
      if (usable(s)) return s;
      p = p + 1 === n ? 0 : p + 1;
    }
    return undefined;
  }
}
