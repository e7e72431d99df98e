// ⑧ Transport (HTTP): one request routed to a Service — pick per attempt, send through the endpoint's
// pool, report each attempt's outcome to the balancer, retry on another endpoint when the policy allows.
// Consumes dispatch options and the caller's handler (undici's new or legacy API); produces calls on it.

import { ClosedError, type ClusterIPError } from '@clusterip/resolver';
import { type Dispatcher, util } from 'undici';
import type { ServiceBreaker } from '../../eligibility/circuit-breaker.js';
import { type CallOutcome, classify, failedBeforeWrite } from '../../eligibility/classify.js';
import { type UpstreamAttempt, UpstreamError, type UpstreamStopReason } from '../../errors/upstream-error.js';
import type { PickResult } from '../../picker/picker.js';
import type { Unsent } from '../../pool/endpoint-pools.js';
import { channels, type HttpAttemptMessage, type HttpRequestMessage } from '../../telemetry/channels.js';
import type { HttpRoute, ParsedOrigin } from './http-route.js';
import { isReplayableBody, isStreamBody, TrackedBody } from './request-body.js';
import { type HeaderRecord, withHostHeader } from './request-headers.js';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
type Pick = Extract<PickResult, { type: 'pick' }>;
type RawHeaders = Buffer[] | string[] | null;
type Abort = (reason?: Error) => void;

/** undici's legacy handler API: what its pools call natively, and what `request()` and Node 20's fetch hand in. */
export interface LegacyDispatchHandler {
  onConnect?(abort: Abort, context?: unknown): void;
  onHeaders?(statusCode: number, rawHeaders: RawHeaders, resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(rawTrailers: RawHeaders): void;
  onError?(error: Error): void;
  onUpgrade?(statusCode: number, rawHeaders: RawHeaders, socket: unknown): void;
  onResponseStarted?(): void;
  onBodySent?(chunk: unknown): void;
  onRequestSent?(): void;
}

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
  /** Set once the host is destroyed: what every call still running fails with. */
  readonly destroyedBy: Error | undefined;
  /**
   * Run `fn` after `ms`, unless the host closes first: then `cancel` runs instead. The timer keeps the
   * process alive, as the request it belongs to does; the returned function drops it (neither runs).
   */
  schedule(ms: number, fn: () => void, cancel: () => void): () => void;
}

/**
 * @internal RFC 9110's idempotent methods. Methods are case-sensitive and undici sends one as written,
 * but the match here is lenient: `get` counts as idempotent too.
 */
export function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'PUT':
    case 'DELETE':
    case 'TRACE':
      return true;
    default: {
      const upper = method.toUpperCase();
      return upper !== method && isIdempotent(upper);
    }
  }
}
// Mistakes in the request itself: the endpoint is not to blame and another one would fail the same way.
const CALLER_ERRORS = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_REQ_RETRY',
]);
// Endings that say nothing about how the Service serves: they do not count against its circuit breaker.
// A Service without endpoints already fails fast, and counting it would hold the breaker open for
// `resetTimeoutMs` after the first pod appears.
const NOT_CIRCUIT_FAILURES = new Set([
  'CLUSTERIP_ERR_NO_ENDPOINTS',
  'CLUSTERIP_ERR_NO_LOCAL_ENDPOINTS',
  'CLUSTERIP_ERR_NO_ELIGIBLE_ENDPOINTS',
  'CLUSTERIP_ERR_CLOSED',
]);

/**
 * The controller a new-API caller sees: one across attempts, so an abort or a pause reaches whichever
 * attempt is running, and an abort between attempts stops the retry.
 */
class CallController implements Controller {
  readonly #call: RoutedCall;

  constructor(call: RoutedCall) {
    this.#call = call;
  }

  get aborted(): boolean {
    return this.#call.aborted;
  }

  get paused(): boolean {
    return this.#call.paused;
  }

  get reason(): Error | null {
    return this.#call.reason;
  }

  get rawHeaders(): Controller['rawHeaders'] {
    return this.#call.rawHeaders as Controller['rawHeaders'];
  }

  get rawTrailers(): Controller['rawTrailers'] {
    return this.#call.rawTrailers as Controller['rawTrailers'];
  }

  abort(reason: Error): void {
    this.#call.abort(reason);
  }

  pause(): void {
    this.#call.pause();
  }

  resume(): void {
    this.#call.resume();
  }
}

/**
 * The pool-side handler of a retry (second attempt onwards): the first attempt's handler is the call
 * itself, so a request that is not retried allocates no handler. Callbacks of an attempt the call has
 * moved past are recognised by the handler object and ignored.
 */
class RetryAttempt implements LegacyDispatchHandler {
  readonly #call: RoutedCall;

  constructor(call: RoutedCall) {
    this.#call = call;
  }

  onConnect(abort: Abort): void {
    this.#call.attemptConnect(this, abort);
  }

  onHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void, statusText: string): boolean {
    return this.#call.attemptHeaders(this, statusCode, rawHeaders, resume, statusText);
  }

  onData(chunk: Buffer): boolean {
    return this.#call.attemptData(this, chunk);
  }

  onComplete(rawTrailers: RawHeaders): void {
    this.#call.attemptComplete(this, rawTrailers);
  }

  onError(error: Error): void {
    this.#call.attemptError(this, error);
  }

  onUpgrade(statusCode: number, rawHeaders: RawHeaders, socket: unknown): void {
    this.#call.attemptUpgrade(this, statusCode, rawHeaders, socket);
  }
}

/**
 * One routed request. Created by the routing interceptor once the route is known; `start()` sends the
 * first attempt. Invariants: the caller's handler sees at most one connect/start, one final response
 * and one terminal callback; every pick gets exactly one `done()`.
 *
 * Per-request cost is kept to this object (plus a controller for new-API callers): it is the pool-side
 * handler of its first attempt (undici's legacy API, which pools speak natively, so undici wraps
 * nothing) and the dispatch options of every attempt (its public fields below: undici's `Request`
 * copies what it needs from them), raw response headers go to legacy callers as received and are parsed
 * once for new-API callers.
 */
export class RoutedCall implements LegacyDispatchHandler, Unsent {
  // ── dispatch options of every attempt, in one fixed shape (see readCallerOptions) ────────────────
  // Read by undici's Request; `origin` (the endpoint's) is set per attempt, `body` is replaced by a fresh
  // one for a retry that needs it; `clusterip` is not passed on. One object per request.
  /** @internal */ origin = '';
  /** @internal As the caller gave it: undici rejects a missing path. */ path = undefined as unknown as string;
  /** @internal */ method = 'GET';
  /** @internal */ body: unknown = undefined;
  /** @internal */ headers: unknown = undefined;
  /** @internal */ query: unknown = undefined;
  /** @internal */ idempotent: boolean | undefined = undefined;
  /** @internal */ blocking: boolean | undefined = undefined;
  /** @internal */ upgrade: unknown = undefined;
  /** @internal */ headersTimeout: number | null | undefined = undefined;
  /** @internal */ bodyTimeout: number | null | undefined = undefined;
  /** @internal */ reset: boolean | undefined = undefined;
  /** @internal */ expectContinue: boolean | undefined = undefined;
  /** @internal */ servername: string | undefined = undefined;
  /** @internal */ throwOnError: unknown = undefined;
  /** @internal */ maxRedirections: unknown = undefined;
  /** @internal */ typeOfService: unknown = undefined;

  readonly #host: CallHost;
  readonly #route: HttpRoute;
  readonly #origin: ParsedOrigin;
  /** The caller, when it speaks the legacy API (undici `request`, Node 20's `fetch`). */
  #legacy: LegacyDispatchHandler | undefined;
  /** The caller, when it speaks the new API. */
  #handler: Handler | undefined;
  readonly #controller: CallController | undefined;
  readonly #idempotent: boolean;
  readonly #affinityKey: string | undefined;
  readonly #noRetry: boolean;
  readonly #replayBody: (() => unknown) | undefined;
  readonly #headersTimeoutMs: number;
  /** Failed attempts, created on the first failure. */
  #attempts: UpstreamAttempt[] | undefined;
  /** The pool-side handler of the running attempt (this, or a RetryAttempt); undefined between attempts. */
  #live: LegacyDispatchHandler | undefined;
  #pick: Pick | undefined;
  #endpoint = '';
  #startedAt = 0;
  #firstStartedAt = 0;
  #status = 0;
  #latencyMs: number | undefined;
  /** The running attempt's response will be retried: its body is read and dropped. */
  #discard = false;
  #retryDelayMs = 0;
  #abortAttempt: Abort | undefined;
  /** The pool's set of unsent requests this call's live attempt waits in, until it gets a socket. */
  #unsentIn: Set<Unsent> | undefined;
  #resumeAttempt: (() => void) | undefined;
  #callerAbort: Abort | undefined;
  #headersSent = false;
  #finished = false;
  /** Set while the call waits for its next attempt: drops that wait's timer. */
  #stopWaiting: (() => void) | undefined;
  #aborted = false;
  /**
   * What failed the call on the caller's side (its body, or its handler threw): the endpoint and the
   * Service are not to blame, and the caller gets this error as it is.
   */
  #callerFault: Error | undefined;
  #paused = false;
  #reason: Error | null = null;
  /** Telemetry, only while `clusterip:http:*` has subscribers at start: the request, its open attempt. */
  #tel: HttpRequestMessage | undefined;
  #telAttempt: HttpAttemptMessage | undefined;
  #telError: Error | undefined;
  #telHeaders = false;
  // The last raw headers and trailers, for the new-API controller. Private (read through getters): this
  // object is also the dispatch options, which interceptors may spread, and these must not travel along.
  #rawHeaders: RawHeaders = null;
  #rawTrailers: RawHeaders = null;
  /** Settles the circuit breaker's run of this call, once: see `#settle`. */
  #verdict: ((verdict: Verdict) => void) | undefined;

  constructor(
    host: CallHost,
    route: HttpRoute,
    origin: ParsedOrigin,
    opts: Dispatcher.DispatchOptions & { clusterip?: MeshRequestOptions },
    handler: Handler | LegacyDispatchHandler,
    /** Whether `opts`'s prototype is `Object.prototype`, as the interceptor has already found. */
    plain: boolean,
  ) {
    this.#host = host;
    this.#route = route;
    this.#origin = origin;
    // Every option is read from the caller's object once, into this call's option fields.
    const clusterip = readCallerOptions(opts, this, plain);
    if (typeof (handler as Handler).onRequestStart === 'function') {
      this.#handler = handler as Handler;
      this.#controller = new CallController(this);
    } else {
      this.#legacy = handler as LegacyDispatchHandler;
    }
    // Only the host header is touched: no headers → the origin's shared `{ host }`; a record that
    // already names a host is used as it is; anything else is copied once with `host` added.
    const headers = this.headers == null ? origin.hostHeaders : withHostHeader(this.headers, origin.host);
    this.headers = headers;
    const method = this.method === undefined ? 'GET' : this.method;
    this.method = method;
    this.#idempotent = this.idempotent ?? isIdempotent(method);
    this.#noRetry = clusterip?.retry === false || this.upgrade != null || method === 'CONNECT';
    this.#replayBody = clusterip?.replayBody;
    // The body every attempt sends: a stream is tracked (has it started?) and replaced by a fresh one for a retry.
    const body = this.body;
    this.body =
      !isReplayableBody(body) && isStreamBody(body) ? new TrackedBody(body, (e) => this.#bodyFailed(e)) : body;
    // The TLS server name is the caller's `servername` option, as undici's own, else the URL host (not an
    // IP literal). Given for http too: undici would otherwise derive it from the host header on every
    // request (an isIP() test); plain-http pools ignore it.
    if (!this.servername && origin.servername !== undefined) this.servername = origin.servername;
    this.#headersTimeoutMs = this.headersTimeout ?? route.config.timeouts.headersMs;
    let key = clusterip?.affinityKey;
    if (key === undefined && route.config.affinityKey !== undefined) {
      try {
        key = route.config.affinityKey({ headers: headers as HeaderRecord });
      } catch {
        key = undefined; // a throwing user extractor must not fail the request: no key, default affinity
      }
    }
    this.#affinityKey = key;
  }

  start(): void {
    this.#route.active++;
    const now = this.#host.now();
    this.#firstStartedAt = now;
    if (channels.httpRequest.hasSubscribers) this.#publishRequest();
    if (!this.#startCaller()) return;
    const breaker = this.#route.breaker;
    if (breaker !== undefined) {
      this.#admit(breaker, now);
      return;
    }
    this.#route.budget?.onRequest(now);
    this.#attempt(now);
  }

  /**
   * The caller starts with the call, not when an endpoint's connection takes the first attempt: its abort
   * (undici's `request()` and `fetch` give theirs through `onConnect`) then ends the call at once, whether
   * it waits for a connection, a connect, or its next attempt. False when the call ended here: the caller
   * aborted at once (a signal already aborted) or its handler threw (its own error, as in undici).
   */
  #startCaller(): boolean {
    try {
      const legacy = this.#legacy;
      if (legacy !== undefined) {
        this.#callerAbort = (reason?: Error) => this.abort(reason);
        legacy.onConnect?.(this.#callerAbort);
      } else this.#handler!.onRequestStart?.(this.#controller!, undefined);
    } catch (error) {
      this.#fail(this.#handlerThrew(error));
      return false;
    }
    return !this.#finished;
  }

  /**
   * Through the Service's circuit breaker: the first attempt goes out when the breaker admits the call
   * (opossum runs the action synchronously inside `fire`); an open breaker fails it with
   * CircuitOpenError, unsent. The breaker's run ends with the call's verdict (see `#settle`), for a
   * half-open trial at the latest after `timeouts.headersMs`.
   */
  #admit(breaker: ServiceBreaker, now: number): void {
    const refused = breaker.refusal();
    if (refused !== undefined) {
      this.#fail(refused);
      return;
    }
    let admitted = false;
    let thrown: { error: unknown } | undefined;
    breaker
      .run(
        () =>
          new Promise<void>((resolve, reject) => {
            admitted = true;
            const trial = breaker.state === 'half-open';
            let timer: NodeJS.Timeout | undefined;
            if (trial) {
              // The trial: every other request fails fast until it settles, so it must settle even when
              // its caller turned the headers timeout off. No response headers in timeouts.headersMs: failed.
              const ms = this.#route.config.timeouts.headersMs;
              const late = () => this.#settle(new Error(`trial request: no response headers within ${ms} ms`));
              timer = setTimeout(late, ms).unref();
            }
            this.#verdict = (verdict) => {
              if (timer !== undefined) clearTimeout(timer);
              if (verdict === 'success') resolve();
              // opossum knows success and failure only, and a success closes a half-open breaker: a trial
              // that says nothing about the Service (aborted, the caller's mistake) reopens it instead, for
              // another trial after resetTimeoutMs. Outside a trial it counts as a success.
              else if (verdict === 'ignore') {
                if (trial) reject(new Error('trial request ended without an answer'));
                else resolve();
              } else reject(verdict);
            };
            this.#route.budget?.onRequest(now);
            try {
              this.#attempt(now);
            } catch (error) {
              thrown = { error }; // the caller's handler threw inside dispatch(): it goes back to the caller
            }
          }),
      )
      .catch((error: unknown) => {
        if (admitted) return; // the verdict this call gave (a failure)
        try {
          this.#fail(error as Error);
        } catch {
          // The caller's onError threw: outside dispatch() now, there is nothing above to report it to.
        }
      });
    if (thrown !== undefined) throw thrown.error;
  }

  /** Tell the circuit breaker how the call went, once: a failure as its Error. */
  #settle(verdict: Verdict): void {
    const settle = this.#verdict;
    if (settle === undefined) return;
    this.#verdict = undefined;
    settle(verdict);
  }

  // ── the caller's controls ─────────────────────────────────────────────────────────────────────

  /** @internal */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** @internal */
  get paused(): boolean {
    return this.#paused;
  }

  /** @internal */
  get reason(): Error | null {
    return this.#reason;
  }

  /** @internal For the new-API controller. */
  get rawHeaders(): RawHeaders {
    return this.#rawHeaders;
  }

  /** @internal For the new-API controller. */
  get rawTrailers(): RawHeaders {
    return this.#rawTrailers;
  }

  /** The request body failed (its stream errored, reading it threw): the call fails with that error. */
  #bodyFailed(error: Error): void {
    if (this.#finished) return;
    this.#callerFault ??= error;
    this.abort(error);
  }

  /** The caller's handler threw `error` from a response callback: it ends the call, as in undici. */
  #handlerThrew(error: unknown): Error {
    const e = error instanceof Error ? error : new Error(String(error));
    this.#callerFault ??= e;
    return e;
  }

  /**
   * @internal The caller aborts. An attempt with a connection is aborted there and fails the call. Without
   * one (waiting in its pool for a connection or a connect, waiting for the next attempt, not started)
   * nothing of the request has been sent: the call fails now. A dispatched attempt is dropped: cancelled
   * for the balancer, and aborted by `attemptConnect` if it ever reaches a connection.
   */
  abort(reason?: Error): void {
    if (this.#aborted || this.#finished) return;
    this.#aborted = true;
    const error = reason ?? new Error('aborted');
    this.#reason = error;
    const abort = this.#abortAttempt;
    if (abort !== undefined) {
      abort(error);
      return;
    }
    this.#stopWaiting?.();
    if (this.#live !== undefined) {
      this.#live = undefined;
      this.#leaveUnsent();
      this.#report({ type: 'cancelled' });
    }
    try {
      this.#fail(error);
    } catch {
      // The caller's onError threw: it is the caller who aborted, from its own code (a signal listener),
      // and the request is over; as undici's pools, do not hand the throw back into it.
    }
  }

  /** @internal */
  pause(): void {
    this.#paused = true;
  }

  /** @internal */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resumeAttempt?.();
  }

  // ── attempts ──────────────────────────────────────────────────────────────────────────────────

  #attempt(now: number = this.#host.now()): void {
    this.#stopWaiting = undefined;
    if (this.#finished) return;
    if (this.#aborted) {
      this.#fail(this.#reason ?? new Error('aborted'));
      return;
    }
    const result = this.#pickFresh();
    if (result.type !== 'pick') {
      const error = result.type === 'queue' ? new ClosedError('mesh') : result.error;
      if (this.#attempts === undefined) this.#fail(error);
      else this.#giveUp('attempts', `no other endpoint: ${error.message}`, error);
      return;
    }
    // The pool for the name the caller used: the server name, else the URL's address (a ClusterIP), which
    // the pod's certificate is then verified against.
    const entry = this.#route.pool(result.endpoint, this.#origin.protocol, this.servername || this.#origin.hostname);
    const handler: LegacyDispatchHandler = this.#attempts === undefined ? this : new RetryAttempt(this);
    this.#live = handler;
    this.#pick = result;
    this.#endpoint = entry.endpoint;
    this.#startedAt = now;
    this.#status = 0;
    this.#latencyMs = undefined;
    this.#discard = false;
    this.#abortAttempt = undefined;
    this.#resumeAttempt = undefined;
    // undici copies what it needs from the options (this call) into its Request: they serve every attempt.
    // `origin` is the endpoint's: pools use their own, but interceptors composed onto a pool (the Mesh
    // option `pool.factory`) read it (undici's dns and cache interceptors parse and key by it).
    this.origin = entry.origin;
    try {
      if (this.#tel === undefined) {
        entry.pool.dispatch(this as unknown as Dispatcher.DispatchOptions, handler as Dispatcher.DispatchHandler);
      } else this.#dispatchObserved(entry.pool, handler, result.endpoint);
    } catch (error) {
      this.attemptError(handler, error as Error);
    }
    // A pool with a free connection hands the request its socket inside dispatch() (attemptConnect);
    // only a request still waiting for one is registered as unsent, so the common case costs no Set
    // operations. Nothing can requeue it in between: ejection and retain() run from other tasks.
    if (this.#live === handler && this.#abortAttempt === undefined && !this.#finished) {
      this.#unsentIn = entry.unsent;
      entry.unsent.add(this);
    }
  }

  #leaveUnsent(): void {
    const set = this.#unsentIn;
    if (set === undefined) return;
    this.#unsentIn = undefined;
    set.delete(this);
  }

  /**
   * @internal The live attempt's endpoint was ejected or left while the attempt waited in its pool
   * without a socket: nothing was sent, so it goes to another endpoint now, whatever the method, as a
   * retry (attempts and retry budget apply; when they do not allow it, it stays queued where it is).
   * The queued undici request is aborted when it reaches a socket ("superseded attempt").
   */
  requeue(): void {
    this.#unsentIn = undefined; // the pool has already dropped it from its set
    if (this.#live === undefined || this.#finished || this.#aborted || this.#abortAttempt !== undefined) return;
    if (this.#stopReason(true, undefined) !== undefined) return;
    this.#report({ type: 'cancelled' });
    this.#recordFailure('ejected before the request was sent');
    this.#retryLater(0);
  }

  /** Pick an endpoint not tried yet when the balancer offers one (it may not: one endpoint, affinity). */
  #pickFresh(): PickResult {
    const tried = this.#attempts;
    if (tried === undefined) {
      const key = this.#affinityKey;
      return this.#route.pick(key === undefined ? undefined : { affinityKey: key });
    }
    const n = tried.length;
    // A retry under affinity must not be pinned to the endpoint that just failed: use a derived key.
    const key = this.#route.keyed ? `${this.#affinityKey ?? ''}\u0000retry-${n}` : this.#affinityKey;
    const avoid = tried.map((a) => a.endpoint);
    return this.#route.pick(key === undefined ? { avoid } : { affinityKey: key, avoid });
  }

  /** Report the running attempt's outcome to the balancer, exactly once. */
  #report(outcome: CallOutcome): void {
    const pick = this.#pick;
    if (pick === undefined) return;
    this.#pick = undefined;
    pick.done(outcome);
  }

  #recordFailure(error: string): void {
    const entry = { endpoint: this.#endpoint, error };
    if (this.#attempts === undefined) this.#attempts = [entry];
    else this.#attempts.push(entry);
  }

  // ── pool-side callbacks (undici's legacy API): the first attempt's, then RetryAttempt's ──────────

  onConnect(abort: Abort): void {
    this.attemptConnect(this, abort);
  }

  onHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void, statusText: string): boolean {
    return this.attemptHeaders(this, statusCode, rawHeaders, resume, statusText);
  }

  onData(chunk: Buffer): boolean {
    return this.attemptData(this, chunk);
  }

  onComplete(rawTrailers: RawHeaders): void {
    this.attemptComplete(this, rawTrailers);
  }

  onError(error: Error): void {
    this.attemptError(this, error);
  }

  onUpgrade(statusCode: number, rawHeaders: RawHeaders, socket: unknown): void {
    this.attemptUpgrade(this, statusCode, rawHeaders, socket);
  }

  /** @internal The attempt has a connection: from here on an abort goes through it. */
  attemptConnect(attempt: LegacyDispatchHandler, abort: Abort): void {
    if (attempt !== this.#live || this.#finished) {
      abort(new Error('superseded attempt'));
      return;
    }
    this.#abortAttempt = abort;
    this.#leaveUnsent();
  }

  /** @internal */
  attemptHeaders(
    attempt: LegacyDispatchHandler,
    statusCode: number,
    rawHeaders: RawHeaders,
    resume: () => void,
    statusText: string,
  ): boolean {
    if (attempt !== this.#live || this.#finished) return true;
    if (statusCode < 200) {
      // 1xx (100-continue, 103 early hints): informational, passed on; the final response follows.
      if (this.#discard) return true;
      return this.#deliverHeaders(statusCode, rawHeaders, resume, statusText);
    }
    this.#status = statusCode;
    this.#latencyMs = this.#host.now() - this.#startedAt;
    if (this.#retryStatus(statusCode, rawHeaders)) {
      this.#discard = true;
      return true;
    }
    this.#headersSent = true;
    if (this.#verdict !== undefined) {
      this.#settle(
        classify({ type: 'http', status: statusCode }) === 'failure' ? new Error(`HTTP ${statusCode}`) : 'success',
      );
    }
    return this.#deliverHeaders(statusCode, rawHeaders, resume, statusText);
  }

  #deliverHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void, statusText: string): boolean {
    this.#resumeAttempt = resume;
    // A throw goes back to the pool, which aborts the attempt with it (see attemptError).
    try {
      const legacy = this.#legacy;
      if (legacy !== undefined) return legacy.onHeaders?.(statusCode, rawHeaders, resume, statusText) !== false;
      this.#rawHeaders = rawHeaders;
      this.#handler!.onResponseStart?.(this.#controller!, statusCode, parse(rawHeaders), statusText);
    } catch (error) {
      throw this.#handlerThrew(error);
    }
    return !this.#paused;
  }

  /** @internal */
  attemptData(attempt: LegacyDispatchHandler, chunk: Buffer): boolean {
    if (attempt !== this.#live || this.#finished || this.#discard) return true;
    try {
      const legacy = this.#legacy;
      if (legacy !== undefined) return legacy.onData?.(chunk) !== false;
      this.#handler!.onResponseData?.(this.#controller!, chunk);
    } catch (error) {
      throw this.#handlerThrew(error);
    }
    return !this.#paused;
  }

  /** @internal */
  attemptComplete(attempt: LegacyDispatchHandler, rawTrailers: RawHeaders): void {
    if (attempt !== this.#live || this.#finished) return;
    const latencyMs = this.#latencyMs;
    this.#report(
      latencyMs === undefined
        ? { type: 'http', status: this.#status }
        : { type: 'http', status: this.#status, latencyMs },
    );
    if (this.#discard) {
      this.#recordFailure(`HTTP ${this.#status}`);
      this.#retryLater(this.#retryDelayMs);
      return;
    }
    this.#end();
    const legacy = this.#legacy;
    try {
      if (legacy !== undefined) legacy.onComplete?.(rawTrailers);
      else {
        this.#rawTrailers = rawTrailers;
        this.#handler!.onResponseEnd?.(this.#controller!, parse(rawTrailers));
      }
    } catch (error) {
      // As undici's Request does: a handler that throws at the end (undici's retry interceptor with
      // throwOnError, on a 5xx) gets that error through its onError; the response itself went fine.
      const e = this.#handlerThrew(error);
      try {
        if (legacy !== undefined) legacy.onError?.(e);
        else this.#handler!.onResponseError?.(this.#controller!, e);
      } catch {
        // Its onError threw too: nothing above to report it to.
      }
    }
    this.#release();
  }

  /**
   * The call is over and its caller has had its last callback: drop what it references (the caller's
   * handler and its response stream, the attempt's undici closures, the body). undici may keep a
   * finished request, and so this call, referenced from long-lived connection state for a while; whatever
   * this call still referenced would then survive young-generation GCs and be promoted (measured: two to
   * three times the promoted bytes per scavenge of BalancedPool's, and twice its scavenge pause).
   */
  #release(): void {
    this.#legacy = undefined;
    this.#handler = undefined;
    this.#live = undefined;
    this.#abortAttempt = undefined;
    this.#resumeAttempt = undefined;
    this.#callerAbort = undefined;
    if (this.body instanceof TrackedBody) this.body.detach();
    this.body = undefined;
    this.headers = undefined;
  }

  /** @internal */
  attemptUpgrade(attempt: LegacyDispatchHandler, statusCode: number, rawHeaders: RawHeaders, socket: unknown): void {
    if (attempt !== this.#live || this.#finished) return;
    this.#report({ type: 'http', status: statusCode, latencyMs: this.#host.now() - this.#startedAt });
    this.#end(undefined, statusCode);
    this.#headersSent = true;
    this.#settle('success');
    const legacy = this.#legacy;
    if (legacy !== undefined) legacy.onUpgrade?.(statusCode, rawHeaders, socket);
    else {
      this.#rawHeaders = rawHeaders;
      this.#handler!.onRequestUpgrade?.(this.#controller!, statusCode, parse(rawHeaders) as never, socket as never);
    }
    this.#release();
  }

  /** @internal */
  attemptError(attempt: LegacyDispatchHandler, error: Error): void {
    if (attempt !== this.#live || this.#finished) {
      if (attempt === this.#live) this.#report({ type: 'cancelled' });
      return;
    }
    if (this.#tel !== undefined) this.#telError = error;
    // Without a connection (no onConnect: undici and H2Client call it before writing anything) the pod got
    // no byte of the request, whatever the error: a TLS handshake that failed (certificate, reset, a pod
    // not speaking TLS) as much as a refused connect.
    const unsent = this.#abortAttempt === undefined;
    this.#live = undefined;
    this.#abortAttempt = undefined;
    this.#leaveUnsent();
    const code = errorCode(error);
    const fault = this.#callerFault;
    if (fault !== undefined || this.#aborted || (code !== undefined && CALLER_ERRORS.has(code))) {
      this.#report({ type: 'cancelled' });
      this.#fail(fault ?? error);
      return;
    }
    const destroyed = this.#host.destroyedBy;
    if (destroyed !== undefined) {
      // Cut off by destroy(): neither the endpoint's failure nor one to retry.
      this.#report({ type: 'cancelled' });
      this.#fail(destroyed);
      return;
    }
    this.#report({ type: 'error', error });
    this.#recordFailure(code ?? error.name);
    if (this.#headersSent) {
      this.#giveUp('not-retryable', `response interrupted: ${error.message}`, error);
      return;
    }
    const beforeWrite = unsent || (code !== undefined && failedBeforeWrite(code));
    const stop = this.#stopReason(beforeWrite, code);
    if (stop !== undefined) {
      this.#giveUp(stop, error.message, error);
      return;
    }
    this.#retryLater(beforeWrite ? 0 : this.#backoffMs());
  }

  // ── retry policy ──────────────────────────────────────────────────────────────────────────────

  #retryStatus(status: number, rawHeaders: RawHeaders): boolean {
    const retry = this.#route.config.retry;
    if (retry === undefined || this.#noRetry || !retry.statuses.has(status)) return false;
    const failed = this.#attempts === undefined ? 0 : this.#attempts.length;
    if (!this.#idempotent || failed + 1 >= retry.attempts) return false;
    if (!this.#bodyReplayable(false)) return false;
    let delayMs: number | undefined;
    if (status === 503 || status === 429) {
      const after = retryAfterMs(rawHeaders);
      if (after !== undefined) {
        // The server said when to come back: not sooner, and not at all when that is later than we
        // may wait (the cap, or the request's headers timeout counted from its first attempt).
        if (after > retry.retryAfterMaxMs) return false;
        const limitMs = this.#headersTimeoutMs;
        if (limitMs > 0 && this.#host.now() - this.#firstStartedAt + after >= limitMs) return false;
        delayMs = after;
      }
    }
    if (this.#route.budget !== undefined && !this.#route.budget.tryRetry()) return false;
    this.#retryDelayMs = delayMs ?? this.#backoffMs(failed + 1);
    return true;
  }

  #stopReason(beforeWrite: boolean, code: string | undefined): UpstreamStopReason | undefined {
    const retry = this.#route.config.retry;
    if (retry === undefined || this.#noRetry) return 'not-retryable';
    if (!beforeWrite && (!this.#idempotent || code === undefined || !retry.errorCodes.has(code))) {
      return 'not-retryable';
    }
    if ((this.#attempts?.length ?? 0) >= retry.attempts) return 'attempts';
    if (!this.#bodyReplayable(beforeWrite)) return 'body';
    if (this.#route.budget !== undefined && !this.#route.budget.tryRetry()) return 'budget';
    return undefined;
  }

  /** True when the next attempt can carry the body (and switches to a fresh body when one is needed). */
  #bodyReplayable(beforeWrite: boolean): boolean {
    const body = this.body;
    if (!(body instanceof TrackedBody)) return isReplayableBody(body);
    if (beforeWrite && !body.started) return true;
    return this.#replayBody !== undefined;
  }

  /** Full-jitter backoff before attempt number `failed + 1` (`failed` attempts failed so far). */
  #backoffMs(failed = this.#attempts?.length ?? 0): number {
    const retry = this.#route.config.retry!;
    const cap = Math.min(retry.backoffMaxMs, retry.backoffBaseMs * 2 ** Math.max(0, failed - 1));
    return Math.floor(this.#host.random() * cap);
  }

  #retryLater(ms: number): void {
    if (this.#telAttempt !== undefined) this.#publishAttemptEnd(undefined, this.#status, true);
    this.#live = undefined;
    this.#abortAttempt = undefined;
    this.#resumeAttempt = undefined;
    const body = this.body;
    if (body instanceof TrackedBody && body.started && this.#replayBody !== undefined) {
      const fresh = this.#replayBody();
      body.detach();
      this.body = isReplayableBody(fresh) ? fresh : new TrackedBody(fresh, (e) => this.#bodyFailed(e));
    }
    if (this.#host.closed) {
      this.#closedWhileWaiting();
      return;
    }
    this.#stopWaiting = this.#host.schedule(
      ms,
      () => this.#attempt(this.#host.now()),
      () => this.#closedWhileWaiting(),
    );
  }

  /** The mesh closed while the call waited for its next attempt: destroyed, with that error; else reason `closed`. */
  #closedWhileWaiting(): void {
    const destroyed = this.#host.destroyedBy;
    if (destroyed !== undefined) this.#fail(destroyed);
    else this.#giveUp('closed', '', undefined);
  }

  // ── endings ───────────────────────────────────────────────────────────────────────────────────

  /** The call is over (response delivered, upgraded, or failed): no longer active on its route. */
  #end(error?: Error, status: number = this.#status): void {
    this.#finished = true;
    this.#stopWaiting = undefined;
    this.#route.active--;
    if (this.#tel !== undefined) this.#publishEnd(error, status);
  }

  #giveUp(reason: UpstreamStopReason, detail: string, cause: unknown): void {
    const error = new UpstreamError(this.#route.label, this.#attempts ?? [], reason, detail, { cause });
    this.#fail(error);
  }

  #fail(error: Error | ClusterIPError): void {
    if (this.#finished) return;
    this.#end(error, 0);
    if (this.#verdict !== undefined) {
      // Aborted by its caller, or cut off as the mesh closes: says nothing about the Service.
      const ignore = this.#aborted || this.#host.closed || this.#callerFault !== undefined;
      this.#settle(ignore ? 'ignore' : (circuitFailure(error) ?? 'ignore'));
    }
    const body = this.body;
    if (body instanceof TrackedBody) body.discard(error);
    const legacy = this.#legacy;
    try {
      if (legacy !== undefined) legacy.onError?.(error);
      else this.#handler!.onResponseError?.(this.#controller!, error);
    } finally {
      this.#release();
    }
  }

  // ── telemetry (diagnostics channels; only when subscribed, see telemetry/channels.ts) ───────────

  #publishRequest(): void {
    const origin = this.#origin;
    const headers = this.headers as HeaderRecord;
    let traceparent = false;
    for (const name in headers) if (name.length === 11 && name.toLowerCase() === 'traceparent') traceparent = true;
    const tel: HttpRequestMessage = {
      service: this.#route.label,
      namespace: undefined,
      name: undefined,
      hostname: origin.hostname,
      port: origin.port,
      scheme: origin.protocol.slice(0, -1),
      method: this.method.toUpperCase(),
      path: this.path,
      policy: this.#route.config.policy,
      traceparent,
    };
    this.#tel = tel;
    channels.httpRequest.publish(tel);
  }

  /** Dispatch an attempt announced on `clusterip:http:attempt`: subscribers may add headers and wrap it. */
  #dispatchObserved(pool: Dispatcher, handler: LegacyDispatchHandler, endpoint: Pick['endpoint']): void {
    const opts = this as unknown as Dispatcher.DispatchOptions;
    const tel: HttpAttemptMessage = {
      request: this.#tel!,
      attempt: (this.#attempts?.length ?? 0) + 1,
      endpoint,
      setHeader: (name, value) => {
        // Copy on first write: the caller's record and the origin's shared `{ host }` stay untouched.
        if (!this.#telHeaders) {
          this.#telHeaders = true;
          this.headers = { ...(this.headers as HeaderRecord) };
        }
        (this.headers as HeaderRecord)[name] = value;
      },
      wrap: undefined,
    };
    this.#telAttempt = tel;
    this.#telError = undefined;
    if (channels.httpAttempt.hasSubscribers) channels.httpAttempt.publish(tel);
    const wrap = tel.wrap;
    if (wrap === undefined) pool.dispatch(opts, handler as Dispatcher.DispatchHandler);
    else wrap(() => pool.dispatch(opts, handler as Dispatcher.DispatchHandler));
  }

  #publishAttemptEnd(error: Error | undefined, status: number, retry: boolean): void {
    const attempt = this.#telAttempt!;
    this.#telAttempt = undefined;
    const failure = this.#telError ?? error;
    this.#telError = undefined;
    if (!channels.httpAttemptEnd.hasSubscribers) return;
    channels.httpAttemptEnd.publish({
      attempt,
      ...(status === 0 ? {} : { status }),
      ...(failure === undefined ? {} : { error: failure }),
      retry,
    });
  }

  #publishEnd(error: Error | undefined, status: number): void {
    const attempts = this.#telAttempt?.attempt ?? this.#attempts?.length ?? 0;
    if (this.#telAttempt !== undefined) this.#publishAttemptEnd(error, status, false);
    if (!channels.httpRequestEnd.hasSubscribers) return;
    channels.httpRequestEnd.publish({
      request: this.#tel!,
      attempts,
      ...(status === 0 ? {} : { status }),
      ...(error === undefined ? {} : { error }),
      ...(error instanceof UpstreamError ? { stopReason: error.reason } : {}),
    });
  }
}

/** Where the caller's options are copied to: the option fields of a routed call. */
type AttemptOptions = { -readonly [K in (typeof OPTION_KEYS)[number]]: RoutedCall[K] };

/**
 * Copy the caller's dispatch options that undici reads into `out` (a routed call's option fields)
 * and return the caller's `clusterip` options. A plain object (`plain`: its prototype is
 * `Object.prototype`) is read in one `for…in` pass over its enumerable keys rather than by name: undici's
 * `request()` hands every dispatcher `{ ...opts, origin, path, method }`, and on Node 20 (V8 11.3) each
 * such spread object gets a map of its own, so each named read on it misses the inline caches (about
 * 0.2 µs each: the 20 reads of this constructor cost 3–4 µs per request, the pass about 0.5 µs). Anything
 * else (a class instance, a null-prototype object) is read by name, as undici would, inherited options
 * included.
 */
function readCallerOptions(
  opts: Dispatcher.DispatchOptions & { clusterip?: MeshRequestOptions },
  out: AttemptOptions,
  plain: boolean,
): MeshRequestOptions | undefined {
  const o = opts as unknown as Readonly<Record<string, unknown>>;
  if (!plain) {
    for (const key of OPTION_KEYS) setOption(out, key, o[key]);
    return o.clusterip as MeshRequestOptions | undefined;
  }
  let clusterip: MeshRequestOptions | undefined;
  for (const key in o) {
    // Keyed by the for-in key: V8 reads it through the enum cache, with no inline-cache miss.
    const value = o[key];
    if (key === 'clusterip') clusterip = value as MeshRequestOptions | undefined;
    else setOption(out, key, value);
  }
  return clusterip;
}

/** The caller's options copied into a routed call's option fields (`origin` is the endpoint's, never the caller's). */
const OPTION_KEYS = [
  'path',
  'method',
  'body',
  'headers',
  'query',
  'idempotent',
  'blocking',
  'upgrade',
  'headersTimeout',
  'bodyTimeout',
  'reset',
  'expectContinue',
  'servername',
  'throwOnError',
  'maxRedirections',
  'typeOfService',
] as const;

function setOption(out: AttemptOptions, key: string, value: unknown): void {
  switch (key) {
    case 'path':
      out.path = value as string;
      break;
    case 'method':
      out.method = value as string;
      break;
    case 'body':
      out.body = value;
      break;
    case 'headers':
      out.headers = value;
      break;
    case 'query':
      out.query = value;
      break;
    case 'idempotent':
      out.idempotent = value as boolean | undefined;
      break;
    case 'blocking':
      out.blocking = value as boolean | undefined;
      break;
    case 'upgrade':
      out.upgrade = value;
      break;
    case 'headersTimeout':
      out.headersTimeout = value as number | null | undefined;
      break;
    case 'bodyTimeout':
      out.bodyTimeout = value as number | null | undefined;
      break;
    case 'reset':
      out.reset = value as boolean | undefined;
      break;
    case 'expectContinue':
      out.expectContinue = value as boolean | undefined;
      break;
    case 'servername':
      out.servername = value as string | undefined;
      break;
    case 'throwOnError':
      out.throwOnError = value;
      break;
    case 'maxRedirections':
      out.maxRedirections = value;
      break;
    case 'typeOfService':
      out.typeOfService = value;
      break;
  }
}

/** Parsed headers for new-API callers (undici's own parser: lower-cased names, repeated names as arrays). */
function parse(raw: RawHeaders): Record<string, string | string[]> {
  return raw == null || raw.length === 0
    ? {}
    : (util.parseHeaders(raw as Buffer[]) as Record<string, string | string[]>);
}

/** `Retry-After` of a raw header list in milliseconds (delay-seconds or an HTTP-date); undefined if absent or invalid. */
export function retryAfterMs(raw: RawHeaders, nowMs: number = Date.now()): number | undefined {
  if (raw == null) return undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 11 || name.toString().toLowerCase() !== 'retry-after') continue;
    const value = raw[i + 1]!.toString().trim();
    if (/^\d+$/.test(value)) return Number(value) * 1000;
    // HTTP-date (IMF-fixdate, or the obsolete RFC 850 / asctime forms): starts with a day name.
    if (!/^[A-Za-z]{3}/.test(value)) return undefined;
    const at = Date.parse(value);
    return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
  }
  return undefined;
}

/** What a call tells its Service's circuit breaker: it succeeded, says nothing about the Service, or failed. */
type Verdict = 'success' | 'ignore' | Error;

/** What a call that failed with `error` tells its Service's circuit breaker: the error when it counts. */
function circuitFailure(error: Error): Error | undefined {
  const code = errorCode(error);
  if (code !== undefined && (CALLER_ERRORS.has(code) || NOT_CIRCUIT_FAILURES.has(code))) return undefined;
  if (error instanceof UpstreamError && error.reason === 'closed') return undefined;
  return classify({ type: 'error', error }) === 'failure' ? error : undefined;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
