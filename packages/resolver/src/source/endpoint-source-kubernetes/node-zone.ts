// ③ Endpoint source (Kubernetes): this client's zone from its Node object (spec §6.4: read NODE_NAME,
// resolve the zone from the Node), for zone hints and `trafficDistribution`. Consumes a KubernetesSource
// and a node name; produces the `topology.kubernetes.io/zone` label, or nothing.

import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterContext } from '../../context/cluster-context.js';
import { ApiRequestError } from '../../errors/api-request-error.js';
import type { EndpointSource } from '../endpoint-source.js';
import { KubernetesSource } from './endpoint-source-kubernetes.js';
import { KubeApiError } from './kube-api-client.js';
import { KubeApiReader } from './kube-api-reader.js';

/** The well-known label kubelet (or the cloud provider) sets on every Node. */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** How long {@link readNodeZone} waits for the API server by default: it holds up the first resolve. */
export const NODE_ZONE_TIMEOUT_MS = 3000;

/** Options of {@link readNodeZone} and {@link withNodeZone}. */
export interface NodeZoneOptions {
  /** Give up at once when this aborts (e.g. the owner closes). */
  readonly signal?: AbortSignal;
  /** Give up after this long; default {@link NODE_ZONE_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

/**
 * The zone label of Node `nodeName`, read with the source's server and credentials (a GET of
 * `/api/v1/nodes/<name>`, at most `timeoutMs`, 3 s by default). A failure that may pass (no connection,
 * 429, 5xx) is retried after 100 ms, 200 ms … (at most 1 s apart), or after the server's `Retry-After` when
 * longer, within that time. Undefined when the Node
 * does not exist, has no zone label, cannot be read (403: reading Nodes needs a ClusterRole, `get` on
 * `nodes`, that many service accounts lack) or not in time, or the signal aborts: without a zone the
 * client simply does no zone filtering, as kube-proxy does on a node without the label. Never rejects.
 *
 * @example
 * ```ts
 * const source = KubernetesSource.inCluster()
 * const zone = await readNodeZone(source, process.env.NODE_NAME ?? '') // 'eu-west-1a', or undefined
 * ```
 */
export async function readNodeZone(
  source: KubernetesSource,
  nodeName: string,
  options: NodeZoneOptions = {},
): Promise<string | undefined> {
  if (typeof nodeName !== 'string' || nodeName === '' || source.closed || options.signal?.aborted) return undefined;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? NODE_ZONE_TIMEOUT_MS);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  const reader = new KubeApiReader(source);
  try {
    for (let backoffMs = 100; ; backoffMs = Math.min(backoffMs * 2, 1000)) {
      try {
        const node = (await reader.get(`/api/v1/nodes/${encodeURIComponent(nodeName)}`, {}, { signal })) as
          | { metadata?: { labels?: Record<string, unknown> } }
          | undefined;
        const zone = node?.metadata?.labels?.[ZONE_LABEL];
        return typeof zone === 'string' && zone !== '' ? zone : undefined;
      } catch (error) {
        if (signal.aborted || !passing(error)) return undefined;
        // A Retry-After of the server (429, 503) comes first; past the time left, the abort ends the wait.
        const cause = (error as ApiRequestError).cause;
        const asked = cause instanceof KubeApiError ? (cause.retryAfterMs ?? 0) : 0;
        await sleep(Math.max(backoffMs, asked), undefined, { signal, ref: false });
      }
    }
  } catch {
    return undefined; // the signal aborted the back-off
  } finally {
    await reader.close();
  }
}

/** A failure worth another try: the API server could not be reached, was overloaded or failed. */
function passing(error: unknown): boolean {
  if (!(error instanceof ApiRequestError)) return false;
  if (error.failure === 'network') return true;
  return error.status !== undefined && (error.status === 429 || error.status >= 500);
}

/**
 * `context` with its zone filled from the Node object ({@link readNodeZone}) when it names a node but no
 * zone and `source` is a {@link KubernetesSource}; otherwise `context` itself. A zone given explicitly
 * (option or `NODE_ZONE`) is never replaced, and then no request is made.
 *
 * @example
 * ```ts
 * const source = KubernetesSource.inCluster()
 * const context = await withNodeZone(await detectClusterContext(), source)
 * const resolver = new Resolver({ source, context })
 * ```
 */
export async function withNodeZone(
  context: ClusterContext,
  source: EndpointSource,
  options: NodeZoneOptions = {},
): Promise<ClusterContext> {
  if (context.zone !== undefined || context.nodeName === undefined || !(source instanceof KubernetesSource)) {
    return context;
  }
  const zone = await readNodeZone(source, context.nodeName, options);
  return zone === undefined ? context : Object.freeze({ ...context, zone });
}
