// ⑧ Transport (HTTP): the caller's handler while the route of its request is looked up (the first request
// to a host waits for discovery). Consumes the caller's handler (undici's new or legacy API); produces a
// handler of the same API for whatever takes the request next (a routed call, or the layer below).

import type { Dispatcher } from 'undici';
import type { LegacyDispatchHandler } from './routed-call.js';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
type RawHeaders = Buffer[] | string[] | null;
type Abort = (reason?: Error) => void;

/**
 * A request whose route is not known yet: the caller is started at once, so its abort (or its body's
 * error) ends the request during the lookup rather than when a connection is made. Once the route is
 * known, the request is dispatched with this handler, which passes everything through without starting
 * the caller a second time; a request the caller has already given up is aborted at its start.
 *
 * Written by hand: undici's own handler wrappers convert between the two handler APIs and start the
 * caller when the layer below does, which is the wait this object exists to cut short.
 */
export interface WaitingHandler {
  /** The caller has had its terminal callback (aborted, failed): the request must not be dispatched. */
  readonly done: boolean;
  /** Start the caller (its `onConnect` or `onRequestStart`). A throw is the caller's, as in undici. */
  start(): void;
  /** End the request with `error` now (once), unless it has already ended. */
  fail(error: Error): void;
  /** The handler to dispatch the request with: this object, in the caller's own API. */
  readonly handler: Handler;
}

/** The waiting handler for `handler`, in the caller's API. */
export function waitingHandler(handler: Handler | LegacyDispatchHandler): WaitingHandler {
  return typeof (handler as Handler).onRequestStart === 'function'
    ? new WaitingNewApi(handler as Handler)
    : new WaitingLegacy(handler as LegacyDispatchHandler);
}

/** For callers of undici's legacy API (`request()`, Node 20's and 22's `fetch`). */
class WaitingLegacy implements LegacyDispatchHandler, WaitingHandler {
  readonly #caller: LegacyDispatchHandler;
  /** The abort of whatever took the request, once it started it. */
  #abort: Abort | undefined;
  #reason: Error | undefined;
  #done = false;

  constructor(caller: LegacyDispatchHandler) {
    this.#caller = caller;
  }

  get done(): boolean {
    return this.#done;
  }

  get handler(): Handler {
    return this as unknown as Handler;
  }

  start(): void {
    this.#caller.onConnect?.((reason?: Error) => {
      if (this.#done) return;
      const abort = this.#abort;
      if (abort !== undefined) abort(reason);
      else this.fail(reason ?? new Error('aborted'));
    });
  }

  fail(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#reason = error;
    this.#caller.onError?.(error);
  }

  onConnect(abort: Abort): void {
    if (this.#done) abort(this.#reason);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void, statusText: string): boolean {
    return this.#done || this.#caller.onHeaders?.(statusCode, rawHeaders, resume, statusText) !== false;
  }

  onData(chunk: Buffer): boolean {
    return this.#done || this.#caller.onData?.(chunk) !== false;
  }

  onComplete(rawTrailers: RawHeaders): void {
    if (this.#done) return;
    this.#caller.onComplete?.(rawTrailers); // a throw goes back below, and the caller's onError follows
    this.#done = true;
  }

  onError(error: Error): void {
    this.fail(error);
  }

  onUpgrade(statusCode: number, rawHeaders: RawHeaders, socket: unknown): void {
    if (this.#done) return;
    this.#caller.onUpgrade?.(statusCode, rawHeaders, socket);
    this.#done = true;
  }

  // Optional callbacks undici's pools make (Node's fetch times the response with onResponseStarted).

  onResponseStarted(): void {
    if (!this.#done) this.#caller.onResponseStarted?.();
  }

  onBodySent(chunk: unknown): void {
    if (!this.#done) this.#caller.onBodySent?.(chunk);
  }

  onRequestSent(): void {
    if (!this.#done) this.#caller.onRequestSent?.();
  }
}

/**
 * For callers of the new API. The caller holds this object as its controller from the start; it acts on
 * the controller of whatever took the request once there is one.
 */
class WaitingNewApi implements Handler, Controller, WaitingHandler {
  readonly #caller: Handler;
  #below: Controller | undefined;
  /** The caller's abort, before anything took the request (a failure is no abort: undici's retry tells them apart). */
  #reason: Error | null = null;
  /** Why the request ended before anything took it: an abort, or a failure (the route, the body). */
  #ended: Error | undefined;
  #paused = false;
  #done = false;

  constructor(caller: Handler) {
    this.#caller = caller;
  }

  get done(): boolean {
    return this.#done;
  }

  get handler(): Handler {
    return this;
  }

  start(): void {
    this.#caller.onRequestStart?.(this, undefined);
  }

  fail(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#ended ??= error;
    this.#caller.onResponseError?.(this, error);
  }

  // ── the controller the caller holds ──

  get aborted(): boolean {
    return this.#below?.aborted ?? this.#reason !== null;
  }

  get paused(): boolean {
    return this.#below?.paused ?? this.#paused;
  }

  get reason(): Error | null {
    return this.#below?.reason ?? this.#reason;
  }

  get rawHeaders(): Controller['rawHeaders'] {
    return this.#below?.rawHeaders;
  }

  get rawTrailers(): Controller['rawTrailers'] {
    return this.#below?.rawTrailers;
  }

  abort(reason: Error): void {
    if (this.#done) return;
    const below = this.#below;
    if (below !== undefined) below.abort(reason);
    else {
      this.#reason = reason ?? new Error('aborted');
      this.fail(this.#reason);
    }
  }

  pause(): void {
    this.#paused = true;
    this.#below?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#below?.resume();
  }

  // ── the handler whatever takes the request calls ──

  onRequestStart(controller: Controller): void {
    if (this.#done) {
      controller.abort(this.#ended ?? new Error('aborted'));
      return;
    }
    this.#below = controller;
    if (this.#paused) controller.pause();
  }

  onResponseStart(_: Controller, statusCode: number, headers: Record<string, string | string[]>, text: string): void {
    if (!this.#done) this.#caller.onResponseStart?.(this, statusCode, headers, text);
  }

  onResponseData(_: Controller, chunk: Buffer): void {
    if (!this.#done) this.#caller.onResponseData?.(this, chunk);
  }

  onResponseEnd(_: Controller, trailers: Record<string, string | string[]>): void {
    if (this.#done) return;
    this.#caller.onResponseEnd?.(this, trailers); // a throw goes back below, and the caller's onResponseError follows
    this.#done = true;
  }

  onResponseError(_: Controller, error: Error): void {
    this.fail(error);
  }

  onRequestUpgrade(_: Controller, statusCode: number, headers: Record<string, string | string[]>, socket: never): void {
    if (this.#done) return;
    this.#caller.onRequestUpgrade?.(this, statusCode, headers, socket);
    this.#done = true;
  }
}
