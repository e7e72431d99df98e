// ④ Endpoint set: what the resolver hands out for a target — the endpoint set plus what is known
// about the Service and how fresh it is. Consumes source state; produces `ServiceSnapshot`.

import type { Endpoint } from '../endpoint/endpoint.js';
import type { ClusterIPError } from '../errors/clusterip-error.js';
import type { ClusterName } from '../name/cluster-name.js';
import type { ServiceInfo } from '../service/service-info.js';

/**
 * - `ok`: the name exists; `endpoints` is current (or, with `stale`, the last good set).
 * - `not-found`: no candidate name exists (`error` is a ServiceNotFoundError).
 * - `unavailable`: the source could not answer and nothing was known before (`error` says why).
 */
export type SnapshotStatus = 'ok' | 'not-found' | 'unavailable';

/** An explained reason for an empty or surprising endpoint set (for diagnostics). */
export interface SnapshotReason {
  /** Stable identifier, e.g. `no-endpoint-slices`, `no-ready-endpoints`, `target-port-missing`. */
  readonly code: string;
  readonly message: string;
}

/**
 * An immutable view of one resolved target.
 *
 * @example
 * ```ts
 * const snap = await resolver.resolve('web.prod:http')
 * snap.fqdn      // 'web.prod.svc.cluster.local.'
 * snap.endpoints // [{ address: '10.1.2.3', port: 8080, ... }, ...]
 * ```
 */
export interface ServiceSnapshot {
  readonly status: SnapshotStatus;
  /** The target as the caller gave it. */
  readonly target: string;
  /** The absolute candidate name that answered (the last one tried when not found). */
  readonly fqdn: string;
  /** What `fqdn` denotes. */
  readonly name: ClusterName;
  /** Requested Service port (number or name), if any. */
  readonly port?: number | string;
  /** The Service, when the source knows it (Kubernetes: always; DNS: ExternalName only). */
  readonly service?: ServiceInfo;
  /**
   * Endpoints of the requested port, target ports resolved; each `address:port` once. An endpoint that did
   * not change keeps its object from one snapshot to the next (and its place, unless the source relisted).
   */
  readonly endpoints: readonly Endpoint[];
  /** True while the source cannot reach its backend; `endpoints` is then the last good set. */
  readonly stale: boolean;
  /** Why the status is not `ok`, or why the snapshot is stale. */
  readonly error?: ClusterIPError;
  /** Explanation from the source when the set is empty or partly unusable. */
  readonly reason?: SnapshotReason;
  /** `now()` of the last successful update from the source, in ms. */
  readonly syncedAt?: number;
  /** Absolute names tried, in order, up to and including `fqdn`. */
  readonly tried: readonly string[];
  /** Kind of the source (`kubernetes`, `dns`, ...). */
  readonly source: string;
  /** Increments on every change seen by this watch. */
  readonly version: number;
}
