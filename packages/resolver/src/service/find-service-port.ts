// ② Service identity: pick the Service port a caller asked for (by number, by name, or the only one).
// Consumes a ServiceInfo and the requested port; produces a ServicePort or a PortNotFoundError.

import { PortNotFoundError } from '../errors/port-not-found-error.js';
import type { ServiceInfo, ServicePort } from './service-info.js';

/**
 * Find the Service port the caller means:
 * - a number selects the port whose **Service** `port` equals it (the first one when the same number
 *   is defined for several protocols, which is what a TCP client means in practice);
 * - a string selects the port with that `name` (case-insensitive: SRV labels arrive lowercased);
 *   a numeric string such as `"8080"` is treated as a number when no port has that name;
 * - `undefined` selects the Service's only port.
 *
 * Throws {@link PortNotFoundError} (`CLUSTERIP_ERR_PORT_NOT_FOUND`) when nothing matches, when the
 * Service has no ports, or when no port was given and the Service has several (the message lists
 * the available ports so the caller can name one).
 *
 * @example
 * ```ts
 * findServicePort(info, 'http') // { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }
 * findServicePort(info, 80)     // same port, selected by number
 * ```
 */
export function findServicePort(service: ServiceInfo, port?: number | string): ServicePort {
  const ports = service.ports;
  if (port === undefined) {
    const only = ports.length === 1 ? ports[0] : undefined;
    if (only !== undefined) return only;
    const err = new PortNotFoundError(`${service.name}.${service.namespace}`, '', describePorts(ports));
    if (ports.length > 1) {
      // The generic message reads `port "" not found`; say what is really wrong instead.
      err.message = `service ${service.name}.${service.namespace}: no port given and the service has ${ports.length} ports (${describePorts(ports)}): name one, e.g. ${service.name}.${service.namespace}:${ports[0]?.name || ports[0]?.port}`;
    }
    throw err;
  }
  if (typeof port === 'number') {
    for (const p of ports) if (p.port === port) return p;
  } else {
    const wanted = port.toLowerCase();
    for (const p of ports) if (p.name.toLowerCase() === wanted) return p;
    if (/^[0-9]+$/.test(port)) {
      const n = Number(port);
      for (const p of ports) if (p.port === n) return p;
    }
  }
  const err = new PortNotFoundError(`${service.name}.${service.namespace}`, port, describePorts(ports));
  // A common slip: the pods' port (targetPort) where the Service's is meant, as a ClusterIP only serves the latter.
  const n = typeof port === 'number' ? port : /^[0-9]+$/.test(port) ? Number(port) : undefined;
  const target = ports.find((p) => p.targetPort === n || (typeof port === 'string' && p.targetPort === port));
  if (target !== undefined) {
    err.message += `: ${JSON.stringify(port)} is the target port of Service port ${target.port}; address the Service port, e.g. ${service.name}.${service.namespace}:${target.port}`;
  }
  throw err;
}

/**
 * The port an SRV name (`_<port>._<protocol>.<service>…`) selects: the named port of that protocol
 * (names compared case-insensitively, `protocol` upper case as in the Service); undefined when there is
 * none, which cluster DNS answers NXDOMAIN.
 *
 * @example
 * ```ts
 * findSrvPort(info, 'http', 'TCP') // { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }
 * ```
 */
export function findSrvPort(service: ServiceInfo, port: string, protocol: string): ServicePort | undefined {
  const wanted = port.toLowerCase();
  return service.ports.find((p) => p.name !== '' && p.name.toLowerCase() === wanted && p.protocol === protocol);
}

/** `http/80/TCP, 9090/TCP` — the ports of a Service, for error messages. */
function describePorts(ports: readonly ServicePort[]): string {
  return ports.map((p) => (p.name ? `${p.name}/${p.port}/${p.protocol}` : `${p.port}/${p.protocol}`)).join(', ');
}
