// Errors: a connection to an endpoint never became an HTTP/2 connection (closed, or silent, before the
// server's SETTINGS): nothing was sent on it, and the endpoint is likely not speaking HTTP/2 on that port.

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/**
 * A connection to an HTTP/2 endpoint (`appProtocol: kubernetes.io/h2c`, or ALPN `h2`) ended, or stayed
 * silent, before the server's HTTP/2 SETTINGS arrived. Requests waiting for it were not sent: like a refused
 * connection, they go to another endpoint whatever their method, and the failure counts against the
 * endpoint. Most often the pod serves HTTP/1.1 on a port the Service marks `kubernetes.io/h2c`.
 *
 * @example
 * ```ts
 * // endpoint 10.0.3.7:8080: no HTTP/2 connection (closed before the server's SETTINGS): is the port
 * // serving HTTP/2? an HTTP/1.1 server on an appProtocol kubernetes.io/h2c port answers this way
 * err.code === 'CLUSTERIP_ERR_HTTP2_CONNECT'
 * ```
 */
export class Http2ConnectError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_HTTP2_CONNECT';
  /** The endpoint, as `address:port`. */
  readonly endpoint: string;

  constructor(endpoint: string, why: string, options?: ClusterIPErrorOptions) {
    super(
      `endpoint ${endpoint}: no HTTP/2 connection (${why}): is the port serving HTTP/2? an HTTP/1.1 server on an appProtocol kubernetes.io/h2c port answers this way`,
      options,
    );
    this.name = 'Http2ConnectError';
    this.endpoint = endpoint;
  }
}
