// The demo's API client (packages/examples/src/demo/kube-client.ts) against FakeKubernetesApi: server-side
// apply (unserved kinds skipped), merge patches of the scale subresource, list-then-watch waits, typed errors
// that never carry the token, and its lifecycle.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiRequestError } from '@clusterip/resolver';
import type { FakeKubernetesApi } from '@clusterip/resolver/testing';
import test, { type ExecutionContext } from 'ava';
import { createFakeKubeApi } from '../../helpers/fake-kube-api.js';

type KubeClientModule = typeof import('../../../packages/examples/dist/demo/kube-client.js');
type KubeClient = KubeClientModule['KubeClient']['prototype'];
// build/test/examples/demo/ → packages/examples/dist/demo/ (the examples package exports nothing).
const { KubeClient } = (await import(
  new URL('../../../../packages/examples/dist/demo/kube-client.js', import.meta.url).href
)) as KubeClientModule;

const TOKEN = 's3cr3t-t0ken';

async function clientFor(t: ExecutionContext, api: FakeKubernetesApi, token?: string): Promise<KubeClient> {
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-kube-client-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'kubeconfig.yaml');
  await writeFile(file, api.kubeconfig({ namespace: 'shop', ...(token === undefined ? {} : { token }) }));
  const kube = await KubeClient.fromKubeconfig(file);
  t.teardown(() => kube.close());
  return kube;
}

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:1' }] } },
  },
};

test('server-side apply creates and re-applies objects; kinds the server does not serve are skipped', async (t) => {
  const api = await createFakeKubeApi(t, { token: TOKEN });
  const kube = await clientFor(t, api);
  t.is(kube.namespace, 'shop');
  t.deepEqual(await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, 'shop'), {
    applied: true,
  });
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] },
  };
  t.true((await kube.apply(service, 'shop')).applied);
  t.true((await kube.apply(service, 'shop')).applied, 'applying again is a no-op, not a conflict');
  t.is(api.get('Service', 'shop', 'web')?.metadata?.namespace, 'shop', 'the default namespace was filled in');
  const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'reader' } };
  t.deepEqual(await kube.apply(role, 'shop'), {
    applied: false,
    reason: 'rbac.authorization.k8s.io/v1 Role is not served here',
  });
});

test('a merge patch of the scale subresource changes the Deployment', async (t) => {
  const api = await createFakeKubeApi(t);
  const kube = await clientFor(t, api);
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, 'shop');
  await kube.apply(deployment, 'shop');
  const path = await kube.pathOf('apps/v1', 'Deployment', 'shop', 'web');
  t.is(path, '/apis/apps/v1/namespaces/shop/deployments/web');
  await kube.patch(`${path}/scale`, { spec: { replicas: 5 } });
  const d = await kube.get(path);
  t.is((d?.spec as { replicas?: number } | undefined)?.replicas, 5);
  t.is(await kube.get('/apis/apps/v1/namespaces/shop/deployments/nope'), undefined, 'a missing object is undefined');
});

test('waitFor resolves on the watch event that satisfies it, and rejects when its signal aborts', async (t) => {
  const api = await createFakeKubeApi(t);
  const kube = await clientFor(t, api);
  api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  const pods = '/api/v1/namespaces/shop/pods';
  const seen = kube.waitFor(
    pods,
    (items) => items.find((p) => p.metadata.name === 'web-2')?.metadata.name,
    AbortSignal.timeout(20_000),
  );
  // The list is empty: the wait is now on the watch, whose opening the fake reports.
  await api.waitForWatches({ kind: 'Pod' });
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop' },
    spec: { containers: [{ name: 'web', image: 'web:1' }] },
  });
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-2', namespace: 'shop' },
    spec: { containers: [{ name: 'web', image: 'web:1' }] },
  });
  t.is(await seen, 'web-2');

  const controller = new AbortController();
  const never = kube.waitFor(pods, () => undefined, controller.signal);
  controller.abort(new Error('enough'));
  await t.throwsAsync(never, { message: 'enough' });
});

test('API failures are ApiRequestError naming the request, never the token', async (t) => {
  const api = await createFakeKubeApi(t, { token: TOKEN });
  const wrong = await clientFor(t, api, 'not-the-token');
  const denied = await t.throwsAsync(wrong.ok('GET', '/api/v1/namespaces'), { instanceOf: ApiRequestError });
  t.is(denied?.code, 'CLUSTERIP_ERR_API_REQUEST');
  t.is(denied?.failure, 'unauthorized');
  t.is(denied?.status, 401);
  t.regex(denied?.message ?? '', /^kubernetes api http:\/\/127\.0\.0\.1:\d+: GET \/api\/v1\/namespaces: HTTP 401 /);
  t.false((denied?.message ?? '').includes('not-the-token'));

  const kube = await clientFor(t, api);
  const missing = await t.throwsAsync(kube.patch('/apis/apps/v1/namespaces/shop/deployments/web/scale', {}), {
    instanceOf: ApiRequestError,
  });
  t.is(missing?.status, 404);
  t.false((missing?.message ?? '').includes(TOKEN));
  await t.notThrowsAsync(
    kube.delete('/api/v1/namespaces/shop/pods/gone', { gracePeriodSeconds: 0 }),
    '404 on delete is fine',
  );
});

test('close() is idempotent and final', async (t) => {
  const api = await createFakeKubeApi(t);
  const kube = await clientFor(t, api);
  const first = kube.close();
  t.is(kube.close(), first);
  await first;
  await t.throwsAsync(kube.get('/api/v1/namespaces'), { code: 'CLUSTERIP_ERR_CLOSED' });
});
