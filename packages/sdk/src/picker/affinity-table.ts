// ⑥ Picker: the ClientIP session-affinity table of one Service port (kube-proxy `recent` module, spec §7).
// Consumes (key, now) lookups and records; produces the remembered endpoint while the sliding window holds.

/** One remembered client → endpoint binding. */
interface Entry<S> {
  state: S;
  lastUsed: number;
}

/**
 * Sliding-window affinity with a bounded, LRU-ordered table.
 *
 * - An entry sticks while `now - lastUsed <= timeoutMs` (iptables `--rcheck --seconds`, inclusive
 *   boundary; nftables would be exclusive, spec §7.2).
 * - Every use refreshes `lastUsed` (the `--set` of the endpoint chain runs for every new connection).
 * - Entries are kept in least-recently-used order (a `Map` re-inserted on use), so expired entries are
 *   reaped from the front and the table never exceeds `maxEntries` (the oldest goes first, like the
 *   kernel's `ip_list_tot`).
 * - `drop()` removes bindings of endpoints that left the eligible set; they never come back.
 * - `timeoutMs` may change at any time (the Service's timeout changed) without losing entries.
 *
 * @example
 * ```ts
 * const table = new AffinityTable<EndpointState>(10_800_000, 10_000)
 * const state = table.get('10.0.0.9', now) ?? choose()
 * table.set('10.0.0.9', state, now)
 * ```
 */
export class AffinityTable<S> {
  /**
   * The sliding window. Writable: a new value applies to the very next `get()`/`reap()` and keeps every
   * entry ("timeout changes on the Service apply to subsequent checks immediately", spec §7.4). The LRU
   * order is by `lastUsed`, which does not depend on the timeout, so reaping stays correct.
   */
  timeoutMs: number;
  readonly maxEntries: number;
  readonly #map = new Map<string, Entry<S>>();
  // The most recently used entry is the last one in the Map: using it again needs no re-insertion.
  // A process that uses its own identity as the key hits this path on every pick.
  #mruKey: string | undefined;
  #mru: Entry<S> | undefined;

  constructor(timeoutMs: number, maxEntries: number) {
    this.timeoutMs = timeoutMs;
    this.maxEntries = maxEntries;
  }

  /** Number of entries (expired ones included until reaped). */
  get size(): number {
    return this.#map.size;
  }

  /** The endpoint bound to `key` if the binding is still inside its window, else undefined. */
  get(key: string, now: number): S | undefined {
    const entry = key === this.#mruKey ? this.#mru : this.#map.get(key);
    if (entry === undefined) return undefined;
    return now - entry.lastUsed <= this.timeoutMs ? entry.state : undefined;
  }

  /** Bind `key` to `state` as of `now` (a new binding, or a refresh of the current one). */
  set(key: string, state: S, now: number): void {
    if (key === this.#mruKey) {
      const mru = this.#mru!;
      mru.state = state;
      mru.lastUsed = now;
      return;
    }
    const map = this.#map;
    let entry = map.get(key);
    if (entry !== undefined) {
      map.delete(key);
      entry.state = state;
      entry.lastUsed = now;
    } else {
      this.reap(now);
      if (map.size >= this.maxEntries) {
        const oldest = map.keys().next();
        if (!oldest.done) map.delete(oldest.value);
      }
      entry = { state, lastUsed: now };
    }
    map.set(key, entry);
    this.#mruKey = key;
    this.#mru = entry;
  }

  /** Remove expired entries from the LRU end (amortised: each entry is reaped once). */
  reap(now: number): void {
    const map = this.#map;
    for (const [key, entry] of map) {
      if (now - entry.lastUsed <= this.timeoutMs) break;
      map.delete(key);
      if (key === this.#mruKey) this.#forgetMru();
    }
  }

  /** Remove every binding whose endpoint matches `gone` (the endpoint left the eligible set). */
  drop(gone: (state: S) => boolean): void {
    for (const [key, entry] of this.#map) {
      if (gone(entry.state)) {
        this.#map.delete(key);
        if (key === this.#mruKey) this.#forgetMru();
      }
    }
  }

  /** Remove everything. */
  clear(): void {
    this.#map.clear();
    this.#forgetMru();
  }

  #forgetMru(): void {
    this.#mruKey = undefined;
    this.#mru = undefined;
  }
}
