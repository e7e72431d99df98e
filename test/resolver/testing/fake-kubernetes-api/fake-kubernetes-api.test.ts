import { isClusterIPError } from '@clusterip/resolver';
import { FakeKubernetesApi } from '@clusterip/resolver/testing';
import test from 'ava';
import { createFakeKubeApi } from '../../../helpers/fake-kube-api.js';
import { call, watch } from './http-client.js';

const SVC = '/api/v1/namespaces/default/services';
const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';

function service(name: string, labels: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', labels },
    spec: { ports: [{ port: 80 }] },
  };
}

function slice(name: string, service: string, address: string) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address] }],
    ports: [{ name: 'http', port: 8080 }],
  };
}

test('discovery documents, /version and health answer like the real server', async (t) => {
  const api = await createFakeKubeApi(t, { kubernetesVersion: 'v1.31.9' });
  const version = await call(`${api.url}/version`);
  t.is(version.body.minor, '31');
  t.is(version.body.gitVersion, 'v1.31.9');
  t.deepEqual((await call(`${api.url}/api`)).body.versions, ['v1']);
  const groups = await call(`${api.url}/apis`);
  t.is(groups.body.kind, 'APIGroupList');
  t.is(groups.body.groups[0].name, 'discovery.k8s.io');
  const core = await call(`${api.url}/api/v1`);
  t.true(core.body.resources.some((r: { name: string }) => r.name === 'services'));
  t.true(core.body.resources.some((r: { name: string }) => r.name === 'pods/status'));
  const discovery = await call(`${api.url}/apis/discovery.k8s.io/v1`);
  t.is(discovery.body.resources[0].kind, 'EndpointSlice');
  const aggregated = await call(`${api.url}/apis`, {
    headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' },
  });
  t.is(aggregated.body.kind, 'APIGroupDiscoveryList');
  t.regex(String(aggregated.headers['content-type']), /as=APIGroupDiscoveryList/);
  t.is((await call(`${api.url}/healthz`)).text, 'ok');
});

test('unknown paths and methods answer Status objects', async (t) => {
  const api = await createFakeKubeApi(t);
  const missing = await call(`${api.url}/api/v1/namespaces/default/widgets`);
  t.is(missing.status, 404);
  t.is(missing.body.kind, 'Status');
  t.is(missing.body.reason, 'NotFound');
  const other = await call(`${api.url}/nothing/here`);
  t.is(other.status, 404);
  t.is(other.body.kind, 'Status');
  const method = await call(`${api.url}${SVC}`, { method: 'PUT', body: {} });
  t.is(method.status, 405);
  t.is(method.body.reason, 'MethodNotAllowed');
});

test('malformed bodies answer 400, oversized ones 413', async (t) => {
  const api = await createFakeKubeApi(t, { maxBodyBytes: 1000 });
  const bad = await call(`${api.url}${SVC}`, { method: 'POST', rawBody: '{"kind": "Serv' });
  t.is(bad.status, 400);
  t.is(bad.body.reason, 'BadRequest');
  const big = await call(`${api.url}${SVC}`, { method: 'POST', rawBody: JSON.stringify({ pad: 'x'.repeat(2000) }) });
  t.is(big.status, 413);
  const wrongKind = await call(`${api.url}${SVC}`, {
    method: 'POST',
    body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } },
  });
  t.is(wrongKind.status, 400);
});

test('create applies Service defaults, uid, timestamps and a ClusterIP from the range', async (t) => {
  const api = await createFakeKubeApi(t, {
    serviceClusterIPRange: '10.100.0.0/24',
    now: () => Date.UTC(2025, 0, 2, 3, 4, 5, 678),
  });
  const res = await call(`${api.url}${SVC}`, {
    method: 'POST',
    body: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80 }] },
    },
  });
  t.is(res.status, 201);
  const spec = res.body.spec;
  t.is(spec.type, 'ClusterIP');
  t.deepEqual(spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
  t.is(spec.sessionAffinityConfig.clientIP.timeoutSeconds, 10800);
  t.is(spec.internalTrafficPolicy, 'Cluster');
  t.regex(spec.clusterIP, /^10\.100\.0\.\d+$/);
  t.deepEqual(spec.clusterIPs, [spec.clusterIP]);
  t.deepEqual(spec.ipFamilies, ['IPv4']);
  t.is(res.body.metadata.creationTimestamp, '2025-01-02T03:04:05Z');
  t.is(res.body.metadata.generation, 1);
  t.regex(res.body.metadata.uid, /^[0-9a-f-]{36}$/);
  t.is(typeof res.body.metadata.resourceVersion, 'string');
  const again = await call(`${api.url}${SVC}`, {
    method: 'POST',
    body: { metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } },
  });
  t.is(again.status, 409);
  t.is(again.body.reason, 'AlreadyExists');
  t.is(again.body.message, 'services "web" already exists');
});

test('invalid objects answer 422 Invalid with field causes', async (t) => {
  const api = await createFakeKubeApi(t);
  const noPorts = await call(`${api.url}${SVC}`, { method: 'POST', body: { metadata: { name: 'web' }, spec: {} } });
  t.is(noPorts.status, 422);
  t.is(noPorts.body.reason, 'Invalid');
  t.is(noPorts.body.message, 'Service "web" is invalid: spec.ports: Required value');
  t.is(noPorts.body.details.causes[0].field, 'spec.ports');
  const badSlice = await call(`${api.url}${SLICES}`, {
    method: 'POST',
    body: { metadata: { name: 's' }, endpoints: [] },
  });
  t.is(badSlice.status, 422);
  t.is(badSlice.body.details.causes[0].field, 'addressType');
  const badAffinity = await call(`${api.url}${SVC}`, {
    method: 'POST',
    body: {
      metadata: { name: 'a' },
      spec: {
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } },
        ports: [{ port: 1 }],
      },
    },
  });
  t.is(badAffinity.status, 422);
  const noNamespace = await call(`${api.url}/api/v1/namespaces/nope/services`, { method: 'POST', body: service('x') });
  t.is(noNamespace.status, 404);
  t.is(noNamespace.body.message, 'namespaces "nope" not found');
});

test('get, update with resourceVersion precondition (409), patch flavours and delete', async (t) => {
  const api = await createFakeKubeApi(t);
  const created = api.apply(service('web'));
  const url = `${api.url}${SVC}/web`;
  t.is((await call(url)).body.metadata.uid, created.metadata?.uid);
  const stale = await call(url, {
    method: 'PUT',
    body: { ...created, metadata: { ...created.metadata, resourceVersion: '1' } },
  });
  t.is(stale.status, 409);
  t.is(stale.body.reason, 'Conflict');
  const put = await call(url, { method: 'PUT', body: { ...created, spec: { ports: [{ port: 81 }] } } });
  t.is(put.status, 200);
  t.is(
    put.body.spec.clusterIP,
    (created.spec as { clusterIP?: string }).clusterIP,
    'an update keeps the allocated ClusterIP',
  );
  t.is(put.body.metadata.generation, 2);
  t.not(put.body.metadata.resourceVersion, created.metadata?.resourceVersion);
  const merge = await call(url, {
    method: 'PATCH',
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels: { a: 'b' } } },
  });
  t.deepEqual(merge.body.metadata.labels, { a: 'b' });
  t.is(merge.body.metadata.generation, 2, 'metadata-only changes keep the generation');
  const smp = await call(url, {
    method: 'PATCH',
    contentType: 'application/strategic-merge-patch+json',
    body: {
      spec: {
        ports: [
          { port: 82, name: 'b' },
          { port: 81, name: 'a' },
        ],
      },
    },
  });
  t.deepEqual(
    smp.body.spec.ports.map((p: { port: number }) => p.port),
    [81, 82],
    'strategic merge merges ports by their merge key',
  );
  const json = await call(url, {
    method: 'PATCH',
    contentType: 'application/json-patch+json',
    body: [{ op: 'remove', path: '/metadata/labels/a' }],
  });
  t.deepEqual(json.body.metadata.labels, {});
  const unknown = await call(url, { method: 'PATCH', contentType: 'text/plain', rawBody: '{}' });
  t.is(unknown.status, 415);
  const deleted = await call(url, { method: 'DELETE' });
  t.is(deleted.status, 200);
  const gone = await call(url);
  t.is(gone.status, 404);
  t.is(gone.body.message, 'services "web" not found');
  t.is((await call(url, { method: 'DELETE' })).status, 404);
});

test('server-side apply creates, then merges', async (t) => {
  const api = await createFakeKubeApi(t);
  const url = `${api.url}${SVC}/web?fieldManager=test`;
  const first = await call(url, { method: 'PATCH', contentType: 'application/apply-patch+yaml', body: service('web') });
  t.is(first.status, 201);
  const second = await call(url, {
    method: 'PATCH',
    contentType: 'application/apply-patch+yaml',
    body: { ...service('web', { tier: 'front' }) },
  });
  t.is(second.status, 200);
  t.is(second.body.metadata.labels.tier, 'front');
});

test('status subresource writes only status; main-resource writes keep status', async (t) => {
  const api = await createFakeKubeApi(t, { endpointSliceController: false });
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'i' }] },
    status: { phase: 'Running', podIP: '127.0.0.5' },
  });
  const url = `${api.url}/api/v1/namespaces/default/pods/p`;
  const main = await call(url, {
    method: 'PATCH',
    contentType: 'application/merge-patch+json',
    body: { status: { podIP: '127.0.0.6' } },
  });
  t.is(main.body.status.podIP, '127.0.0.5');
  const status = await call(`${url}/status`, {
    method: 'PATCH',
    contentType: 'application/merge-patch+json',
    body: { status: { podIP: '127.0.0.6' } },
  });
  t.is(status.body.status.podIP, '127.0.0.6');
});

test('lists carry a string resourceVersion from one global counter and support paging', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply(service('a'));
  api.apply(service('b'));
  api.apply(service('c'));
  const list = await call(`${api.url}${SVC}`);
  t.is(list.body.kind, 'ServiceList');
  t.is(list.body.metadata.resourceVersion, api.resourceVersion);
  t.deepEqual(
    list.body.items.map((s: { metadata: { name: string } }) => s.metadata.name),
    ['a', 'b', 'c'],
  );
  t.is(list.body.items[0].kind, undefined, 'typed list items carry no kind on the wire');
  const page1 = await call(`${api.url}${SVC}?limit=2`);
  t.is(page1.body.items.length, 2);
  t.is(page1.body.metadata.remainingItemCount, 1);
  const page2 = await call(`${api.url}${SVC}?limit=2&continue=${page1.body.metadata.continue}`);
  t.deepEqual(
    page2.body.items.map((s: { metadata: { name: string } }) => s.metadata.name),
    ['c'],
  );
  const all = await call(`${api.url}/api/v1/services`);
  t.is(all.body.items.length, 3);
  api.apply({ ...service('d'), metadata: { name: 'd', namespace: 'other' } });
  t.is((await call(`${api.url}/api/v1/services`)).body.items.length, 4);
  t.is((await call(`${api.url}/api/v1/namespaces/other/services`)).body.items.length, 1);
});

test('label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors filter lists', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply(service('a', { app: 'web', tier: 'front' }));
  api.apply(service('b', { app: 'web' }));
  api.apply(service('c', { app: 'db' }));
  const names = async (query: string) =>
    (await call(`${api.url}${SVC}?${query}`)).body.items.map((s: { metadata: { name: string } }) => s.metadata.name);
  t.deepEqual(await names('labelSelector=app%3Dweb'), ['a', 'b']);
  t.deepEqual(await names('labelSelector=app%3D%3Dweb'), ['a', 'b']);
  t.deepEqual(await names('labelSelector=app!%3Dweb'), ['c']);
  t.deepEqual(await names('labelSelector=app%20in%20(db,x)'), ['c']);
  t.deepEqual(await names('labelSelector=app%20notin%20(db)'), ['a', 'b']);
  t.deepEqual(await names('labelSelector=tier'), ['a']);
  t.deepEqual(await names('labelSelector=!tier'), ['b', 'c']);
  t.deepEqual(await names('labelSelector=app%3Dweb,!tier'), ['b']);
  t.deepEqual(await names('fieldSelector=metadata.name%3Db'), ['b']);
  t.deepEqual(await names('fieldSelector=metadata.name!%3Db,metadata.namespace%3Ddefault'), ['a', 'c']);
  const bad = await call(`${api.url}${SVC}?labelSelector=app%20in%20(`);
  t.is(bad.status, 400);
  const badField = await call(`${api.url}${SVC}?fieldSelector=spec.foo%3D1`);
  t.is(badField.status, 400);
  t.is(badField.body.message, 'field label not supported: spec.foo');
});

test('watch resumes from a resourceVersion and streams ADDED/MODIFIED/DELETED as NDJSON', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply(slice('s1', 'web', '127.0.0.2'));
  const list = await call(`${api.url}${SLICES}`);
  const rv = list.body.metadata.resourceVersion;
  api.apply(slice('s2', 'web', '127.0.0.3'));
  const w = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${rv}`);
  t.teardown(() => w.close());
  t.is(w.status, 200);
  t.regex(String(w.headers['transfer-encoding']), /chunked/);
  const added = await w.next();
  t.like(added, { type: 'ADDED', object: { metadata: { name: 's2' } } });
  if (typeof added === 'object') {
    t.is(added.object.kind, 'EndpointSlice');
    t.is(added.object.apiVersion, 'discovery.k8s.io/v1');
  }
  api.apply({ ...slice('s1', 'web', '127.0.0.9') });
  t.like(await w.next(), { type: 'MODIFIED', object: { endpoints: [{ addresses: ['127.0.0.9'] }] } });
  api.delete('EndpointSlice', 'default', 's2');
  const deleted = await w.next();
  t.like(deleted, { type: 'DELETED', object: { metadata: { name: 's2' } } });
  if (typeof deleted === 'object') t.is(deleted.object.metadata.resourceVersion, api.resourceVersion);
});

test('watch without resourceVersion sends the current state as ADDED first', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply(slice('s1', 'web', '127.0.0.2'));
  const w = await watch(`${api.url}${SLICES}?watch=true`);
  t.teardown(() => w.close());
  t.like(await w.next(), { type: 'ADDED', object: { metadata: { name: 's1' } } });
});

test('sendInitialEvents ends the initial state with an annotated BOOKMARK', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply(slice('s1', 'web', '127.0.0.2'));
  const w = await watch(
    `${api.url}${SLICES}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
  );
  t.teardown(() => w.close());
  t.like(await w.next(), { type: 'ADDED' });
  t.like(await w.next(), {
    type: 'BOOKMARK',
    object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } },
  });
});

test('watch selectors turn label changes into ADDED and DELETED', async (t) => {
  const api = await createFakeKubeApi(t);
  const rv = api.resourceVersion;
  const w = await watch(
    `${api.url}${SLICES}?watch=1&resourceVersion=${rv}&labelSelector=kubernetes.io%2Fservice-name%3Dweb`,
  );
  t.teardown(() => w.close());
  api.apply(slice('s1', 'other', '127.0.0.2'));
  api.apply(slice('s1', 'web', '127.0.0.2'));
  t.like(await w.next(), { type: 'ADDED', object: { metadata: { name: 's1' } } });
  api.apply(slice('s1', 'other', '127.0.0.2'));
  // As the watch cache: the content the watcher knew (still labelled web), at the change's resourceVersion.
  t.like(await w.next(), {
    type: 'DELETED',
    object: {
      metadata: {
        name: 's1',
        labels: { 'kubernetes.io/service-name': 'web' },
        resourceVersion: api.resourceVersion,
      },
    },
  });
  const fw = await watch(
    `${api.url}${SLICES}?watch=1&resourceVersion=${api.resourceVersion}&fieldSelector=metadata.name%3Ds2`,
  );
  t.teardown(() => fw.close());
  api.apply(slice('s3', 'web', '127.0.0.3'));
  api.apply(slice('s2', 'web', '127.0.0.3'));
  t.like(await fw.next(), { type: 'ADDED', object: { metadata: { name: 's2' } } });
});

test('bookmarks go out periodically and before the watch timeout', async (t) => {
  const api = await createFakeKubeApi(t, { bookmarkIntervalMs: 20 });
  const w = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${api.resourceVersion}&allowWatchBookmarks=true`);
  t.teardown(() => w.close());
  api.apply(slice('s1', 'web', '127.0.0.2'));
  // A periodic bookmark may already have gone out before the change: skip to the ADDED event.
  let event = await w.next();
  while (typeof event === 'object' && event.type === 'BOOKMARK') event = await w.next();
  t.like(event, { type: 'ADDED' });
  const bookmark = await w.next();
  t.like(bookmark, { type: 'BOOKMARK', object: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1' } });
  if (typeof bookmark === 'object') t.is(bookmark.object.metadata.resourceVersion, api.resourceVersion);
  const short = await watch(
    `${api.url}${SLICES}?watch=1&resourceVersion=${api.resourceVersion}&allowWatchBookmarks=true&timeoutSeconds=1`,
  );
  t.teardown(() => short.close());
  api.sendBookmarks();
  const { events, end } = await short.rest();
  t.is(end, 'end', 'the timeout ends the stream cleanly');
  t.true(events.length >= 2);
  t.is(events[events.length - 1]?.type, 'BOOKMARK', 'a bookmark precedes the timeout');
});

test('no bookmarks unless the client allows them', async (t) => {
  const api = await createFakeKubeApi(t, { bookmarkIntervalMs: 5 });
  const w = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${api.resourceVersion}&timeoutSeconds=1`);
  t.is(api.sendBookmarks(), 0);
  const { events, end } = await w.rest();
  t.is(end, 'end');
  t.deepEqual(events, []);
});

test('a watch from a compacted resourceVersion gets HTTP 410 Expired', async (t) => {
  const api = await createFakeKubeApi(t, { historySize: 2 });
  const rv = api.resourceVersion;
  api.apply(slice('s1', 'web', '127.0.0.2'));
  api.apply(slice('s2', 'web', '127.0.0.3'));
  const within = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${rv}`);
  within.close();
  t.is(within.status, 200, 'still within history');
  api.apply(slice('s3', 'web', '127.0.0.4'));
  const res = await call(`${api.url}${SLICES}?watch=1&resourceVersion=${rv}`);
  t.is(res.status, 410);
  t.is(res.body.reason, 'Expired');
  t.is(res.body.code, 410);
  const current = api.resourceVersion;
  api.compactHistory();
  const fresh = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${current}&timeoutSeconds=1`);
  t.is(fresh.status, 200, 'the current resourceVersion survives compaction');
  fresh.close();
  api.apply(slice('s4', 'web', '127.0.0.5'));
  t.is((await call(`${api.url}${SLICES}?watch=1&resourceVersion=${Number(current) - 1}`)).status, 410);
  const resumed = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${current}`);
  t.teardown(() => resumed.close());
  t.like(await resumed.next(), { type: 'ADDED', object: { metadata: { name: 's4' } } });
});

test('expiredWatchResponse: event answers a too-old watch with an ERROR event', async (t) => {
  const api = await createFakeKubeApi(t, { expiredWatchResponse: 'event' });
  const rv = api.resourceVersion;
  api.apply(slice('s1', 'web', '127.0.0.2'));
  api.compactHistory();
  const w = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${rv}`);
  t.is(w.status, 200);
  const { events, end } = await w.rest();
  t.is(end, 'end');
  t.like(events, [{ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } }]);
});

test('expireWatches sends ERROR 410 mid-stream', async (t) => {
  const api = await createFakeKubeApi(t);
  const w = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${api.resourceVersion}`);
  await api.waitForWatches({ kind: 'EndpointSlice' });
  api.apply(slice('s1', 'web', '127.0.0.2'));
  t.is(api.expireWatches({ kind: 'EndpointSlice' }), 1);
  const { events, end } = await w.rest();
  t.is(end, 'end');
  t.like(events, [{ type: 'ADDED' }, { type: 'ERROR', object: { code: 410, reason: 'Expired', status: 'Failure' } }]);
});

test('a watcher that falls behind gets ERROR 410 and is ended', async (t) => {
  const api = await createFakeKubeApi(t, { maxWatchBufferBytes: 1 });
  const w = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${api.resourceVersion}`);
  await api.waitForWatches();
  api.apply(slice('s1', 'web', '127.0.0.2'));
  const { events } = await w.rest();
  t.like(events, [{ type: 'ADDED' }, { type: 'ERROR', object: { code: 410 } }]);
  t.is(api.watches.length, 0);
});

test('bearer-token auth: 401 Status without the token, rotation with setToken', async (t) => {
  const api = await createFakeKubeApi(t, { token: 's3cret' });
  const denied = await call(`${api.url}${SVC}`);
  t.is(denied.status, 401);
  t.like(denied.body, { kind: 'Status', reason: 'Unauthorized', code: 401 });
  t.is((await call(`${api.url}${SVC}`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  t.is((await call(`${api.url}${SVC}`, { headers: { authorization: 'Bearer s3cret' } })).status, 200);
  api.setToken('n3w');
  t.is((await call(`${api.url}${SVC}`, { headers: { authorization: 'Bearer s3cret' } })).status, 401);
  t.is((await call(`${api.url}${SVC}`, { headers: { authorization: 'Bearer n3w' } })).status, 200);
  t.false(JSON.stringify(api.requests).includes('n3w'), 'the request log never holds the token');
  t.true(api.requests.every((r) => r.headers.authorization === undefined));
  t.true(api.requests[api.requests.length - 1]?.authenticated);
  t.false(api.kubeconfig().includes('s3cret'));
  t.true(api.kubeconfig().includes('n3w'));
});

test('failNext answers the next N matching requests with the given Status', async (t) => {
  const api = await createFakeKubeApi(t);
  const fault = api.failNext({ status: 500, count: 2, path: SVC });
  t.is((await call(`${api.url}${SLICES}`)).status, 200, 'other paths are unaffected');
  const first = await call(`${api.url}${SVC}`);
  t.is(first.status, 500);
  t.like(first.body, { kind: 'Status', reason: 'InternalError' });
  t.is(fault.remaining, 1);
  t.is((await call(`${api.url}${SVC}`)).status, 500);
  t.is((await call(`${api.url}${SVC}`)).status, 200);
  api.failNext({ status: 410, watch: true, path: /endpointslices$/ });
  t.is((await call(`${api.url}${SLICES}`)).status, 200, 'watch: true spares lists');
  const gone = await call(`${api.url}${SLICES}?watch=1`);
  t.is(gone.status, 410);
  t.is(gone.body.reason, 'Expired');
  api.failNext({ status: 401 });
  t.is((await call(`${api.url}${SVC}`)).status, 401);
  api.failNext({ status: 429, retryAfterSeconds: 2 });
  const busy = await call(`${api.url}${SVC}`);
  t.is(busy.headers['retry-after'], '2');
  const cleared = api.failNext({ status: 503 });
  cleared.clear();
  t.is((await call(`${api.url}${SVC}`)).status, 200);
  t.throws(() => api.failNext({ status: 200 }), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
});

test('respondNext answers matching requests with a body of the caller, then the store answers again', async (t) => {
  const api = await createFakeKubeApi(t);
  const odd = { kind: 'ServiceList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [{ spec: 7 }] };
  const fault = api.respondNext({ path: SVC, watch: false, body: odd, count: 2 });
  t.is((await call(`${api.url}${SLICES}`)).status, 200, 'other paths are unaffected');
  const first = await call(`${api.url}${SVC}`);
  t.is(first.status, 200);
  t.deepEqual(first.body, odd);
  t.is(fault.remaining, 1);
  t.deepEqual((await call(`${api.url}${SVC}`)).body, odd);
  t.is((await call(`${api.url}${SVC}`)).body.items.length, 0, 'the store again');
  api.respondNext({ path: SVC, body: '{"kind":', status: 200 });
  const truncated = await call(`${api.url}${SVC}`);
  t.is(truncated.text, '{"kind":');
  t.is(truncated.headers['content-type'], 'application/json');
  api.respondNext({ path: SVC, body: 'oops', status: 502, contentType: 'text/plain' });
  const proxy = await call(`${api.url}${SVC}`);
  t.is(proxy.status, 502);
  t.is(proxy.headers['content-type'], 'text/plain');
  t.throws(() => api.respondNext({ body: '', status: 99 }), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
  t.throws(() => api.respondNext({ body: undefined }), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
});

test('matchers by query: failNext for unselected lists only; waitForWatchState waits for watches to end', async (t) => {
  const api = await createFakeKubeApi(t);
  api.failNext({ status: 403, path: SVC, query: { fieldSelector: null, labelSelector: null } });
  t.is((await call(`${api.url}${SVC}?fieldSelector=metadata.name%3Dweb`)).status, 200, 'a selected list is spared');
  t.is((await call(`${api.url}${SVC}`)).status, 403);
  api.failNext({ status: 500, query: { labelSelector: 'app=web' } });
  t.is((await call(`${api.url}${SVC}?labelSelector=app%3Dapi`)).status, 200, 'another value is spared');
  t.is((await call(`${api.url}${SVC}?labelSelector=app%3Dweb`)).status, 500);
  const all = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${api.resourceVersion}`);
  const one = await watch(`${api.url}${SLICES}?watch=1&labelSelector=app%3Dweb&resourceVersion=${api.resourceVersion}`);
  await api.waitForWatchState((open) => open.length === 2);
  t.is(api.dropWatches({ query: { labelSelector: null } }), 1, 'only the unselected watch');
  t.is((await all.rest()).end, 'end');
  await api.waitForWatchState((open) => open.length === 1 && open[0]?.query.labelSelector === 'app=web');
  one.close();
  await api.waitForWatchState((open) => open.length === 0);
  t.is(api.watches.length, 0);
});

test('stall holds requests unanswered until released', async (t) => {
  const api = await createFakeKubeApi(t);
  const stall = api.stall({ path: SVC });
  let answered = false;
  const pending = call(`${api.url}${SVC}`).then((r) => {
    answered = true;
    return r;
  });
  await stall.waitForStalled(1);
  t.is(stall.stalled, 1);
  t.false(answered);
  t.is((await call(`${api.url}${SLICES}`)).status, 200, 'other requests flow');
  stall.release();
  t.is((await pending).status, 200);
  t.is((await call(`${api.url}${SVC}`)).status, 200, 'released rules no longer stall');
});

test('stalled requests are destroyed by close()', async (t) => {
  const api = await FakeKubernetesApi.start();
  const stall = api.stall();
  const pending = call(`${api.url}${SVC}`);
  await stall.waitForStalled();
  await api.close();
  await t.throwsAsync(pending);
});

test('slow delays matching requests; disconnectNext destroys the socket', async (t) => {
  const api = await createFakeKubeApi(t);
  const slow = api.slow({ delayMs: 30, count: 1 });
  const started = performance.now();
  t.is((await call(`${api.url}${SVC}`)).status, 200);
  t.true(performance.now() - started >= 25);
  t.is(slow.remaining, 0);
  api.disconnectNext({ method: 'GET' });
  await t.throwsAsync(call(`${api.url}${SVC}`), { code: 'ECONNRESET' });
  t.is((await call(`${api.url}${SVC}`)).status, 200);
});

test('dropWatches ends streams cleanly; disconnectWatches destroys them', async (t) => {
  const api = await createFakeKubeApi(t);
  const a = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${api.resourceVersion}`);
  const b = await watch(`${api.url}${SVC}?watch=1&resourceVersion=${api.resourceVersion}`);
  await api.waitForWatches({}, 2);
  t.is(api.dropWatches({ kind: 'EndpointSlice' }), 1);
  t.is((await a.rest()).end, 'end');
  t.is(api.watches.length, 1);
  t.is(api.disconnectWatches(), 1);
  t.is((await b.rest()).end, 'error');
  t.is(api.watches.length, 0);
});

test('requests log records method, path, query and headers without Authorization', async (t) => {
  const api = await createFakeKubeApi(t, { requestLogSize: 2 });
  await call(`${api.url}${SLICES}?labelSelector=a%3Db`, {
    headers: { authorization: 'Bearer x', 'user-agent': 'probe/1' },
  });
  const waiting = api.waitForRequest({ method: 'GET', path: SVC, watch: true });
  const w = await watch(`${api.url}${SVC}?watch=true&resourceVersion=5`);
  t.teardown(() => w.close());
  const record = await waiting;
  t.is(record.query.resourceVersion, '5');
  const first = api.requests[0];
  t.is(first?.method, 'GET');
  t.is(first?.path, SLICES);
  t.deepEqual(first?.query, { labelSelector: 'a=b' });
  t.is(first?.headers['user-agent'], 'probe/1');
  t.is(first?.headers.authorization, undefined);
  await call(`${api.url}/version`);
  t.is(api.requests.length, 2, 'the log is bounded');
  api.clearRequests();
  t.is(api.requests.length, 0);
});

test('request records carry the response status: accepted, refused, pending, dropped', async (t) => {
  const api = await createFakeKubeApi(t, { token: 'st4tus' });
  const auth = { authorization: 'Bearer st4tus' };
  const status = (path: string) => api.requests.filter((r) => r.path === path).map((r) => r.status);
  const refused = api.waitForRequest((r) => r.status === 401);
  t.is((await call(`${api.url}${SVC}`)).status, 401);
  t.is((await refused).path, SVC, 'waitForRequest sees a status once the response is out');
  t.is((await call(`${api.url}${SVC}`, { headers: auth })).status, 200);
  t.deepEqual(status(SVC), [401, 200]);
  t.is((await call(`${api.url}/nothing/here`, { headers: auth })).status, 404);
  t.deepEqual(status('/nothing/here'), [404]);
  api.failNext({ status: 503, path: SLICES });
  await call(`${api.url}${SLICES}`, { headers: auth });
  t.deepEqual(status(SLICES), [503], 'injected failures are recorded with their code');
  t.regex(JSON.stringify(api.requests.at(-1)), /"status":503/, 'the status is part of the serialized record');

  // A watch: 200 as soon as the stream is open, and it stays 200 after the stream ends.
  api.clearRequests();
  const w = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${api.resourceVersion}`, { headers: auth });
  t.teardown(() => w.close());
  const opened = await api.waitForRequest((r) => r.watch && r.status === 200);
  t.is(opened.path, SLICES);
  api.dropWatches();
  await w.rest();
  t.is(opened.status, 200);

  // Held requests have no status until they are answered; dropped ones never get one.
  const stall = api.stall({ path: SVC });
  const held = call(`${api.url}${SVC}`, { headers: auth });
  await stall.waitForStalled();
  const pending = api.requests.find((r) => r.path === SVC);
  t.is(pending?.status, undefined);
  stall.release();
  t.is((await held).status, 200);
  t.is(pending?.status, 200);
  api.clearRequests();
  api.disconnectNext({ path: SVC });
  await t.throwsAsync(call(`${api.url}${SVC}`, { headers: auth }));
  const dropped = await api.waitForRequest({ path: SVC });
  t.is(dropped.status, undefined);
});

test('programmatic API: apply/get/list/delete are synchronous and reach watches', async (t) => {
  const api = await createFakeKubeApi(t);
  const before = Number(api.resourceVersion);
  const created = api.apply(service('web', { app: 'web' }));
  t.is(Number(api.resourceVersion), before + 1, 'one write, one revision');
  t.is(api.get('Service', 'default', 'web')?.metadata?.uid, created.metadata?.uid);
  t.is(api.get('svc', 'default', 'nope'), undefined);
  t.deepEqual(
    api.list('Service', { labelSelector: 'app=web' }).map((s) => s.metadata?.name),
    ['web'],
  );
  t.is(api.list('Namespace').length, 4);
  api.apply({ ...service('x'), metadata: { name: 'x', namespace: 'fresh' } });
  t.truthy(api.get('Namespace', undefined, 'fresh'), 'apply creates a missing namespace');
  t.true(api.delete('Namespace', '', 'fresh'));
  t.is(api.get('Service', 'fresh', 'x'), undefined, 'deleting a namespace deletes its contents');
  t.false(api.delete('Service', 'default', 'nope'));
  const error = t.throws(() => api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'bad' }, spec: {} }));
  t.true(isClusterIPError(error));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  t.regex(String(error?.message), /spec\.ports: Required value/);
  t.throws(() => api.get('Widget', 'default', 'x'), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
});

test('options are validated and unknown keys rejected', async (t) => {
  await t.throwsAsync(FakeKubernetesApi.start({ historySize: 0 }), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
  // @ts-expect-error unknown option
  await t.throwsAsync(FakeKubernetesApi.start({ histroySize: 5 }), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
  await t.throwsAsync(FakeKubernetesApi.start({ serviceClusterIPRange: '10.96.0.0' }), {
    code: 'CLUSTERIP_ERR_INVALID_ARG',
  });
  await t.throwsAsync(FakeKubernetesApi.start({ endpointSliceController: { maxEndpointsPerSlice: 0 } }), {
    code: 'CLUSTERIP_ERR_INVALID_ARG',
  });
});

test('close() is idempotent, ends watches, rejects waiters and later calls', async (t) => {
  const api = await FakeKubernetesApi.start();
  const w = await watch(`${api.url}${SLICES}?watch=1`);
  const waiting = api.waitForRequest({ path: '/never' });
  const first = api.close();
  t.is(api.close(), first);
  await first;
  t.true(api.closed);
  t.not((await w.rest()).end, undefined);
  await t.throwsAsync(waiting, { code: 'CLUSTERIP_ERR_CLOSED' });
  t.throws(() => api.apply(service('x')), { code: 'CLUSTERIP_ERR_CLOSED' });
  await t.throwsAsync(api.waitForWatches(), { code: 'CLUSTERIP_ERR_CLOSED' });
});
