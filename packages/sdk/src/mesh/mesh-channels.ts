// Mesh: diagnostics_channel events of the mesh's routes (to move into telemetry/channels.ts with the
// telemetry work). Consumes nothing; produces channel names, message types and the channels.

import diagnosticsChannel from 'node:diagnostics_channel';

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
}

/**
 * Channel names of the mesh.
 *
 * @example
 * ```ts
 * diagnosticsChannel.subscribe(MESH_CHANNEL_NAMES.route, (m) => console.log((m as MeshRouteMessage).endpoints))
 * ```
 */
export const MESH_CHANNEL_NAMES = Object.freeze({ route: 'clusterip:mesh:route' });

/** @internal */
export const meshChannels = Object.freeze({ route: diagnosticsChannel.channel(MESH_CHANNEL_NAMES.route) });
