// ③ Endpoint source (Kubernetes): this client's zone from its Node object (spec §6.4: read NODE_NAME,
// resolve the zone from the Node), for zone hints and `trafficDistribution`. Consumes a KubernetesSource
// and a node name; produces the `topology.kubernetes.io/zone` label, or nothing.

import type { ClusterContext } from '../../context/cluster-context.js';
import type { EndpointSource } from '../endpoint-source.js';
import { KubernetesSource } from './endpoint-source-kubernetes.js';
import { KubeApiReader } from './kube-api-reader.js';

/** The well-known label kubelet (or the cloud provider) sets on every Node. */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/**
 * The zone label of Node `nodeName`, read once with the source's server and credentials (one GET of
 * `/api/v1/nodes/<name>`, within the source's request timeout). Undefined when the Node does not exist,
 * has no zone label, or cannot be read: reading Nodes needs a ClusterRole (`get` on `nodes`) that many
 * service accounts lack, and without a zone the client simply does no zone filtering, as kube-proxy
 * does on a node without the label. Never rejects.
 *
 * @example
 * ```ts
 * const source = KubernetesSource.inCluster()
 * const zone = await readNodeZone(source, process.env.NODE_NAME ?? '') // 'eu-west-1a', or undefined
 * ```
 */
export async function readNodeZone(source: KubernetesSource, nodeName: string): Promise<string | undefined> {
  if (typeof nodeName !== 'string' || nodeName === '' || source.closed) return undefined;
  const reader = new KubeApiReader(source);
  try {
    const node = (await reader.get(`/api/v1/nodes/${encodeURIComponent(nodeName)}`)) as
      | { metadata?: { labels?: Record<string, unknown> } }
      | undefined;
    const zone = node?.metadata?.labels?.[ZONE_LABEL];
    return typeof zone === 'string' && zone !== '' ? zone : undefined;
  } catch {
    return undefined;
  } finally {
    await reader.close();
  }
}

/**
 * `context` with its zone filled from the Node object ({@link readNodeZone}) when it names a node but no
 * zone and `source` is a {@link KubernetesSource}; otherwise `context` itself. A zone given explicitly
 * (option or `NODE_ZONE`) is never replaced.
 *
 * @example
 * ```ts
 * const source = KubernetesSource.inCluster()
 * const context = await withNodeZone(await detectClusterContext(), source)
 * const resolver = new Resolver({ source, context })
 * ```
 */
export async function withNodeZone(context: ClusterContext, source: EndpointSource): Promise<ClusterContext> {
  if (context.zone !== undefined || context.nodeName === undefined || !(source instanceof KubernetesSource)) {
    return context;
  }
  const zone = await readNodeZone(source, context.nodeName);
  return zone === undefined ? context : Object.freeze({ ...context, zone });
}
