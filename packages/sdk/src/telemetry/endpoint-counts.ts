// Telemetry (leaf): endpoint counts of one Service port for channel messages and metrics — by condition,
// and why the non-eligible ones were skipped. Consumes all endpoints and the eligible set; produces EndpointCounts.

import { type Endpoint, endpointKey } from '@clusterip/resolver';
import type { EndpointCounts } from './channels.js';

/** What the skip reasons need to know about the Service and the client (an `EligibilityService` fits). */
export interface CountedService {
  readonly internalTrafficPolicy: 'Cluster' | 'Local';
  readonly publishNotReadyAddresses: boolean;
  /** No ClusterIP: no proxy applies the traffic policy. */
  readonly headless?: boolean;
}

/**
 * Count endpoints by condition and explain the ones outside `eligible` with kube-proxy's reasons (the same
 * order of tests as `Mesh.endpoints()`): other node (`Local` policy), not ready, terminating, else topology.
 * O(n); call it on endpoint-set changes only, never per request.
 *
 * @example
 * ```ts
 * const counts = countEndpoints(snapshot.endpoints, eligible.endpoints, service, { nodeName: 'node-a' })
 * counts.skipped.terminating // endpoints left out because ready ones exist
 * ```
 */
export function countEndpoints(
  all: readonly Endpoint[],
  eligible: readonly Endpoint[],
  service: CountedService,
  client: { readonly nodeName?: string },
): EndpointCounts {
  const keys = new Set<string>();
  for (const e of eligible) keys.add(endpointKey(e));
  let ready = 0;
  let serving = 0;
  let terminating = 0;
  let anyReady = false;
  for (const e of all) if (service.publishNotReadyAddresses || e.conditions.ready) anyReady = true;
  let notReady = 0;
  let skippedTerminating = 0;
  let otherNode = 0;
  let otherZone = 0;
  let eligibleCount = 0;
  for (const e of all) {
    const c = e.conditions;
    if (c.ready) ready++;
    if (c.serving) serving++;
    if (c.terminating) terminating++;
    if (keys.has(endpointKey(e))) {
      eligibleCount++;
      continue;
    }
    if (service.internalTrafficPolicy === 'Local' && service.headless !== true && e.nodeName !== client.nodeName) {
      otherNode++;
    } else if (!c.ready && !service.publishNotReadyAddresses) {
      if (c.serving && c.terminating && anyReady) skippedTerminating++;
      else notReady++;
    } else otherZone++;
  }
  return {
    total: all.length,
    ready,
    serving,
    terminating,
    eligible: eligibleCount,
    skipped: { notReady, terminating: skippedTerminating, otherNode, otherZone },
  };
}
