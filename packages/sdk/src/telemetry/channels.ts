// Telemetry (leaf): every diagnostics_channel the SDK publishes on, with its message type. Any stage may
// import this; it imports no stage. Publishers check `hasSubscribers` first, so an unobserved event costs
// one property read and allocates nothing.

import diagnosticsChannel from 'node:diagnostics_channel';
import { type Endpoint, RESOLVER_CHANNEL_NAMES } from '@clusterip/resolver';
import type { BalancerPolicy } from '../picker/picker.js';

/** Message of `clusterip:balancer:panic`: panic mode engaged (`panic: true`) or disengaged. */
export interface BalancerPanicMessage {
  readonly service: string;
  readonly panic: boolean;
  /** Endpoints in rotation (healthy or half-open, and not reported not serving) and all eligible endpoints. */
  readonly healthy: number;
  readonly total: number;
}

/** Message of `clusterip:breaker:state`: one endpoint was ejected, half-opened or readmitted. */
export interface BreakerStateMessage {
  readonly service: string;
  /** `address:port`. */
  readonly endpoint: string;
  readonly state: 'ejected' | 'half-open' | 'healthy';
  /** For `ejected`: how long the ejection lasts. */
  readonly ejectionTimeMs?: number;
}

/**
 * Message of `clusterip:circuit:state`: the circuit breaker of a Service port (Mesh option
 * `circuitBreaker`) opened, half-opened (one trial request may go) or closed again.
 */
export interface CircuitStateMessage {
  /** `name.namespace:port`. */
  readonly service: string;
  /** The route (host and port as addressed, e.g. `web:80`): each has its own breaker. */
  readonly route: string;
  readonly state: 'open' | 'half-open' | 'closed';
}

/**
 * Message of `clusterip:balancer:affinity`: a pick under ClientIP affinity either reused the key's
 * binding (`hit`) or chose afresh (`miss`: no binding, expired, or its endpoint out of rotation).
 * Published synchronously inside `pick()`, just before the transport's pick message of the same pick.
 */
export interface BalancerAffinityMessage {
  readonly service: string;
  /** `address:port` of the endpoint picked. */
  readonly endpoint: string;
  readonly hit: boolean;
}

/**
 * How the endpoints of one Service port stand (counts), as a route or a gRPC channel last saw them.
 * Conditions overlap as in Kubernetes (`k8s.service.endpoint.condition`): a serving-terminating endpoint
 * counts as `serving` and `terminating`. `skipped` says why endpoints are not eligible.
 */
export interface EndpointCounts {
  readonly total: number;
  readonly ready: number;
  readonly serving: number;
  readonly terminating: number;
  readonly eligible: number;
  readonly skipped: {
    /** Not ready and not serving-terminating. */
    readonly notReady: number;
    /** Serving-terminating while ready endpoints exist. */
    readonly terminating: number;
    /** `internalTrafficPolicy: Local` and on another node. */
    readonly otherNode: number;
    /** Topology hints send this client to other endpoints (another zone / node). */
    readonly otherZone: number;
  };
}

/**
 * Message of `clusterip:mesh:route`: a route (host and port as requests address it) changed its
 * decision or its endpoints, or was closed (`decision: 'closed'`: idle for `routeIdleTimeoutMs`,
 * evicted by `maxServices`, or not a Service). Published after the change took effect: a request
 * dispatched after the message is routed by the new state.
 */
export interface MeshRouteMessage {
  /** `host:port` as requests address it, e.g. `backend-service:80`. */
  readonly route: string;
  /** `name.namespace:port` once known, else the route key. */
  readonly service: string;
  /** `route`, `pass`, `external`, `fail`, or `closed` (the route is gone; the next request re-creates it). */
  readonly decision: string;
  /** Eligible endpoints (`address:port`) when the decision is `route`. */
  readonly endpoints: readonly string[];
  /** Service identity, when known. */
  readonly namespace?: string;
  readonly name?: string;
  /** Counts by condition and skip reason, when the decision is `route`. */
  readonly counts?: EndpointCounts;
}

/** Message of `clusterip:grpc:resolution`: a gRPC channel's resolver pushed a new endpoint list. */
export interface GrpcResolutionMessage {
  /** Label of the Service port, e.g. `echo.default:grpc`. */
  readonly service: string;
  readonly namespace?: string;
  readonly name?: string;
  /** Eligible endpoints (`address:port`). */
  readonly endpoints: readonly string[];
  readonly counts: EndpointCounts;
}

/** Message of `clusterip:http:request`: a request addressed to a Service starts (before its first pick). */
export interface HttpRequestMessage {
  /** `name.namespace:port`. */
  readonly service: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  /** The host as the caller addressed it (no port) and the Service port: `server.address` / `server.port`. */
  readonly hostname: string;
  readonly port: number;
  /** `http` or `https`. */
  readonly scheme: string;
  /** Upper-case method. */
  readonly method: string;
  /** Request path and query as given. */
  readonly path: string;
  readonly policy: BalancerPolicy;
  /** True when the caller's own headers already carry `traceparent` (it is left alone). */
  readonly traceparent: boolean;
}

/**
 * Message of `clusterip:http:attempt`: one attempt was picked and is about to be dispatched to `endpoint`.
 * Subscribers may add headers to this attempt only (`setHeader`, e.g. trace context), and may set `wrap`
 * to run the dispatch inside a function of theirs (e.g. an OpenTelemetry context): the first to set it wins.
 */
export interface HttpAttemptMessage {
  readonly request: HttpRequestMessage;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly endpoint: Endpoint;
  /** Set a header on this attempt (a copy of the caller's headers is made; theirs are never touched). */
  setHeader(name: string, value: string): void;
  wrap: ((dispatch: () => void) => void) | undefined;
}

/** Message of `clusterip:http:attempt-end`: an attempt ended; `retry` when another attempt follows. */
export interface HttpAttemptEndMessage {
  readonly attempt: HttpAttemptMessage;
  /** Response status, when a response arrived. */
  readonly status?: number;
  readonly error?: Error;
  readonly retry: boolean;
}

/** Message of `clusterip:http:request-end`: the request ended (response complete, or failed for good). */
export interface HttpRequestEndMessage {
  readonly request: HttpRequestMessage;
  readonly attempts: number;
  readonly status?: number;
  readonly error?: Error;
  /** Why retrying stopped, when the request failed after attempts (`budget`: retry budget exhausted). */
  readonly stopReason?: string;
}

/** The part of grpc-js `Metadata` the gRPC messages expose. */
export interface GrpcMetadataLike {
  get(key: string): unknown[];
  set(key: string, value: string): void;
}

/**
 * Message of `clusterip:grpc:pick`: the `clusterip` policy picked `endpoint` for one call attempt. Runs in
 * grpc-js's pick, which is synchronous in the caller's context when the channel is ready, and in the
 * channel's context for calls queued before it was. `metadata` is the call's: subscribers may set headers.
 */
export interface GrpcPickMessage {
  readonly service: string;
  readonly policy: BalancerPolicy;
  readonly endpoint: Endpoint;
  /** 1 for the first attempt (from grpc-js's `grpc-previous-rpc-attempts`). */
  readonly attempt: number;
  readonly metadata: GrpcMetadataLike;
}

/**
 * Message of `clusterip:grpc:health`: the gRPC health check (`grpc.health.v1.Health/Watch`) of one
 * endpoint of a channel changed what it says. Published when the verdict or the reported status changes,
 * after the change took effect (the next pick sees it).
 */
export interface GrpcHealthMessage {
  /** Label of the Service port, e.g. `echo.default:grpc`. */
  readonly service: string;
  /** `address:port`. */
  readonly endpoint: string;
  /** The health service name asked for (`''`: the whole server). */
  readonly serviceName: string;
  /**
   * What the server said: a `ServingStatus` name (`SERVING`, `NOT_SERVING`, `SERVICE_UNKNOWN`,
   * `UNKNOWN`), `UNIMPLEMENTED` (no health service: healthy, gRFC A17), or `FAILED` (the stream failed;
   * retried with backoff).
   */
  readonly status: 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' | 'UNKNOWN' | 'UNIMPLEMENTED' | 'FAILED';
  /** True when the endpoint takes RPCs (`SERVING` or `UNIMPLEMENTED`). */
  readonly serving: boolean;
  /** For `FAILED`: the stream's gRPC status code and details. */
  readonly code?: number;
  readonly details?: string;
}

/** Message of `clusterip:grpc:call-end`: the call attempt of a pick ended with a gRPC status. */
export interface GrpcCallEndMessage {
  readonly pick: GrpcPickMessage;
  readonly code: number;
  readonly details: string;
}

/**
 * Every channel name, `clusterip:<stage>:<event>` (the resolver's included).
 *
 * @example
 * ```ts
 * import diagnosticsChannel from 'node:diagnostics_channel'
 * diagnosticsChannel.subscribe(CHANNEL_NAMES.breakerState, (m) => {
 *   const { endpoint, state } = m as BreakerStateMessage
 *   console.log(endpoint, state)
 * })
 * ```
 */
export const CHANNEL_NAMES = Object.freeze({
  ...RESOLVER_CHANNEL_NAMES,
  meshRoute: 'clusterip:mesh:route',
  balancerPanic: 'clusterip:balancer:panic',
  balancerAffinity: 'clusterip:balancer:affinity',
  breakerState: 'clusterip:breaker:state',
  circuitState: 'clusterip:circuit:state',
  httpRequest: 'clusterip:http:request',
  httpAttempt: 'clusterip:http:attempt',
  httpAttemptEnd: 'clusterip:http:attempt-end',
  httpRequestEnd: 'clusterip:http:request-end',
  grpcResolution: 'clusterip:grpc:resolution',
  grpcPick: 'clusterip:grpc:pick',
  grpcCallEnd: 'clusterip:grpc:call-end',
  grpcHealth: 'clusterip:grpc:health',
});

/** @internal The channels (created once; `hasSubscribers` is checked before building a message). */
export const channels = Object.freeze({
  meshRoute: diagnosticsChannel.channel(CHANNEL_NAMES.meshRoute),
  balancerPanic: diagnosticsChannel.channel(CHANNEL_NAMES.balancerPanic),
  balancerAffinity: diagnosticsChannel.channel(CHANNEL_NAMES.balancerAffinity),
  breakerState: diagnosticsChannel.channel(CHANNEL_NAMES.breakerState),
  circuitState: diagnosticsChannel.channel(CHANNEL_NAMES.circuitState),
  httpRequest: diagnosticsChannel.channel(CHANNEL_NAMES.httpRequest),
  httpAttempt: diagnosticsChannel.channel(CHANNEL_NAMES.httpAttempt),
  httpAttemptEnd: diagnosticsChannel.channel(CHANNEL_NAMES.httpAttemptEnd),
  httpRequestEnd: diagnosticsChannel.channel(CHANNEL_NAMES.httpRequestEnd),
  grpcResolution: diagnosticsChannel.channel(CHANNEL_NAMES.grpcResolution),
  grpcPick: diagnosticsChannel.channel(CHANNEL_NAMES.grpcPick),
  grpcCallEnd: diagnosticsChannel.channel(CHANNEL_NAMES.grpcCallEnd),
  grpcHealth: diagnosticsChannel.channel(CHANNEL_NAMES.grpcHealth),
});

/**
 * The mesh's channel names, kept for code written before every name moved to {@link CHANNEL_NAMES}.
 *
 * @deprecated Use `CHANNEL_NAMES.meshRoute`.
 * @example
 * ```ts
 * diagnosticsChannel.subscribe(MESH_CHANNEL_NAMES.route, (m) => console.log((m as MeshRouteMessage).endpoints))
 * ```
 */
export const MESH_CHANNEL_NAMES = Object.freeze({ route: CHANNEL_NAMES.meshRoute });
