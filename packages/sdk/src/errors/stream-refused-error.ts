// Errors: an HTTP/2 endpoint closed a request's stream without processing it (REFUSED_STREAM, or a GOAWAY
// whose last stream id is below it): nothing reached the application, so the request may go elsewhere.

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/**
 * An HTTP/2 endpoint did not process a request (RFC 9113 §8.7): it refused the stream, or announced a
 * shutdown (GOAWAY) whose last processed stream comes before it, or the connection ended before the
 * request was sent. Like a refused connection, it is retried on another endpoint whatever its method;
 * it reaches the caller only when retries are off or exhausted.
 *
 * @example
 * ```ts
 * // endpoint 10.0.3.7:8080: HTTP/2 stream refused (GOAWAY after stream 41): not processed, may go to another endpoint
 * err.code === 'CLUSTERIP_ERR_STREAM_REFUSED'
 * ```
 */
export class StreamRefusedError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_STREAM_REFUSED';
  /** The endpoint, as `address:port`. */
  readonly endpoint: string;

  constructor(endpoint: string, why: string, options?: ClusterIPErrorOptions) {
    super(`endpoint ${endpoint}: HTTP/2 stream refused (${why}): not processed, may go to another endpoint`, options);
    this.name = 'StreamRefusedError';
    this.endpoint = endpoint;
  }
}
