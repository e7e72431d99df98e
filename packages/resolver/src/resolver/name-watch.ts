// ③→④ Endpoint source to endpoint set: one shared, ref-counted watch of one absolute name and port.
// Consumes a source's `SourceEvent`s; produces the folded state that `Resolver` turns into snapshots.

import { EndpointSet } from '../endpoint/endpoint-set.js';
import type { ClusterIPError } from '../errors/clusterip-error.js';
import type { ServiceInfo } from '../service/service-info.js';
import type { EndpointSource, SourceQuery, SourceWatch } from '../source/endpoint-source.js';
import type { NotFoundReason, SourceEvent } from '../source/endpoint-update.js';
import type { SnapshotReason } from './service-snapshot.js';

/** Folded state of one watched name. */
export type NameState =
  | { readonly phase: 'pending' }
  | {
      readonly phase: 'found';
      readonly set: EndpointSet;
      readonly stale: boolean;
      readonly error?: ClusterIPError;
      readonly reason?: SnapshotReason;
      readonly syncedAt: number;
    }
  | {
      readonly phase: 'not-found';
      readonly reason: NotFoundReason;
      readonly detail?: string;
      readonly syncedAt: number;
    }
  | { readonly phase: 'unavailable'; readonly error: ClusterIPError };

/**
 * One source watch shared by every resolver watch that needs the same (name, port). Listeners are
 * called in a microtask after a state change (changes of one tick are coalesced), in subscription
 * order, never after `close()`.
 * When the last reference is released, the source watch stays open for `idleTimeoutMs` (so repeated
 * lookups are answered from memory), then closes.
 */
export class NameWatch {
  readonly key: string;
  readonly query: SourceQuery;
  #state: NameState = { phase: 'pending' };
  #service: ServiceInfo | undefined;
  #version = 0;
  #refs = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #flushScheduled = false;
  #closing: Promise<void> | undefined;
  readonly #listeners = new Set<() => void>();
  readonly #watch: SourceWatch;
  readonly #now: () => number;
  readonly #idleTimeoutMs: number;
  readonly #onIdle: (watch: NameWatch) => void;

  constructor(
    source: EndpointSource,
    key: string,
    query: SourceQuery,
    options: { now: () => number; idleTimeoutMs: number; onIdle: (watch: NameWatch) => void },
  ) {
    this.key = key;
    this.query = query;
    this.#now = options.now;
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#onIdle = options.onIdle;
    this.#watch = source.watch(query, (event) => this.#onEvent(event));
  }

  get state(): NameState {
    return this.#state;
  }

  /** What the source last said about the Service. */
  get service(): ServiceInfo | undefined {
    return this.#service;
  }

  /** Increments on every state or service change. */
  get version(): number {
    return this.#version;
  }

  get idle(): boolean {
    return this.#refs === 0;
  }

  ref(): void {
    this.#refs++;
    if (this.#idleTimer !== undefined) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
  }

  unref(): void {
    if (this.#refs === 0 || --this.#refs > 0 || this.#closed) return;
    this.#idleTimer = setTimeout(() => this.#onIdle(this), this.#idleTimeoutMs);
    this.#idleTimer.unref();
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
      this.#listeners.clear();
      this.#closing = this.#watch.close();
    }
    return this.#closing;
  }

  #onEvent(event: SourceEvent): void {
    if (this.#closed) return;
    const previous = this.#state;
    switch (event.type) {
      case 'service':
        if (this.#service === event.service) return;
        this.#service = event.service;
        break;
      case 'stale':
        if (previous.phase === 'found') this.#state = { ...previous, stale: true, error: event.error };
        else if (previous.phase !== 'not-found') this.#state = { phase: 'unavailable', error: event.error };
        else return;
        break;
      case 'update': {
        const update = event.update;
        const syncedAt = this.#now();
        if (update.type === 'not-found') {
          this.#state = {
            phase: 'not-found',
            reason: update.reason,
            syncedAt,
            ...(update.detail === undefined ? {} : { detail: update.detail }),
          };
          break;
        }
        const base = previous.phase === 'found' ? previous.set : EndpointSet.empty();
        const set = base.apply(update);
        const reason =
          update.type === 'reset' ? update.reason : previous.phase === 'found' ? previous.reason : undefined;
        if (previous.phase === 'found' && set === previous.set && !previous.stale && reason === previous.reason) {
          return;
        }
        this.#state = { phase: 'found', set, stale: false, syncedAt, ...(reason === undefined ? {} : { reason }) };
        break;
      }
    }
    this.#version++;
    // Coalesce events a source delivers together (a Service change and its endpoint reset) into one
    // notification, so watchers never see the half-applied state in between.
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    for (const listener of [...this.#listeners]) {
      if (this.#closed) return;
      listener();
    }
  }
}
