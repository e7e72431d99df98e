// Reliability helper: the emulated cluster most scenarios load, namespace `shop` with Service `web`
// (port 80 → container port `http`, selector `app: web`). Consumes the ava context; produces the cluster.

import type { ExecutionContext } from 'ava';
import { createFakeCluster, type FakeCluster } from '../../helpers/fake-cluster.js';

/**
 * An emulated cluster (closed at teardown) in namespace `shop` holding Service `web`; its pods are the
 * scenario's to add (label `app: web`, named container port `http`).
 *
 * @example
 * ```ts
 * const cluster = await createWebCluster(t)
 * await createPods(t, cluster, { app: 'web', count: 3, subnet: 210 })
 * ```
 */
export async function createWebCluster(t: ExecutionContext): Promise<FakeCluster> {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  return cluster;
}
