// Fake Kubernetes API: Service defaulting, validation and ClusterIP/nodePort allocation (spec §4, SetDefaults_Service).
// Consumes a Service as written (and the stored one on update); produces the Service as the API server stores it.

import type { ClusterIpAllocator } from './cluster-ip-allocator.js';
import {
  FieldErrors,
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isIanaServiceName,
  isIPv4,
  isPortNumber,
} from './field-errors.js';
import { isPlainObject, type KubeObject } from './kube-object.js';

const TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const AFFINITIES = ['None', 'ClientIP'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
const TRAFFIC_DISTRIBUTIONS = ['PreferClose', 'PreferSameZone', 'PreferSameNode'];
/** `DefaultClientIPServiceAffinitySeconds` (3 hours). */
const DEFAULT_AFFINITY_SECONDS = 10800;
const MAX_AFFINITY_SECONDS = 86400;

type Spec = Record<string, unknown>;
type Port = Record<string, unknown>;

function specOf(object: KubeObject): Spec {
  if (!isPlainObject(object.spec)) object.spec = {};
  return object.spec as Spec;
}

function portsOf(spec: Spec): Port[] {
  return Array.isArray(spec.ports) ? (spec.ports.filter(isPlainObject) as Port[]) : [];
}

/** Apply `SetDefaults_Service` (type, affinity, protocol, targetPort, traffic policy) in place. */
export function defaultService(object: KubeObject): void {
  const spec = specOf(object);
  if (spec.type === undefined || spec.type === '') spec.type = 'ClusterIP';
  if (spec.sessionAffinity === undefined || spec.sessionAffinity === '') spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') {
    delete spec.sessionAffinityConfig;
  } else if (spec.sessionAffinity === 'ClientIP') {
    const config = isPlainObject(spec.sessionAffinityConfig) ? spec.sessionAffinityConfig : {};
    const clientIP = isPlainObject(config.clientIP) ? config.clientIP : {};
    if (clientIP.timeoutSeconds === undefined || clientIP.timeoutSeconds === null) {
      clientIP.timeoutSeconds = DEFAULT_AFFINITY_SECONDS;
    }
    config.clientIP = clientIP;
    spec.sessionAffinityConfig = config;
  }
  for (const port of portsOf(spec)) {
    if (port.protocol === undefined || port.protocol === '') port.protocol = 'TCP';
    if (port.targetPort === undefined || port.targetPort === 0 || port.targetPort === '') port.targetPort = port.port;
  }
  if (spec.type !== 'ExternalName') {
    if (spec.internalTrafficPolicy === undefined || spec.internalTrafficPolicy === '') {
      spec.internalTrafficPolicy = 'Cluster';
    }
    if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && !spec.externalTrafficPolicy) {
      spec.externalTrafficPolicy = 'Cluster';
    }
    if (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) {
      spec.allocateLoadBalancerNodePorts = true;
    }
  }
}

/** Validate a defaulted Service; returns the field errors (empty when valid). */
export function validateService(object: KubeObject): FieldErrors {
  const errors = new FieldErrors();
  const name = object.metadata?.name ?? '';
  if (name !== '' && !isDns1035Label(name)) {
    errors.invalid(
      'metadata.name',
      name,
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  const spec = specOf(object);
  const type = spec.type;
  if (!TYPES.includes(String(type))) errors.notSupported('spec.type', type, TYPES);
  const headless = spec.clusterIP === 'None';
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  if (type === 'ExternalName') {
    if (typeof spec.externalName !== 'string' || spec.externalName === '') errors.required('spec.externalName');
    else if (!isDns1123Subdomain(spec.externalName.replace(/\.$/, '')))
      errors.invalid('spec.externalName', spec.externalName, 'must be a valid DNS subdomain name');
  } else if (ports.length === 0 && !headless) {
    errors.required('spec.ports');
  }
  const names = new Set<string>();
  ports.forEach((raw, i) => {
    const field = `spec.ports[${i}]`;
    if (!isPlainObject(raw)) {
      errors.invalid(field, raw, 'must be an object');
      return;
    }
    const portName = raw.name;
    if (ports.length > 1 && (portName === undefined || portName === '')) errors.required(`${field}.name`);
    if (typeof portName === 'string' && portName !== '') {
      if (!isDns1123Label(portName)) errors.invalid(`${field}.name`, portName, 'must be a DNS-1123 label');
      if (names.has(portName)) errors.duplicate(`${field}.name`, portName);
      names.add(portName);
    }
    if (!isPortNumber(raw.port)) errors.invalid(`${field}.port`, raw.port, 'must be between 1 and 65535, inclusive');
    if (!PROTOCOLS.includes(String(raw.protocol))) errors.notSupported(`${field}.protocol`, raw.protocol, PROTOCOLS);
    const target = raw.targetPort;
    if (typeof target === 'string') {
      if (!isIanaServiceName(target))
        errors.invalid(
          `${field}.targetPort`,
          target,
          'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), at most 15 characters, and at least one letter',
        );
    } else if (!isPortNumber(target)) {
      errors.invalid(`${field}.targetPort`, target, 'must be between 1 and 65535, inclusive');
    }
    if (raw.nodePort !== undefined && raw.nodePort !== 0 && !isPortNumber(raw.nodePort)) {
      errors.invalid(`${field}.nodePort`, raw.nodePort, 'must be between 1 and 65535, inclusive');
    }
  });
  if (!AFFINITIES.includes(String(spec.sessionAffinity))) {
    errors.notSupported('spec.sessionAffinity', spec.sessionAffinity, AFFINITIES);
  } else if (spec.sessionAffinity === 'ClientIP') {
    const timeout = (spec.sessionAffinityConfig as { clientIP?: { timeoutSeconds?: unknown } } | undefined)?.clientIP
      ?.timeoutSeconds;
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout <= 0 || timeout > MAX_AFFINITY_SECONDS) {
      errors.invalid(
        'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
        timeout,
        `must be greater than 0 and less than ${MAX_AFFINITY_SECONDS}`,
      );
    }
  }
  if (spec.internalTrafficPolicy !== undefined && !TRAFFIC_POLICIES.includes(String(spec.internalTrafficPolicy))) {
    errors.notSupported('spec.internalTrafficPolicy', spec.internalTrafficPolicy, TRAFFIC_POLICIES);
  }
  if (spec.trafficDistribution !== undefined && !TRAFFIC_DISTRIBUTIONS.includes(String(spec.trafficDistribution))) {
    errors.notSupported('spec.trafficDistribution', spec.trafficDistribution, TRAFFIC_DISTRIBUTIONS);
  }
  if (spec.selector !== undefined && !isPlainObject(spec.selector)) {
    errors.invalid('spec.selector', spec.selector, 'must be a map of label keys to values');
  }
  return errors;
}

/**
 * Allocate (or keep, on update) the ClusterIP and node ports, and fill `clusterIPs`, `ipFamilies`,
 * `ipFamilyPolicy` and `status`. Problems with a caller-chosen IP go to `errors`.
 */
export function allocateService(
  object: KubeObject,
  previous: KubeObject | undefined,
  allocator: ClusterIpAllocator,
  errors: FieldErrors,
): void {
  const spec = specOf(object);
  const old = previous ? specOf(previous) : undefined;
  if (spec.type === 'ExternalName') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
    delete spec.ipFamilies;
    delete spec.ipFamilyPolicy;
  } else {
    const oldIp = typeof old?.clusterIP === 'string' && old.clusterIP !== '' ? old.clusterIP : undefined;
    let ip = typeof spec.clusterIP === 'string' && spec.clusterIP !== '' ? spec.clusterIP : undefined;
    if (ip === undefined && Array.isArray(spec.clusterIPs) && typeof spec.clusterIPs[0] === 'string') {
      ip = spec.clusterIPs[0];
    }
    if (oldIp !== undefined && ip === undefined) {
      // patchAllocatedValues: an update that omits the ClusterIP keeps the allocated one.
      ip = oldIp;
    } else if (oldIp !== undefined && ip !== oldIp) {
      errors.invalid('spec.clusterIPs[0]', ip, 'may not change once set');
      ip = oldIp;
    } else if (ip === undefined) {
      ip = allocator.allocateIp();
      if (ip === undefined) errors.invalid('spec.clusterIPs', [], 'range is full');
    } else if (ip !== 'None' && oldIp === undefined) {
      if (!isIPv4(ip)) errors.invalid('spec.clusterIPs[0]', ip, 'must be a valid IP address');
      else {
        const problem = allocator.reserveIp(ip);
        if (problem === 'in-use')
          errors.invalid('spec.clusterIPs', [ip], `failed to allocate IP ${ip}: provided IP is already allocated`);
        else if (problem === 'out-of-range')
          errors.invalid(
            'spec.clusterIPs',
            [ip],
            `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${allocator.cidr}`,
          );
      }
    }
    if (ip !== undefined) {
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
    }
    if (!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0) spec.ipFamilies = old?.ipFamilies ?? ['IPv4'];
    if (spec.ipFamilyPolicy === undefined) spec.ipFamilyPolicy = old?.ipFamilyPolicy ?? 'SingleStack';
  }
  const wantsNodePorts =
    spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
  const oldPorts = old ? portsOf(old) : [];
  portsOf(spec).forEach((port, i) => {
    if (!wantsNodePorts) {
      delete port.nodePort;
      return;
    }
    const kept = oldPorts.find((p) => p.port === port.port && p.protocol === port.protocol)?.nodePort;
    if (port.nodePort === undefined || port.nodePort === 0) {
      port.nodePort = typeof kept === 'number' ? kept : allocator.allocatePort();
    } else if (port.nodePort !== kept && typeof port.nodePort === 'number') {
      const problem = allocator.reservePort(port.nodePort);
      if (problem !== undefined)
        errors.invalid(
          `spec.ports[${i}].nodePort`,
          port.nodePort,
          problem === 'in-use'
            ? 'provided port is already allocated'
            : 'provided port is not in the valid range. The range of valid ports is 30000-32767',
        );
    }
  });
}

/** Release what a deleted (or rejected) Service held. */
export function releaseService(object: KubeObject, allocator: ClusterIpAllocator): void {
  const spec = isPlainObject(object.spec) ? object.spec : {};
  if (typeof spec.clusterIP === 'string' && spec.clusterIP !== 'None') allocator.releaseIp(spec.clusterIP);
  for (const port of portsOf(spec)) if (typeof port.nodePort === 'number') allocator.releasePort(port.nodePort);
}
