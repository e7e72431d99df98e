// ③ Endpoint source: the updates a source emits, folded by `EndpointSet.apply` into snapshots.
// Consumes nothing; produces the `EndpointUpdate` union and the `SourceEvent` listener payload.

import type { Endpoint } from '../endpoint/endpoint.js';
import type { ClusterIPError } from '../errors/clusterip-error.js';
import type { ServiceInfo } from '../service/service-info.js';

/** Why a name does not exist, in DNS terms (the search list continues on each). */
export type NotFoundReason =
  /** NXDOMAIN: no such name. */
  | 'nxdomain'
  /** NODATA: the name exists, but has no record of the asked type. */
  | 'nodata';

/**
 * A change to one watched endpoint set. After any reconnect or relist, a source's first update
 * is a `reset` (never an `add` on top of possibly-stale state).
 */
export type EndpointUpdate =
  /**
   * Replace the whole set. `reason` explains an empty or partly unusable set (e.g. the Service
   * has no EndpointSlices, or no endpoint carries the requested port), for diagnostics.
   */
  | {
      readonly type: 'reset';
      readonly endpoints: readonly Endpoint[];
      readonly reason?: { readonly code: string; readonly message: string };
    }
  /** Add endpoints, or replace those with the same key (`address:port`). */
  | { readonly type: 'add'; readonly endpoints: readonly Endpoint[] }
  /** Remove endpoints by key (`endpointKey`). */
  | { readonly type: 'remove'; readonly keys: readonly string[] }
  /** The name (Service, port, or endpoint hostname) does not exist. */
  | { readonly type: 'not-found'; readonly reason: NotFoundReason; readonly detail?: string };

/**
 * What a source tells a watch listener. Failures arrive as values, never thrown.
 *
 * - `update`: endpoint changes; also clears a previous `stale` state.
 * - `service`: the Service object (or what the source knows of it) changed; `undefined` when the source
 *   no longer knows one (a DNS name that was an ExternalName CNAME now answers with addresses).
 * - `stale`: the backend is unreachable; the last good state stays valid and is still served.
 *   If no state was ever delivered, this is the watch's first event and means "unavailable".
 */
export type SourceEvent =
  | { readonly type: 'update'; readonly update: EndpointUpdate }
  | { readonly type: 'service'; readonly service: ServiceInfo | undefined }
  | { readonly type: 'stale'; readonly error: ClusterIPError };
