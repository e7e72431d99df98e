// Testing: an endpoint source driven by hand, to test code that consumes sources (and ours).
// Consumes events pushed by a test; produces them to watchers exactly as a real source would.

import { ClosedError } from '../errors/closed-error.js';
import type { EndpointSource, SourceListener, SourceQuery, SourceWatch } from '../source/endpoint-source.js';
import type { SourceEvent } from '../source/endpoint-update.js';

/** One open (or closed) watch of a {@link FakeEndpointSource}. */
export interface FakeWatch {
  readonly query: SourceQuery;
  readonly closed: boolean;
  /** Deliver an event to this watch (asynchronously, as sources do). */
  emit(event: SourceEvent): void;
}

/**
 * Answers each new watch with `respond(query)` (if given), then lets the test push events with
 * `emit(fqdn, event)`. Delivery is asynchronous and stops at `close()`.
 *
 * @example
 * ```ts
 * const source = new FakeEndpointSource((q) => [{ type: 'update', update: { type: 'not-found', reason: 'nxdomain' } }])
 * const resolver = new Resolver({ source, context })
 * source.emit('web.prod.svc.cluster.local.', { type: 'update', update: { type: 'reset', endpoints } })
 * ```
 */
export class FakeEndpointSource implements EndpointSource {
  readonly kind: string;
  readonly #respond: ((query: SourceQuery) => readonly SourceEvent[] | undefined) | undefined;
  readonly #watches: (FakeWatch & { closed: boolean })[] = [];
  #closing: Promise<void> | undefined;

  constructor(respond?: (query: SourceQuery) => readonly SourceEvent[] | undefined, kind = 'fake') {
    this.#respond = respond;
    this.kind = kind;
  }

  /** Every watch ever opened, in order. */
  get watches(): readonly FakeWatch[] {
    return this.#watches;
  }

  /** Open watches of `fqdn`. */
  watchesOf(fqdn: string): FakeWatch[] {
    return this.#watches.filter((w) => !w.closed && w.query.fqdn === fqdn);
  }

  /** Deliver `event` to every open watch of `fqdn`; returns how many got it. */
  emit(fqdn: string, event: SourceEvent): number {
    const targets = this.watchesOf(fqdn);
    for (const w of targets) w.emit(event);
    return targets.length;
  }

  watch(query: SourceQuery, listener: SourceListener): SourceWatch {
    if (this.#closing !== undefined) throw new ClosedError('fake endpoint source');
    const entry = {
      query,
      closed: false,
      emit: (event: SourceEvent) => {
        setImmediate(() => {
          if (!entry.closed) listener(event);
        });
      },
    };
    this.#watches.push(entry);
    for (const event of this.#respond?.(query) ?? []) entry.emit(event);
    return {
      close: () => {
        entry.closed = true;
        return Promise.resolve();
      },
    };
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Stop every watch (no listener call afterwards); later `watch()` calls throw. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      for (const w of this.#watches) w.closed = true;
      this.#closing = Promise.resolve();
    }
    return this.#closing;
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
