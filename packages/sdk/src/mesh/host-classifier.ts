// Mesh: which request hosts may name a cluster Service. Consumes a host name and the cluster domain;
// produces a class that decides whether the mesh looks the name up, and what a miss means.

import { isIP } from 'node:net';

/**
 * - `ip`: an IP literal; routed only when it is a known ClusterIP.
 * - `cluster`: a name only the cluster can answer (`web.shop.svc`, `web.shop.svc.cluster.local`,
 *   `10-0-0-1.shop.pod`); a miss is a ServiceNotFoundError.
 * - `candidate`: a short name (`web`, `web.shop`) that may be a Service or an outside host
 *   (`localhost`-like single labels, `example.com`); a miss passes through (option `notFound`).
 * - `outside`: any other name (`api.example.com`): never looked up, passed through untouched.
 */
export type HostClass = 'ip' | 'cluster' | 'candidate' | 'outside';

/**
 * Classify a lowercased host name (no brackets, no trailing dot).
 *
 * @example
 * ```ts
 * classifyHost('backend-service', 'cluster.local')                           // 'candidate'
 * classifyHost('backend-service.production.svc.cluster.local', 'cluster.local') // 'cluster'
 * classifyHost('api.example.com', 'cluster.local')                           // 'outside'
 * ```
 */
export function classifyHost(hostname: string, clusterDomain: string): HostClass {
  if (isIP(hostname) !== 0) return 'ip';
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return 'outside';
  const domain = clusterDomain.toLowerCase().replace(/\.$/, '');
  if (hostname === domain || hostname.endsWith(`.${domain}`)) return 'cluster';
  const labels = hostname.split('.');
  if (labels.length === 3 && (labels[2] === 'svc' || labels[2] === 'pod')) return 'cluster';
  if (labels.length <= 2) return 'candidate';
  return 'outside';
}
