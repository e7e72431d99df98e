// Telemetry (leaf): the diagnostics_channel names the resolver publishes on (snapshots, list/watch health).
// Any stage may import this; it imports no stage. Messages are built only when a channel has subscribers.

import diagnosticsChannel from 'node:diagnostics_channel';
import type { WatchFailedError } from '../errors/watch-failed-error.js';
import type { ServiceSnapshot } from '../resolver/service-snapshot.js';

/** Message of `clusterip:resolver:update`: a watch delivered a new snapshot (any status, stale or not). */
export interface ResolverUpdateMessage {
  readonly snapshot: ServiceSnapshot;
}

/** Fields common to the `clusterip:source:*` messages of the Kubernetes list+watch loops. */
export interface SourceLoopMessage {
  /** Collection watched: `services` or `endpointslices`. */
  readonly resource: string;
  readonly namespace: string;
  /** Subject of errors, e.g. `endpointslices prod/web`. */
  readonly subject: string;
}

/** Message of `clusterip:source:list`: a list completed; `relist` when it was not the loop's first. */
export interface SourceListMessage extends SourceLoopMessage {
  readonly items: number;
  readonly relist: boolean;
  /** The list ended an outage (earlier requests failed). */
  readonly recovered: boolean;
}

/** Message of `clusterip:source:watch`: a watch stream opened; `reconnect` when no list preceded it. */
export interface SourceWatchMessage extends SourceLoopMessage {
  readonly reconnect: boolean;
  /** The watch ended an outage (earlier requests failed). */
  readonly recovered: boolean;
}

/** Message of `clusterip:source:failure`: a list or watch request failed; the loop retries with backoff. */
export interface SourceFailureMessage extends SourceLoopMessage {
  readonly error: WatchFailedError;
}

/** Message of `clusterip:source:event`: one ADDED / MODIFIED / DELETED object arrived on a watch. */
export interface SourceEventMessage extends SourceLoopMessage {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** `metadata.name` of the object. */
  readonly name: string;
  /**
   * `endpoints.kubernetes.io/last-change-trigger-time` of an EndpointSlice, in epoch ms, when the
   * controller set it: the change that caused this update (what kube-proxy's programming latency uses).
   */
  readonly triggerTime?: number;
  /** `Date.now()` when the event was read. */
  readonly receivedAt: number;
}

/**
 * Channel names of the resolver, `clusterip:<stage>:<event>`.
 *
 * @example
 * ```ts
 * import diagnosticsChannel from 'node:diagnostics_channel'
 * diagnosticsChannel.subscribe(RESOLVER_CHANNEL_NAMES.sourceWatch, (m) => {
 *   const { subject, reconnect } = m as SourceWatchMessage
 *   if (reconnect) console.log('watch reconnected', subject)
 * })
 * ```
 */
export const RESOLVER_CHANNEL_NAMES = Object.freeze({
  resolverUpdate: 'clusterip:resolver:update',
  sourceList: 'clusterip:source:list',
  sourceWatch: 'clusterip:source:watch',
  sourceFailure: 'clusterip:source:failure',
  sourceEvent: 'clusterip:source:event',
});

/** @internal The channels (created once; `hasSubscribers` is checked before building a message). */
export const resolverChannels = Object.freeze({
  resolverUpdate: diagnosticsChannel.channel(RESOLVER_CHANNEL_NAMES.resolverUpdate),
  sourceList: diagnosticsChannel.channel(RESOLVER_CHANNEL_NAMES.sourceList),
  sourceWatch: diagnosticsChannel.channel(RESOLVER_CHANNEL_NAMES.sourceWatch),
  sourceFailure: diagnosticsChannel.channel(RESOLVER_CHANNEL_NAMES.sourceFailure),
  sourceEvent: diagnosticsChannel.channel(RESOLVER_CHANNEL_NAMES.sourceEvent),
});
