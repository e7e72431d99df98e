// ③→⑦ Cluster context for a Mesh or the gRPC plugin: detected, then the zone from the Node object
// (spec §6.4). Consumes detection options and the endpoint source; produces the ClusterContext.

import {
  type ClusterContext,
  type DetectClusterContextOptions,
  detectClusterContext,
  type EndpointSource,
  withNodeZone,
} from '@clusterip/resolver';
import { runWithoutTracing } from '../telemetry/suppress-tracing.js';

/**
 * `detectClusterContext(detect)`, then {@link withNodeZone} with `source`: with a Kubernetes source, a
 * node name and no zone, the zone is read from the Node (at most 3 s, transient failures retried; `signal`
 * ends it early). That
 * request is plumbing, not the application's traffic, so it runs untraced like the source's own.
 *
 * @example
 * ```ts
 * const context = () => detectClientContext({ namespace: 'shop' }, source, closing.signal)
 * const resolver = new Resolver({ source, context })
 * ```
 */
export async function detectClientContext(
  detect: DetectClusterContextOptions,
  source: EndpointSource,
  signal: AbortSignal,
): Promise<ClusterContext> {
  const context = await detectClusterContext(detect);
  return runWithoutTracing(() => withNodeZone(context, source, { signal }));
}
