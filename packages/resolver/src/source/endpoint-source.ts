// ③ Endpoint source: the interface every source implements (Kubernetes API, DNS, env, static).
// Consumes a `SourceQuery` (one absolute candidate name); produces `SourceEvent`s to a listener.

import type { ClusterName } from '../name/cluster-name.js';
import type { SourceEvent } from './endpoint-update.js';

/**
 * One absolute candidate name to look up, as produced by search-list expansion, plus the port the
 * caller asked for.
 */
export interface SourceQuery {
  /** Absolute name with trailing dot, lowercased, e.g. `web.prod.svc.cluster.local.` */
  readonly fqdn: string;
  /** What `fqdn` denotes under the cluster domain. */
  readonly name: ClusterName;
  /**
   * The Service port asked for: a number (Service port), a name, or undefined for "the Service's
   * only port" (or, for sources that cannot know ports, "addresses only").
   */
  readonly port?: number | string;
}

/**
 * Receives a watch's events. Never called synchronously from `watch()`, never after `close()`. What it
 * throws is caught by the built-in sources: later events still come.
 */
export type SourceListener = (event: SourceEvent) => void;

/** A running watch of one query. */
export interface SourceWatch {
  /**
   * Stop the watch. Idempotent; returns the same promise on every call. No listener call happens
   * after this method returns.
   */
  close(): Promise<void>;
}

/**
 * Where endpoints come from. A source answers one absolute name at a time; search-list expansion
 * and sharing of watches are the `Resolver`'s job.
 *
 * Contract for `watch(query, listener)`:
 * - the first `update` or `stale` event is an `update` with a `reset` or `not-found` update, or a
 *   `stale` event when the backend cannot be reached and nothing is known yet; `service` events may
 *   come at any time, also before it (the Kubernetes source sends the Service before its endpoints);
 * - after the backend becomes reachable again, the next `update` is a `reset`;
 * - events are delivered asynchronously, in order, and never after the watch's `close()` returns.
 *
 * @example
 * ```ts
 * const w = source.watch({ fqdn: 'web.prod.svc.cluster.local.', name, port: 'http' }, (event) => {
 *   if (event.type === 'update') console.log(event.update)
 * })
 * await w.close()
 * ```
 */
export interface EndpointSource {
  /** Short name of the source: `kubernetes`, `dns`, `env`, `static`, ... */
  readonly kind: string;
  watch(query: SourceQuery, listener: SourceListener): SourceWatch;
  /** Release every resource of the source; open watches end. Idempotent. */
  close(): Promise<void>;
}
