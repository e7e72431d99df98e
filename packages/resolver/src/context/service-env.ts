// ② Service identity: kubelet's service environment variables (spec §8, envvars.go).
// Consumes an environment; produces the Service's ClusterIP and ports, or undefined.

import { isIP } from 'node:net';
import type { Protocol } from '../endpoint/endpoint.js';
import { validateServiceName } from '../name/validate-names.js';

/** One Service port as the env variables describe it. */
export interface EnvServicePort {
  /** Port name (`''` for the unnamed first port when it has no name). */
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/** What kubelet's variables say about a Service. */
export interface EnvService {
  /** `{S}_SERVICE_HOST`: the ClusterIP. */
  readonly host: string;
  /** `{S}_SERVICE_PORT`: the first port. */
  readonly port: number;
  /** Every port the variables describe (named ports carry their names). */
  readonly ports: readonly EnvServicePort[];
}

/**
 * kubelet's `makeEnvVariableName`: upper-case, `-` → `_`. Invertible for valid Service and port
 * names, which are lowercase DNS labels without `_`.
 *
 * @example
 * ```ts
 * envVariableName('backend-service') // 'BACKEND_SERVICE'
 * ```
 */
export function envVariableName(name: string): string {
  return name.toUpperCase().replaceAll('-', '_');
}

/**
 * Read a Service from kubelet's variables (`{S}_SERVICE_HOST`, `{S}_SERVICE_PORT`,
 * `{S}_SERVICE_PORT_{NAME}`, `{S}_PORT_{port}_{PROTO}_PROTO`). Returns undefined when the Service
 * has no variables: they exist only for Services of the pod's namespace (and `default/kubernetes`)
 * that existed when the container started, and never change afterwards.
 *
 * @example
 * ```ts
 * readServiceFromEnv('redis-primary', { REDIS_PRIMARY_SERVICE_HOST: '10.0.0.11', REDIS_PRIMARY_SERVICE_PORT: '6379' })
 * // { host: '10.0.0.11', port: 6379, ports: [{ name: '', port: 6379, protocol: 'TCP' }] }
 * ```
 */
export function readServiceFromEnv(
  serviceName: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): EnvService | undefined {
  validateServiceName(serviceName);
  const prefix = envVariableName(serviceName);
  const host = env[`${prefix}_SERVICE_HOST`];
  const port = parsePort(env[`${prefix}_SERVICE_PORT`]);
  if (host === undefined || isIP(host) === 0 || port === undefined) return undefined;

  // Protocols by port number from {S}_PORT_{port}_{PROTO}_PROTO.
  const protocols = new Map<number, Protocol[]>();
  const protoVar = new RegExp(`^${prefix}_PORT_(\\d+)_(TCP|UDP|SCTP)_PROTO$`);
  for (const key of Object.keys(env)) {
    const match = protoVar.exec(key);
    if (match === null) continue;
    const number = Number(match[1]);
    const list = protocols.get(number) ?? [];
    list.push(match[2] as Protocol);
    protocols.set(number, list);
  }
  const protocolOf = (n: number): Protocol => protocols.get(n)?.[0] ?? 'TCP';

  const ports: EnvServicePort[] = [];
  const namedVar = `${prefix}_SERVICE_PORT_`;
  // A Service named `<S>-service-port-<x>` writes its own variables under this prefix
  // (`<S>_SERVICE_PORT_<X>_SERVICE_HOST`, ...): those belong to it, not to named ports of this one.
  const others: string[] = [];
  for (const key of Object.keys(env)) {
    // An IP, not a number: a port of this Service named `<x>-service-host` stays a port.
    if (key.startsWith(namedVar) && key.endsWith('_SERVICE_HOST') && isIP(env[key] ?? '') !== 0) {
      others.push(key.slice(0, -'SERVICE_HOST'.length));
    }
  }
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(namedVar) || others.some((other) => key.startsWith(other))) continue;
    const number = parsePort(value);
    if (number === undefined) continue;
    const name = key.slice(namedVar.length).toLowerCase().replaceAll('_', '-');
    ports.push({ name, port: number, protocol: protocolOf(number) });
  }
  if (!ports.some((p) => p.port === port)) ports.unshift({ name: '', port, protocol: protocolOf(port) });
  return Object.freeze({ host, port, ports: Object.freeze(ports) });
}

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= 65535 ? n : undefined;
}
