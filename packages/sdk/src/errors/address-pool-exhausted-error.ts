// Errors: the local cluster has no free loopback address left for a new pod.

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/**
 * Every address of the local cluster's pod IP pool is held by a pod (addresses are only reused once
 * the pod holding one is gone). The pod stays Pending; scale down or widen `addresses`.
 *
 * @example
 * ```ts
 * // local cluster: pod shop/web-5d8f-x2k4q: no free pod address in 127.0.0.20-127.0.0.21 (2 in use): widen options.addresses
 * ```
 */
export class AddressPoolExhaustedError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_ADDRESS_POOL_EXHAUSTED';
  readonly pod: string;

  constructor(pod: string, range: string, inUse: number, options?: ClusterIPErrorOptions) {
    super(
      `local cluster: pod ${pod}: no free pod address in ${range} (${inUse} in use): widen options.addresses or scale down`,
      options,
    );
    this.name = 'AddressPoolExhaustedError';
    this.pod = pod;
  }
}
