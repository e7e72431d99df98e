// Errors: a request was in flight, queued or waiting for its next attempt when its owner was destroyed.

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/**
 * The request was cut off by `mesh.destroy()` (without an error of its own: with one, the request fails
 * with that error). Nothing is retried; requests made afterwards fail with `ClosedError`. As undici's
 * `ClientDestroyedError` is to a destroyed pool.
 *
 * @example
 * ```ts
 * const pending = request('http://web/', { dispatcher: mesh.dispatcher })
 * await mesh.destroy()
 * await pending // rejects: mesh: destroyed (code CLUSTERIP_ERR_DESTROYED)
 * ```
 */
export class DestroyedError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_DESTROYED';
  /** The kind of object destroyed: `mesh`. */
  readonly subject: string;

  constructor(subject: string, options?: ClusterIPErrorOptions) {
    super(`${subject}: destroyed`, options);
    this.name = 'DestroyedError';
    this.subject = subject;
  }
}
