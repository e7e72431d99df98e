// ② Service identity: a Kubernetes Service API object → `ServiceInfo` with the API server's defaults (spec §4).
// Consumes an untrusted JSON object (from the API, kubectl output or a test); produces a frozen ServiceInfo.

import type { Protocol } from '../endpoint/endpoint.js';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import type { ServiceInfo, ServicePort, ServiceType, SessionAffinity, TrafficDistribution } from './service-info.js';

const SERVICE_TYPES: ReadonlySet<string> = new Set(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']);
const PROTOCOLS: ReadonlySet<string> = new Set(['TCP', 'UDP', 'SCTP']);
const TRAFFIC_DISTRIBUTIONS: ReadonlySet<string> = new Set(['PreferClose', 'PreferSameZone', 'PreferSameNode']);
/** `DefaultClientIPServiceAffinitySeconds` (kubernetes/api core/v1/types.go). */
const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;
const MAX_AFFINITY_TIMEOUT_SECONDS = 86_400;
const EMPTY_MAP: Readonly<Record<string, string>> = Object.freeze({});

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turn a Service object (as served by the API, `kubectl get svc -o json`, or written by hand) into a
 * {@link ServiceInfo} with Kubernetes' defaults applied (spec §4, `SetDefaults_Service`):
 * type `ClusterIP`, port protocol `TCP`, `targetPort` = `port` when 0/absent/empty, session affinity
 * `None` (or `ClientIP` with a 10800 s default timeout), `internalTrafficPolicy` `Cluster`,
 * `clusterIPs` from `clusterIP`, headless when `clusterIP` is `None`.
 *
 * Throws {@link InvalidArgumentError} (`CLUSTERIP_ERR_INVALID_ARG`, `option` = field path such as
 * `service.spec.ports[0].port`) when a required field is missing or has the wrong type. Unknown
 * `trafficDistribution` values (from a newer API server) are ignored rather than rejected.
 *
 * @example
 * ```ts
 * const info = normalizeService({
 *   metadata: { name: 'web', namespace: 'prod' },
 *   spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
 * })
 * info.ports[0] // { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' }
 * ```
 */
export function normalizeService(object: unknown): ServiceInfo {
  if (!isObject(object)) throw invalid('service', `must be an object, got ${describe(object)}`);
  if (object.kind !== undefined && object.kind !== 'Service') {
    throw invalid('service.kind', `must be "Service", got ${describe(object.kind)}`);
  }
  const metadata = object.metadata;
  if (!isObject(metadata)) throw invalid('service.metadata', `must be an object, got ${describe(metadata)}`);
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') {
    throw invalid('service.metadata.name', `must be a non-empty string, got ${describe(name)}`);
  }
  const namespace = optionalString(metadata.namespace, 'service.metadata.namespace', name) || 'default';
  const subject = `${name}.${namespace}`;
  const spec = object.spec === undefined ? {} : object.spec;
  if (!isObject(spec))
    throw invalid('service.spec', `service ${subject}: spec must be an object, got ${describe(spec)}`);

  const rawType = spec.type ?? 'ClusterIP';
  if (typeof rawType !== 'string' || !SERVICE_TYPES.has(rawType)) {
    throw invalid(
      'service.spec.type',
      `service ${subject}: spec.type must be ClusterIP, NodePort, LoadBalancer or ExternalName, got ${describe(rawType)}`,
    );
  }
  const type = rawType as ServiceType;
  const externalNameType = type === 'ExternalName';

  const clusterIP = optionalString(spec.clusterIP, 'service.spec.clusterIP', subject);
  const headless = !externalNameType && clusterIP === 'None';
  let clusterIPs: readonly string[] = [];
  if (!headless && !externalNameType) {
    const list = optionalStringArray(spec.clusterIPs, 'service.spec.clusterIPs', subject);
    clusterIPs = list !== undefined && list.length > 0 ? list : clusterIP ? [clusterIP] : [];
    clusterIPs = clusterIPs.filter((ip) => ip !== '' && ip !== 'None');
  }

  let ipFamilies: readonly ('IPv4' | 'IPv6')[];
  const families = optionalStringArray(spec.ipFamilies, 'service.spec.ipFamilies', subject);
  if (families !== undefined && families.length > 0) {
    for (const [i, f] of families.entries()) {
      if (f !== 'IPv4' && f !== 'IPv6') {
        throw invalid(`service.spec.ipFamilies[${i}]`, `service ${subject}: must be IPv4 or IPv6, got ${describe(f)}`);
      }
    }
    ipFamilies = families as ('IPv4' | 'IPv6')[];
  } else if (externalNameType) {
    ipFamilies = [];
  } else if (clusterIPs.length > 0) {
    ipFamilies = clusterIPs.map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4'));
  } else {
    // The API server defaults to the cluster's primary family; without that knowledge assume IPv4.
    ipFamilies = ['IPv4'];
  }

  const ports = normalizePorts(spec.ports, subject);

  let selector: Readonly<Record<string, string>> | undefined;
  const rawSelector = optionalStringMap(spec.selector, 'service.spec.selector', subject);
  if (rawSelector !== undefined && Object.keys(rawSelector).length > 0) selector = rawSelector;

  const sessionAffinity = normalizeAffinity(spec, subject);

  const itp = spec.internalTrafficPolicy ?? 'Cluster';
  if (itp !== 'Cluster' && itp !== 'Local') {
    throw invalid(
      'service.spec.internalTrafficPolicy',
      `service ${subject}: spec.internalTrafficPolicy must be Cluster or Local, got ${describe(itp)}`,
    );
  }

  const td = spec.trafficDistribution;
  const trafficDistribution =
    typeof td === 'string' && TRAFFIC_DISTRIBUTIONS.has(td) ? (td as TrafficDistribution) : undefined;

  const pnra = spec.publishNotReadyAddresses ?? false;
  if (typeof pnra !== 'boolean') {
    throw invalid(
      'service.spec.publishNotReadyAddresses',
      `service ${subject}: spec.publishNotReadyAddresses must be a boolean, got ${describe(pnra)}`,
    );
  }

  let externalName: string | undefined;
  if (externalNameType) {
    const target = spec.externalName;
    if (typeof target !== 'string' || target === '' || target === '.') {
      throw invalid(
        'service.spec.externalName',
        `service ${subject}: type ExternalName needs spec.externalName (a DNS name), got ${describe(target)}`,
      );
    }
    externalName = target.endsWith('.') ? target.slice(0, -1) : target;
  }

  const info: ServiceInfo = {
    namespace,
    name,
    type,
    clusterIPs: Object.freeze([...clusterIPs]),
    headless,
    ipFamilies: Object.freeze([...ipFamilies]),
    ports,
    ...(selector === undefined ? {} : { selector }),
    sessionAffinity,
    internalTrafficPolicy: itp,
    ...(trafficDistribution === undefined ? {} : { trafficDistribution }),
    publishNotReadyAddresses: pnra,
    ...(externalName === undefined ? {} : { externalName }),
    labels: optionalStringMap(metadata.labels, 'service.metadata.labels', subject) ?? EMPTY_MAP,
    annotations: optionalStringMap(metadata.annotations, 'service.metadata.annotations', subject) ?? EMPTY_MAP,
    ...optionalField(
      'resourceVersion',
      optionalString(metadata.resourceVersion, 'service.metadata.resourceVersion', subject),
    ),
    ...optionalField('uid', optionalString(metadata.uid, 'service.metadata.uid', subject)),
  };
  return Object.freeze(info);
}

function normalizePorts(raw: unknown, subject: string): readonly ServicePort[] {
  if (raw === undefined || raw === null) return Object.freeze([]);
  if (!Array.isArray(raw)) {
    throw invalid('service.spec.ports', `service ${subject}: spec.ports must be an array, got ${describe(raw)}`);
  }
  const out: ServicePort[] = [];
  for (const [i, p] of raw.entries()) {
    const path = `service.spec.ports[${i}]`;
    if (!isObject(p)) throw invalid(path, `service ${subject}: spec.ports[${i}] must be an object, got ${describe(p)}`);
    const name = optionalString(p.name, `${path}.name`, subject) ?? '';
    const protocol = p.protocol ?? 'TCP';
    if (typeof protocol !== 'string' || !PROTOCOLS.has(protocol)) {
      throw invalid(
        `${path}.protocol`,
        `service ${subject}: ${path}.protocol must be TCP, UDP or SCTP, got ${describe(protocol)}`,
      );
    }
    const port = p.port;
    if (!isPortNumber(port)) {
      throw invalid(
        `${path}.port`,
        `service ${subject}: ${path}.port must be an integer from 1 to 65535, got ${describe(port)}`,
      );
    }
    // targetPort is an IntOrString; 0, "" and absent all mean "same as port" (SetDefaults_Service).
    let targetPort: number | string = port;
    const tp = p.targetPort;
    if (typeof tp === 'number') {
      if (tp !== 0) {
        if (!isPortNumber(tp)) {
          throw invalid(
            `${path}.targetPort`,
            `service ${subject}: ${path}.targetPort must be an integer from 1 to 65535 or a port name, got ${describe(tp)}`,
          );
        }
        targetPort = tp;
      }
    } else if (typeof tp === 'string') {
      if (tp !== '') targetPort = tp;
    } else if (tp !== undefined && tp !== null) {
      throw invalid(
        `${path}.targetPort`,
        `service ${subject}: ${path}.targetPort must be a number or a port name, got ${describe(tp)}`,
      );
    }
    const appProtocol = optionalString(p.appProtocol, `${path}.appProtocol`, subject);
    const nodePort = p.nodePort;
    if (nodePort !== undefined && nodePort !== null && nodePort !== 0 && !isPortNumber(nodePort)) {
      throw invalid(
        `${path}.nodePort`,
        `service ${subject}: ${path}.nodePort must be a port number, got ${describe(nodePort)}`,
      );
    }
    out.push(
      Object.freeze({
        name,
        protocol: protocol as Protocol,
        port,
        targetPort,
        ...(appProtocol === undefined ? {} : { appProtocol }),
        ...(typeof nodePort === 'number' && nodePort !== 0 ? { nodePort } : {}),
      }),
    );
  }
  return Object.freeze(out);
}

function normalizeAffinity(spec: Json, subject: string): SessionAffinity {
  const type = spec.sessionAffinity ?? 'None';
  if (type === 'None') return Object.freeze({ type: 'None' });
  if (type !== 'ClientIP') {
    throw invalid(
      'service.spec.sessionAffinity',
      `service ${subject}: spec.sessionAffinity must be None or ClientIP, got ${describe(type)}`,
    );
  }
  const config = spec.sessionAffinityConfig;
  const clientIP = isObject(config) ? config.clientIP : undefined;
  const timeout = isObject(clientIP) ? clientIP.timeoutSeconds : undefined;
  if (timeout === undefined || timeout === null) {
    return Object.freeze({ type: 'ClientIP', timeoutSeconds: DEFAULT_AFFINITY_TIMEOUT_SECONDS });
  }
  if (
    typeof timeout !== 'number' ||
    !Number.isInteger(timeout) ||
    timeout < 1 ||
    timeout > MAX_AFFINITY_TIMEOUT_SECONDS
  ) {
    throw invalid(
      'service.spec.sessionAffinityConfig.clientIP.timeoutSeconds',
      `service ${subject}: sessionAffinityConfig.clientIP.timeoutSeconds must be an integer from 1 to 86400, got ${describe(timeout)}`,
    );
  }
  return Object.freeze({ type: 'ClientIP', timeoutSeconds: timeout });
}

function isPortNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65_535;
}

function optionalField<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function optionalString(value: unknown, path: string, subject: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw invalid(path, `service ${subject}: ${path} must be a string, got ${describe(value)}`);
  return value;
}

function optionalStringArray(value: unknown, path: string, subject: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw invalid(path, `service ${subject}: ${path} must be an array of strings, got ${describe(value)}`);
  }
  return value as string[];
}

function optionalStringMap(
  value: unknown,
  path: string,
  subject: string,
): Readonly<Record<string, string>> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw invalid(path, `service ${subject}: ${path} must be a map of strings, got ${describe(value)}`);
  }
  return Object.freeze({ ...(value as Record<string, string>) });
}

function invalid(path: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(path, message.startsWith('service ') ? message : `${path} ${message}`);
}

/** Short, bounded description of an offending value (never a whole object). */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const s = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
