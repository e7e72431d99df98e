// Errors: a name does not denote any Service (cluster DNS would answer NXDOMAIN).

import { ClusterIPError, type ClusterIPErrorOptions } from './clusterip-error.js';

/**
 * No Service answers to the name: every search candidate was tried, none exists.
 * `tried` lists the absolute names in the order they were queried.
 *
 * @example
 * ```ts
 * // service "web": not found (tried web.prod.svc.cluster.local., web.svc.cluster.local., ...)
 * ```
 */
export class ServiceNotFoundError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_SERVICE_NOT_FOUND';
  /** The name as the caller gave it. */
  readonly service: string;
  /** Absolute candidate names that were tried, in order. */
  readonly tried: readonly string[];

  constructor(service: string, tried: readonly string[], detail?: string, options?: ClusterIPErrorOptions) {
    const list = tried.length > 0 ? ` (tried ${tried.join(', ')})` : '';
    super(`service ${JSON.stringify(service)}: not found${list}${detail ? `: ${detail}` : ''}`, options);
    this.name = 'ServiceNotFoundError';
    this.service = service;
    this.tried = tried;
  }
}
