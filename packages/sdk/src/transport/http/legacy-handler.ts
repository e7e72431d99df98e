// ⑧ Transport (HTTP): callers that still speak undici's legacy handler API (Node 20's bundled fetch,
// undici 7's request/stream/pipeline) adapted to the new API at the dispatcher's door. Consumes a legacy
// handler; produces a new-API handler that hands raw headers through instead of re-encoding them.

import type { Dispatcher } from 'undici';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
type RawHeaders = Buffer[] | string[];

/** True for a handler written against the legacy API only. */
export function isLegacyHandler(handler: Handler): boolean {
  return typeof handler.onRequestStart !== 'function' && typeof handler.onHeaders === 'function';
}

/**
 * The new-API face of a legacy handler. Like undici's own wrapper, except that the raw header arrays the
 * connection received (`controller.rawHeaders`, set by undici when it unwraps for a pool) go to the legacy
 * handler as they are: converting them to an object and back would cost a Buffer per header per request.
 *
 * @example
 * ```ts
 * dispatcher.dispatch(opts, isLegacyHandler(handler) ? new LegacyHandler(handler) : handler)
 * ```
 */
export class LegacyHandler implements Handler {
  readonly #handler: Handler;

  constructor(handler: Handler) {
    this.#handler = handler;
  }

  onRequestStart(controller: Controller, context: unknown): void {
    // undici passes the dispatch context as a second argument (not in its types).
    const onConnect = this.#handler.onConnect as
      | ((abort: (reason?: Error) => void, context: unknown) => void)
      | undefined;
    onConnect?.call(this.#handler, (reason?: Error) => controller.abort(reason ?? new Error('aborted')), context);
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: Record<string, unknown>, socket: never): void {
    this.#handler.onUpgrade?.(statusCode, raw(controller.rawHeaders, headers), socket);
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Record<string, unknown>,
    message?: string,
  ): void {
    const resume = () => controller.resume();
    if (
      this.#handler.onHeaders?.(statusCode, raw(controller.rawHeaders, headers) as Buffer[], resume, message ?? '') ===
      false
    ) {
      controller.pause();
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#handler.onData?.(chunk) === false) controller.pause();
  }

  onResponseEnd(controller: Controller, trailers: Record<string, unknown>): void {
    this.#handler.onComplete?.(raw(controller.rawTrailers, trailers) as string[]);
  }

  onResponseError(_controller: Controller | null | undefined, error: Error): void {
    if (typeof this.#handler.onError !== 'function') throw error;
    this.#handler.onError(error);
  }
}

/** The raw header array when undici kept it, else one built from the parsed object. */
function raw(kept: Controller['rawHeaders'], parsed: Record<string, unknown>): RawHeaders {
  if (Array.isArray(kept)) return kept as RawHeaders;
  const out: Buffer[] = [];
  for (const [key, value] of Object.entries(parsed ?? {})) {
    if (Array.isArray(value))
      for (const v of value) out.push(Buffer.from(key, 'latin1'), Buffer.from(String(v), 'latin1'));
    else if (value !== undefined) out.push(Buffer.from(key, 'latin1'), Buffer.from(String(value), 'latin1'));
  }
  return out;
}
