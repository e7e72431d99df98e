// Errors: an operation was attempted on an object after close() or destroy().

import { ClusterIPError, type ClusterIPErrorOptions } from './clusterip-error.js';

/**
 * The object was closed; create a new one instead of reusing it.
 *
 * @example
 * ```ts
 * await resolver.close()
 * await resolver.resolve('web') // rejects: resolver: closed
 * ```
 */
export class ClosedError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_CLOSED';
  /** The kind of object, e.g. `resolver`, `watch`, `mesh`. */
  readonly subject: string;

  constructor(subject: string, options?: ClusterIPErrorOptions) {
    super(`${subject}: closed`, options);
    this.name = 'ClosedError';
    this.subject = subject;
  }
}
