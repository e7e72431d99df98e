import type { KubeObject } from '@clusterip/resolver/testing';
import test from 'ava';
import { createFakeKubeApi } from '../../../helpers/fake-kube-api.js';
import { watch } from './http-client.js';

interface Options {
  ip?: string;
  ready?: boolean;
  terminating?: boolean;
  node?: string;
  namedPort?: boolean;
  phase?: string;
  labels?: Record<string, string>;
}

function pod(name: string, o: Options = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      labels: o.labels ?? { app: 'web' },
      ...(o.terminating ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
    },
    spec: {
      ...(o.node ? { nodeName: o.node } : {}),
      containers: [
        { name: 'app', image: 'web', ports: o.namedPort === false ? [] : [{ name: 'http', containerPort: 8080 }] },
      ],
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ip === '' ? {} : { podIP: o.ip ?? '127.0.0.2', podIPs: [{ ip: o.ip ?? '127.0.0.2' }] }),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

function service(spec: Record<string, unknown> = {}, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', labels: { team: 'a' }, ...(annotations ? { annotations } : {}) },
    spec: {
      selector: { app: 'web' },
      ports: [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'metrics', port: 9090, targetPort: 9100 },
      ],
      ...spec,
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
type Slice = any;

function slices(api: { list(kind: string, o: object): KubeObject[] }): Slice[] {
  return api.list('EndpointSlice', { namespace: 'shop', labelSelector: 'kubernetes.io/service-name=web' });
}

test('publishes pods as the controller does: labels, owner, conditions, node, zone, targetRef, ports', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'z1' } },
  });
  const svc = api.apply(service());
  const p = api.apply(pod('web-1', { node: 'node-a' }));
  const [s, ...more] = slices(api);
  t.is(more.length, 0);
  t.regex(s.metadata.name, /^web-[a-z0-9]{5}$/);
  t.deepEqual(s.metadata.labels, {
    team: 'a',
    'kubernetes.io/service-name': 'web',
    'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
  });
  t.deepEqual(s.metadata.ownerReferences, [
    {
      apiVersion: 'v1',
      kind: 'Service',
      name: 'web',
      uid: svc.metadata?.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  t.is(s.addressType, 'IPv4');
  t.deepEqual(s.ports, [
    { name: 'http', port: 8080, protocol: 'TCP' },
    { name: 'metrics', port: 9100, protocol: 'TCP' },
  ]);
  t.deepEqual(s.endpoints, [
    {
      addresses: ['127.0.0.2'],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: p.metadata?.uid },
      nodeName: 'node-a',
      zone: 'z1',
    },
  ]);
});

test('readiness and termination follow podToEndpoint; publishNotReadyAddresses overrides ready', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply(service());
  api.apply(pod('a', { ip: '127.0.0.2', ready: false }));
  api.apply(pod('b', { ip: '127.0.0.3', terminating: true }));
  api.apply(pod('c', { ip: '', ready: true }));
  api.apply(pod('d', { ip: '127.0.0.5', phase: 'Failed' }));
  api.apply(pod('e', { ip: '127.0.0.6', labels: { app: 'other' } }));
  const conditions = () =>
    Object.fromEntries(slices(api).flatMap((s) => s.endpoints.map((e: Slice) => [e.targetRef.name, e.conditions])));
  t.deepEqual(conditions(), {
    a: { ready: false, serving: false, terminating: false },
    b: { ready: false, serving: true, terminating: true },
  });
  api.apply(service({ publishNotReadyAddresses: true }));
  t.deepEqual(conditions(), {
    a: { ready: true, serving: true, terminating: false },
    b: { ready: true, serving: true, terminating: true },
  });
});

test('pods whose named port does not resolve land in a separate slice without that port', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply(service());
  api.apply(pod('a', { ip: '127.0.0.2' }));
  api.apply(pod('b', { ip: '127.0.0.3', namedPort: false }));
  const byPorts = slices(api)
    .map((s) => ({
      ports: s.ports.map((p: Slice) => p.name).join(','),
      ips: s.endpoints.map((e: Slice) => e.addresses[0]),
    }))
    .sort((x, y) => x.ports.localeCompare(y.ports));
  t.deepEqual(byPorts, [
    { ports: 'http,metrics', ips: ['127.0.0.2'] },
    { ports: 'metrics', ips: ['127.0.0.3'] },
  ]);
});

test('slices hold at most maxEndpointsPerSlice endpoints; removed pods leave; an empty Service keeps a placeholder', async (t) => {
  const api = await createFakeKubeApi(t, { endpointSliceController: { maxEndpointsPerSlice: 2 } });
  api.apply(service());
  t.like(slices(api), [{ endpoints: [], ports: null }], 'placeholder');
  for (let i = 1; i <= 5; i++) api.apply(pod(`p${i}`, { ip: `127.0.0.${i + 1}` }));
  const sizes = slices(api)
    .map((s) => s.endpoints.length)
    .sort();
  t.deepEqual(sizes, [1, 2, 2]);
  for (let i = 1; i <= 5; i++) api.delete('Pod', 'shop', `p${i}`);
  t.like(slices(api), [{ endpoints: [] }]);
  t.is(slices(api).length, 1);
  api.delete('Service', 'shop', 'web');
  t.is(slices(api).length, 0, 'the Service owns its slices');
});

test('trafficDistribution sets zone and node hints on ready endpoints', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1' } },
  });
  api.apply(service({ trafficDistribution: 'PreferSameZone' }));
  api.apply(pod('a', { ip: '127.0.0.2', node: 'n1' }));
  api.apply(pod('b', { ip: '127.0.0.3', node: 'n1', ready: false }));
  const hints = () => Object.fromEntries(slices(api)[0].endpoints.map((e: Slice) => [e.targetRef.name, e.hints]));
  t.deepEqual(hints(), { a: { forZones: [{ name: 'z1' }] }, b: undefined });
  api.apply(service({ trafficDistribution: 'PreferSameNode' }));
  t.deepEqual(hints(), { a: { forZones: [{ name: 'z1' }], forNodes: [{ name: 'n1' }] }, b: undefined });
  api.apply(service({ trafficDistribution: 'PreferSameZone' }, { 'service.kubernetes.io/topology-mode': 'Auto' }));
  t.deepEqual(hints(), { a: undefined, b: undefined }, 'topology-mode takes precedence (Auto hints are not emulated)');
});

test('a watcher sees the slice change right after the pod change', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply(service());
  const w = await watch(
    `${api.url}/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices?watch=1&resourceVersion=${api.resourceVersion}&labelSelector=kubernetes.io%2Fservice-name%3Dweb`,
  );
  t.teardown(() => w.close());
  api.apply(pod('a', { ip: '127.0.0.2' }));
  const event = await w.next();
  t.like(event, { type: 'MODIFIED', object: { endpoints: [{ addresses: ['127.0.0.2'] }] } });
  api.apply(pod('a', { ip: '127.0.0.2', ready: false }));
  t.like(await w.next(), { type: 'MODIFIED', object: { endpoints: [{ conditions: { ready: false } }] } });
});

test('a Service without selector is left to the user', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply(service({ selector: undefined }));
  api.apply(pod('a'));
  t.is(slices(api).length, 0);
  api.apply({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'manual', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['127.0.0.9'] }],
  });
  api.apply(pod('b', { ip: '127.0.0.3' }));
  t.deepEqual(
    slices(api).map((s) => s.metadata.name),
    ['manual'],
  );
});
