// Mesh: the options an application gives `new Mesh()` — validated once, defaulted and frozen, with
// per-Service overrides folded in. Consumes raw `MeshOptions`; produces `MeshConfig` and per-Service
// `MeshServiceConfig` (what every transport reads).

import {
  type ClusterContext,
  type DetectClusterContextOptions,
  type EndpointSource,
  InvalidArgumentError,
  type Resolver,
  type SessionAffinity,
  validateClusterContextOptions,
} from '@clusterip/resolver';
import type { Dispatcher, Pool } from 'undici';
import {
  type BalancerOptions,
  type ClientIPAffinityOptions,
  createBalancer,
  POLICIES,
  type ServiceAffinityOptions,
} from '../balancer/balancer.js';
import { BREAKER_SETTING_KEYS, type BreakerSettings, breakerSettings } from '../eligibility/circuit-breaker.js';
import type { OutlierDetectionOptions } from '../eligibility/outlier-detection.js';
import { serviceProxyNameOption } from '../eligibility/service-proxy-name.js';
import { monotonicClock } from '../internal/clock.js';
import { asRecord, describe, functionOr, integerIn, oneOf, rejectUnknownKeys } from '../internal/options.js';
import { type AffinityKeyFunction, type AffinityKeyOptions, affinityKeyFrom } from '../picker/affinity-key.js';
import type { BalancerPolicy } from '../picker/picker.js';

/**
 * Retries of routed requests. A request that failed before any byte reached the pod (connect refused,
 * connect timeout, a failed TLS handshake, the endpoint gone) is retried on another endpoint whatever its method; idempotent
 * requests (GET, HEAD, OPTIONS, PUT, DELETE, TRACE, or `idempotent: true`) are also retried on
 * `statuses` and `errorCodes`, with backoff. Every retry spends the Service's retry budget.
 */
export interface MeshRetryOptions {
  /** Attempts per request, the first included. Default 3; 1 turns retries off. */
  readonly attempts?: number;
  /** Response statuses that retry an idempotent request. Default `[502, 503, 504]`. */
  readonly statuses?: readonly number[];
  /**
   * Error codes that retry an idempotent request although bytes may have reached the pod. Default
   * `['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']` (the pod closed the connection under the request).
   */
  readonly errorCodes?: readonly string[];
  /** Backoff before retrying on a status or error code: full jitter, doubling from `baseMs` up to `maxMs`. */
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /**
   * A retried 503 or 429 carrying `Retry-After` waits that long instead of the backoff, when it is at
   * most `retryAfterMaxMs` and the wait ends within the request's headers timeout (counted from the
   * first attempt); otherwise the response goes to the caller as it is. Default 1000; 0 never waits
   * for `Retry-After` (such responses are returned).
   */
  readonly retryAfterMaxMs?: number;
  /**
   * Retry budget per Service (linkerd/Finagle): retries may add at most `ratioPercent` % to the requests
   * of the last `windowSeconds`, plus `minRetriesPerSecond` so that a quiet Service can still retry.
   * Default `{ ratioPercent: 20, minRetriesPerSecond: 10, windowSeconds: 10 }`; `false` = unbounded.
   */
  readonly budget?:
    | { readonly ratioPercent?: number; readonly minRetriesPerSecond?: number; readonly windowSeconds?: number }
    | false;
}

/**
 * Timeouts of routed requests (undici's own per-request `headersTimeout` / `bodyTimeout` still win). Over
 * HTTP/1.1 undici runs `headersMs` and `bodyMs` on its coarse timers (about 0.5 s resolution: a 500 ms
 * timeout fires after 0.5 to 1 s, as with undici's own `Pool`); over HTTP/2 they are Node's timers.
 */
export interface MeshTimeoutOptions {
  /** TCP (and TLS) connect to an endpoint. Default 5000. */
  readonly connectMs?: number;
  /** From sending the request to the end of the response headers. Default 30000. */
  readonly headersMs?: number;
  /** Between two chunks of the response body. Default 30000. */
  readonly bodyMs?: number;
  /** Waiting for the first answer about a Service name (discovery). Default 10000. */
  readonly resolveMs?: number;
}

/** Per-endpoint connection pools (undici `Pool`). */
export interface MeshPoolOptions {
  /** Connections per endpoint; `null` = unbounded. Default 64. */
  readonly connections?: number | null;
  /** Idle keep-alive connections close after this long (undici `keepAliveTimeout`). Default 4000. */
  readonly keepAliveTimeoutMs?: number;
  /** HTTP/1.1 pipelining depth (undici `pipelining`). Default 1. */
  readonly pipelining?: number;
  /**
   * Offer HTTP/2 in TLS ALPN to https endpoints (undici `allowH2`); a pod that answers `h2` gets up to
   * `maxConcurrentStreams` requests at once on one connection, one answering `http/1.1` keeps `pipelining`.
   * Default false. Ports with `appProtocol: kubernetes.io/h2c` speak HTTP/2 over cleartext whatever this says.
   */
  readonly allowH2?: boolean;
  /** Concurrent requests on one HTTP/2 connection (h2 or h2c), before another is opened. Default 100. */
  readonly maxConcurrentStreams?: number;
  /**
   * An HTTP/2 connection with requests in flight that received nothing for about this long sends a PING
   * (client-go's `ReadIdleTimeout`, grpc's keepalive); idle connections send none. 0 disables. Default 10000.
   */
  readonly pingIntervalMs?: number;
  /**
   * A PING unanswered for this long ends its connection: a pod gone without a word (node lost, network
   * partition) fails the requests on it now (`UND_ERR_SOCKET`, retried for idempotent requests), not at
   * their timeouts, and new requests stop going onto it. Default 20000 (grpc's keepalive timeout): a pod
   * whose event loop is blocked that long loses the requests on the connection, POSTs included.
   */
  readonly pingTimeoutMs?: number;
  /**
   * Builds the dispatcher of one endpoint (undici's `factory`, as in `Agent` and `BalancedPool`), given
   * the endpoint's origin (`http://10.0.0.7:8080`) and the pool options derived from this Mesh's settings.
   * Default `new Pool(origin, options)`. Use it to wrap each endpoint's pool, e.g.
   * `(origin, options) => new Pool(origin, options).compose(myInterceptor)`, or to choose `Client`.
   * For HTTP/2 endpoints the options carry their own client `factory` (see `allowH2`): keep it.
   */
  readonly factory?: (origin: string, options: Pool.Options) => Dispatcher;
}

/**
 * The per-Service circuit breaker (opossum 9): around each whole request (its retries included), it fails
 * requests fast with `CircuitOpenError` (`CLUSTERIP_ERR_CIRCUIT_OPEN`), without sending them, once more
 * than `errorThresholdPercent` % of the last `rollingWindowMs` failed; after `resetTimeoutMs` one trial
 * request goes through and its outcome closes or reopens the breaker. A request counts as failed when
 * the response the caller gets is a 5xx, or when it fails (connect, reset, timeout, retries exhausted);
 * aborts, request errors and a Service without endpoints are not failures (outside a trial they count
 * as successes; a trial that ends so reopens the breaker). The verdict is taken at the response headers;
 * a trial without them after `timeouts.headersMs` has failed. Where outlier detection takes single bad pods out of rotation, the breaker stops
 * the load on a Service that fails as a whole. Off unless given; `true` turns it on with the mesh-level
 * settings (under `services`) or the defaults.
 *
 * HTTP only: gRPC channels ignore it. The grpc-js picker learns a call's outcome only when the call ends
 * (a streaming call may last for hours, and one cancelled before it starts never reports), so a half-open
 * trial could hold the breaker shut for every other call; gRPC has `retryThrottling` and outlier detection.
 */
export interface MeshCircuitBreakerOptions {
  /** Open when more than this percentage of requests in the window failed. Default 50. */
  readonly errorThresholdPercent?: number;
  /** Never open before this many requests were seen in the window. Default 20. */
  readonly volumeThreshold?: number;
  /** Open → half-open after this long; one trial request then decides. Default 10000. */
  readonly resetTimeoutMs?: number;
  /** Rolling window length. Default 10000. */
  readonly rollingWindowMs?: number;
  /** Buckets of the rolling window (it slides by `rollingWindowMs / rollingBuckets`). Default 10. */
  readonly rollingBuckets?: number;
}

/** What may be overridden for one Service (key `name.namespace` in {@link MeshOptions.services}). */
export interface MeshServiceOverrides {
  readonly policy?: BalancerPolicy;
  readonly sessionAffinity?: ServiceAffinityOptions | SessionAffinity | ClientIPAffinityOptions;
  readonly affinityKey?: AffinityKeyOptions | AffinityKeyFunction;
  readonly retry?: MeshRetryOptions | false;
  readonly outlierDetection?: OutlierDetectionOptions | false;
  readonly timeouts?: Omit<MeshTimeoutOptions, 'resolveMs'>;
  /** Per-Service circuit breaker (HTTP): off by default; see {@link MeshCircuitBreakerOptions}. */
  readonly circuitBreaker?: MeshCircuitBreakerOptions | boolean;
}

/**
 * Options of `new Mesh()`. Unknown keys are rejected (`CLUSTERIP_ERR_INVALID_ARG` naming the path).
 *
 * @example
 * ```ts
 * const mesh = new Mesh({
 *   policy: 'least-request',
 *   affinityKey: { header: 'x-user-id' },
 *   retry: { attempts: 3, statuses: [503] },
 *   services: { 'payments.prod': { policy: 'peak-ewma', retry: false } },
 * })
 * ```
 */
export interface MeshOptions extends MeshServiceOverrides {
  /**
   * Where endpoints come from. Default: the Kubernetes API in a pod (service account present), else the
   * kubeconfig cluster when `$KUBECONFIG` or `~/.kube/config` exists, else cluster DNS
   * (`createDefaultSource`). A source given here is not closed by the mesh.
   */
  readonly source?: EndpointSource;
  /** Share an existing resolver (and its discovery cache) instead; not closed by the mesh. Excludes `source`. */
  readonly resolver?: Resolver;
  /**
   * Namespace, cluster domain, node and zone; default detected (`detectClusterContext`). With a Kubernetes
   * source, a node name (`NODE_NAME`) and no zone (`NODE_ZONE`), the zone is read from the Node's
   * `topology.kubernetes.io/zone` label on the first resolve, retrying transient failures (needs `get` on
   * `nodes`; without it, or after 3 s, no zone filtering). A whole `ClusterContext`, or a zone, skips that request.
   */
  readonly context?: ClusterContext | DetectClusterContextOptions;
  /** Per-endpoint connection pools. */
  readonly pool?: MeshPoolOptions;
  /**
   * undici connect options for TLS (`ca`, `cert`, `key`, `rejectUnauthorized`, ...), used for routed
   * https requests and pass-through traffic. `servername` is set per request: the request's own, else
   * the URL's host; a routed request to a ClusterIP is verified against that address (`checkServerIdentity`,
   * when given, is asked about it), not the pod's.
   */
  readonly connect?: Readonly<Record<string, unknown>>;
  /**
   * What to do with a short name (`web`, `web.shop`) that is not a Service: `pass-through` (default:
   * send it to the system resolver untouched, as a pod's resolver would continue its search list) or
   * `error` (fail with ServiceNotFoundError). Names under the cluster domain always fail when missing.
   */
  readonly notFound?: 'pass-through' | 'error';
  /** How long "not a Service" answers are remembered per host. Default 30000. */
  readonly negativeCacheTtlMs?: number;
  /**
   * Which Services the mesh balances, by their `service.kubernetes.io/service-proxy-name` label (spec §4).
   * Default `''`: those without the label, as kube-proxy; a Service labelled for another proxy passes
   * through untouched (to its name or ClusterIP, where that proxy handles it). A name (e.g. `'clusterip'`):
   * only the Services labelled with it; all others pass through (the rule of Cilium's
   * `k8s-service-proxy-name`). `false`: ignore the label, balance every Service. Headless and ExternalName
   * Services are handled the same whatever their labels.
   */
  readonly serviceProxyName?: string | false;
  /** Most Service routes (host, port) kept; the least recently used goes first. Default 1024. */
  readonly maxServices?: number;
  /**
   * A route (host, port) with no request for this long and none in flight is closed: its watch stops
   * and its pools drain; the next request re-creates it. Default 300000 (5 minutes); 0 keeps routes
   * until `maxServices` evicts them.
   */
  readonly routeIdleTimeoutMs?: number;
  /** Overrides per Service, keyed `name.namespace`. */
  readonly services?: Readonly<Record<string, MeshServiceOverrides>>;
  /** OpenTelemetry `TracerProvider` for routing spans. Default: the global one (see the README's OpenTelemetry section). */
  readonly tracerProvider?: unknown;
  /** OpenTelemetry `MeterProvider` for the SDK's metrics. Default: the global one. */
  readonly meterProvider?: unknown;
  /** `false`: no telemetry at all (no spans, metrics or trace headers from this mesh). Default `true`. */
  readonly telemetry?: boolean;
  /**
   * Monotonic clock in ms (balancers, budgets). Default `performance.now` of `node:perf_hooks`: fake
   * timers that replace the global `performance` do not reach it, so pass `now` when testing with them.
   */
  readonly now?: () => number;
  /** Uniform random in [0, 1) (balancers, backoff jitter). Default `Math.random`. */
  readonly random?: () => number;
}

/** Resolved retry policy (see {@link MeshRetryOptions}). */
export interface MeshRetryConfig {
  readonly attempts: number;
  readonly statuses: ReadonlySet<number>;
  readonly errorCodes: ReadonlySet<string>;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly retryAfterMaxMs: number;
  readonly budget:
    | { readonly ratio: number; readonly minRetriesPerSecond: number; readonly windowMs: number }
    | undefined;
}

/** Resolved timeouts. */
export interface MeshTimeouts {
  readonly connectMs: number;
  readonly headersMs: number;
  readonly bodyMs: number;
}

/**
 * Everything a transport needs to balance one Service the way the mesh was configured: the same
 * object for HTTP and gRPC. Frozen.
 */
export interface MeshServiceConfig {
  readonly policy: BalancerPolicy;
  readonly sessionAffinity: ServiceAffinityOptions | SessionAffinity | ClientIPAffinityOptions;
  /** Computes a request's affinity key, when configured. */
  readonly affinityKey: AffinityKeyFunction | undefined;
  readonly outlierDetection: OutlierDetectionOptions | false | undefined;
  /** `undefined` when retries are off. */
  readonly retry: MeshRetryConfig | undefined;
  readonly timeouts: MeshTimeouts;
  /** `undefined` when the Service has no circuit breaker. */
  readonly circuitBreaker: Required<MeshCircuitBreakerOptions> | undefined;
}

/** @internal The whole resolved configuration of a mesh. */
export interface MeshConfig {
  readonly source: EndpointSource | undefined;
  readonly resolver: Resolver | undefined;
  readonly context: ClusterContext | DetectClusterContextOptions | undefined;
  readonly defaults: MeshServiceConfig;
  readonly services: ReadonlyMap<string, MeshServiceConfig>;
  readonly pool: {
    readonly connections: number | null;
    readonly keepAliveTimeoutMs: number;
    readonly pipelining: number;
    readonly allowH2: boolean;
    readonly maxConcurrentStreams: number;
    readonly pingIntervalMs: number;
    readonly pingTimeoutMs: number;
    readonly factory: ((origin: string, options: Pool.Options) => Dispatcher) | undefined;
  };
  readonly connect: Readonly<Record<string, unknown>> | undefined;
  readonly resolveMs: number;
  readonly notFound: 'pass-through' | 'error';
  readonly negativeCacheTtlMs: number;
  /** `''`: Services without the service-proxy-name label; else those labelled with it. */
  readonly serviceProxyName: string | false;
  readonly routeIdleTimeoutMs: number;
  readonly maxServices: number;
  readonly tracerProvider: unknown;
  readonly meterProvider: unknown;
  readonly telemetry: boolean;
  readonly now: () => number;
  readonly random: () => number;
}

const OVERRIDE_KEYS = [
  'policy',
  'sessionAffinity',
  'affinityKey',
  'retry',
  'outlierDetection',
  'timeouts',
  'circuitBreaker',
] as const;
const MESH_KEYS = [
  ...OVERRIDE_KEYS,
  'source',
  'resolver',
  'context',
  'pool',
  'connect',
  'notFound',
  'negativeCacheTtlMs',
  'serviceProxyName',
  'routeIdleTimeoutMs',
  'maxServices',
  'services',
  'tracerProvider',
  'meterProvider',
  'telemetry',
  'now',
  'random',
];
const HOUR_MS = 3_600_000;

/** @internal A whole `ClusterContext` (as `detectClusterContext` gives it), used as given, not options to detect one. */
export function isWholeContext(context: unknown): context is ClusterContext {
  return typeof context === 'object' && context !== null && 'dns' in context && 'origin' in context;
}
/** undici's `Agent`/`Pool` option names (and unit-less ones) a user may carry over, and the Mesh option for each. */
const RENAMED_MESH_KEYS: Readonly<Record<string, string>> = {
  connectTimeout: 'timeouts.connectMs',
  headersTimeout: 'timeouts.headersMs',
  bodyTimeout: 'timeouts.bodyMs',
  connections: 'pool.connections',
  keepAliveTimeout: 'pool.keepAliveTimeoutMs',
  pipelining: 'pool.pipelining',
  allowH2: 'pool.allowH2',
  factory: 'pool.factory',
  namespace: 'context.namespace',
};
const RENAMED_TIMEOUT_KEYS: Readonly<Record<string, string>> = {
  connect: 'connectMs',
  headers: 'headersMs',
  body: 'bodyMs',
  resolve: 'resolveMs',
  connectTimeout: 'connectMs',
  headersTimeout: 'headersMs',
  bodyTimeout: 'bodyMs',
};
/** The same within `services[...]`, which has no `pool`, `context` or `timeouts.resolveMs`. */
const RENAMED_OVERRIDE_KEYS = Object.fromEntries(
  Object.entries(RENAMED_MESH_KEYS).filter(([, to]) => to.startsWith('timeouts.')),
);
const RENAMED_OVERRIDE_TIMEOUT_KEYS = Object.fromEntries(
  Object.entries(RENAMED_TIMEOUT_KEYS).filter(([, to]) => to !== 'resolveMs'),
);
const RENAMED_POOL_KEYS: Readonly<Record<string, string>> = {
  keepAliveTimeout: 'keepAliveTimeoutMs',
  pingInterval: 'pingIntervalMs',
  pingTimeout: 'pingTimeoutMs',
};

/** @internal Validate, default and freeze mesh options. Throws InvalidArgumentError naming the option path. */
export function configureMesh(options: MeshOptions): MeshConfig {
  const o = asRecord('options', options);
  rejectUnknownKeys('', o, MESH_KEYS, RENAMED_MESH_KEYS);
  if (o.source !== undefined && o.resolver !== undefined) {
    throw new InvalidArgumentError(
      'resolver',
      'resolver and source exclude each other: give the source to the resolver',
    );
  }
  if (o.source !== undefined) {
    const s = o.source as Partial<EndpointSource> | null;
    if (s === null || typeof s !== 'object' || typeof s.watch !== 'function' || typeof s.close !== 'function') {
      throw new InvalidArgumentError('source', `source must be an EndpointSource, got ${describe(o.source)}`);
    }
  }
  if (o.resolver !== undefined) {
    const r = o.resolver as Partial<Resolver> | null;
    if (r === null || typeof r !== 'object' || typeof r.watch !== 'function' || typeof r.context !== 'function') {
      throw new InvalidArgumentError('resolver', `resolver must be a Resolver, got ${describe(o.resolver)}`);
    }
    if (o.context !== undefined) {
      throw new InvalidArgumentError(
        'context',
        'context and resolver exclude each other: give the context to the resolver',
      );
    }
  }
  if (o.context !== undefined) {
    const c = asRecord('context', o.context);
    // A whole ClusterContext is used as given; detection options are checked now, not at the first request.
    if (!isWholeContext(c)) validateClusterContextOptions(c, 'context');
  }
  const now = functionOr<() => number>('now', o.now, monotonicClock);
  const random = functionOr<() => number>('random', o.random, Math.random);
  const defaults = serviceConfig('', o, undefined, now, random);

  const services = new Map<string, MeshServiceConfig>();
  if (o.services !== undefined) {
    const s = asRecord('services', o.services);
    for (const [key, value] of Object.entries(s)) {
      const path = `services[${JSON.stringify(key)}]`;
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(key)) {
        throw new InvalidArgumentError(path, `${path}: keys name a Service as name.namespace, e.g. "web.shop"`);
      }
      const v = asRecord(path, value);
      rejectUnknownKeys(path, v, OVERRIDE_KEYS, RENAMED_OVERRIDE_KEYS);
      services.set(key, serviceConfig(path, v, defaults, now, random));
    }
  }

  const p = o.pool === undefined ? {} : asRecord('pool', o.pool);
  rejectUnknownKeys(
    'pool',
    p,
    [
      'connections',
      'keepAliveTimeoutMs',
      'pipelining',
      'allowH2',
      'maxConcurrentStreams',
      'pingIntervalMs',
      'pingTimeoutMs',
      'factory',
    ],
    RENAMED_POOL_KEYS,
  );
  if (p.allowH2 !== undefined && typeof p.allowH2 !== 'boolean') {
    throw new InvalidArgumentError('pool.allowH2', `pool.allowH2 must be true or false, got ${describe(p.allowH2)}`);
  }
  const connections = p.connections === null ? null : integerIn('pool.connections', p.connections, 1, 100_000, 64);

  let connect: Readonly<Record<string, unknown>> | undefined;
  if (o.connect !== undefined) {
    const c = asRecord('connect', o.connect);
    if ('servername' in c) {
      throw new InvalidArgumentError(
        'connect.servername',
        'connect.servername is set per request from the URL host; remove it',
      );
    }
    if ('timeout' in c) {
      throw new InvalidArgumentError('connect.timeout', 'connect.timeout: use timeouts.connectMs instead');
    }
    connect = Object.freeze({ ...c });
  }
  const t = o.timeouts === undefined ? {} : asRecord('timeouts', o.timeouts);

  return Object.freeze({
    source: o.source as EndpointSource | undefined,
    resolver: o.resolver as Resolver | undefined,
    context: o.context as ClusterContext | DetectClusterContextOptions | undefined,
    defaults,
    services,
    pool: Object.freeze({
      connections,
      keepAliveTimeoutMs: integerIn('pool.keepAliveTimeoutMs', p.keepAliveTimeoutMs, 1, HOUR_MS, 4000),
      pipelining: integerIn('pool.pipelining', p.pipelining, 1, 128, 1),
      allowH2: p.allowH2 === true,
      maxConcurrentStreams: integerIn('pool.maxConcurrentStreams', p.maxConcurrentStreams, 1, 10_000, 100),
      pingIntervalMs: integerIn('pool.pingIntervalMs', p.pingIntervalMs, 0, HOUR_MS, 10_000),
      pingTimeoutMs: integerIn('pool.pingTimeoutMs', p.pingTimeoutMs, 1, HOUR_MS, 20_000),
      factory: functionOr<MeshConfig['pool']['factory']>('pool.factory', p.factory, undefined),
    }),
    connect,
    resolveMs: integerIn('timeouts.resolveMs', t.resolveMs, 1, HOUR_MS, 10_000),
    notFound: oneOf('notFound', o.notFound, ['pass-through', 'error'] as const, 'pass-through'),
    negativeCacheTtlMs: integerIn('negativeCacheTtlMs', o.negativeCacheTtlMs, 0, HOUR_MS, 30_000),
    serviceProxyName: serviceProxyNameOption('serviceProxyName', o.serviceProxyName),
    maxServices: integerIn('maxServices', o.maxServices, 1, 1_000_000, 1024),
    routeIdleTimeoutMs: integerIn('routeIdleTimeoutMs', o.routeIdleTimeoutMs, 0, 24 * HOUR_MS, 300_000),
    tracerProvider: o.tracerProvider,
    meterProvider: o.meterProvider,
    telemetry: telemetryOption(o.telemetry),
    now,
    random,
  });
}

function serviceConfig(
  prefix: string,
  o: Record<string, unknown>,
  base: MeshServiceConfig | undefined,
  now: () => number,
  random: () => number,
): MeshServiceConfig {
  const at = (key: string) => (prefix === '' ? key : `${prefix}.${key}`);
  const policy = oneOf(at('policy'), o.policy, POLICIES, base?.policy ?? 'random');
  const sessionAffinity = (o.sessionAffinity ??
    base?.sessionAffinity ?? { type: 'Service' }) as MeshServiceConfig['sessionAffinity'];
  const outlierDetection = (
    o.outlierDetection === undefined ? base?.outlierDetection : o.outlierDetection
  ) as MeshServiceConfig['outlierDetection'];
  // The balancer validates its own options: build one now so that a bad policy, affinity or outlier
  // setting fails at construction, then re-label the option path.
  try {
    void createBalancer(
      balancerOptions({ policy, sessionAffinity, outlierDetection }, 'validate', now, random),
    ).close();
  } catch (error) {
    if (error instanceof InvalidArgumentError && prefix !== '') {
      throw new InvalidArgumentError(at(error.option), `${prefix}.${error.message}`, { cause: error });
    }
    throw error;
  }

  let affinityKey = base?.affinityKey;
  if (o.affinityKey !== undefined) {
    if (typeof o.affinityKey === 'function') affinityKey = o.affinityKey as AffinityKeyFunction;
    else {
      try {
        affinityKey = affinityKeyFrom(o.affinityKey as AffinityKeyOptions);
      } catch (error) {
        if (error instanceof InvalidArgumentError) {
          const path = error.option === 'options' ? at('affinityKey') : `${at('affinityKey')}.${error.option}`;
          throw new InvalidArgumentError(path, `${at('affinityKey')}: ${error.message}`, { cause: error });
        }
        throw error;
      }
    }
  }

  let retry: MeshRetryConfig | undefined;
  if (o.retry === false) retry = undefined;
  else if (o.retry === undefined) retry = base === undefined ? retryConfig('retry', {}, undefined) : base.retry;
  else retry = retryConfig(at('retry'), asRecord(at('retry'), o.retry), base?.retry);

  const t = o.timeouts === undefined ? {} : asRecord(at('timeouts'), o.timeouts);
  rejectUnknownKeys(
    at('timeouts'),
    t,
    prefix === '' ? ['connectMs', 'headersMs', 'bodyMs', 'resolveMs'] : ['connectMs', 'headersMs', 'bodyMs'],
    prefix === '' ? RENAMED_TIMEOUT_KEYS : RENAMED_OVERRIDE_TIMEOUT_KEYS,
  );
  const timeouts: MeshTimeouts = Object.freeze({
    connectMs: integerIn(at('timeouts.connectMs'), t.connectMs, 1, HOUR_MS, base?.timeouts.connectMs ?? 5000),
    headersMs: integerIn(at('timeouts.headersMs'), t.headersMs, 1, HOUR_MS, base?.timeouts.headersMs ?? 30_000),
    bodyMs: integerIn(at('timeouts.bodyMs'), t.bodyMs, 1, HOUR_MS, base?.timeouts.bodyMs ?? 30_000),
  });
  const circuitBreaker = circuitBreakerConfig(at('circuitBreaker'), o.circuitBreaker, base);
  return Object.freeze({ policy, sessionAffinity, affinityKey, outlierDetection, retry, timeouts, circuitBreaker });
}

/** `circuitBreaker`: `false` off, `true` on (the base's settings or the defaults), an object on and merged over them. */
function circuitBreakerConfig(
  path: string,
  value: unknown,
  base: MeshServiceConfig | undefined,
): BreakerSettings | undefined {
  if (value === undefined) return base?.circuitBreaker;
  if (value === false) return undefined;
  if (value === true) return base?.circuitBreaker ?? breakerSettings(path, {}, undefined);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(path, `${path} must be true, false or an object, got ${describe(value)}`);
  }
  const c = value as Record<string, unknown>;
  rejectUnknownKeys(path, c, BREAKER_SETTING_KEYS);
  return breakerSettings(path, c, base?.circuitBreaker);
}

function retryConfig(path: string, r: Record<string, unknown>, base: MeshRetryConfig | undefined): MeshRetryConfig {
  rejectUnknownKeys(path, r, ['attempts', 'statuses', 'errorCodes', 'backoff', 'retryAfterMaxMs', 'budget']);
  const statuses =
    r.statuses === undefined ? (base?.statuses ?? new Set([502, 503, 504])) : numberSet(`${path}.statuses`, r.statuses);
  const errorCodes =
    r.errorCodes === undefined
      ? (base?.errorCodes ?? new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']))
      : stringSet(`${path}.errorCodes`, r.errorCodes);
  const b = r.backoff === undefined ? {} : asRecord(`${path}.backoff`, r.backoff);
  rejectUnknownKeys(`${path}.backoff`, b, ['baseMs', 'maxMs']);
  const backoffBaseMs = integerIn(`${path}.backoff.baseMs`, b.baseMs, 0, HOUR_MS, base?.backoffBaseMs ?? 25);
  const backoffMaxMs = integerIn(`${path}.backoff.maxMs`, b.maxMs, 0, HOUR_MS, base?.backoffMaxMs ?? 250);
  if (backoffMaxMs < backoffBaseMs) {
    throw new InvalidArgumentError(
      `${path}.backoff.maxMs`,
      `${path}.backoff.maxMs must be at least backoff.baseMs (${backoffBaseMs}), got ${backoffMaxMs}`,
    );
  }
  let budget: MeshRetryConfig['budget'];
  if (r.budget === false) budget = undefined;
  else if (r.budget === undefined && base !== undefined) budget = base.budget;
  else {
    const g = r.budget === undefined ? {} : asRecord(`${path}.budget`, r.budget);
    rejectUnknownKeys(`${path}.budget`, g, ['ratioPercent', 'minRetriesPerSecond', 'windowSeconds']);
    budget = Object.freeze({
      ratio: integerIn(`${path}.budget.ratioPercent`, g.ratioPercent, 0, 1000, 20) / 100,
      minRetriesPerSecond: integerIn(`${path}.budget.minRetriesPerSecond`, g.minRetriesPerSecond, 0, 100_000, 10),
      windowMs: integerIn(`${path}.budget.windowSeconds`, g.windowSeconds, 1, 3600, 10) * 1000,
    });
  }
  return Object.freeze({
    attempts: integerIn(`${path}.attempts`, r.attempts, 1, 10, base?.attempts ?? 3),
    statuses,
    errorCodes,
    backoffBaseMs,
    backoffMaxMs,
    retryAfterMaxMs: integerIn(`${path}.retryAfterMaxMs`, r.retryAfterMaxMs, 0, HOUR_MS, base?.retryAfterMaxMs ?? 1000),
    budget,
  });
}

function numberSet(path: string, value: unknown): ReadonlySet<number> {
  const ok = (v: unknown) => Number.isInteger(v) && (v as number) >= 100 && (v as number) <= 599;
  if (!Array.isArray(value) || !value.every(ok)) {
    throw new InvalidArgumentError(
      path,
      `${path} must be an array of HTTP statuses (100-599), got ${offending(value, ok)}`,
    );
  }
  return new Set(value as number[]);
}

function stringSet(path: string, value: unknown): ReadonlySet<string> {
  const ok = (v: unknown) => typeof v === 'string' && v !== '';
  if (!Array.isArray(value) || !value.every(ok)) {
    throw new InvalidArgumentError(path, `${path} must be an array of error codes, got ${offending(value, ok)}`);
  }
  return new Set(value as string[]);
}

/** The value that failed: the first bad element of an array (`"503" at [0]`), else the value itself. */
function offending(value: unknown, ok: (v: unknown) => boolean): string {
  if (!Array.isArray(value)) return describe(value);
  const i = value.findIndex((v) => !ok(v));
  return `${describe(value[i])} at [${i}]`;
}

/**
 * The `createBalancer` options for one Service port under this configuration.
 *
 * @example
 * ```ts
 * const balancer = createBalancer(balancerOptions(mesh.serviceConfig(service), 'web.shop:80', now, random))
 * ```
 */
export function balancerOptions(
  config: Pick<MeshServiceConfig, 'policy' | 'sessionAffinity' | 'outlierDetection'>,
  label: string,
  now: () => number,
  random: () => number,
): BalancerOptions {
  return {
    policy: config.policy,
    sessionAffinity: config.sessionAffinity,
    ...(config.outlierDetection === undefined ? {} : { outlierDetection: config.outlierDetection }),
    service: label,
    now,
    random,
  };
}

/** `telemetry`: a boolean, default true. */
function telemetryOption(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') {
    throw new InvalidArgumentError('telemetry', `telemetry must be true or false, got ${describe(value)}`);
  }
  return value;
}
