// Errors: a request routed by the mesh failed at the endpoints it was sent to, after every retry the
// retry policy allowed. Consumes the attempts made; produces one error naming them and the last cause.

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/** One attempt of a routed request: the endpoint it went to and how it failed. */
export interface UpstreamAttempt {
  /** `address:port` of the endpoint. */
  readonly endpoint: string;
  /** The failure's `code` (`ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`, ...) or `HTTP <status>`. */
  readonly error: string;
}

/**
 * Why the mesh stopped retrying: `attempts` (the attempt limit was reached), `budget` (the retry budget
 * of the Service was spent), `not-retryable` (the failure or the method does not allow a retry: bytes
 * may have reached the pod), `body` (the request body was a stream already read and cannot be replayed),
 * `closed` (the mesh closed while the request waited to be retried).
 */
export type UpstreamStopReason = 'attempts' | 'budget' | 'not-retryable' | 'body' | 'closed';

/**
 * A request the mesh routed to a Service failed, and the retry policy allows no further attempt. The
 * message and {@link UpstreamError.attempts} list every endpoint tried, in order; `cause` is the last
 * underlying error (an undici or socket error, whose own `code` is also in `attempts`).
 *
 * @example
 * ```ts
 * // service backend.shop:80: request failed after 2 attempts (127.0.0.11:40001 ECONNREFUSED,
 * // 127.0.0.12:40002 ECONNRESET): not retryable: connect ECONNRESET
 * try { await request('http://backend/orders', { dispatcher: mesh.dispatcher }) }
 * catch (err) { if (err.code === 'CLUSTERIP_ERR_UPSTREAM') console.error(err.attempts) }
 * ```
 */
export class UpstreamError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_UPSTREAM';
  /** The Service port, as `name.namespace:port`. */
  readonly service: string;
  /** Every attempt, in order. */
  readonly attempts: readonly UpstreamAttempt[];
  /** Why no further attempt was made. */
  readonly reason: UpstreamStopReason;

  constructor(
    service: string,
    attempts: readonly UpstreamAttempt[],
    reason: UpstreamStopReason,
    detail: string,
    options?: ClusterIPErrorOptions,
  ) {
    const tried = attempts.map((a) => `${a.endpoint} ${a.error}`).join(', ');
    const n = attempts.length;
    super(
      `service ${service}: request failed after ${n} attempt${n === 1 ? '' : 's'} (${tried}): ${STOP[reason]}${detail ? `: ${detail}` : ''}`,
      options,
    );
    this.name = 'UpstreamError';
    this.service = service;
    this.attempts = Object.freeze([...attempts]);
    this.reason = reason;
  }
}

const STOP: Readonly<Record<UpstreamStopReason, string>> = {
  attempts: 'retry attempts exhausted',
  budget: 'retry budget exhausted',
  'not-retryable': 'not retryable',
  body: 'request body is a stream already sent and cannot be replayed',
  closed: 'mesh closed before the retry',
};
