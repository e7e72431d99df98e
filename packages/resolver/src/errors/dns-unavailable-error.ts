// Errors: DNS could not answer (timeout, SERVFAIL, refused, garbage) and no earlier answer exists.

import { ClusterIPError, type ClusterIPErrorOptions } from './clusterip-error.js';

/**
 * Why a DNS query failed temporarily. The search list continues after `servfail` in glibc mode
 * and stops on every other reason (spec §2.2).
 */
export type DnsFailureReason = 'servfail' | 'refused' | 'timeout' | 'malformed' | 'other';

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
  /** Why the query failed. */
  readonly reason: DnsFailureReason;

  constructor(
    query: string,
    servers: readonly string[],
    reason: DnsFailureReason,
    detail: string,
    options?: ClusterIPErrorOptions,
  ) {
    super(`dns ${query}: temporary failure: ${detail} (servers ${servers.join(', ') || 'none'})`, options);
    this.name = 'DnsUnavailableError';
    this.query = query;
    this.servers = servers;
    this.reason = reason;
  }
}
