// A first request to a host waits for the cluster context and its Service's first answer. It is in flight
// all that time: close() lets it through, destroy() ends it with the destroy error, and the route table's
// bound never strands it.

import diagnosticsChannel from 'node:diagnostics_channel';
import { type ClusterContext, type EndpointSource, Resolver } from '@clusterip/resolver';
import { Mesh, type MeshOptions } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { gatedSource } from '../helpers/gated-source.js';
import { createHttpTestServer, createPods, shopSource, waitForReady } from '../helpers/http-test-server.js';

const context = { namespace: 'shop', resolvConf: '', env: {} };

function meshOver(t: ExecutionContext, source: EndpointSource, options: MeshOptions = {}): Mesh {
  const mesh = new Mesh({ source, context, ...options });
  t.teardown(async () => {
    await mesh.destroy();
    await source.close();
  });
  return mesh;
}

const settle = (mesh: Mesh, url: string) =>
  request(url, { dispatcher: mesh.dispatcher }).then(
    async (res) => ({ status: res.statusCode, body: await res.body.text() }),
    (error: { code?: string; name?: string }) => ({ code: error.code, name: error.name }),
  );

test('close() while a request waits for its Service: the request is answered once discovery answers; later ones fail with ClosedError', async (t) => {
  const pod = await createHttpTestServer(t, { host: '127.0.253.1', name: 'web-1' });
  const source = gatedSource(shopSource({ web: [pod] }));
  const mesh = meshOver(t, source);
  const waiting = settle(mesh, 'http://web/');
  await source.watching;
  const closing = mesh.close();
  t.like(await settle(mesh, 'http://web/'), { code: 'CLUSTERIP_ERR_CLOSED' }, 'no new request once close() came');
  source.open();
  await closing;
  t.like(await waiting, { status: 200 });
  t.is(pod.requests, 1);
});

test("destroy() while close() waits for a Service's first answer: close() resolves too, the request fails with the destroy error", async (t) => {
  const source = gatedSource(shopSource({}));
  const mesh = meshOver(t, source);
  const waiting = settle(mesh, 'http://web/');
  await source.watching;
  const closing = mesh.close();
  const reason = Object.assign(new Error('shutting down'), { code: 'APP_SHUTDOWN' });
  await mesh.destroy(reason);
  t.like(await waiting, { code: 'APP_SHUTDOWN' });
  // The usual shutdown: close(), and destroy() when it takes too long. Was: UND_ERR_DESTROYED.
  await t.notThrowsAsync(closing);
});

test('close() while a request waits for the cluster context (its Node read hangs): the request is routed', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'backend' },
    spec: { selector: { app: 'backend' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  await createPods(t, cluster, { app: 'backend', count: 1, subnet: 253, first: 2 });
  await waitForReady(cluster.resolver, 'backend:80', 1);
  const stall = cluster.api.stall({ path: /^\/api\/v1\/nodes\// });
  t.teardown(() => stall.release());
  const mesh = new Mesh({ source: cluster.source, context: { ...context, nodeName: 'node-a' } });
  t.teardown(() => mesh.destroy());
  const waiting = settle(mesh, 'http://backend/');
  await stall.waitForStalled();
  await mesh.close(); // aborts the Node read: the context comes without a zone
  t.like(await waiting, { status: 200 });
});

test('destroy() while a request waits for the cluster context: it fails with the destroy error', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  const stall = cluster.api.stall({ path: /^\/api\/v1\/nodes\// });
  t.teardown(() => stall.release());
  const mesh = new Mesh({ source: cluster.source, context: { ...context, nodeName: 'node-a' } });
  const waiting = settle(mesh, 'http://backend/');
  await stall.waitForStalled();
  const reason = Object.assign(new Error('shutting down'), { code: 'APP_SHUTDOWN' });
  await mesh.destroy(reason);
  t.like(await waiting, { code: 'APP_SHUTDOWN' });
});

test('destroy() after close() while a request waits for a cluster context that does not come: both end, the request with the destroy error', async (t) => {
  // A shared Resolver whose context function is still working (a Node read without a signal, a stalled file system).
  let asked: () => void = () => {};
  const contextAsked = new Promise<void>((resolve) => {
    asked = resolve;
  });
  const source = shopSource({});
  const resolver = new Resolver({
    source,
    context: () => {
      asked();
      return new Promise<ClusterContext>(() => {});
    },
  });
  t.teardown(async () => {
    await resolver.close();
    await source.close();
  });
  const mesh = new Mesh({ resolver });
  const waiting = settle(mesh, 'http://web/');
  await contextAsked;
  const closing = mesh.close();
  const reason = Object.assign(new Error('shutting down'), { code: 'APP_SHUTDOWN' });
  await mesh.destroy(reason);
  t.like(await waiting, { code: 'APP_SHUTDOWN' });
  await closing;
});

test('over maxServices, a route whose request waits for its first answer is not evicted: both requests are answered', async (t) => {
  const web = await createHttpTestServer(t, { host: '127.0.253.3', name: 'web-1' });
  const api = await createHttpTestServer(t, { host: '127.0.253.4', name: 'api-1' });
  const source = gatedSource(shopSource({ web: [web], api: [api] }));
  const mesh = meshOver(t, source, { maxServices: 1 });
  const first = settle(mesh, 'http://web/');
  const second = settle(mesh, 'http://api/');
  await source.watching;
  source.open();
  t.deepEqual(
    (await Promise.all([first, second])).map((r) => ('status' in r ? r.status : r.code)),
    [200, 200],
  );
});

test('over maxServices after several routes waited at once: the next new route evicts back to the bound', async (t) => {
  const [a, b, c] = await Promise.all(
    [1, 2, 3].map((i) => createHttpTestServer(t, { host: `127.0.254.${i}`, name: `evict-${i}` })),
  );
  const source = gatedSource(shopSource({ 'evict-a': [a!], 'evict-b': [b!], 'evict-c': [c!] }));
  const mesh = meshOver(t, source, { maxServices: 1 });
  const closed: string[] = [];
  const onRoute = (message: unknown) => {
    const m = message as { route: string; decision: string };
    if (m.decision === 'closed' && m.route.startsWith('evict-')) closed.push(m.route);
  };
  diagnosticsChannel.subscribe('clusterip:mesh:route', onRoute);
  t.teardown(() => diagnosticsChannel.unsubscribe('clusterip:mesh:route', onRoute));
  // Both routes wait for their first answer together: the table is over its bound of 1 for a while.
  const first = [settle(mesh, 'http://evict-a/'), settle(mesh, 'http://evict-b/')];
  await source.watching;
  source.open();
  t.deepEqual(
    (await Promise.all(first)).map((r) => ('status' in r ? r.status : r.code)),
    [200, 200],
  );
  t.deepEqual(closed, []);
  t.like(await settle(mesh, 'http://evict-c/'), { status: 200 });
  t.deepEqual(closed.sort(), ['evict-a:80', 'evict-b:80'], 'both older routes go: one would leave the table over');
});
