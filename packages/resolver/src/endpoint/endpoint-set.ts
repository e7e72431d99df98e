// ④ Endpoint set: an immutable snapshot of one watched name's endpoints.
// Consumes `EndpointUpdate`s; produces a new `EndpointSet` per change (the old one stays valid).

import type { EndpointUpdate } from '../source/endpoint-update.js';
import { type Endpoint, endpointEqual, endpointKey } from './endpoint.js';

const EMPTY: ReadonlyMap<string, Endpoint> = new Map();

/**
 * Immutable set of endpoints keyed by `address:port`. `apply()` returns a new set, or the same set
 * when the update changes nothing, so `a === b` tells whether anything changed.
 *
 * @example
 * ```ts
 * let set = EndpointSet.empty()
 * set = set.apply({ type: 'reset', endpoints })
 * set.endpoints // readonly Endpoint[]
 * ```
 */
export class EndpointSet {
  readonly #byKey: ReadonlyMap<string, Endpoint>;
  #list: readonly Endpoint[] | undefined;

  private constructor(byKey: ReadonlyMap<string, Endpoint>) {
    this.#byKey = byKey;
  }

  /** The empty set. */
  static empty(): EndpointSet {
    return new EndpointSet(EMPTY);
  }

  /** A set holding `endpoints`; later duplicates of a key replace earlier ones. */
  static of(endpoints: readonly Endpoint[]): EndpointSet {
    const map = new Map<string, Endpoint>();
    for (const e of endpoints) map.set(endpointKey(e), e);
    return new EndpointSet(map);
  }

  /** Number of endpoints. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The endpoints, in insertion order. The array is frozen and cached. */
  get endpoints(): readonly Endpoint[] {
    this.#list ??= Object.freeze([...this.#byKey.values()]);
    return this.#list;
  }

  /** The endpoint with key `address:port`, if present. */
  get(key: string): Endpoint | undefined {
    return this.#byKey.get(key);
  }

  /** True when an endpoint with this key is present. */
  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /**
   * Fold one update into a new set. `not-found` yields the empty set. Returns `this` when nothing
   * changed.
   */
  apply(update: EndpointUpdate): EndpointSet {
    switch (update.type) {
      case 'reset':
        return this.#reset(update.endpoints);
      case 'add': {
        let next: Map<string, Endpoint> | undefined;
        for (const e of update.endpoints) {
          const key = endpointKey(e);
          const prev = (next ?? this.#byKey).get(key);
          if (prev !== undefined && endpointEqual(prev, e)) continue;
          next ??= new Map(this.#byKey);
          next.set(key, e);
        }
        return next === undefined ? this : new EndpointSet(next);
      }
      case 'remove': {
        let next: Map<string, Endpoint> | undefined;
        for (const key of update.keys) {
          if (!(next ?? this.#byKey).has(key)) continue;
          next ??= new Map(this.#byKey);
          next.delete(key);
        }
        return next === undefined ? this : new EndpointSet(next);
      }
      case 'not-found':
        return this.#byKey.size === 0 ? this : EndpointSet.empty();
    }
  }

  #reset(endpoints: readonly Endpoint[]): EndpointSet {
    const next = new Map<string, Endpoint>();
    let same = endpoints.length === this.#byKey.size;
    for (const e of endpoints) {
      const key = endpointKey(e);
      next.set(key, e);
      if (same) {
        const prev = this.#byKey.get(key);
        same = prev !== undefined && endpointEqual(prev, e);
      }
    }
    return same && next.size === this.#byKey.size ? this : new EndpointSet(next);
  }
}
