// Errors: the Service exists but has no port with the requested number or name.

import { ClusterIPError, type ClusterIPErrorOptions } from './clusterip-error.js';

/**
 * The Service has no port matching the request (kube-proxy would refuse the connection).
 *
 * @example
 * ```ts
 * // service web.prod: port "grpc" not found (ports: http/80/TCP, metrics/9090/TCP)
 * ```
 */
export class PortNotFoundError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_PORT_NOT_FOUND';
  /** The Service, as `name.namespace`. */
  readonly service: string;
  /** The port number or name that was asked for. */
  readonly port: string | number;

  constructor(service: string, port: string | number, available: string, options?: ClusterIPErrorOptions) {
    super(`service ${service}: port ${JSON.stringify(port)} not found (ports: ${available || 'none'})`, options);
    this.name = 'PortNotFoundError';
    this.service = service;
    this.port = port;
  }
}
