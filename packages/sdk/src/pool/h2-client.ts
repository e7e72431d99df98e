// ⑦ Connection pool: one endpoint's HTTP/2 connection, as a client of an undici Pool (its `factory`). Consumes
// dispatch options and undici's legacy handler calls; produces streams on node:http2 sessions.
//
// Written by hand, on node:http2 as grpc-js is, because undici 7's HTTP/2 client loses requests and no option
// fixes it: on a graceful GOAWAY (nginx after `keepalive_requests`, any server shutting down) it fails
// requests the server is still answering and reports none as unprocessed (measured: 20 of 1,000 POSTs, 320
// of 1,000 GETs failed with 20 GOAWAYs; nodejs/undici fixed it in 8, which needs Node 22); it sends at most
// one non-idempotent or streamed request per connection at a time; and it caps a connection at `pipelining`
// requests (nodejs/undici#4143). Here every request multiplexes, streams the server never processed (above
// the GOAWAY's last stream id, refused, or never sent) fail with `StreamRefusedError` so the mesh sends them
// to another endpoint, and streams it did accept finish on the old connection.

import type { AsyncResource } from 'node:async_hooks';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect as connectH2,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import type { Socket } from 'node:net';
import { stringify } from 'node:querystring';
import type { TLSSocket } from 'node:tls';
import { type buildConnector, Dispatcher, errors } from 'undici';
import { Http2ConnectError } from '../errors/http2-connect-error.js';
import { StreamRefusedError } from '../errors/stream-refused-error.js';
import { headerRecord } from '../transport/http/request-headers.js';
import type { LegacyDispatchHandler } from '../transport/http/routed-call.js';
import { DiagnosticsRequest, dispatchScope } from './h2-diagnostics.js';

/** How an {@link H2Client} connects and what it allows. */
export interface H2ClientOptions {
  /** undici's connector (the Pool's, from its `connect` options: TLS, timeout). */
  readonly connect: buildConnector.connector;
  /** Concurrent streams on one connection (lowered by the server's SETTINGS). */
  readonly maxConcurrentStreams: number;
  /** An idle connection closes after this long. */
  readonly keepAliveTimeoutMs: number;
  /**
   * How long a new connection may stay silent before the server's SETTINGS arrive (the connector's own
   * timeout covers TCP and TLS); then it fails with `Http2ConnectError`. Default 5000, the Mesh's
   * `timeouts.connectMs`.
   */
  readonly connectTimeoutMs?: number;
  /** Default time to the response headers; 0 disables. */
  readonly headersTimeoutMs: number;
  /** Default time between body chunks; 0 disables. */
  readonly bodyTimeoutMs: number;
  /**
   * A connection with requests in flight that received nothing for about this long (one to two times it)
   * sends a PING; 0 disables. Default 10000. Idle connections send none: they close after
   * `keepAliveTimeoutMs`.
   */
  readonly pingIntervalMs?: number;
  /**
   * A PING not answered within this long ends its connection: the requests on it fail with undici's
   * `SocketError` (`UND_ERR_SOCKET`), those not yet sent with `StreamRefusedError`. Default 20000.
   */
  readonly pingTimeoutMs?: number;
  /**
   * For a TLS connection whose ALPN answered other than `h2`: an HTTP/1.1 dispatcher using `connect`
   * (handed this first socket, then the connector). Every request of this client goes to it from then on.
   */
  readonly http1: (connect: buildConnector.connector) => Dispatcher;
}

type Abort = (reason?: Error) => void;

/** One HTTP/2 session and what is in flight on it. */
interface Connection {
  readonly session: ClientHttp2Session;
  readonly requests: Set<H2Request>;
  /** Streams this connection may carry at once: ours, or fewer if the server says so. */
  limit: number;
  /**
   * The server's SETTINGS arrived. Streams wait for them: sent earlier, those above a lower
   * SETTINGS_MAX_CONCURRENT_STREAMS than ours would be refused.
   */
  ready: boolean;
  /** Set by GOAWAY: streams above it were not processed. */
  lastStreamId: number | undefined;
  error: Error | undefined;
  /** The health check: every `pingIntervalMs`, while the connection lives. */
  health: NodeJS.Timeout | undefined;
  /** The socket's `bytesRead` at the last health check. */
  read: number;
  /** The deadline of the PING in flight. */
  ping: NodeJS.Timeout | undefined;
}

/** One request, from dispatch to its last handler call. */
interface H2Request {
  readonly opts: Dispatcher.DispatchOptions;
  readonly handler: LegacyDispatchHandler;
  stream: ClientHttp2Stream | undefined;
  responded: boolean;
  /** A handler call ended the request (complete, error or abort): nothing more is called. */
  done: boolean;
  trailers: Buffer[] | undefined;
  error: Error | undefined;
  /** The dispatch's async context, when `undici:request:create` had subscribers then. */
  readonly scope: AsyncResource | undefined;
  /** What undici's diagnostics channels show of this request, once published. */
  diag: DiagnosticsRequest | undefined;
}

const {
  NGHTTP2_CANCEL,
  NGHTTP2_REFUSED_STREAM,
  HTTP2_HEADER_AUTHORITY,
  HTTP2_HEADER_METHOD,
  HTTP2_HEADER_PATH,
  HTTP2_HEADER_SCHEME,
  HTTP2_HEADER_STATUS,
} = constants;

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2); `host` becomes `:authority`. */
const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Methods undici sends no content-length for (RFC 9110 §8.6), and those it sends `0` for without a body. */
const NO_LENGTH = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT']);
const EXPECTS_PAYLOAD = new Set(['PUT', 'POST', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);
/** undici's defaults for its own HTTP/2 client: a 256 KiB stream window, 512 KiB for the connection. */
const STREAM_WINDOW = 262_144;
const CONNECTION_WINDOW = 524_288;

/**
 * An HTTP/2 client for one endpoint (h2c, or TLS with ALPN `h2`), shaped as an undici client so a `Pool`
 * holds several when one connection's streams run out. Requests queue while the connection opens (up to
 * `maxConcurrentStreams`), then each is a stream; `dispatch` returns false when this client is full.
 *
 * @example
 * ```ts
 * const pool = new Pool('http://10.0.3.7:8080', {
 *   factory: (origin, options) =>
 *     new H2Client(origin, { connect: options.connect, maxConcurrentStreams: 100, keepAliveTimeoutMs: 4000,
 *       headersTimeoutMs: 300_000, bodyTimeoutMs: 300_000, http1: (connect) => new Client(origin, { connect }) }),
 * })
 * ```
 */
export class H2Client extends Dispatcher {
  readonly #url: URL;
  readonly #endpoint: string;
  readonly #scheme: string;
  readonly #options: H2ClientOptions;
  readonly #queue: H2Request[] = [];
  /** Every open session: the current one and those finishing their streams after a GOAWAY. */
  readonly #connections = new Set<Connection>();
  /** The session new streams go to. */
  #current: Connection | undefined;
  #connecting = false;
  #http1: Dispatcher | undefined;
  #needDrain = false;
  #closed = false;
  #destroyed = false;
  #closing: Promise<void> | undefined;
  #closedResolve: (() => void) | undefined;

  constructor(origin: string | URL, options: H2ClientOptions) {
    super();
    this.#url = new URL(origin);
    this.#endpoint = this.#url.host;
    this.#scheme = this.#url.protocol.slice(0, -1);
    this.#options = options;
  }

  /** True after `close()` or `destroy()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True after `destroy()`. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#http1 !== undefined) return this.#http1.dispatch(opts, handler);
    const legacy = handler as LegacyDispatchHandler;
    if (this.#closed) {
      legacy.onError?.(this.#destroyed ? new errors.ClientDestroyedError() : new errors.ClientClosedError());
      return false;
    }
    this.#queue.push({
      opts,
      handler: legacy,
      stream: undefined,
      responded: false,
      done: false,
      trailers: undefined,
      error: undefined,
      scope: dispatchScope(),
      diag: undefined,
    });
    this.#resume();
    const busy = this.#busy();
    if (busy) this.#needDrain = true;
    return !busy;
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.#closed = true;
    const closing = this.#whenClosed();
    this.#settle();
    if (callback === undefined) return closing;
    closing.then(() => callback());
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? a : b;
    const error = (typeof a === 'function' ? undefined : a) ?? new errors.ClientDestroyedError();
    this.#destroyed = true;
    this.#closed = true;
    const done = Promise.all([this.#whenClosed(), this.#http1?.destroy(error).catch(() => {})]).then(() => undefined);
    for (const request of this.#queue.splice(0)) this.#abort(request, error);
    for (const connection of this.#connections) {
      for (const request of connection.requests) this.#abort(request, error);
      connection.session.destroy();
    }
    this.#settle();
    if (callback === undefined) return done;
    done.then(() => callback());
  }

  /**
   * The one promise of close() and destroy(): resolved by #settle once no connection is left, then the
   * HTTP/1.1 client this one handed over to (if any) closes too (at once when destroyed).
   */
  #whenClosed(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#closedResolve = resolve;
    }).then(() => (this.#destroyed ? undefined : this.#http1?.close()));
    return this.#closing;
  }

  /** Full: the current connection (or the one being opened) has no free stream for another request. */
  #busy(): boolean {
    const current = this.#current;
    const inFlight = current === undefined ? 0 : current.requests.size;
    const limit = current === undefined ? this.#options.maxConcurrentStreams : current.limit;
    return this.#closed || this.#queue.length + inFlight >= limit;
  }

  /** Start queued requests on the current connection, opening one when there is none. */
  #resume(): void {
    const queue = this.#queue;
    while (queue.length > 0) {
      const http1 = this.#http1;
      if (http1 !== undefined) {
        for (const request of queue.splice(0)) {
          if (request.done) continue;
          const send = () => http1.dispatch(request.opts, request.handler as Dispatcher.DispatchHandler);
          // In the dispatch's context, where undici's client publishes the request's creation.
          if (request.scope === undefined) send();
          else request.scope.runInAsyncScope(send);
        }
        return;
      }
      const current = this.#current;
      if (current === undefined) {
        if (!this.#connecting && !this.#destroyed) this.#connect();
        return;
      }
      if (current.session.closed || current.session.destroyed) {
        this.#retire(current); // closing (idle timeout, or the server's end): open another
        continue;
      }
      if (!current.ready || current.requests.size >= current.limit) return;
      const request = queue.shift()!;
      if (!request.done) this.#start(current, request);
    }
  }

  /** After a stream ends: more requests may start, the Pool may send more, a close may finish. */
  #settle(): void {
    this.#resume();
    const current = this.#current;
    // A session keeps the process alive while requests wait for it or run on it, like undici's sockets.
    if (current !== undefined && this.#queue.length > 0) current.session.ref();
    if (this.#needDrain && !this.#busy()) {
      this.#needDrain = false;
      this.#emit('drain');
    }
    // destroy() does not wait for a connect in progress: its socket is destroyed when it arrives.
    if (!this.#closed || this.#queue.length > 0 || (this.#connecting && !this.#destroyed)) return;
    for (const connection of this.#connections) {
      if (connection.requests.size > 0) return;
    }
    for (const connection of this.#connections) connection.session.close();
    if (this.#connections.size === 0) this.#closedResolve?.();
  }

  #connect(): void {
    this.#connecting = true;
    const url = this.#url;
    try {
      this.#options.connect(
        {
          host: url.host,
          hostname: url.hostname,
          protocol: url.protocol,
          port: url.port,
          servername: null,
          localAddress: null,
          httpSocket: undefined,
        } as unknown as buildConnector.Options,
        (...args: unknown[]) => {
          this.#connecting = false;
          // undici's connector calls back with the error alone on failure.
          const [error, socket] = args as [Error | null, Socket | TLSSocket | null];
          if (error != null || socket == null) {
            this.#connectFailed(error ?? new errors.SocketError('connect failed'));
            return;
          }
          if (this.#destroyed) {
            socket.destroy();
            this.#settle();
            return;
          }
          if (this.#scheme === 'https' && (socket as TLSSocket).alpnProtocol !== 'h2') this.#toHttp1(socket);
          else this.#open(socket);
        },
      );
    } catch (error) {
      this.#connecting = false;
      this.#connectFailed(error as Error);
    }
  }

  /**
   * No connection: what waited for one fails with `error` (nothing was sent), and the Pool is told as
   * undici's clients tell it (`connectionError`, then `drain`).
   */
  #connectFailed(error: Error): void {
    for (const request of this.#queue.splice(0)) this.#abort(request, error);
    this.#emit('connectionError', error);
    this.#settle();
  }

  /** The endpoint answered ALPN with HTTP/1.1: hand it this socket and every request from now on. */
  #toHttp1(socket: Socket): void {
    let first: Socket | undefined = socket;
    const http1 = this.#options.http1((opts, callback) => {
      const given = first;
      first = undefined;
      if (given === undefined) {
        this.#options.connect(opts, callback);
        return;
      }
      // Called back later, as a connector does: undici's client connects from inside its resume loop and
      // ignores the resume a synchronous callback asks for, which left the request unsent until another came.
      queueMicrotask(() => {
        if (given.destroyed) this.#options.connect(opts, callback);
        else callback(null, given);
      });
    });
    this.#http1 = http1;
    for (const event of ['drain', 'connect', 'disconnect', 'connectionError']) {
      const forward = (_origin: URL, _targets: unknown, error?: Error) => this.#emit(event, error);
      (http1.on as (event: string, listener: typeof forward) => Dispatcher).call(http1, event, forward);
    }
    if (this.#destroyed) http1.destroy(new errors.ClientDestroyedError()).catch(() => {});
    this.#settle();
  }

  #open(socket: Socket): void {
    // Node ends a closing session's socket and then waits for the peer to close too, which a server that
    // sent GOAWAY may never do: once our side is flushed (GOAWAY included), the socket is done.
    socket.once('finish', () => socket.destroy());
    const session = connectH2(this.#url, {
      createConnection: () => socket,
      peerMaxConcurrentStreams: this.#options.maxConcurrentStreams,
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW },
    });
    const connection: Connection = {
      session,
      requests: new Set(),
      limit: this.#options.maxConcurrentStreams,
      ready: false,
      lastStreamId: undefined,
      error: undefined,
      health: undefined,
      read: 0,
      ping: undefined,
    };
    const pingIntervalMs = this.#options.pingIntervalMs ?? 10_000;
    if (pingIntervalMs > 0) {
      connection.health = setInterval(() => this.#check(connection, socket), pingIntervalMs).unref();
    }
    this.#connections.add(connection);
    this.#current = connection;
    session.once('connect', () => {
      try {
        session.setLocalWindowSize(CONNECTION_WINDOW);
      } catch {
        // best effort, as undici
      }
      this.#emit('connect');
    });
    session.on('remoteSettings', (settings) => {
      // At least one: a server announcing 0 refuses the stream, which then goes elsewhere.
      const theirs = Math.max(1, settings.maxConcurrentStreams ?? Infinity);
      connection.limit = Math.min(this.#options.maxConcurrentStreams, theirs);
      connection.ready = true;
      session.setTimeout(this.#options.keepAliveTimeoutMs); // from the SETTINGS wait to the idle timeout
      this.#settle();
    });
    session.on('goaway', (_code: number, lastStreamId: number) => {
      // Node closes the session (NO_ERROR) or destroys it; streams above lastStreamId end refused.
      connection.lastStreamId = lastStreamId;
      this.#retire(connection);
      queueMicrotask(() => this.#settle());
    });
    session.on('error', (error: Error) => {
      connection.error = error;
    });
    session.on('frameError', () => {
      // The stream concerned ends with an error of its own.
    });
    session.once('close', () => {
      clearInterval(connection.health);
      clearTimeout(connection.ping);
      const never = !connection.ready;
      this.#retire(connection);
      this.#connections.delete(connection);
      this.#emit('disconnect', connection.error ?? new errors.SocketError('closed'));
      if (never && this.#current === undefined && !this.#connecting) {
        // Never an HTTP/2 connection: what waited for it was not sent.
        const why = connection.error?.message ?? 'closed before the server’s SETTINGS';
        this.#connectFailed(new Http2ConnectError(this.#endpoint, why, { cause: connection.error }));
      } else this.#settle();
    });
    session.on('timeout', () => {
      if (!connection.ready) session.destroy(new errors.SocketError('no SETTINGS from the server in time'));
      else if (connection.requests.size === 0) {
        this.#retire(connection);
        session.close();
      }
    });
    // Until the SETTINGS arrive: the connect deadline, not the idle one (a short keep-alive failed slow servers).
    session.setTimeout(this.#options.connectTimeoutMs ?? 5000);
    if (this.#queue.length === 0) session.unref();
    this.#resume();
  }

  /**
   * The health check (Go's `ReadIdleTimeout`, grpc's keepalive): requests are in flight and `socket` read
   * nothing since the last check, so the peer may be gone without a word (its node lost, a network
   * partition). A PING tells; unanswered, the connection ends, so its requests fail now rather than at
   * their timeouts and new ones stop piling onto it. While bytes arrive, or with nothing in flight, no PING.
   */
  #check(connection: Connection, socket: Socket): void {
    const read = socket.bytesRead;
    const silent = read === connection.read;
    connection.read = read;
    if (!silent || !connection.ready || connection.requests.size === 0 || connection.ping !== undefined) return;
    const session = connection.session;
    const timeoutMs = this.#options.pingTimeoutMs ?? 20_000;
    let sent = false;
    try {
      sent = session.ping(() => {
        // Acknowledged, or cancelled because the session closed: either way the deadline is moot.
        clearTimeout(connection.ping);
        connection.ping = undefined;
      });
    } catch {
      // The session is closing: its own end settles the requests.
    }
    if (!sent) return;
    const deadline = setTimeout(() => {
      // Decided after the next poll phase: a stalled event loop runs this timer before it reads an ACK
      // that has arrived meanwhile.
      setImmediate(() => {
        if (connection.ping !== deadline) return; // acknowledged (or cancelled) in the meantime
        connection.ping = undefined;
        this.#retire(connection);
        session.destroy(new errors.SocketError(`${this.#endpoint}: HTTP/2 PING unanswered after ${timeoutMs} ms`));
      }).unref();
    }, timeoutMs).unref();
    connection.ping = deadline;
  }

  /** An undici client event, as a Pool listens for it: the origin, this client, and the error if any. */
  #emit(event: string, error?: Error): void {
    (this.emit as (event: string, ...args: unknown[]) => boolean)(event, this.#url, [this], error);
  }

  /** No new stream goes to `connection` (GOAWAY, or closed). */
  #retire(connection: Connection): void {
    if (this.#current === connection) this.#current = undefined;
  }

  #start(connection: Connection, request: H2Request): void {
    const opts = request.opts;
    let headers: OutgoingHttpHeaders;
    let body: unknown;
    try {
      [headers, body] = requestHead(opts, this.#scheme, this.#endpoint);
    } catch (error) {
      this.#abort(request, error as Error);
      return;
    }
    this.#announce(request, headers);
    const abort: Abort = (reason) => {
      if (request.diag !== undefined && !request.done) request.diag.aborted = true;
      this.#abort(request, reason ?? new errors.RequestAbortedError());
    };
    try {
      request.handler.onConnect?.(abort);
    } catch (error) {
      abort(error as Error);
    }
    // The caller may abort inside onConnect (a superseded retry attempt does): then no stream.
    if (request.done) return;
    let stream: ClientHttp2Stream;
    try {
      stream = connection.session.request(headers, { endStream: body == null });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (
        code === 'ERR_HTTP2_GOAWAY_SESSION' ||
        code === 'ERR_HTTP2_INVALID_SESSION' ||
        code === 'ERR_HTTP2_OUT_OF_STREAMS'
      ) {
        // The session ended between our check and the request: nothing was sent.
        this.#retire(connection);
        this.#finish(request, new StreamRefusedError(this.#endpoint, 'connection closing', { cause: error }));
      } else this.#finish(request, new errors.InvalidArgumentError((error as Error).message));
      return;
    }
    request.stream = stream;
    request.diag?.sent(connection.session.socket as Socket, this.#scheme === 'http');
    connection.requests.add(request);
    if (connection.requests.size === 1) connection.session.ref();
    this.#watch(connection, request, stream, opts);
    if (body != null) {
      const declared = headers['content-length'];
      const length = declared === undefined || NO_LENGTH.has(opts.method) ? undefined : Number(declared);
      writeBody(stream, body, length, (error) => this.#abort(request, error));
    }
  }

  #watch(
    connection: Connection,
    request: H2Request,
    stream: ClientHttp2Stream,
    opts: Dispatcher.DispatchOptions,
  ): void {
    const handler = request.handler;
    const headersTimeout = opts.headersTimeout ?? this.#options.headersTimeoutMs;
    const bodyTimeout = opts.bodyTimeout ?? this.#options.bodyTimeoutMs;
    const onTimeout = () => {
      this.#abort(request, request.responded ? new errors.BodyTimeoutError() : new errors.HeadersTimeoutError());
    };
    stream.on('timeout', onTimeout);
    if (headersTimeout > 0) stream.setTimeout(headersTimeout);
    stream.on('response', (head: IncomingHttpHeaders) => {
      if (request.done) return;
      request.responded = true;
      stream.setTimeout(bodyTimeout);
      const status = Number(head[HTTP2_HEADER_STATUS]);
      const raw = rawHeaders(head);
      request.diag?.responded(status, raw);
      try {
        const more = handler.onHeaders?.(status, raw, () => stream.resume(), '');
        if (more === false) stream.pause();
      } catch (error) {
        this.#abort(request, error as Error);
      }
    });
    stream.on('data', (chunk: Buffer) => {
      if (request.done) return;
      try {
        if (handler.onData?.(chunk) === false) stream.pause();
      } catch (error) {
        this.#abort(request, error as Error);
      }
    });
    stream.on('trailers', (trailers: IncomingHttpHeaders) => {
      request.trailers = rawHeaders(trailers);
    });
    stream.on('end', () => {
      if (request.done) return;
      if (!request.responded) {
        // Reset (NO_ERROR, say) before any response. With a request body still unsent Node never closes
        // such a stream, nor times it out: close it, and 'close' below fails the request by its code.
        stream.destroy();
        return;
      }
      request.done = true;
      request.diag?.completedWith(request.trailers ?? []);
      try {
        handler.onComplete?.(request.trailers ?? []);
      } catch {
        // The caller's handler threw after its response ended: nothing left to report it to.
      }
      // The response is complete and the server did not read the whole body (a 413, say): the rest is of
      // no use (Go's transport stops too), and waiting for window to send it would hold the stream open.
      if (!stream.writableFinished && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
    });
    stream.on('error', (error: Error) => {
      request.error = error;
    });
    stream.once('close', () => {
      connection.requests.delete(request);
      if (connection.requests.size === 0 && !connection.session.destroyed) {
        if (this.#current !== connection || this.#queue.length === 0) connection.session.unref();
        connection.session.setTimeout(this.#options.keepAliveTimeoutMs); // idle from now on
      }
      if (!request.done) {
        const last = connection.lastStreamId;
        const unsent = stream.id === undefined || stream.pending;
        // After a GOAWAY only its last stream id tells: Node gives every stream the GOAWAY's code.
        const refused =
          !request.responded &&
          (unsent || (last === undefined ? stream.rstCode === NGHTTP2_REFUSED_STREAM : stream.id! > last));
        const why = unsent
          ? 'connection closed before it was sent'
          : last !== undefined && stream.id! > last
            ? `GOAWAY after stream ${last}`
            : 'REFUSED_STREAM';
        const cause = request.error ?? connection.error;
        this.#finish(
          request,
          refused
            ? new StreamRefusedError(this.#endpoint, why, cause === undefined ? undefined : { cause })
            : (cause ?? new errors.SocketError(`HTTP/2 stream closed with code ${stream.rstCode}`)),
        );
      }
      this.#settle();
    });
  }

  /** Publish `undici:request:create` for `request` in its dispatch scope, if someone listened then. */
  #announce(request: H2Request, headers: OutgoingHttpHeaders): void {
    if (request.scope === undefined) return;
    const path = headers[HTTP2_HEADER_PATH] as string;
    request.diag = DiagnosticsRequest.create(
      request.scope,
      this.#url.origin,
      request.opts.method,
      path,
      headers as Record<string, unknown>,
    );
  }

  /** The request ends with `error` (the caller aborted, a timeout, its body failed, the client closed): cancel its stream. */
  #abort(request: H2Request, error: Error): void {
    if (request.done) return;
    const stream = request.stream;
    if (stream !== undefined && !stream.closed) stream.close(NGHTTP2_CANCEL);
    this.#finish(request, error);
  }

  #finish(request: H2Request, error: Error): void {
    if (request.done) return;
    request.done = true;
    if (request.diag === undefined && request.scope !== undefined) {
      // Failed before its stream started (no connection, destroyed while queued): undici's clients show
      // such a request as created, then failed. With invalid options they show nothing, and neither do we.
      try {
        this.#announce(request, requestHead(request.opts, this.#scheme, this.#endpoint)[0]);
      } catch {}
    }
    request.diag?.failed(error);
    try {
      request.handler.onError?.(error);
    } catch {
      // A throwing onError has nothing above it to report to.
    }
  }
}

/** The HTTP/2 request headers and body of `opts`, as undici's Request would read them. */
function requestHead(
  opts: Dispatcher.DispatchOptions,
  scheme: string,
  authority: string,
): [OutgoingHttpHeaders, unknown] {
  const method = opts.method;
  if (typeof method !== 'string' || !TOKEN.test(method))
    throw new errors.InvalidArgumentError('invalid request method');
  if (opts.upgrade != null || method === 'CONNECT') {
    throw new errors.NotSupportedError('upgrade and CONNECT are not supported over HTTP/2 to endpoints');
  }
  const path = opts.path;
  if (typeof path !== 'string' || (path[0] !== '/' && path !== '*')) {
    throw new errors.InvalidArgumentError('path must start with a slash');
  }
  const headers: OutgoingHttpHeaders = {
    [HTTP2_HEADER_METHOD]: method,
    [HTTP2_HEADER_PATH]: withQuery(path, opts.query),
    [HTTP2_HEADER_SCHEME]: scheme,
    [HTTP2_HEADER_AUTHORITY]: authority,
  };
  const given = headerRecord(opts.headers);
  for (const name of Object.keys(given)) {
    const key = name.toLowerCase();
    const values = given[name];
    for (const value of Array.isArray(values) ? values : [values]) {
      if (value === undefined || value === null) continue;
      const text = String(value);
      if (key === 'host') headers[HTTP2_HEADER_AUTHORITY] = text;
      else if (CONNECTION_HEADERS.has(key) || (key === 'te' && text !== 'trailers')) continue;
      else if (key === 'expect') throw new errors.NotSupportedError('expect header not supported');
      else {
        const had = headers[key];
        headers[key] = had === undefined ? text : Array.isArray(had) ? [...had, text] : [String(had), text];
      }
    }
  }
  let body: unknown = opts.body;
  if (typeof body === 'string') body = Buffer.from(body);
  else if (body instanceof ArrayBuffer) body = Buffer.from(body);
  else if (ArrayBuffer.isView(body) && !(body instanceof Uint8Array)) {
    body = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  } else if (typeof FormData !== 'undefined' && body instanceof FormData) {
    // FormData as fetch would send it: multipart with its boundary.
    const encoded = new Response(body);
    headers['content-type'] = encoded.headers.get('content-type')!;
    body = encoded.body;
  } else if (typeof Blob !== 'undefined' && body instanceof Blob) {
    if (body.type !== '' && headers['content-type'] === undefined) headers['content-type'] = body.type;
    if (headers['content-length'] === undefined) headers['content-length'] = String(body.size);
    body = body.stream();
  }
  // content-length as undici's clients send it: the body's own length when it has one (a given value that
  // differs is an error for methods with a payload), none for an empty body unless the method expects one.
  const declared = headers['content-length'];
  if (body instanceof Uint8Array) {
    const length = body.byteLength;
    if (length > 0 && declared !== undefined && !NO_LENGTH.has(method) && Number(declared) !== length) {
      throw new errors.RequestContentLengthMismatchError();
    }
    if (length === 0) body = null;
    else headers['content-length'] = String(length);
  }
  if (body == null) {
    if (EXPECTS_PAYLOAD.has(method)) headers['content-length'] = '0';
    else delete headers['content-length'];
  }
  return [headers, body];
}

function withQuery(path: string, query: unknown): string {
  if (query == null || typeof query !== 'object') return path;
  if (path.includes('?') || path.includes('#')) {
    throw new errors.InvalidArgumentError('Query params cannot be passed when url already contains "?" or "#".');
  }
  // As undici serialises `query` (querystring.stringify).
  const text = stringify(query as Record<string, string>);
  return text === '' ? path : `${path}?${text}`;
}

/** Response headers as undici hands them to legacy handlers: name and value Buffers, set-cookie repeated. */
function rawHeaders(head: IncomingHttpHeaders): Buffer[] {
  const raw: Buffer[] = [];
  for (const name of Object.keys(head)) {
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    const value = head[name];
    if (Array.isArray(value)) for (const v of value) raw.push(Buffer.from(name), Buffer.from(v));
    else if (value !== undefined) raw.push(Buffer.from(name), Buffer.from(String(value)));
  }
  return raw;
}

/** Resolves when `stream` takes more data, or closed. */
function writable(stream: ClientHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/**
 * Send `body` on `stream` and end it: a Buffer at once, an (async) iterable with backpressure. Should the
 * stream close first (abort, reset, timeout), the source is released (`return()`: a Readable is destroyed).
 */
function writeBody(
  stream: ClientHttp2Stream,
  body: unknown,
  length: number | undefined,
  onError: (error: Error) => void,
): void {
  if (body instanceof Uint8Array) {
    stream.end(body);
    return;
  }
  const source = body as Partial<AsyncIterable<unknown> & Iterable<unknown>>;
  const iterator: AsyncIterator<unknown> | Iterator<unknown> | undefined =
    source[Symbol.asyncIterator]?.() ?? source[Symbol.iterator]?.();
  if (iterator === undefined) {
    onError(
      new errors.InvalidArgumentError('body must be a string, a Buffer, a Blob, FormData or an (async) iterable'),
    );
    return;
  }
  let ended = false;
  const release = () => {
    if (ended) return;
    ended = true;
    Promise.resolve(iterator.return?.()).catch(() => {});
  };
  stream.once('close', release);
  (async () => {
    let sent = 0;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true || ended) break;
      const chunk = next.value;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
      sent += bytes.byteLength;
      // As undici's HTTP/1.1 writer: more than the declared content-length is the caller's mistake.
      if (length !== undefined && sent > length) throw new errors.RequestContentLengthMismatchError();
      if (!stream.write(bytes)) await writable(stream);
    }
    if (!ended && length !== undefined && sent !== length) throw new errors.RequestContentLengthMismatchError();
    ended = true;
    stream.off('close', release);
    if (!stream.destroyed && !stream.closed) stream.end();
  })().catch((error: unknown) => {
    stream.off('close', release);
    release(); // the source, when the error is ours (a content-length mismatch)
    onError(error instanceof Error ? error : new Error(String(error)));
  });
}
