// KubeApiReader: plain JSON GETs on a KubernetesSource's connection settings — objects, lists with
// selectors, 404 as undefined, typed ApiRequestError for 401/403/network, no token in messages, close.

import { createServer } from 'node:net';
import { ApiRequestError, isClusterIPError, KubeApiReader, KubernetesSource } from '@clusterip/resolver';
import test, { type ExecutionContext } from 'ava';
import { createFakeKubeApi } from '../../../helpers/fake-kube-api.js';

const TOKEN = 'reader-secret-token';

async function reader(t: ExecutionContext, server: string, token = TOKEN) {
  const source = new KubernetesSource({ server, token });
  t.teardown(() => source.close());
  const r = new KubeApiReader(source);
  t.teardown(() => r.close());
  return r;
}

test('GET an object and a selected list; 404 resolves undefined', async (t) => {
  const api = await createFakeKubeApi(t, { token: TOKEN });
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image: 'web' }] },
  });
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db-1', namespace: 'default', labels: { app: 'db' } },
    spec: { containers: [{ name: 'app', image: 'db' }] },
  });
  const r = await reader(t, api.url);
  t.is(r.server, api.url);
  const pod = (await r.get('/api/v1/namespaces/default/pods/web-1')) as { metadata: { name: string } };
  t.is(pod.metadata.name, 'web-1');
  const list = (await r.get('/api/v1/namespaces/default/pods', { labelSelector: 'app=db' })) as {
    items: { metadata: { name: string } }[];
  };
  t.deepEqual(
    list.items.map((p) => p.metadata.name),
    ['db-1'],
  );
  t.is(await r.get('/api/v1/namespaces/default/pods/nope'), undefined);
});

test('401, 403 and 500 become ApiRequestError with the failure kind; the token never appears', async (t) => {
  const api = await createFakeKubeApi(t, { token: TOKEN });
  const wrong = await reader(t, api.url, 'wrong-token-value');
  const unauthorized = await t.throwsAsync(wrong.get('/api/v1/namespaces/default/pods'), {
    instanceOf: ApiRequestError,
  });
  t.is(unauthorized?.code, 'CLUSTERIP_ERR_API_REQUEST');
  t.is(unauthorized?.failure, 'unauthorized');
  t.is(unauthorized?.status, 401);
  t.notRegex(unauthorized?.message ?? '', /wrong-token-value|reader-secret-token/);

  const r = await reader(t, api.url);
  api.failNext({ status: 403, path: '/api/v1/namespaces/default/pods', message: 'pods is forbidden' });
  const forbidden = await t.throwsAsync(r.get('/api/v1/namespaces/default/pods'), { instanceOf: ApiRequestError });
  t.is(forbidden?.failure, 'forbidden');
  t.regex(
    forbidden?.message ?? '',
    /^kubernetes api http:\/\/127\.0\.0\.1:\d+: GET \/api\/v1\/namespaces\/default\/pods: HTTP 403 pods is forbidden: the credentials lack RBAC permission/,
  );
  api.failNext({ status: 500, path: '/version' });
  const status = await t.throwsAsync(r.get('/version'), { instanceOf: ApiRequestError });
  t.is(status?.failure, 'status');
  t.is(status?.path, '/version');
});

test('an unreachable server is a network failure naming the fix', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const r = await reader(t, `http://127.0.0.1:${port}`);
  const err = await t.throwsAsync(r.get('/version'), { instanceOf: ApiRequestError });
  t.is(err?.failure, 'network');
  t.regex(err?.message ?? '', /ECONNREFUSED.*: check that the API server is running/);
});

test('bad arguments and use after close are typed errors; close is idempotent', async (t) => {
  const api = await createFakeKubeApi(t);
  t.throws(() => new KubeApiReader({} as KubernetesSource), { message: /source must be a KubernetesSource/ });
  const r = await reader(t, api.url);
  const bad = await t.throwsAsync(r.get('pods'));
  t.true(isClusterIPError(bad));
  t.is((bad as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  const first = r.close();
  t.is(r.close(), first);
  await first;
  t.true(r.closed);
  const closed = await t.throwsAsync(r.get('/version'));
  t.is((closed as { code?: string }).code, 'CLUSTERIP_ERR_CLOSED');
});
