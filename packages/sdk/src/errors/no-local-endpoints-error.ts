// Errors: `internalTrafficPolicy: Local` and no usable endpoint on this node (kube-proxy DROPs).

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/**
 * The Service has `internalTrafficPolicy: Local`, endpoints exist on other nodes, but none on the
 * client's node (spec §6.3–6.4). kube-proxy silently drops such connections (the client sees a
 * connect timeout); Kubernetes never falls back to other nodes, and neither do we.
 *
 * @example
 * ```ts
 * // service web.shop:http: no local endpoints on node node-a (3 known, 3 usable on other nodes):
 * // internalTrafficPolicy Local never falls back to other nodes
 * if (err.code === 'CLUSTERIP_ERR_NO_LOCAL_ENDPOINTS') { ... }
 * ```
 */
export class NoLocalEndpointsError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_NO_LOCAL_ENDPOINTS';
  /** The Service port, as `name.namespace[:port]`. */
  readonly service: string;
  /** The client's node, when known. */
  readonly nodeName: string | undefined;
  /** How many endpoints were known (before eligibility filtering). */
  readonly known: number;
  /** How many usable endpoints run on other nodes. */
  readonly elsewhere: number;

  constructor(
    service: string,
    nodeName: string | undefined,
    known: number,
    elsewhere: number,
    hint: string,
    options?: ClusterIPErrorOptions,
  ) {
    const where = nodeName === undefined ? '(client node unknown)' : `on node ${nodeName}`;
    super(
      `service ${service}: no local endpoints ${where} (${known} known, ${elsewhere} usable on other nodes)${hint ? `: ${hint}` : ''}`,
      options,
    );
    this.name = 'NoLocalEndpointsError';
    this.service = service;
    this.nodeName = nodeName;
    this.known = known;
    this.elsewhere = elsewhere;
  }
}
