// ④ Endpoint set: an immutable snapshot of one watched name's endpoints.
// Consumes `EndpointUpdate`s; produces a new `EndpointSet` per change (the old one stays valid).

import type { EndpointUpdate } from '../source/endpoint-update.js';
import { type Endpoint, endpointEqual, endpointKey } from './endpoint.js';

/**
 * Immutable set of endpoints keyed by `address:port`. `apply()` returns a new set, or the same set
 * when the update changes nothing, so `a === b` tells whether anything changed. An endpoint that an
 * update leaves equal keeps its object; `add` and `remove` also keep the order of the others (a `reset`
 * takes its own order). A set that a later one was derived from answers `get`/`has` by rebuilding its
 * map once (nothing in the resolver asks an older set).
 *
 * @example
 * ```ts
 * let set = EndpointSet.empty()
 * set = set.apply({ type: 'reset', endpoints })
 * set.endpoints // readonly Endpoint[]
 * ```
 */
export class EndpointSet {
  /**
   * The endpoints by key. A set that `apply()` changed by a few keys hands its map to the new set rather
   * than copying it (a copy of 10,000 entries took about 2 ms and its garbage, on every change); it keeps
   * its own contents as `#list` and rebuilds a map from it only if asked for a key. undefined until then.
   */
  #byKey: Map<string, Endpoint> | undefined;
  #list: readonly Endpoint[] | undefined;

  private constructor(byKey: Map<string, Endpoint>) {
    this.#byKey = byKey;
  }

  /** The empty set. */
  static empty(): EndpointSet {
    return new EndpointSet(new Map());
  }

  /** A set holding `endpoints`; later duplicates of a key replace earlier ones. */
  static of(endpoints: readonly Endpoint[]): EndpointSet {
    const map = new Map<string, Endpoint>();
    for (const e of endpoints) map.set(endpointKey(e), e);
    return new EndpointSet(map);
  }

  /** Number of endpoints. */
  get size(): number {
    return this.#byKey?.size ?? this.#list!.length;
  }

  /** The endpoints, in insertion order. The array is frozen and cached. */
  get endpoints(): readonly Endpoint[] {
    this.#list ??= Object.freeze([...this.#byKey!.values()]);
    return this.#list;
  }

  /** The endpoint with key `address:port`, if present. */
  get(key: string): Endpoint | undefined {
    return this.#map().get(key);
  }

  /** True when an endpoint with this key is present. */
  has(key: string): boolean {
    return this.#map().has(key);
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
        const map = this.#map();
        let changed = false;
        for (const e of update.endpoints) {
          const key = endpointKey(e);
          const prev = map.get(key);
          if (prev !== undefined && endpointEqual(prev, e)) continue;
          if (!changed) this.#handOver();
          changed = true;
          map.set(key, e);
        }
        return changed ? new EndpointSet(map) : this;
      }
      case 'remove': {
        const map = this.#map();
        let changed = false;
        for (const key of update.keys) {
          if (!map.has(key)) continue;
          if (!changed) this.#handOver();
          changed = true;
          map.delete(key);
        }
        return changed ? new EndpointSet(map) : this;
      }
      case 'not-found':
        return this.size === 0 ? this : EndpointSet.empty();
    }
  }

  #map(): Map<string, Endpoint> {
    if (this.#byKey === undefined) {
      const map = new Map<string, Endpoint>();
      for (const e of this.#list!) map.set(endpointKey(e), e);
      this.#byKey = map;
    }
    return this.#byKey;
  }

  /**
   * Give up this set's map to the set `apply()` is building, before its first change: this set keeps its
   * contents as its list.
   */
  #handOver(): void {
    this.#list ??= Object.freeze([...this.#byKey!.values()]);
    this.#byKey = undefined;
  }

  #reset(endpoints: readonly Endpoint[]): EndpointSet {
    const map = this.#map();
    const next = new Map<string, Endpoint>();
    let same = endpoints.length === map.size;
    for (const e of endpoints) {
      const key = endpointKey(e);
      const prev = map.get(key);
      // An unchanged endpoint keeps its object: consumers match endpoints by identity before by key.
      const kept = prev !== undefined && endpointEqual(prev, e);
      next.set(key, kept ? prev : e);
      same &&= kept;
    }
    return same && next.size === map.size ? this : new EndpointSet(next);
  }
}
