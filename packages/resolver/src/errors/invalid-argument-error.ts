// Errors: a caller passed an option or argument we cannot use.

import { ClusterIPError, type ClusterIPErrorOptions } from './clusterip-error.js';

/**
 * An option or argument is invalid. `option` names its path (`dns.ndots`, `retry.limit`).
 *
 * @example
 * ```ts
 * new InvalidArgumentError('ndots', 'ndots must be an integer from 0 to 15, got -1')
 * ```
 */
export class InvalidArgumentError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_INVALID_ARG';
  /** Path of the offending option or argument. */
  readonly option: string;

  constructor(option: string, message: string, options?: ClusterIPErrorOptions) {
    super(message, options);
    this.name = 'InvalidArgumentError';
    this.option = option;
  }
}
