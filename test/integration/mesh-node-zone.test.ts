// The Mesh knows its zone from its Node object when only NODE_NAME is given (spec §6.4), so zone hints and
// trafficDistribution work in a real cluster without a hand-set NODE_ZONE.

import type { KubernetesSource } from '@clusterip/resolver';
import { Mesh } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createPods, waitForReady } from '../helpers/http-test-server.js';

const NODES = { 'node-a': 'zone-a', 'node-b': 'zone-b', 'node-c': 'zone-c' } as const;

/** A cluster with three zoned nodes and `backend` (PreferClose) with one pod per node. */
async function zonedCluster(t: ExecutionContext, subnet: number) {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  for (const [name, zone] of Object.entries(NODES)) {
    cluster.apply({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'topology.kubernetes.io/zone': zone } },
    });
  }
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'backend' },
    spec: {
      selector: { app: 'backend' },
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      trafficDistribution: 'PreferClose',
    },
  });
  const nodeOf = (i: number) => Object.keys(NODES)[i - 1];
  const pods = await createPods(t, cluster, { app: 'backend', count: 3, subnet, nodeName: nodeOf });
  await waitForReady(cluster.resolver, 'backend:80', 3);
  return { cluster, pods };
}

function meshOn(t: ExecutionContext, source: KubernetesSource, context: Record<string, unknown>) {
  const mesh = new Mesh({
    source,
    context: { namespace: 'shop', resolvConf: '', env: {}, podIP: '127.0.0.1', ...context },
  });
  t.teardown(() => mesh.close());
  return mesh;
}

const nodeReads = (cluster: { api: { requests: readonly { path: string }[] } }) =>
  cluster.api.requests.filter((r) => r.path.startsWith('/api/v1/nodes/')).map((r) => r.path);

test('NODE_NAME alone: the zone comes from the Node, and PreferClose keeps requests in it', async (t) => {
  const { cluster, pods } = await zonedCluster(t, 231);
  const mesh = meshOn(t, cluster.source, { nodeName: 'node-b' });
  t.is((await mesh.context()).zone, 'zone-b');
  t.deepEqual(nodeReads(cluster), ['/api/v1/nodes/node-b']);

  const report = await mesh.endpoints('http://backend');
  t.deepEqual(
    report.endpoints.filter((e) => e.eligible).map((e) => e.endpoint.address),
    [pods[1]!.host],
  );
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const res = await request('http://backend/', { dispatcher: mesh.dispatcher });
    seen.add(((await res.body.json()) as { pod: string }).pod);
  }
  t.deepEqual([...seen], ['backend-2']);
});

test('a zone given explicitly is kept and the Node is not read', async (t) => {
  const { cluster } = await zonedCluster(t, 232);
  const mesh = meshOn(t, cluster.source, { nodeName: 'node-b', zone: 'zone-c' });
  t.is((await mesh.context()).zone, 'zone-c');
  const viaEnv = meshOn(t, cluster.source, { env: { NODE_NAME: 'node-b', NODE_ZONE: 'zone-a' } });
  t.is((await viaEnv.context()).zone, 'zone-a');
  t.deepEqual(nodeReads(cluster), []);
});

test('Nodes not readable (403), missing, or unlabelled: no zone, no filtering, the mesh works', async (t) => {
  const { cluster, pods } = await zonedCluster(t, 233);
  cluster.api.failNext({ status: 403, path: /^\/api\/v1\/nodes\// });
  const forbidden = meshOn(t, cluster.source, { nodeName: 'node-b' });
  const context = await forbidden.context();
  t.is(context.zone, undefined);
  t.is(context.nodeName, 'node-b');
  const report = await forbidden.endpoints('http://backend');
  t.is(report.endpoints.filter((e) => e.eligible).length, pods.length);

  const missing = meshOn(t, cluster.source, { nodeName: 'node-x' });
  t.is((await missing.context()).zone, undefined);

  cluster.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-bare' } });
  const bare = meshOn(t, cluster.source, { nodeName: 'node-bare' });
  t.is((await bare.context()).zone, undefined);
  t.deepEqual(nodeReads(cluster), ['/api/v1/nodes/node-b', '/api/v1/nodes/node-x', '/api/v1/nodes/node-bare']);
});

test('closing the mesh while the Node read hangs ends it at once: the context comes without a zone', async (t) => {
  const { cluster } = await zonedCluster(t, 235);
  const stall = cluster.api.stall({ path: /^\/api\/v1\/nodes\// });
  t.teardown(() => stall.release());
  const mesh = meshOn(t, cluster.source, { nodeName: 'node-b' });
  const context = mesh.context();
  await stall.waitForStalled();
  await mesh.close();
  t.is((await context).zone, undefined);
});
