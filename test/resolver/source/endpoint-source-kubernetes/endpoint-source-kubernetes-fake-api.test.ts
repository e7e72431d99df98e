import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EndpointSet, type KubernetesSource, type KubernetesSourceOptions, Resolver } from '@clusterip/resolver';
import type { FakeKubernetesApi } from '@clusterip/resolver/testing';
import test, { type ExecutionContext } from 'ava';
import { createFakeKubeApi } from '../../../helpers/fake-kube-api.js';
import { EventLog, isReset, isUpdate } from './scripted-api.js';
import { testSource } from './test-source.js';

const NS = 'shop';

const source = (t: ExecutionContext, api: FakeKubernetesApi, extra: Partial<KubernetesSourceOptions> = {}) =>
  testSource(t, api.url, extra);

function watch(t: ExecutionContext, src: KubernetesSource, svc: string, port?: string | number): EventLog {
  const log = new EventLog();
  const w = src.watch(
    { fqdn: `${svc}.${NS}.svc.cluster.local.`, name: { kind: 'service', namespace: NS, service: svc }, port },
    log.listener,
  );
  t.teardown(() => w.close());
  return log;
}

function applyService(api: FakeKubernetesApi, name: string) {
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
}

function applyPod(api: FakeKubernetesApi, app: string, i: number, ready = true) {
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${app}-${i}`, namespace: NS, labels: { app } },
    spec: { nodeName: 'node-a', containers: [{ name: 'app', image: app, ports: [{ containerPort: 8080 }] }] },
    status: {
      phase: 'Running',
      podIP: `10.${Math.floor(i / 250) + 1}.0.${(i % 250) + 1}`,
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  });
}

const watchesOf = (api: FakeKubernetesApi, kind: string) =>
  api.waitForWatches({ kind, namespace: NS }, 1, { signal: AbortSignal.timeout(5000) });
const lists = (api: FakeKubernetesApi, re: RegExp) => api.requests.filter((r) => !r.watch && re.test(r.path)).length;

test('controller-made slices over >100 pods: merged reset, then incremental changes', async (t) => {
  const api = await createFakeKubeApi(t);
  applyService(api, 'web');
  for (let i = 0; i < 130; i++) applyPod(api, 'web', i);
  t.true(api.list('EndpointSlice', { namespace: NS }).length >= 2, 'the controller split the endpoints');
  const src = source(t, api);
  const log = watch(t, src, 'web', 'http');
  let set = EndpointSet.empty();
  const first = await log.next(isUpdate);
  if (first.type === 'update') set = set.apply(first.update);
  t.is(set.size, 130);
  t.true(set.endpoints.every((e) => e.port === 8080 && e.nodeName === 'node-a'));
  await watchesOf(api, 'EndpointSlice');
  applyPod(api, 'web', 5, false);
  const changed = await log.next(isUpdate);
  t.like(changed, { type: 'update', update: { type: 'add' } });
  if (changed.type === 'update') set = set.apply(changed.update);
  t.false(set.get('10.1.0.6:8080')?.conditions.ready);
  api.delete('Pod', NS, 'web-7');
  const removed = await log.next(isUpdate);
  t.deepEqual(removed, { type: 'update', update: { type: 'remove', keys: ['10.1.0.8:8080'] } });
});

test('expired watch (ERROR 410) → relist; dropped watch → re-watch without relist (request log)', async (t) => {
  const api = await createFakeKubeApi(t);
  applyService(api, 'web');
  applyPod(api, 'web', 1);
  const src = source(t, api);
  const log = watch(t, src, 'web');
  await log.next(isReset);
  await watchesOf(api, 'EndpointSlice');
  t.is(lists(api, /endpointslices$/), 1);
  api.clearRequests();
  t.is(api.dropWatches({ kind: 'EndpointSlice' }), 1);
  const rewatch = await api.waitForRequest(
    { path: /endpointslices$/, watch: true },
    { signal: AbortSignal.timeout(5000) },
  );
  t.truthy(rewatch.query.resourceVersion);
  t.is(lists(api, /endpointslices$/), 0, 'clean end: re-watch from the last RV, no relist');
  await watchesOf(api, 'EndpointSlice');
  api.expireWatches({ kind: 'EndpointSlice' });
  const reset = await log.next(isUpdate);
  t.true(isReset(reset));
  t.is(lists(api, /endpointslices$/), 1, '410: relisted');
  t.false(log.events.some((e) => e.type === 'stale'));
});

test('API failing for a while → stale but served; recovery → reset', async (t) => {
  const api = await createFakeKubeApi(t);
  applyService(api, 'web');
  applyPod(api, 'web', 1);
  const src = source(t, api);
  const log = watch(t, src, 'web');
  await log.next(isReset);
  await watchesOf(api, 'EndpointSlice');
  const fault = api.failNext({ status: 503, count: 5, path: /endpointslices$/ });
  api.disconnectWatches({ kind: 'EndpointSlice' });
  const stale = await log.next((e) => e.type === 'stale');
  t.is(stale.type === 'stale' ? stale.error.code : '', 'CLUSTERIP_ERR_WATCH_FAILED');
  const reset = await log.next(isUpdate);
  t.true(isReset(reset));
  t.is(fault.remaining, 0);
  t.is(log.events.filter(isUpdate).length, 2);
});

test('rotated token file: picked up after a 401 and after the refresh period', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-tok-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  await writeFile(file, 'one');
  const api = await createFakeKubeApi(t, { token: 'one' });
  applyService(api, 'web');
  let now = 0;
  const src = source(t, api, { tokenFile: file, now: () => now });
  const log = watch(t, src, 'web');
  await log.next(isReset);
  await watchesOf(api, 'Service');
  api.clearRequests();
  // Rotation: the server accepts only the new token; the client's cached one gets a 401 → re-read.
  await writeFile(file, 'two');
  api.setToken('two');
  api.dropWatches({ kind: 'Service' });
  await api.waitForWatches({ kind: 'Service', namespace: NS }, 1, { signal: AbortSignal.timeout(5000) });
  const afterDrop = api.requests.filter((r) => /services$/.test(r.path));
  // The re-watch with the cached token got a 401; the immediate retry with the re-read token opened.
  t.deepEqual(
    afterDrop.map((r) => r.watch),
    [true, true],
  );
  // Periodic re-read: the file changes, the clock passes the period, the next request uses it.
  await writeFile(file, 'three');
  now += 60_000;
  api.setToken('three');
  const before = api.requests.length;
  api.dropWatches({ kind: 'Service' });
  await api.waitForWatches({ kind: 'Service', namespace: NS }, 1, { signal: AbortSignal.timeout(5000) });
  const next = api.requests.slice(before).filter((r) => /services$/.test(r.path));
  t.is(next.length, 1, 'no 401: the new token was read before the request');
  t.false(log.events.some((e) => e.type === 'stale'));
});

test('Service deleted and recreated (controller slices go and come back)', async (t) => {
  const api = await createFakeKubeApi(t);
  applyService(api, 'web');
  applyPod(api, 'web', 1);
  const src = source(t, api);
  const log = watch(t, src, 'web');
  await log.next(isReset);
  await watchesOf(api, 'Service');
  api.delete('Service', NS, 'web');
  // The owned slices are deleted too, on another stream: their events may come first.
  const gone = await log.next((e) => e.type === 'update' && e.update.type === 'not-found');
  t.like(gone, { type: 'update', update: { type: 'not-found', reason: 'nxdomain' } });
  applyService(api, 'web');
  let set = EndpointSet.empty();
  for (;;) {
    const e = await log.next(isUpdate);
    if (e.type === 'update') set = set.apply(e.update);
    if (set.size === 1) break;
  }
  t.is(set.endpoints[0]?.address, '10.1.0.2');
});

test('an EndpointSlice relabelled to another Service leaves the first one', async (t) => {
  const api = await createFakeKubeApi(t, { endpointSliceController: false });
  for (const name of ['web', 'other']) {
    api.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: NS },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
  }
  const slice = (service: string) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abc', namespace: NS, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: ['10.1.0.1'] }],
  });
  api.apply(slice('web'));
  const src = source(t, api);
  const log = watch(t, src, 'web', 'http');
  t.like(await log.next(isUpdate), { type: 'update', update: { type: 'reset', endpoints: [{ address: '10.1.0.1' }] } });
  await watchesOf(api, 'EndpointSlice');
  api.apply(slice('other'));
  const moved = await log.next(isUpdate);
  t.like(moved, { type: 'update', update: { type: 'reset', endpoints: [], reason: { code: 'no-endpoint-slices' } } });
});

test('stalled list (server never answers) → stale after the request timeout, no hang', async (t) => {
  const api = await createFakeKubeApi(t);
  applyService(api, 'web');
  const stall = api.stall({ path: /endpointslices$/, watch: false, count: 1 });
  const src = source(t, api, { requestTimeoutMs: 150 });
  const log = watch(t, src, 'web');
  await stall.waitForStalled();
  t.is((await log.next()).type, 'stale');
  t.true(isReset(await log.next(isUpdate)));
});

test('headless Service without ports: address-only endpoints (port 0) without a port, port-not-found with one', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db', namespace: NS },
    spec: { clusterIP: 'None', selector: { app: 'db' } },
  });
  applyPod(api, 'db', 1);
  applyPod(api, 'db', 2);
  const slices = api.list('EndpointSlice', { namespace: NS, labelSelector: 'kubernetes.io/service-name=db' });
  t.deepEqual(
    slices.map((s) => (s as { ports?: unknown }).ports),
    [[]],
    'the controller writes ports: [] for a portless headless Service',
  );
  const src = source(t, api);

  const bare = watch(t, src, 'db');
  let set = EndpointSet.empty();
  const first = await bare.next(isUpdate);
  t.true(isReset(first));
  if (first.type === 'update') set = set.apply(first.update);
  t.deepEqual(
    set.endpoints.map((e) => [e.address, e.port]),
    [
      ['10.1.0.2', 0],
      ['10.1.0.3', 0],
    ],
  );
  t.is(first.type === 'update' && first.update.type === 'reset' ? first.update.reason : 'none', undefined);

  // Incremental changes keep working on the address-only view.
  await watchesOf(api, 'EndpointSlice');
  applyPod(api, 'db', 3);
  const added = await bare.next(isUpdate);
  if (added.type === 'update') set = set.apply(added.update);
  t.like(added, { type: 'update', update: { type: 'add' } });
  t.deepEqual(
    set.endpoints.map((e) => `${e.address}:${e.port}`),
    ['10.1.0.2:0', '10.1.0.3:0', '10.1.0.4:0'],
  );

  // One endpoint by its dashed-IP name, no port: that address only.
  const one = new EventLog();
  const w = src.watch(
    {
      fqdn: `10-1-0-3.db.${NS}.svc.cluster.local.`,
      name: { kind: 'endpoint', namespace: NS, service: 'db', hostname: '10-1-0-3' },
    },
    one.listener,
  );
  t.teardown(() => w.close());
  const single = await one.next(isUpdate);
  t.deepEqual(
    single.type === 'update' && single.update.type === 'reset' ? single.update.endpoints.map((e) => e.port) : [],
    [0],
  );

  // A port asked of a Service that has none: the name exists, the port does not.
  const withPort = watch(t, src, 'db', 5432);
  const refused = await withPort.next(isUpdate);
  t.like(refused, { type: 'update', update: { type: 'reset', endpoints: [], reason: { code: 'port-not-found' } } });

  // Through the Resolver, as a caller would see it.
  const resolver = new Resolver({ source: src, context: { namespace: NS } });
  t.teardown(() => resolver.close());
  const snapshot = await resolver.resolve('db');
  t.deepEqual(
    snapshot.endpoints.map((e) => `${e.address}:${e.port}`),
    ['10.1.0.2:0', '10.1.0.3:0', '10.1.0.4:0'],
  );
  const portSnapshot = await resolver.resolve('db:5432');
  t.is(portSnapshot.endpoints.length, 0);
  t.is(portSnapshot.reason?.code, 'port-not-found');
});
