// Errors: an endpoint source lost its connection to its backend (API server, DNS) and is retrying.

import { ClusterIPError, type ClusterIPErrorOptions } from './clusterip-error.js';

/**
 * A watch could not reach its backend. Reported to listeners as a stale marker while the last
 * good endpoint set keeps being served; the source keeps retrying with backoff.
 *
 * @example
 * ```ts
 * // watch endpointslices prod/web: GET .../endpointslices: connect ECONNREFUSED 10.0.0.1:443
 * ```
 */
export class WatchFailedError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_WATCH_FAILED';
  /** What was being watched, e.g. `endpointslices prod/web`. */
  readonly subject: string;

  constructor(subject: string, detail: string, options?: ClusterIPErrorOptions) {
    super(`watch ${subject}: ${detail}`, options);
    this.name = 'WatchFailedError';
    this.subject = subject;
  }
}
