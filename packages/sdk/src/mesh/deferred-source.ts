// Mesh: an EndpointSource available synchronously whose real source is created asynchronously
// (createDefaultSource() reads files). Consumes a promise of a source; produces an EndpointSource.

import {
  type EndpointSource,
  type SourceListener,
  type SourceQuery,
  type SourceWatch,
  WatchFailedError,
} from '@clusterip/resolver';

/**
 * Stands in for a source that is still being created: `watch()` returns at once and starts the real
 * watch when the source exists. If creating the source fails, every watch receives one `stale` event
 * carrying a WatchFailedError (the first event of a watch that cannot reach its backend), never a throw.
 * `close()` closes the real source once it exists (the deferred source owns it).
 *
 * @example
 * ```ts
 * const source = new DeferredSource(createDefaultSource().then((d) => d.source))
 * const resolver = new Resolver({ source }) // usable at once
 * ```
 */
export class DeferredSource implements EndpointSource {
  #kind = 'deferred';
  #source: EndpointSource | undefined;
  #error: unknown;
  readonly #ready: Promise<void>;
  #closing: Promise<void> | undefined;

  constructor(source: Promise<EndpointSource>) {
    this.#ready = source.then(
      (s) => {
        this.#source = s;
        this.#kind = s.kind;
        if (this.#closing !== undefined) void s.close();
      },
      (error: unknown) => {
        this.#error = error;
      },
    );
  }

  /** The real source's kind once it exists (`kubernetes`, `dns`, ...), `deferred` before. */
  get kind(): string {
    return this.#kind;
  }

  /** Resolves when the real source exists (or failed to be created). Never rejects. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  watch(query: SourceQuery, listener: SourceListener): SourceWatch {
    if (this.#source !== undefined) return this.#source.watch(query, listener);
    let inner: SourceWatch | undefined;
    let closed = this.#closing !== undefined;
    let closing: Promise<void> | undefined;
    void this.#ready.then(() => {
      if (closed) return;
      if (this.#source !== undefined) {
        inner = this.#source.watch(query, listener);
        return;
      }
      const why = this.#error instanceof Error ? this.#error.message : String(this.#error);
      listener({ type: 'stale', error: new WatchFailedError('default source', why, { cause: this.#error }) });
    });
    return {
      close: () => {
        closing ??= (async () => {
          closed = true;
          if (inner !== undefined) await inner.close();
        })();
        return closing;
      },
    };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#ready;
      await this.#source?.close();
    })();
    return this.#closing;
  }
}
