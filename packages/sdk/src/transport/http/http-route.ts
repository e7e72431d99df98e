// ⑧ Transport (HTTP): the contract between the routing interceptor and whoever knows the Services (the
// Mesh). Consumes a parsed request origin; produces a routing decision and, for Services, a route to pick from.

import type { Endpoint } from '@clusterip/resolver';
import type { ServiceBreaker } from '../../eligibility/circuit-breaker.js';
import type { MeshServiceConfig } from '../../mesh/mesh-options.js';
import type { PickContext, PickResult } from '../../picker/picker.js';
import type { PoolEntry } from '../../pool/endpoint-pools.js';
import type { RetryBudget } from './retry-budget.js';

/** A request origin, parsed once and cached. */
export interface ParsedOrigin {
  /** `http:` or `https:`. */
  readonly protocol: string;
  /** Lowercased host name or IP literal, without brackets or trailing dot. */
  readonly hostname: string;
  /** The URL port, or the scheme's default: the Service port. */
  readonly port: number;
  /** The authority as the caller wrote it (`web.shop:3000`): the `host` header of routed requests. */
  readonly host: string;
  /** `{ host }`, frozen: the headers of a routed request that has none (shared, never copied). */
  readonly hostHeaders: Readonly<Record<string, string>>;
  /** The TLS server name: `hostname` unless it is an IP literal. */
  readonly servername: string | undefined;
  /** `hostname:port`: the route key. */
  readonly key: string;
}

/** One Service port as seen by the HTTP transport. */
export interface HttpRoute {
  /** `name.namespace:port` once known, for errors and telemetry. */
  readonly label: string;
  readonly config: MeshServiceConfig;
  /** The Service's retry budget, when retries are budgeted. */
  readonly budget: RetryBudget | undefined;
  /** The Service's circuit breaker, when configured (`circuitBreaker`). */
  readonly breaker: ServiceBreaker | undefined;
  /** True when picks depend on `affinityKey` (ClientIP affinity in force, or `ring-hash`). */
  readonly keyed: boolean;
  /** Synchronous pick (see `Balancer.pick`). */
  pick(ctx?: PickContext): PickResult;
  /** The connection pool of an endpoint under a scheme and the host the caller addressed (see `EndpointPools.get`). */
  pool(endpoint: Endpoint, protocol: string, host: string | undefined): PoolEntry;
  /** Requests in flight on this route (retry waits included); maintained by the transport. */
  active: number;
}

/**
 * Where a request goes:
 * - `pass`: not a cluster Service — send it untouched;
 * - `external`: an ExternalName Service — send it to `host` (same port), keeping the caller's Host header;
 * - `route`: balance it over the route's endpoints;
 * - `fail`: fail it with `error` (no such Service, no endpoints, port not found, mesh closed).
 */
export type RouteDecision =
  | { readonly type: 'pass' }
  | { readonly type: 'external'; readonly host: string }
  | { readonly type: 'route'; readonly route: HttpRoute }
  | { readonly type: 'fail'; readonly error: Error };

/** Answers "where does this origin go"; synchronously when known, else with a promise that never rejects. */
export interface RouteLookup {
  lookup(origin: ParsedOrigin): RouteDecision | Promise<RouteDecision>;
}
