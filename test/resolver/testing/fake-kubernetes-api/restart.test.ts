import test from 'ava';
import { createFakeKubeApi } from '../../../helpers/fake-kube-api.js';
import { call, watch } from './http-client.js';

const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';

function slice(name: string, address: string) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address] }],
    ports: [{ name: 'http', port: 8080 }],
  };
}

test('restart cuts watches, refuses connections while down, then serves the same objects on the same port', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply(slice('s1', '127.0.0.2'));
  const rv = api.resourceVersion;
  const open = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${rv}`);
  const { port, url } = api;
  let refused: unknown;
  await api.restart({
    whileDown: async () => {
      refused = await call(`${url}${SLICES}`).catch((error: unknown) => error);
      api.apply(slice('s2', '127.0.0.3')); // writes while down are kept, as etcd keeps them
    },
  });
  t.is((await open.rest()).end, 'error', 'the open watch was cut');
  t.is((refused as { code?: string }).code, 'ECONNREFUSED');
  t.is(api.port, port);
  const list = await call(`${api.url}${SLICES}`);
  t.is(list.status, 200);
  t.deepEqual(
    list.body.items.map((i: { metadata: { name: string } }) => i.metadata.name),
    ['s1', 's2'],
  );
  t.true(Number(list.body.metadata.resourceVersion) > Number(rv), 'resourceVersions continue');
  const old = await call(`${api.url}${SLICES}?watch=1&resourceVersion=${rv}`);
  t.is(old.status, 410, 'the new watch cache starts at the current revision');
});

test('restart with keepHistory resumes old watches; bad options and closed servers are refused', async (t) => {
  const api = await createFakeKubeApi(t);
  const rv = api.resourceVersion;
  await api.restart({ keepHistory: true, whileDown: () => api.apply(slice('s1', '127.0.0.2')) });
  const resumed = await watch(`${api.url}${SLICES}?watch=1&resourceVersion=${rv}`);
  t.teardown(() => resumed.close());
  t.like(await resumed.next(), { type: 'ADDED', object: { metadata: { name: 's1' } } });
  await t.throwsAsync(api.restart({ downMs: 5 } as never), { code: 'CLUSTERIP_ERR_INVALID_ARG' });

  // close() during the downtime: restart resolves without listening again.
  let closing: Promise<void> | undefined;
  await api.restart({
    whileDown: () => {
      closing = api.close();
    },
  });
  await closing;
  t.true(api.closed);
  await t.throwsAsync(call(`${api.url}${SLICES}`), { code: 'ECONNREFUSED' });
  await t.throwsAsync(api.restart(), { code: 'CLUSTERIP_ERR_CLOSED' });
});
