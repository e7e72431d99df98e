// ① Name: what an absolute name denotes to cluster DNS (spec §1, CoreDNS `parse.go`).
// Consumes an FQDN and the cluster domain; produces a `ClusterName`.

import { isIP } from 'node:net';
import type { ClusterName } from './cluster-name.js';
import { stripTrailingDot, validateDnsName } from './search-candidates.js';

/**
 * Classify an absolute name against the cluster domain, as CoreDNS's kubernetes plugin parses
 * queries. Case-insensitive; a trailing dot is optional.
 *
 * @example
 * ```ts
 * interpretClusterName('web.prod.svc.cluster.local.', 'cluster.local')
 * // { kind: 'service', namespace: 'prod', service: 'web' }
 * interpretClusterName('_grpc._tcp.db.prod.svc.cluster.local', 'cluster.local')
 * // { kind: 'srv', namespace: 'prod', service: 'db', port: 'grpc', protocol: 'tcp' }
 * interpretClusterName('example.com.', 'cluster.local') // { kind: 'outside', fqdn: 'example.com.' }
 * ```
 */
export function interpretClusterName(fqdn: string, clusterDomain: string): ClusterName {
  validateDnsName(fqdn);
  validateDnsName(clusterDomain, 'cluster domain');
  const name = stripTrailingDot(fqdn.toLowerCase());
  const zone = stripTrailingDot(clusterDomain.toLowerCase());
  const absolute = `${name}.`;
  if (name !== zone && !name.endsWith(`.${zone}`)) return { kind: 'outside', fqdn: absolute };

  // Labels left of the zone, nearest to the zone first: [svc|pod, namespace, service, ...].
  const labels =
    name === zone
      ? []
      : name
          .slice(0, -(zone.length + 1))
          .split('.')
          .reverse();
  const [type, namespace, service, ...rest] = labels;
  if (type === undefined) return { kind: 'no-data', fqdn: absolute };
  if ((type === 'svc' || type === 'pod') && namespace !== undefined && service === undefined) {
    return { kind: 'no-data', fqdn: absolute, namespace };
  }
  if (type === 'svc') {
    if (namespace === undefined || service === undefined) return { kind: 'no-data', fqdn: absolute };
    if (rest.length === 0) return { kind: 'service', namespace, service };
    if (rest.length === 1) {
      const hostname = rest[0]!;
      if (hostname.startsWith('_')) return invalid(absolute, 'an endpoint label must not start with "_"');
      return { kind: 'endpoint', namespace, service, hostname };
    }
    if (rest.length === 2) {
      const [protocol, port] = rest as [string, string];
      if (port.startsWith('_') && protocol.startsWith('_') && port.length > 1 && protocol.length > 1) {
        return { kind: 'srv', namespace, service, port: port.slice(1), protocol: protocol.slice(1) };
      }
      return invalid(absolute, 'five labels before the zone must be _<port>._<proto>.<service>.<namespace>.svc');
    }
    return invalid(absolute, 'too many labels before <service>.<namespace>.svc');
  }
  if (type === 'pod') {
    if (namespace === undefined || service === undefined) return { kind: 'no-data', fqdn: absolute };
    if (rest.length > 0) return invalid(absolute, 'too many labels before <namespace>.pod');
    const ip = podLabelToIp(service);
    if (ip === undefined) return invalid(absolute, `pod label ${JSON.stringify(service)} is not a dashed IP address`);
    return { kind: 'pod', namespace, ip };
  }
  return invalid(absolute, `label ${JSON.stringify(type)} before the cluster domain must be "svc" or "pod"`);
}

/** CoreDNS: exactly three `-` and no `--` means IPv4 `a-b-c-d`, anything else IPv6 with `-` for `:`. */
function podLabelToIp(label: string): string | undefined {
  const dashes = label.split('-').length - 1;
  const ip = dashes === 3 && !label.includes('--') ? label.replaceAll('-', '.') : label.replaceAll('-', ':');
  return isIP(ip) === 0 ? undefined : ip;
}

function invalid(fqdn: string, reason: string): ClusterName {
  return { kind: 'invalid', fqdn, reason };
}
