// ③ Endpoint source (Kubernetes): a minimal REST + watch client for the Kubernetes API on undici.
// Consumes a resolved connection config (server, token/token file, TLS material); produces parsed
// JSON list responses and watch events, and classifies failures (410, 401, status, network, malformed).

import { readFile } from 'node:fs/promises';
import { Pool } from 'undici';
import type { RunRequest } from './config.js';
import type { KubernetesCredentialProvider, KubernetesCredentials } from './kubeconfig-credentials.js';

/** Connection settings after validation (see `config.ts`). Secrets live only here and in headers. */
export interface KubeApiClientConfig {
  /** `https://host:port[/prefix]` or `http://...`; no userinfo, no query. */
  readonly server: URL;
  readonly token?: string | undefined;
  readonly tokenFile?: string | undefined;
  readonly ca?: string | Uint8Array | undefined;
  readonly caFile?: string | undefined;
  readonly cert?: string | Uint8Array | undefined;
  readonly certFile?: string | undefined;
  readonly key?: string | Uint8Array | undefined;
  readonly keyFile?: string | undefined;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName?: string | undefined;
  /** The token file is re-read when the cached copy is older than this (client-go: 1 min). */
  readonly tokenRefreshIntervalMs: number;
  /** Connect + response-headers timeout of every request, and body idle timeout of lists. */
  readonly requestTimeoutMs: number;
  /** Largest list body or single watch event accepted. */
  readonly maxResponseBytes: number;
  readonly now: () => number;
  /** Token and client certificate on demand; excludes token, tokenFile, cert* and key*. */
  readonly credentials?: KubernetesCredentialProvider | undefined;
  /** Wraps the synchronous start of every request (the SDK suppresses tracing with it). */
  readonly runRequest?: RunRequest | undefined;
}

/** Why a request failed; `list-watch.ts` decides between re-watch, relist and backoff from this. */
export type KubeApiErrorKind =
  /** HTTP 410 or a watch ERROR event with code 410: the resource version is too old → relist. */
  | 'gone'
  /** HTTP 401 after one retry with a freshly read token. */
  | 'unauthorized'
  /** Any other non-2xx status, or a watch ERROR event with another code. */
  | 'status'
  /** Connection refused/reset, TLS failure, timeouts, reading a credentials file. */
  | 'network'
  /** The body was not the JSON we expect (bad line, wrong kind, missing fields). */
  | 'malformed'
  /** The body or one watch event exceeded `maxResponseBytes`. */
  | 'too-large';

/**
 * Internal failure of one API request. Never carries the token; `list-watch.ts` wraps it into a
 * `WatchFailedError` for listeners.
 */
export class KubeApiError extends Error {
  readonly kind: KubeApiErrorKind;
  readonly status: number | undefined;
  /**
   * How long the server asked the client to wait before trying again (a `Retry-After` header in seconds, or
   * a Status object's `details.retryAfterSeconds`, as 429s from API Priority and Fairness and 503s carry).
   */
  readonly retryAfterMs: number | undefined;

  constructor(
    kind: KubeApiErrorKind,
    message: string,
    status?: number,
    options?: { cause?: unknown; retryAfterMs?: number | undefined },
  ) {
    super(message, options);
    this.name = 'KubeApiError';
    this.kind = kind;
    this.status = status;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * Milliseconds of a `Retry-After` value in whole seconds (client-go reads only that form), or undefined when
 * absent or not a non-negative integer.
 */
export function retryAfterMs(value: unknown): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text === 'number') return Number.isInteger(text) && text >= 0 ? text * 1000 : undefined;
  if (typeof text !== 'string' || !/^\s*\d{1,9}\s*$/.test(text)) return undefined;
  return Number(text) * 1000;
}

/** Callbacks of one watch request. `onEvent` may throw to abort the stream (the error is rethrown). */
export interface WatchHandlers {
  /** The server answered 200: the stream is established. */
  onOpen(): void;
  /** One parsed watch event line (`{type, object}`), not yet validated. */
  onEvent(event: unknown): void;
}

/**
 * Asks a credential provider when its last answer expired (`expiresAt`, else `tokenRefreshIntervalMs`) or
 * after a 401; one call at a time. Its rejections become `network` failures without their message.
 */
class CredentialSource {
  readonly #config: KubeApiClientConfig;
  readonly #provider: KubernetesCredentialProvider;
  #cached: KubernetesCredentials | undefined;
  #validUntil = Number.NEGATIVE_INFINITY;
  #unauthorized = false;
  #pending: Promise<KubernetesCredentials> | undefined;

  constructor(config: KubeApiClientConfig, provider: KubernetesCredentialProvider) {
    this.#config = config;
    this.#provider = provider;
  }

  async get(): Promise<KubernetesCredentials> {
    if (this.#cached !== undefined && this.#config.now() < this.#validUntil) return this.#cached;
    if (this.#pending !== undefined) return this.#pending;
    const reason = this.#cached === undefined ? 'initial' : this.#unauthorized ? 'unauthorized' : 'expired';
    this.#unauthorized = false;
    const pending = (async () => {
      let result: unknown;
      try {
        result = await this.#provider({ reason });
      } catch (err) {
        const e = err as { code?: unknown; name?: unknown };
        const why = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'error';
        // The provider's message may carry plugin output: it stays in `cause` only.
        throw new KubeApiError('network', `credentials provider failed (${why})`, undefined, { cause: err });
      }
      const c = result as KubernetesCredentials | undefined;
      const pem = (v: unknown) => v === undefined || typeof v === 'string' || v instanceof Uint8Array;
      if (
        typeof c !== 'object' ||
        c === null ||
        (c.token !== undefined && typeof c.token !== 'string') ||
        !pem(c.cert) ||
        !pem(c.key) ||
        (c.cert === undefined) !== (c.key === undefined) ||
        (c.expiresAt !== undefined && (typeof c.expiresAt !== 'number' || Number.isNaN(c.expiresAt)))
      ) {
        throw new KubeApiError(
          'network',
          'credentials provider returned an invalid value: expected { token?: string, cert?, key? (together), expiresAt?: number }',
        );
      }
      const now = this.#config.now();
      this.#cached = c;
      this.#validUntil = Math.min(c.expiresAt ?? Number.POSITIVE_INFINITY, now + this.#config.tokenRefreshIntervalMs);
      return c;
    })();
    this.#pending = pending;
    try {
      return await pending;
    } finally {
      this.#pending = undefined;
    }
  }

  /** The server refused the last credentials: ask again, telling the provider to bypass its caches. */
  invalidate(): void {
    this.#validUntil = Number.NEGATIVE_INFINITY;
    this.#unauthorized = true;
  }
}

/** Re-reads a projected service-account token file at most every `intervalMs`, and on demand. */
class TokenSource {
  readonly #config: KubeApiClientConfig;
  readonly #credentials: CredentialSource | undefined;
  #cached: string | undefined;
  #readAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<string | undefined> | undefined;

  constructor(config: KubeApiClientConfig) {
    this.#config = config;
    this.#credentials = config.credentials === undefined ? undefined : new CredentialSource(config, config.credentials);
  }

  /** Whether a 401 is worth one retry with fresh credentials. */
  get refreshable(): boolean {
    return this.#config.tokenFile !== undefined || this.#credentials !== undefined;
  }

  /** Token, and client certificate/key when a credential provider supplies them. */
  async auth(): Promise<KubernetesCredentials> {
    if (this.#credentials !== undefined) return this.#credentials.get();
    return { token: await this.get() };
  }

  /** The token to send now (undefined: no Authorization header). */
  async get(): Promise<string | undefined> {
    const file = this.#config.tokenFile;
    if (file === undefined) return this.#config.token;
    if (this.#cached !== undefined && this.#config.now() - this.#readAt < this.#config.tokenRefreshIntervalMs) {
      return this.#cached;
    }
    this.#pending ??= readFile(file, 'utf8').then(
      (text) => {
        this.#pending = undefined;
        this.#cached = text.trim();
        this.#readAt = this.#config.now();
        return this.#cached;
      },
      (err: NodeJS.ErrnoException) => {
        this.#pending = undefined;
        // The path is not secret; the content is never in a message.
        throw new KubeApiError('network', `read token file ${file}: ${err.code ?? err.message}`, undefined, {
          cause: err,
        });
      },
    );
    return this.#pending;
  }

  /** Forget the cached token (after a 401), so the next `get()` re-reads the file. */
  invalidate(): void {
    this.#readAt = Number.NEGATIVE_INFINITY;
    this.#credentials?.invalidate();
  }
}

/**
 * Lean Kubernetes API client: JSON GETs and streaming watches over one undici Pool, with bearer
 * token (static or file, re-read every `tokenRefreshIntervalMs` and right after a 401), client
 * certificates and CA verification. Not a general client: read-only, JSON only.
 *
 * @example
 * ```ts
 * const client = new KubeApiClient(config)
 * const list = await client.list('/api/v1/namespaces/prod/services', { fieldSelector: 'metadata.name=web' }, signal)
 * await client.close()
 * ```
 */
export class KubeApiClient {
  readonly #config: KubeApiClientConfig;
  readonly #token: TokenSource;
  #pool: Promise<Pool> | undefined;
  /** The client certificate and key the current pool was built with (a credential provider's). */
  #poolCert: string | Uint8Array | undefined;
  #poolKey: string | Uint8Array | undefined;
  /** Pools replaced after the provider's certificate changed; their open watches finish on them. */
  readonly #retired = new Set<Promise<Pool>>();
  /** Wrappers added after construction (`KubernetesSource.wrapRequests`), innermost first. */
  readonly #wrappers = new Set<RunRequest>();
  #closed: Promise<void> | undefined;

  constructor(config: KubeApiClientConfig) {
    this.#config = config;
    this.#token = new TokenSource(config);
  }

  /** Add a wrapper around the start of every later request; adding the same function again does nothing. */
  wrapRequests(runRequest: RunRequest): void {
    this.#wrappers.add(runRequest);
  }

  #run<T>(start: () => T): T {
    let run = start;
    for (const wrap of this.#wrappers) {
      const inner = run;
      run = () => wrap(inner);
    }
    return this.#config.runRequest === undefined ? run() : this.#config.runRequest(run);
  }

  /** Server URL without credentials, for messages. */
  get server(): string {
    return this.#config.server.origin + this.#basePath();
  }

  /** GET a collection (or object) and parse it as JSON. */
  async list(path: string, query: Readonly<Record<string, string>>, signal: AbortSignal): Promise<unknown> {
    const res = await this.#request(path, query, signal, this.#config.requestTimeoutMs);
    const text = await readLimited(res.body, this.#config.maxResponseBytes, `GET ${path}`);
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new KubeApiError('malformed', `GET ${path}: response is not JSON`, undefined, { cause: err });
    }
  }

  /**
   * Open a watch (`query` must carry `watch=1`) and feed each newline-delimited JSON event to
   * `handlers.onEvent`. Resolves when the server ends the stream cleanly (timeoutSeconds elapsed,
   * connection closed after a complete line); rejects with a {@link KubeApiError} otherwise.
   * `idleTimeoutMs` bounds the silence between two chunks.
   */
  async watch(
    path: string,
    query: Readonly<Record<string, string>>,
    signal: AbortSignal,
    idleTimeoutMs: number,
    handlers: WatchHandlers,
  ): Promise<void> {
    const res = await this.#request(path, query, signal, idleTimeoutMs);
    handlers.onOpen();
    const max = this.#config.maxResponseBytes;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const emit = (line: Buffer): void => {
      if (line.length === 0 || (line.length === 1 && line[0] === 13)) return;
      let event: unknown;
      try {
        event = JSON.parse(line.toString('utf8'));
      } catch (err) {
        throw new KubeApiError('malformed', `watch ${path}: event is not JSON`, undefined, { cause: err });
      }
      handlers.onEvent(event);
    };
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        let start = 0;
        let idx = chunk.indexOf(10, start);
        while (idx !== -1) {
          const piece = chunk.subarray(start, idx);
          // A line that arrived whole in one chunk, or completed one, is bounded too (found by fuzzing).
          if (pendingBytes + piece.length > max) {
            throw new KubeApiError('too-large', `watch ${path}: event larger than ${max} bytes`);
          }
          if (pending.length > 0) {
            pending.push(piece);
            const line = Buffer.concat(pending, pendingBytes + piece.length);
            pending = [];
            pendingBytes = 0;
            emit(line);
          } else emit(piece);
          start = idx + 1;
          idx = chunk.indexOf(10, start);
        }
        if (start < chunk.length) {
          pending.push(chunk.subarray(start));
          pendingBytes += chunk.length - start;
          if (pendingBytes > max) {
            throw new KubeApiError('too-large', `watch ${path}: event larger than ${max} bytes`);
          }
        }
      }
    } catch (err) {
      res.body.destroy();
      throw toKubeError(err, `watch ${path}`);
    }
    // A final line without newline is complete JSON if the server flushed it whole.
    if (pendingBytes > 0) emit(Buffer.concat(pending, pendingBytes));
  }

  /** Destroy every connection (aborting open watches). Idempotent; returns the same promise. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const pools = [...this.#retired, ...(this.#pool === undefined ? [] : [this.#pool])];
      this.#pool = undefined;
      this.#retired.clear();
      await Promise.all(
        pools.map(async (pool) => {
          try {
            await (await pool).destroy();
          } catch {
            // A pool that never came up (credentials file missing) has nothing to destroy.
          }
        }),
      );
    })();
    return this.#closed;
  }

  #basePath(): string {
    const p = this.#config.server.pathname;
    return p.endsWith('/') ? p.slice(0, -1) : p;
  }

  async #dispatcher(auth: KubernetesCredentials): Promise<Pool> {
    if (this.#closed !== undefined) throw new KubeApiError('network', 'client closed');
    if (
      this.#config.credentials !== undefined &&
      (!samePem(auth.cert, this.#poolCert) || !samePem(auth.key, this.#poolKey))
    ) {
      // The provider rotated the client certificate: new connections use the new one.
      const old = this.#pool;
      if (old !== undefined) {
        this.#retired.add(old);
        void old.then(
          (p) => p.close().finally(() => this.#retired.delete(old)),
          () => this.#retired.delete(old),
        );
      }
      this.#pool = this.#createPool(auth);
      this.#poolCert = auth.cert;
      this.#poolKey = auth.key;
    }
    this.#pool ??= this.#createPool(auth);
    try {
      return await this.#pool;
    } catch (err) {
      this.#pool = undefined; // retry reading the files next time
      throw err;
    }
  }

  async #createPool(auth: KubernetesCredentials): Promise<Pool> {
    const c = this.#config;
    const tls = c.server.protocol === 'https:';
    const load = async (inline: string | Uint8Array | undefined, file: string | undefined, what: string) => {
      if (inline !== undefined) return typeof inline === 'string' ? inline : Buffer.from(inline);
      if (file === undefined) return undefined;
      try {
        return await readFile(file);
      } catch (err) {
        throw new KubeApiError(
          'network',
          `read ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
          undefined,
          {
            cause: err,
          },
        );
      }
    };
    const connect: Record<string, unknown> = { timeout: c.requestTimeoutMs };
    if (tls) {
      const [ca, cert, key] = await Promise.all([
        load(c.ca, c.caFile, 'CA'),
        load(auth.cert ?? c.cert, c.certFile, 'client certificate'),
        load(auth.key ?? c.key, c.keyFile, 'client key'),
      ]);
      if (ca !== undefined) connect.ca = ca;
      if (cert !== undefined) connect.cert = cert;
      if (key !== undefined) connect.key = key;
      connect.rejectUnauthorized = !c.insecureSkipTlsVerify;
      if (c.tlsServerName !== undefined) connect.servername = c.tlsServerName;
    }
    return new Pool(c.server.origin, {
      connections: null,
      connect,
      headersTimeout: c.requestTimeoutMs,
      bodyTimeout: c.requestTimeoutMs,
    });
  }

  async #request(path: string, query: Readonly<Record<string, string>>, signal: AbortSignal, bodyTimeoutMs: number) {
    const fullPath = `${this.#basePath()}${path}?${new URLSearchParams(query).toString()}`;
    for (let attempt = 0; ; attempt++) {
      // A provider (an exec plugin waiting for a login) may never answer: that must neither keep the watch
      // silent, without a failure to report, nor hold up close(), which aborts `signal`.
      const auth = await bounded(this.#token.auth(), signal, this.#config.requestTimeoutMs, 'credentials');
      const pool = await this.#dispatcher(auth);
      const token = auth.token;
      const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'clusterip-resolver' };
      if (token) headers.authorization = `Bearer ${token}`;
      let res: Awaited<ReturnType<Pool['request']>>;
      try {
        res = await this.#run(() =>
          pool.request({
            path: fullPath,
            method: 'GET',
            headers,
            signal,
            headersTimeout: this.#config.requestTimeoutMs,
            bodyTimeout: bodyTimeoutMs,
          }),
        );
      } catch (err) {
        throw toKubeError(err, `GET ${path}`);
      }
      if (res.statusCode >= 200 && res.statusCode < 300) return res;
      const { detail, retryAfterSeconds } = await statusDetail(res.body);
      if (res.statusCode === 401 && attempt === 0 && this.#token.refreshable) {
        // Projected tokens rotate, plugin tokens expire: re-read the file or ask the provider again
        // (bypassing its caches) and try once more before reporting.
        this.#token.invalidate();
        continue;
      }
      const kind: KubeApiErrorKind =
        res.statusCode === 410 ? 'gone' : res.statusCode === 401 ? 'unauthorized' : 'status';
      const hint = res.statusCode === 401 ? ': check the token (service account token file or kubeconfig user)' : '';
      throw new KubeApiError(
        kind,
        `GET ${path}: HTTP ${res.statusCode}${detail ? ` ${detail}` : ''}${hint}`,
        res.statusCode,
        { retryAfterMs: retryAfterMs(res.headers['retry-after']) ?? retryAfterMs(retryAfterSeconds) },
      );
    }
  }
}

/**
 * @internal `promise`, or a `network` KubeApiError once `signal` aborts or `timeoutMs` passes (the promise goes
 * on, its result unused, its rejection handled).
 */
export function bounded<T>(promise: Promise<T>, signal: AbortSignal, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(new KubeApiError('network', `${what}: request aborted`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new KubeApiError('network', `${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    // Handlers first, whatever happens next: a promise given up on may still reject.
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (err: unknown) => {
        done();
        reject(err);
      },
    );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Same PEM content (providers may return a fresh Buffer for the same certificate on every call). */
function samePem(a: string | Uint8Array | undefined, b: string | Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return Buffer.from(a).equals(Buffer.from(b));
}

/**
 * The `message` of a Status body, truncated, and its `details.retryAfterSeconds`; never the raw body of
 * something unexpected.
 */
async function statusDetail(
  body: AsyncIterable<Buffer> & { destroy(): void },
): Promise<{ detail: string; retryAfterSeconds?: unknown }> {
  try {
    const text = await readLimited(body, 16_384, 'status');
    const status = JSON.parse(text) as { message?: unknown; details?: { retryAfterSeconds?: unknown } | null };
    const message = typeof status.message === 'string' ? status.message : '';
    return {
      detail: message.length > 200 ? `${message.slice(0, 197)}...` : message,
      retryAfterSeconds: status.details?.retryAfterSeconds,
    };
  } catch {
    // Not a Status object: the HTTP code alone says enough.
  }
  return { detail: '' };
}

async function readLimited(
  body: AsyncIterable<Buffer> & { destroy(): void },
  max: number,
  what: string,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += chunk.length;
      if (size > max) throw new KubeApiError('too-large', `${what}: response larger than ${max} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    body.destroy();
    throw toKubeError(err, what);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function toKubeError(err: unknown, what: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const e = err as { code?: string; message?: string; name?: string };
  const reason = e?.code ?? e?.name ?? 'error';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return new KubeApiError('network', `${what}: ${reason}: ${message}`, undefined, { cause: err });
}
