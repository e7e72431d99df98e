// CLI: facts shared by the commands — resolving a name like a pod of this namespace would, a
// JSON-friendly summary of a Service, and the cross-namespace hint for names that do not resolve.
// Consumes a ClusterConnection; produces snapshots, summaries and hint text.

import {
  isClusterIPError,
  parseServiceTarget,
  type ServiceInfo,
  ServiceNotFoundError,
  type ServicePort,
  type ServiceSnapshot,
  validateServiceName,
} from '@clusterip/resolver';
import type { ClusterConnection } from './connect.js';

/** A Service as the CLI reports it (`--output json` shape). */
export interface ServiceSummary {
  readonly namespace: string;
  readonly name: string;
  readonly type: ServiceInfo['type'];
  /** ClusterIPs; empty for headless and ExternalName Services. */
  readonly clusterIPs: readonly string[];
  readonly headless: boolean;
  readonly externalName?: string;
  readonly ports: readonly ServicePort[];
  readonly selector?: Readonly<Record<string, string>>;
  readonly internalTrafficPolicy: 'Cluster' | 'Local';
  readonly sessionAffinity: ServiceInfo['sessionAffinity'];
  readonly trafficDistribution?: string;
  readonly publishNotReadyAddresses: boolean;
}

/**
 * The JSON-friendly view of a ServiceInfo.
 *
 * @example
 * ```ts
 * writeJson(io, serviceSummary(snapshot.service))
 * ```
 */
export function serviceSummary(info: ServiceInfo): ServiceSummary {
  return {
    namespace: info.namespace,
    name: info.name,
    type: info.type,
    clusterIPs: info.clusterIPs,
    headless: info.headless,
    ...(info.externalName === undefined ? {} : { externalName: info.externalName }),
    ports: info.ports,
    ...(info.selector === undefined ? {} : { selector: info.selector }),
    internalTrafficPolicy: info.internalTrafficPolicy,
    sessionAffinity: info.sessionAffinity,
    ...(info.trafficDistribution === undefined ? {} : { trafficDistribution: info.trafficDistribution }),
    publishNotReadyAddresses: info.publishNotReadyAddresses,
  };
}

/**
 * `10.96.0.12`, `None (headless)`, `ExternalName → db.example.com`.
 *
 * @example
 * ```ts
 * virtualIp(service) // '10.96.0.12', 'None (headless)'
 * ```
 */
export function virtualIp(info: Pick<ServiceInfo, 'type' | 'clusterIPs' | 'headless' | 'externalName'>): string {
  if (info.type === 'ExternalName') return `none (ExternalName → ${info.externalName ?? '?'})`;
  if (info.headless) return 'None (headless)';
  return info.clusterIPs.join(', ') || '<pending>';
}

/**
 * `http 80→http/TCP, 9090→9090/TCP`
 *
 * @example
 * ```ts
 * describePorts(service.ports) // 'http 80→http/TCP, 9090→9090/TCP'
 * ```
 */
export function describePorts(ports: readonly ServicePort[]): string {
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.name ? `${p.name} ` : ''}${p.port}→${p.targetPort}/${p.protocol}`).join(', ');
}

/**
 * Resolve `target` once as a client in the connection's namespace would, without throwing for
 * "not found" (the snapshot says so and lists the candidates tried). Rejects for malformed targets
 * (InvalidNameError) only.
 *
 * @example
 * ```ts
 * const snapshot = await snapshotOf(conn, 'web:http') // status 'not-found' instead of a rejection
 * ```
 */
export async function snapshotOf(conn: ClusterConnection, target: string): Promise<ServiceSnapshot> {
  const watch = conn.resolver.watch(target);
  try {
    return await watch.ready;
  } finally {
    await watch.close();
  }
}

/**
 * Namespaces other than the client's that hold a Service named like the first label of `host`
 * (sorted). Empty when there is none, or when the credentials cannot list Services cluster-wide.
 *
 * @example
 * ```ts
 * await otherNamespaces(conn, 'backend') // ['prod']
 * ```
 */
export async function otherNamespaces(conn: ClusterConnection, host: string): Promise<string[]> {
  const name = host.replace(/\.$/, '').split('.')[0] ?? '';
  try {
    validateServiceName(name);
  } catch {
    return [];
  }
  let list: unknown;
  try {
    list = await conn.reader.get('/api/v1/services', { fieldSelector: `metadata.name=${name}` });
  } catch (err) {
    if (isClusterIPError(err)) return [];
    throw err;
  }
  return ((list as { items?: { metadata?: { namespace?: unknown } }[] } | undefined)?.items ?? [])
    .map((item) => item.metadata?.namespace)
    .filter((ns): ns is string => typeof ns === 'string' && ns !== conn.namespace)
    .sort();
}

/**
 * When Services named like `host` live in other namespaces, the text that tells the user how to
 * reach them: `the Service backend lives in namespace prod, not default: use backend.prod (or -n prod)`.
 *
 * @example
 * ```ts
 * await crossNamespaceHint(conn, 'backend') // undefined when no other namespace has one
 * ```
 */
export async function crossNamespaceHint(conn: ClusterConnection, host: string): Promise<string | undefined> {
  return namespaceHint(host, await otherNamespaces(conn, host), conn.namespace);
}

/**
 * The hint text for a name whose Service lives in `namespaces` instead of `current` (pure).
 *
 * @example
 * ```ts
 * namespaceHint('backend', ['prod'], 'default') // 'the Service backend lives in namespace prod, not default: use backend.prod (or -n prod)'
 * ```
 */
export function namespaceHint(host: string, namespaces: readonly string[], current: string): string | undefined {
  if (namespaces.length === 0) return undefined;
  const name = host.replace(/\.$/, '').split('.')[0] ?? '';
  const uses = namespaces.map((ns) => `${name}.${ns}`).join(' or ');
  const where = namespaces.length === 1 ? `namespace ${namespaces[0]}` : `namespaces ${namespaces.join(', ')}`;
  return `the Service ${name} lives in ${where}, not ${current}: use ${uses} (or -n ${namespaces[0]})`;
}

/**
 * Resolve `name` (no port) to its Service, or throw: ServiceNotFoundError (exit 4) whose message
 * carries the cross-namespace hint, the source's error when the API is unavailable (exit 3).
 *
 * @example
 * ```ts
 * const { info } = await requireService(conn, 'backend')
 * ```
 */
export async function requireService(
  conn: ClusterConnection,
  name: string,
): Promise<{ readonly snapshot: ServiceSnapshot; readonly info: ServiceInfo }> {
  const snapshot = await snapshotOf(conn, name);
  if (snapshot.status === 'ok' && snapshot.service !== undefined) return { snapshot, info: snapshot.service };
  if (snapshot.status === 'unavailable' && snapshot.error !== undefined) throw snapshot.error;
  const hint = await crossNamespaceHint(conn, parseServiceTarget(name).host);
  throw new ServiceNotFoundError(name, snapshot.tried, hint, { cause: snapshot.error });
}
