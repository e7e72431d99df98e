// ⑦ Connection pool: one undici Pool per endpoint (and scheme, and TLS server name) of one Service route,
// HTTP/1.1 or HTTP/2. Consumes picked endpoints and eligible-set changes; produces keep-alive Pools, drained
// when an endpoint leaves.

import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { type Endpoint, endpointKey } from '@clusterip/resolver';
import { type buildConnector, Client, type Dispatcher, Pool } from 'undici';
import { H2Client } from './h2-client.js';

/** How pools are built (undici `Pool` options, keeping undici's names). */
export interface EndpointPoolOptions {
  readonly connections: number | null;
  readonly keepAliveTimeoutMs: number;
  readonly pipelining: number;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  /** TLS options (ca, cert, key, ...) for https endpoints. */
  readonly connect: Readonly<Record<string, unknown>> | undefined;
  /** Offer HTTP/2 in TLS ALPN to https endpoints (undici `allowH2`). Default false. */
  readonly allowH2?: boolean;
  /** Concurrent requests on one HTTP/2 connection. Default 100. */
  readonly maxConcurrentStreams?: number;
  /** HTTP/2 health check: PING a silent connection with requests in flight after this long (0: never). Default 10000. */
  readonly pingIntervalMs?: number;
  /** HTTP/2 health check: end the connection when the PING is unanswered this long. Default 20000. */
  readonly pingTimeoutMs?: number;
  /** Builds a pool; default `new Pool(origin, options)`. */
  readonly factory?: (origin: string, options: Pool.Options) => Dispatcher;
}

/** A request dispatched to a pool that has no socket for it yet: nothing is sent, it can still go elsewhere. */
export interface Unsent {
  /** Send it to another endpoint if its policy allows (retry budget, attempts); else leave it queued. */
  requeue(): void;
}

/**
 * One endpoint's pool with the strings a request needs, computed once per pool rather than once per
 * request: `endpoint` (`address:port`, for attempts and errors) and `origin` (`http://address:port`),
 * and the requests waiting in it unsent (`unsent`: added before dispatch, removed when the request gets a
 * socket or fails).
 */
export interface PoolEntry {
  readonly pool: Dispatcher;
  /** `address:port` of the endpoint. */
  readonly endpoint: string;
  /** `protocol//address:port`. */
  readonly origin: string;
  /** Requests queued in this pool without a socket yet. */
  readonly unsent: Set<Unsent>;
}

/**
 * The pools of one Service route. `get()` returns the pool for an endpoint, creating it lazily on
 * first use (connections open on the first request, grpc's "exit idle on pick"). `retain()` closes
 * the pools of endpoints that left the eligible set: gracefully, so requests already on them finish
 * while idle keep-alive connections close at once; no new request is given to them.
 *
 * @example
 * ```ts
 * const pools = new EndpointPools(options)
 * pools.get(endpoint, 'http:', undefined).pool.dispatch(opts, handler)
 * pools.retain(new Set(eligible.map(endpointKey))) // drain the rest
 * await pools.close()
 * ```
 */
export class EndpointPools {
  readonly #options: EndpointPoolOptions;
  readonly #pools = new Map<string, PoolEntry>();
  /** Endpoint object → its http pool entry; dropped whenever a pool is retired. */
  #http = new WeakMap<Endpoint, PoolEntry>();
  /** Pools closing after their endpoint left; awaited by close() and destroy(). */
  readonly #draining = new Map<Dispatcher, Promise<void>>();
  #closing: Promise<void> | undefined;
  #h2c = false;

  constructor(options: EndpointPoolOptions) {
    this.#options = options;
  }

  /**
   * Speak HTTP/2 without TLS (h2c, prior knowledge) to http endpoints: set from the Service port's
   * `appProtocol: kubernetes.io/h2c`. A change drains every pool; the next requests open new ones.
   */
  get h2c(): boolean {
    return this.#h2c;
  }

  set h2c(on: boolean) {
    if (on === this.#h2c) return;
    this.#h2c = on;
    this.retain(NO_ENDPOINT);
  }

  /** Number of live (not draining) pools. */
  get size(): number {
    return this.#pools.size;
  }

  /**
   * The pool for `endpoint` under `protocol` (`http:` / `https:`) and `host`, the name or address the
   * caller addressed: over TLS the server name (SNI), and what the certificate is verified against. An
   * https pool is per host because undici drops a connection whose server name changes.
   */
  get(endpoint: Endpoint, protocol: string, host: string | undefined): PoolEntry {
    // Fast path: the same Endpoint object (snapshots keep unchanged endpoints) over plain http.
    if (protocol === 'http:') {
      const cached = this.#http.get(endpoint);
      if (cached !== undefined) return cached;
    }
    const ep = endpointKey(endpoint);
    const key = protocol === 'https:' ? `https://${ep}|${host ?? ''}` : `${protocol}//${ep}`;
    const found = this.#pools.get(key);
    if (found !== undefined) {
      if (protocol === 'http:') this.#http.set(endpoint, found);
      return found;
    }
    const o = this.#options;
    const tls = protocol === 'https:' ? tlsOptions(o.connect, host) : {};
    const h2c = protocol === 'http:' && this.#h2c;
    const h2 = h2c || (protocol === 'https:' && o.allowH2 === true);
    const streams = o.maxConcurrentStreams ?? 100;
    const options: Pool.Options = {
      connections: o.connections,
      keepAliveTimeout: o.keepAliveTimeoutMs,
      pipelining: o.pipelining,
      headersTimeout: o.headersTimeoutMs,
      bodyTimeout: o.bodyTimeoutMs,
      connect: { ...tls, timeout: o.connectTimeoutMs },
      ...(h2
        ? {
            maxConcurrentStreams: streams,
            factory: h2Clients(o, streams),
            ...(protocol === 'https:' ? { allowH2: true } : {}),
          }
        : {}),
    };
    const origin = `${protocol}//${ep}`;
    const pool = o.factory === undefined ? new Pool(origin, options) : o.factory(origin, options);
    const entry: PoolEntry = Object.freeze({ pool, endpoint: ep, origin, unsent: new Set<Unsent>() });
    this.#pools.set(key, entry);
    if (protocol === 'http:') this.#http.set(endpoint, entry);
    return entry;
  }

  /**
   * Keep only pools whose endpoint (`address:port`) is in `keep` (a set of keys, or the route's balancer,
   * which answers without a key per endpoint); drain the others. Requests still queued
   * unsent in a drained pool are offered another endpoint first (kube-proxy sends no new connection to an
   * endpoint that left; these have not reached it yet).
   */
  retain(keep: { has(key: string): boolean }): void {
    let drained = false;
    for (const [key, entry] of this.#pools) {
      if (keep.has(entry.endpoint)) continue;
      this.#pools.delete(key);
      requeueAll(entry);
      this.#drain(entry.pool);
      drained = true;
    }
    if (drained) this.#http = new WeakMap();
  }

  /**
   * Drain every pool without offering their unsent requests another endpoint (the route stops balancing:
   * they go where they were sent). Later `get()` calls open new pools.
   */
  drainAll(): void {
    for (const entry of this.#pools.values()) this.#drain(entry.pool);
    this.#pools.clear();
    this.#http = new WeakMap();
  }

  /**
   * Offer every request queued unsent for `endpoint` (`address:port`) another endpoint: called when
   * outlier detection ejects it. The pools stay (the endpoint may come back after its ejection).
   */
  requeue(endpoint: string): void {
    for (const entry of this.#pools.values()) if (entry.endpoint === endpoint) requeueAll(entry);
  }

  /**
   * Drain every pool gracefully: requests in flight finish, and so do those queued unsent in a pool (they
   * go where they were sent, as with undici's `Pool.close()`; the route is closing, there is nowhere else).
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.drainAll();
      await Promise.all([...this.#draining.values()]);
    })();
    return this.#closing;
  }

  /** Abort every request and close every socket now. */
  async destroy(error?: Error): Promise<void> {
    const pools = [...this.#pools.values()].map((e) => e.pool);
    this.#pools.clear();
    this.#http = new WeakMap();
    pools.push(...this.#draining.keys());
    await Promise.all(pools.map((p) => p.destroy(error ?? null).catch(() => {})));
    await Promise.all([...this.#draining.values()]);
  }

  #drain(pool: Dispatcher): void {
    const done: Promise<void> = pool
      .close()
      .catch(() => {})
      .finally(() => this.#draining.delete(pool));
    this.#draining.set(pool, done);
  }
}

const NO_ENDPOINT = Object.freeze({ has: (_key: string) => false });

/**
 * Clients of one HTTP/2 pool (h2c, or https with `allowH2`): {@link H2Client}s while the endpoint is
 * believed to speak h2 (h2c; with ALPN until a connection answers otherwise), undici `Client`s for
 * HTTP/1.1 once ALPN said `http/1.1` (the client that learnt it hands its requests to one).
 */
function h2Clients(o: EndpointPoolOptions, streams: number) {
  const endpoint = { h2: true };
  return (origin: string | URL, options: object): Dispatcher => {
    const poolOptions = options as Client.Options & { connect: buildConnector.connector };
    const http1 = (connect: buildConnector.connector) => {
      endpoint.h2 = false;
      return new Client(origin, { ...poolOptions, connect, allowH2: false, pipelining: o.pipelining });
    };
    if (!endpoint.h2) return http1(poolOptions.connect);
    return new H2Client(origin, {
      connect: poolOptions.connect,
      maxConcurrentStreams: streams,
      keepAliveTimeoutMs: o.keepAliveTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      headersTimeoutMs: o.headersTimeoutMs,
      bodyTimeoutMs: o.bodyTimeoutMs,
      ...(o.pingIntervalMs === undefined ? {} : { pingIntervalMs: o.pingIntervalMs }),
      ...(o.pingTimeoutMs === undefined ? {} : { pingTimeoutMs: o.pingTimeoutMs }),
      http1,
    });
  };
}

/**
 * The TLS options of a pool whose requests address `host`: a name is the server name (SNI, and Node
 * verifies the certificate against it). An address has no SNI (RFC 6066), but the certificate is still
 * verified against it, as a client connecting to the ClusterIP would, and not against the pod's address
 * the socket goes to (the caller's own `checkServerIdentity`, when given, is asked about it too).
 */
function tlsOptions(connect: Readonly<Record<string, unknown>> | undefined, host: string | undefined) {
  if (host === undefined || host === '') return { ...connect };
  if (isIP(host) === 0) return { ...connect, servername: host };
  const check =
    typeof connect?.checkServerIdentity === 'function'
      ? (connect.checkServerIdentity as typeof checkServerIdentity)
      : checkServerIdentity;
  return { ...connect, checkServerIdentity: (_address: string, cert: PeerCertificate) => check(host, cert) };
}

function requeueAll(entry: PoolEntry): void {
  if (entry.unsent.size === 0) return;
  const waiting = [...entry.unsent];
  entry.unsent.clear();
  for (const request of waiting) request.requeue();
}
