// Errors: the per-Service circuit breaker is open and the call failed fast without being sent.

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/**
 * The Service's breaker is open: too many recent calls failed, so this one was not attempted.
 * The breaker half-opens after `resetTimeoutMs` and lets one trial call through.
 *
 * @example
 * ```ts
 * // service web.shop:http: circuit open (12 of 20 recent calls failed): retry after 10000 ms
 * await breaker.run(() => fetch(url)) // rejects with err.code === 'CLUSTERIP_ERR_CIRCUIT_OPEN'
 * ```
 */
export class CircuitOpenError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_CIRCUIT_OPEN';
  /** The Service label the breaker was created with. */
  readonly service: string;

  constructor(service: string, why: string, options?: ClusterIPErrorOptions) {
    super(`service ${service}: circuit open${why ? ` (${why})` : ''}`, options);
    this.name = 'CircuitOpenError';
    this.service = service;
  }
}
