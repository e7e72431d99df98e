// Errors: DNS could not answer (timeout, SERVFAIL, refused, garbage) and no earlier answer exists.

import { ClusterIPError, type ClusterIPErrorOptions } from './clusterip-error.js';

/**
 * The DNS servers gave no usable answer (timeout, SERVFAIL, connection refused, malformed reply),
 * and there is no earlier answer to serve. A temporary failure, like `EAI_AGAIN`: try again later.
 *
 * @example
 * ```ts
 * // dns web.prod.svc.cluster.local.: temporary failure: queryA ETIMEOUT (servers 10.96.0.10:53)
 * ```
 */
export class DnsUnavailableError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_DNS_UNAVAILABLE';
  /** The absolute name being queried. */
  readonly query: string;
  /** The servers that were asked. */
  readonly servers: readonly string[];

  constructor(name: string, servers: readonly string[], detail: string, options?: ClusterIPErrorOptions) {
    super(`dns ${name}: temporary failure: ${detail} (servers ${servers.join(', ') || 'none'})`, options);
    this.name = 'DnsUnavailableError';
    this.query = name;
    this.servers = servers;
  }
}
