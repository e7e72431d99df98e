// Errors: the Service port has no usable endpoint anywhere (kube-proxy REJECTs: ECONNREFUSED).

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/**
 * No endpoint of the Service port is ready or serving-terminating, anywhere in the cluster
 * (spec §6.4). kube-proxy answers such connections with an immediate refusal, so callers should
 * fail fast, not wait.
 *
 * @example
 * ```ts
 * // service web.shop:http: no endpoints (3 known: 2 not ready, 1 terminating and not serving)
 * const { outcome } = eligibleEndpoints(endpoints, service, client)
 * if (outcome.type === 'no-endpoints') throw outcome.error // err.code === 'CLUSTERIP_ERR_NO_ENDPOINTS'
 * ```
 */
export class NoEndpointsError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_NO_ENDPOINTS';
  /** The Service port, as `name.namespace[:port]`. */
  readonly service: string;
  /** How many endpoints were known (before eligibility filtering). */
  readonly known: number;

  constructor(service: string, known: number, why: string, options?: ClusterIPErrorOptions) {
    super(`service ${service}: no endpoints (${known} known${why ? `: ${why}` : ''})`, options);
    this.name = 'NoEndpointsError';
    this.service = service;
    this.known = known;
  }
}
