import {
  type ClusterContext,
  detectClusterContext,
  KubernetesSource,
  readNodeZone,
  StaticSource,
  withNodeZone,
} from '@clusterip/resolver';
import test, { type ExecutionContext } from 'ava';
import { createFakeKubeApi } from '../../../helpers/fake-kube-api.js';

async function apiWithNode(t: ExecutionContext) {
  const api = await createFakeKubeApi(t);
  api.apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
  });
  const source = new KubernetesSource({ server: api.url });
  t.teardown(() => source.close());
  return { api, source };
}

const nodeReads = (api: { requests: readonly { path: string }[] }) =>
  api.requests.filter((r) => r.path.startsWith('/api/v1/nodes')).length;

const context = (extra: Record<string, string> = {}): Promise<ClusterContext> =>
  detectClusterContext({ namespace: 'shop', resolvConf: '', env: {}, podIP: '10.0.0.1', ...extra });

test('readNodeZone: the label of the Node; undefined for a missing Node, an empty name or a closed source', async (t) => {
  const { api, source } = await apiWithNode(t);
  t.is(await readNodeZone(source, 'node-a'), 'zone-a');
  t.is(await readNodeZone(source, 'node-x'), undefined);
  t.is(await readNodeZone(source, ''), undefined);
  t.is(nodeReads(api), 2, 'no request for an empty name');
  await source.close();
  t.is(await readNodeZone(source, 'node-a'), undefined);
  t.is(nodeReads(api), 2, 'no request on a closed source');
});

test('readNodeZone gives up after timeoutMs, or at once when its signal aborts, and never rejects', async (t) => {
  const { api, source } = await apiWithNode(t);
  const stall = api.stall({ path: /^\/api\/v1\/nodes\// });
  t.teardown(() => stall.release());
  t.is(await readNodeZone(source, 'node-a', { timeoutMs: 50 }), undefined);

  const controller = new AbortController();
  const pending = readNodeZone(source, 'node-a', { signal: controller.signal, timeoutMs: 60_000 });
  await stall.waitForStalled();
  controller.abort();
  t.is(await pending, undefined);
  t.is(await readNodeZone(source, 'node-a', { signal: controller.signal }), undefined, 'aborted before: no request');
});

test('readNodeZone retries what may pass (no connection, 429, 5xx) within its time, and not a 403', async (t) => {
  const { api, source } = await apiWithNode(t);
  const path = /^\/api\/v1\/nodes\//;
  api.failNext({ path, status: 503, count: 2 });
  t.is(await readNodeZone(source, 'node-a'), 'zone-a');
  t.is(nodeReads(api), 3, 'two 503s, then the answer');

  api.disconnectNext({ path });
  api.failNext({ path, status: 429, retryAfterSeconds: 0 });
  t.is(await readNodeZone(source, 'node-a'), 'zone-a');
  t.is(nodeReads(api), 6, 'a dropped connection, a 429, then the answer');

  api.failNext({ path, status: 403 });
  t.is(await readNodeZone(source, 'node-a'), undefined);
  t.is(nodeReads(api), 7, 'forbidden: no second try');

  const failing = api.failNext({ path, status: 500, count: 1000 });
  t.teardown(() => failing.clear());
  t.is(await readNodeZone(source, 'node-a', { timeoutMs: 1500 }), undefined);
  const tries = nodeReads(api) - 7;
  t.true(tries >= 2 && tries <= 5, `retried with back-off (0, 100, 300, 700 ms) until timeoutMs: ${tries} tries`);
});

test("readNodeZone waits out a 429's Retry-After: past its own time, it gives up instead of asking again", async (t) => {
  const { api, source } = await apiWithNode(t);
  const path = /^\/api\/v1\/nodes\//;
  api.failNext({ path, status: 429, retryAfterSeconds: 30 });
  t.is(await readNodeZone(source, 'node-a', { timeoutMs: 500 }), undefined);
  t.is(nodeReads(api), 1, 'no second request before the 30 s the server asked for');
  api.failNext({ path, status: 429, retryAfterSeconds: 0 });
  t.is(await readNodeZone(source, 'node-a', { timeoutMs: 2000 }), 'zone-a', 'Retry-After 0: the usual back-off');
});

test('withNodeZone: fills the zone from the Node only when a node is named and no zone given, with a Kubernetes source', async (t) => {
  const { api, source } = await apiWithNode(t);
  const filled = await withNodeZone(await context({ nodeName: 'node-a' }), source);
  t.is(filled.zone, 'zone-a');
  t.true(Object.isFrozen(filled));
  t.is(filled.nodeName, 'node-a');

  const given = await context({ nodeName: 'node-a', zone: 'zone-z' });
  t.is(await withNodeZone(given, source), given, 'an explicit zone is kept, the context returned as is');
  const noNode = await context();
  t.is(await withNodeZone(noNode, source), noNode);
  const other = await context({ nodeName: 'node-a' });
  t.is(await withNodeZone(other, new StaticSource([])), other, 'not a Kubernetes source: nothing to read');
  t.is(nodeReads(api), 1);
});
