// Errors: endpoints are known and usable by Kubernetes' rules, but our own health state left none.

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/**
 * Every endpoint is excluded by outlier detection and panic mode is disabled
 * (`outlierDetection.panicThresholdPercent: 0`). With panic mode on (the default) a balancer never
 * raises this: it balances over all endpoints instead.
 *
 * @example
 * ```ts
 * // service web.shop:http: no eligible endpoints (3 known, 3 ejected): enable panic mode ...
 * if (result.type === 'fail' && result.error.code === 'CLUSTERIP_ERR_NO_ELIGIBLE_ENDPOINTS') { ... }
 * ```
 */
export class NoEligibleEndpointsError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_NO_ELIGIBLE_ENDPOINTS';
  /** The Service port label the balancer was created with. */
  readonly service: string;
  /** How many endpoints the balancer knows. */
  readonly known: number;

  constructor(service: string, known: number, why: string, options?: ClusterIPErrorOptions) {
    super(`service ${service}: no eligible endpoints (${known} known${why ? `, ${why}` : ''})`, options);
    this.name = 'NoEligibleEndpointsError';
    this.service = service;
    this.known = known;
  }
}
