// ⑧ Transport (HTTP): one request routed to a Service — pick per attempt, send through the endpoint's
// pool, report each attempt's outcome to the balancer, retry on another endpoint when the policy allows.
// Consumes dispatch options and the caller's (new-API) handler; produces calls on that handler.

import { ClosedError, type ClusterIPError, endpointKey } from '@clusterip/resolver';
import type { Dispatcher } from 'undici';
import type { CallOutcome } from '../../eligibility/classify.js';
import { type UpstreamAttempt, UpstreamError, type UpstreamStopReason } from '../../errors/upstream-error.js';
import type { PickResult } from '../../picker/picker.js';
import type { HttpRoute, ParsedOrigin } from './http-route.js';
import { isReplayableBody, isStreamBody, TrackedBody } from './request-body.js';
import { withHostHeader } from './request-headers.js';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
type Pick = Extract<PickResult, { type: 'pick' }>;
type AttemptOptions = Omit<Dispatcher.DispatchOptions, 'origin' | 'body'> & {
  origin: string;
  body: unknown;
  clusterip?: undefined;
};

/**
 * Per-request options of routed requests, given as `clusterip` next to undici's own dispatch options
 * (`request(url, { dispatcher, clusterip: { affinityKey: user.id } })`). `fetch` cannot carry them: use
 * the mesh's `affinityKey` extractor (header or cookie) there.
 */
export interface MeshRequestOptions {
  /** Affinity key of this request (ClientIP affinity or `ring-hash`), overriding the extractor. */
  readonly affinityKey?: string;
  /** `false`: never retry this request, not even a refused connection. */
  readonly retry?: false;
  /** A fresh body for each retry, for streamed bodies that can be produced again. */
  readonly replayBody?: () => unknown;
}

/** Services the routed call needs from its dispatcher: the clock, and timers that close() cancels. */
export interface CallHost {
  readonly now: () => number;
  readonly random: () => number;
  readonly closed: boolean;
  /** Run `fn` after `ms` (unref'd), unless the host closes first: then `cancel` runs instead. */
  schedule(ms: number, fn: () => void, cancel: () => void): void;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
// Failures where no byte of the request reached the pod: safe to send elsewhere, whatever the method.
const BEFORE_WRITE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);
// Mistakes in the request itself: the endpoint is not to blame and another one would fail the same way.
const CALLER_ERRORS = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_REQ_RETRY',
]);

/**
 * The caller's view of a routed request: one controller across attempts, so an abort or a pause
 * reaches whichever attempt is running, and an abort between attempts stops the retry.
 */
class CallController implements Controller {
  readonly #call: RoutedCall;
  #current: Controller | undefined;
  #aborted = false;
  #paused = false;
  #reason: Error | null = null;

  constructor(call: RoutedCall) {
    this.#call = call;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  get rawHeaders(): Controller['rawHeaders'] {
    return this.#current?.rawHeaders;
  }

  get rawTrailers(): Controller['rawTrailers'] {
    return this.#current?.rawTrailers;
  }

  attach(controller: Controller): void {
    this.#current = controller;
    if (this.#aborted) controller.abort(this.#reason ?? new Error('aborted'));
    else if (this.#paused) controller.pause();
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    if (this.#current !== undefined && !this.#current.aborted) this.#current.abort(reason);
    else this.#call.abortWhileIdle(reason);
  }

  pause(): void {
    this.#paused = true;
    this.#current?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#current?.resume();
  }
}

/** Handler of one attempt; callbacks of an attempt the call has moved past are ignored. */
class AttemptHandler implements Handler {
  readonly #call: RoutedCall;
  readonly pick: Pick;
  readonly endpoint: string;
  readonly startedAt: number;
  status = 0;
  latencyMs: number | undefined;
  /** This response will be retried: its body is read and dropped. */
  discard = false;
  #reported = false;

  constructor(call: RoutedCall, pick: Pick, startedAt: number) {
    this.#call = call;
    this.pick = pick;
    this.endpoint = endpointKey(pick.endpoint);
    this.startedAt = startedAt;
  }

  /** Report the outcome to the balancer, exactly once. */
  report(outcome: CallOutcome): void {
    if (this.#reported) return;
    this.#reported = true;
    this.pick.done(outcome);
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#call.onAttemptStart(this, controller, context);
  }

  onRequestUpgrade(
    controller: Controller,
    statusCode: number,
    headers: Record<string, unknown>,
    socket: unknown,
  ): void {
    this.#call.onAttemptUpgrade(this, controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Record<string, unknown>,
    message?: string,
  ): void {
    this.#call.onAttemptResponse(this, controller, statusCode, headers, message);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.#call.onAttemptData(this, controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: Record<string, unknown>): void {
    this.#call.onAttemptEnd(this, controller, trailers);
  }

  onResponseError(_controller: Controller | null | undefined, error: Error): void {
    this.#call.onAttemptError(this, error);
  }
}

/**
 * One routed request. Created by the routing interceptor once the route is known; `start()` sends the
 * first attempt. Invariants: the caller's handler sees at most one `onRequestStart`, one response and one
 * terminal callback; every pick gets exactly one `done()`.
 */
export class RoutedCall {
  readonly #host: CallHost;
  readonly #route: HttpRoute;
  readonly #origin: ParsedOrigin;
  /** Dispatch options of every attempt: built once; `origin` and `body` are set per attempt. */
  readonly #opts: AttemptOptions;
  readonly #handler: Handler;
  readonly #controller: CallController;
  readonly #headers: ReturnType<typeof withHostHeader>;
  readonly #idempotent: boolean;
  readonly #affinityKey: string | undefined;
  readonly #noRetry: boolean;
  readonly #replayBody: (() => unknown) | undefined;
  readonly #servername: string | undefined;
  #body: unknown;
  readonly #attempts: UpstreamAttempt[] = [];
  readonly #tried = new Set<string>();
  #current: AttemptHandler | undefined;
  #started = false;
  #headersSent = false;
  #finished = false;
  #waiting = false;

  constructor(
    host: CallHost,
    route: HttpRoute,
    origin: ParsedOrigin,
    opts: Dispatcher.DispatchOptions & { clusterip?: MeshRequestOptions },
    handler: Handler,
  ) {
    this.#host = host;
    this.#route = route;
    this.#origin = origin;
    const clusterip = opts.clusterip;
    this.#handler = handler;
    this.#controller = new CallController(this);
    this.#headers = withHostHeader(opts.headers, origin.host);
    const method = (opts.method ?? 'GET').toUpperCase();
    this.#idempotent = opts.idempotent ?? IDEMPOTENT.has(method);
    this.#noRetry = clusterip?.retry === false || opts.upgrade !== undefined || method === 'CONNECT';
    this.#replayBody = clusterip?.replayBody;
    const body = opts.body;
    this.#body = !isReplayableBody(body) && isStreamBody(body) ? new TrackedBody(body) : body;
    const https = origin.protocol === 'https:';
    this.#servername = https && !isIpLiteral(origin.hostname) ? origin.hostname : undefined;
    this.#opts = {
      ...opts,
      clusterip: undefined,
      origin: '',
      headers: this.#headers,
      body: undefined,
      ...(this.#servername === undefined ? {} : { servername: this.#servername }),
    } as AttemptOptions;
    let key = clusterip?.affinityKey;
    if (key === undefined && route.config.affinityKey !== undefined) {
      try {
        key = route.config.affinityKey({ headers: this.#headers });
      } catch {
        key = undefined; // a throwing user extractor must not fail the request: no key, default affinity
      }
    }
    this.#affinityKey = key;
  }

  start(): void {
    this.#route.budget?.onRequest();
    this.#attempt();
  }

  // ── attempts ──────────────────────────────────────────────────────────────────────────────────

  #attempt(): void {
    this.#waiting = false;
    if (this.#finished) return;
    if (this.#controller.aborted) {
      this.#fail(this.#controller.reason ?? new Error('aborted'));
      return;
    }
    const result = this.#pickFresh();
    if (result.type !== 'pick') {
      const error = result.type === 'queue' ? new ClosedError('mesh') : result.error;
      if (this.#attempts.length === 0) this.#fail(error);
      else this.#giveUp('attempts', `no other endpoint: ${error.message}`, error);
      return;
    }
    const attempt = new AttemptHandler(this, result, this.#host.now());
    this.#current = attempt;
    this.#tried.add(attempt.endpoint);
    const pool = this.#route.pool(result.endpoint, this.#origin.protocol, this.#servername);
    // undici copies what it needs from the options into its Request: one object serves every attempt.
    const opts = this.#opts;
    opts.origin = `${this.#origin.protocol}//${attempt.endpoint}`;
    opts.body = this.#body;
    try {
      pool.dispatch(opts as Dispatcher.DispatchOptions, attempt);
    } catch (error) {
      this.onAttemptError(attempt, error as Error);
    }
  }

  /** Pick an endpoint not tried yet when the balancer offers one (it may not: one endpoint, affinity). */
  #pickFresh(): PickResult {
    const n = this.#attempts.length;
    // A retry under affinity must not be pinned to the endpoint that just failed: use a derived key.
    const key = n > 0 && this.#route.keyed ? `${this.#affinityKey ?? ''}\u0000retry-${n}` : this.#affinityKey;
    const ctx = key === undefined ? undefined : { affinityKey: key };
    let result = this.#route.pick(ctx);
    for (let i = 0; i < 4 && result.type === 'pick' && this.#tried.has(endpointKey(result.endpoint)); i++) {
      const again = this.#route.pick(ctx);
      result.done({ type: 'cancelled' });
      result = again;
    }
    return result;
  }

  // ── attempt callbacks ─────────────────────────────────────────────────────────────────────────

  onAttemptStart(attempt: AttemptHandler, controller: Controller, context: unknown): void {
    if (attempt !== this.#current || this.#finished) {
      controller.abort(new Error('superseded attempt'));
      return;
    }
    this.#controller.attach(controller);
    if (this.#started) return;
    this.#started = true;
    this.#handler.onRequestStart?.(this.#controller, context);
  }

  onAttemptUpgrade(
    attempt: AttemptHandler,
    _controller: Controller,
    statusCode: number,
    headers: Record<string, unknown>,
    socket: unknown,
  ): void {
    if (attempt !== this.#current || this.#finished) return;
    attempt.report({ type: 'http', status: statusCode, latencyMs: this.#host.now() - attempt.startedAt });
    this.#finished = true;
    this.#headersSent = true;
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headers as never, socket as never);
  }

  onAttemptResponse(
    attempt: AttemptHandler,
    _controller: Controller,
    statusCode: number,
    headers: Record<string, unknown>,
    message: string | undefined,
  ): void {
    if (attempt !== this.#current || this.#finished) return;
    attempt.status = statusCode;
    attempt.latencyMs = this.#host.now() - attempt.startedAt;
    if (this.#retryStatus(statusCode)) {
      attempt.discard = true;
      return;
    }
    this.#headersSent = true;
    this.#handler.onResponseStart?.(this.#controller, statusCode, headers as never, message);
  }

  onAttemptData(attempt: AttemptHandler, _controller: Controller, chunk: Buffer): void {
    if (attempt !== this.#current || this.#finished || attempt.discard) return;
    this.#handler.onResponseData?.(this.#controller, chunk);
  }

  onAttemptEnd(attempt: AttemptHandler, _controller: Controller, trailers: Record<string, unknown>): void {
    if (attempt !== this.#current || this.#finished) return;
    const outcome: CallOutcome =
      attempt.latencyMs === undefined
        ? { type: 'http', status: attempt.status }
        : { type: 'http', status: attempt.status, latencyMs: attempt.latencyMs };
    attempt.report(outcome);
    if (attempt.discard) {
      this.#attempts.push({ endpoint: attempt.endpoint, error: `HTTP ${attempt.status}` });
      this.#retryLater(this.#backoffMs());
      return;
    }
    this.#finished = true;
    this.#handler.onResponseEnd?.(this.#controller, trailers as never);
  }

  onAttemptError(attempt: AttemptHandler, error: Error): void {
    if (attempt !== this.#current || this.#finished) {
      attempt.report({ type: 'cancelled' });
      return;
    }
    const code = errorCode(error);
    if (this.#controller.aborted) {
      attempt.report({ type: 'cancelled' });
      this.#fail(error);
      return;
    }
    if (code !== undefined && CALLER_ERRORS.has(code)) {
      attempt.report({ type: 'cancelled' });
      this.#fail(error);
      return;
    }
    attempt.report({ type: 'error', error });
    this.#attempts.push({ endpoint: attempt.endpoint, error: code ?? error.name });
    if (this.#headersSent) {
      this.#giveUp('not-retryable', `response interrupted: ${error.message}`, error);
      return;
    }
    const beforeWrite = code !== undefined && BEFORE_WRITE.has(code);
    const stop = this.#stopReason(beforeWrite, code);
    if (stop !== undefined) {
      this.#giveUp(stop, error.message, error);
      return;
    }
    this.#retryLater(beforeWrite ? 0 : this.#backoffMs());
  }

  /** The caller aborted while no attempt was running (waiting for a retry). */
  abortWhileIdle(reason: Error): void {
    if (this.#finished || !this.#waiting) return;
    this.#fail(reason);
  }

  // ── retry policy ──────────────────────────────────────────────────────────────────────────────

  #retryStatus(status: number): boolean {
    const retry = this.#route.config.retry;
    if (retry === undefined || this.#noRetry || !retry.statuses.has(status)) return false;
    if (!this.#idempotent || this.#attempts.length + 1 >= retry.attempts) return false;
    if (!this.#bodyReplayable(false)) return false;
    return this.#route.budget === undefined || this.#route.budget.tryRetry();
  }

  #stopReason(beforeWrite: boolean, code: string | undefined): UpstreamStopReason | undefined {
    const retry = this.#route.config.retry;
    if (retry === undefined || this.#noRetry) return 'not-retryable';
    if (!beforeWrite && (!this.#idempotent || code === undefined || !retry.errorCodes.has(code))) {
      return 'not-retryable';
    }
    if (this.#attempts.length >= retry.attempts) return 'attempts';
    if (!this.#bodyReplayable(beforeWrite)) return 'body';
    if (this.#route.budget !== undefined && !this.#route.budget.tryRetry()) return 'budget';
    return undefined;
  }

  /** True when the next attempt can carry the body (and switches to a fresh body when one is needed). */
  #bodyReplayable(beforeWrite: boolean): boolean {
    const body = this.#body;
    if (!(body instanceof TrackedBody)) return isReplayableBody(body);
    if (beforeWrite && !body.started) return true;
    if (this.#replayBody === undefined) return false;
    return true;
  }

  #backoffMs(): number {
    const retry = this.#route.config.retry!;
    const cap = Math.min(retry.backoffMaxMs, retry.backoffBaseMs * 2 ** Math.max(0, this.#attempts.length - 1));
    return Math.floor(this.#host.random() * cap);
  }

  #retryLater(ms: number): void {
    this.#current = undefined;
    this.#waiting = true;
    const body = this.#body;
    if (body instanceof TrackedBody && body.started && this.#replayBody !== undefined) {
      const fresh = this.#replayBody();
      this.#body = isReplayableBody(fresh) ? fresh : new TrackedBody(fresh);
    }
    if (this.#host.closed) {
      this.#giveUp('closed', '', undefined);
      return;
    }
    this.#host.schedule(
      ms,
      () => this.#attempt(),
      () => this.#giveUp('closed', '', undefined),
    );
  }

  // ── endings ───────────────────────────────────────────────────────────────────────────────────

  #giveUp(reason: UpstreamStopReason, detail: string, cause: unknown): void {
    const error = new UpstreamError(this.#route.label, this.#attempts, reason, detail, { cause });
    this.#fail(error);
  }

  #fail(error: Error | ClusterIPError): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#waiting = false;
    const body = this.#body;
    if (body instanceof TrackedBody) body.discard(error);
    this.#handler.onResponseError?.(this.#controller, error);
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isIpLiteral(host: string): boolean {
  return host.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(host);
}
