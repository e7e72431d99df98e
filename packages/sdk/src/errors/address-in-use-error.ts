// Errors: a local-cluster pod cannot listen on its address because another process already does.

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/**
 * A pod's container could not listen on `address` (`ip:port`): another process holds it, most often a
 * second local cluster on the same default range. A pod that never ran moves to the next free address
 * first; when it cannot (no free address left, or ten taken in a row) the waits on its Deployment reject
 * with this error instead of hanging. A restarted pod keeps its address: it retries after its back-off.
 *
 * @example
 * ```ts
 * // local cluster: pod shop/web-5d8f-x2k4q: address 127.0.0.20:8080 is in use by another process (another
 * // local cluster?): stop it, or give this cluster addresses of its own (options.addresses, or clusterip
 * // cluster up --addresses 127.0.1.20-127.0.1.250)
 * catch (err) { if (err.code === 'CLUSTERIP_ERR_ADDRESS_IN_USE') console.error(err.address) }
 * ```
 */
export class AddressInUseError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_ADDRESS_IN_USE';
  /** `namespace/name` of the pod. */
  readonly pod: string;
  /** `ip:port` that another process holds. */
  readonly address: string;

  constructor(pod: string, address: string, options?: ClusterIPErrorOptions) {
    super(
      `local cluster: pod ${pod}: address ${address} is in use by another process (another local cluster?): ` +
        'stop it, or give this cluster addresses of its own (options.addresses, or clusterip cluster up --addresses 127.0.1.20-127.0.1.250)',
      options,
    );
    this.name = 'AddressInUseError';
    this.pod = pod;
    this.address = address;
  }
}
