// ⑧ Transport (HTTP): can a request body be sent again? Consumes undici's body shapes; produces a body
// for each attempt, and knows whether a streamed body has been read yet.

/** Bodies that can be sent any number of times (undici re-reads them per attempt). */
export function isReplayableBody(body: unknown): boolean {
  if (body === null || body === undefined || typeof body === 'string') return true;
  if (ArrayBuffer.isView(body) || body instanceof ArrayBuffer) return true;
  // Blob and File: undici streams them afresh on every send.
  return typeof Blob !== 'undefined' && body instanceof Blob;
}

/**
 * A streamed body (Node Readable, web ReadableStream, async iterable) wrapped so the mesh knows whether
 * undici has started reading it. A request that failed before its body was touched (connect refused)
 * may be sent elsewhere with the same body; once reading began, it cannot be replayed.
 *
 * The body's own failure (a file that does not exist, an upstream request that was cut) goes to
 * `onError`, whenever it happens: a Node stream's `'error'` from the start (undici listens to a stream
 * body from its dispatch, but it sees this wrapper, an iterable, so the mesh listens instead; without a
 * listener that event ends the process), and what reading it throws.
 *
 * @example
 * ```ts
 * const tracked = new TrackedBody(readable, (error) => call.abort(error))
 * pool.dispatch({ ...opts, body: tracked }, handler)
 * if (!tracked.started) retryWith(tracked)
 * ```
 */
export class TrackedBody implements AsyncIterable<unknown> {
  readonly source: unknown;
  readonly #onError: (error: Error) => void;
  #started = false;

  constructor(source: unknown, onError: (error: Error) => void) {
    this.source = source;
    this.#onError = onError;
    const emitter = source as { on?: unknown };
    if (typeof emitter.on === 'function') (source as NodeJS.EventEmitter).on('error', onError);
  }

  /** True once undici began iterating the body. */
  get started(): boolean {
    return this.#started;
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    this.#started = true;
    const iterator = (this.source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const onError = this.#onError;
    return {
      next: (...args: [] | [unknown]) =>
        iterator.next(...args).catch((error: unknown) => {
          onError(error instanceof Error ? error : new Error(String(error)));
          throw error;
        }),
      return: (value?: unknown) =>
        iterator.return === undefined ? Promise.resolve({ done: true, value }) : iterator.return(value),
    };
  }

  /** Stop listening to the source (the call is over): neither it nor the call keeps the other alive. */
  detach(): void {
    const emitter = this.source as { off?: unknown };
    if (typeof emitter.off === 'function') (this.source as NodeJS.EventEmitter).off('error', this.#onError);
  }

  /**
   * Release the source after the request failed for good (undici would have destroyed it). A Node stream
   * is destroyed without an error: one would be emitted after `detach()`, to nobody.
   */
  discard(error: Error): void {
    const s = this.source as { destroy?: (e?: Error) => void; destroyed?: boolean; cancel?: (e?: unknown) => unknown };
    if (typeof s.destroy === 'function') {
      if (s.destroyed !== true) s.destroy();
    } else if (typeof s.cancel === 'function' && !this.#started) {
      Promise.resolve(s.cancel(error)).catch(() => {});
    }
  }
}

/** True for bodies undici would stream (not replayable). */
export function isStreamBody(body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false;
  return typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}
