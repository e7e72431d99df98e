import type { LookupAddress } from 'node:dns';
import { CHANNEL_NAMES, Mesh, type MeshRouteMessage } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { createFakeCluster, type FakeCluster } from '../helpers/fake-cluster.js';
import { createHttpTestServer, createPods, type HttpTestServer, waitForReady } from '../helpers/http-test-server.js';
import { nextMessage } from '../reliability/helpers/channel-events.js';

const LABEL = 'service.kubernetes.io/service-proxy-name';
/** Where the "other proxy" listens: the Service's ClusterIP, inside the fake API's ClusterIP range. */
const VIP = '127.0.236.100';
const FQDN = 'proxied.shop.svc.cluster.local';

/**
 * Three pods behind Service `proxied`, whose ClusterIP is a loopback address where a server named
 * `other-proxy` stands in for the proxy the label names. The Service port is that server's port, so a
 * request passed through to the ClusterIP (or to the name, via the mesh's `connect.lookup`, as a pod's
 * DNS would answer) reaches it, while a request the mesh balances reaches a pod.
 */
async function setup(t: ExecutionContext, labels: Record<string, string>) {
  const cluster = await createFakeCluster(t, { namespace: 'shop', serviceClusterIPRange: '127.0.236.0/24' });
  const proxy = await createHttpTestServer(t, { host: VIP, name: 'other-proxy' });
  const apply = (serviceLabels: Record<string, string>) =>
    cluster.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'proxied', labels: serviceLabels },
      spec: {
        clusterIP: VIP,
        selector: { app: 'proxied' },
        ports: [{ name: 'http', port: proxy.port, targetPort: 'http' }],
      },
    });
  apply(labels);
  const pods = await createPods(t, cluster, { app: 'proxied', count: 3, subnet: 236 });
  await waitForReady(cluster.resolver, `proxied:${proxy.port}`, 3);
  return { cluster, proxy, pods, apply };
}

/** The mesh, with a `lookup` that answers the Service's names with its ClusterIP (a pod's cluster DNS). */
function meshOf(t: ExecutionContext, cluster: FakeCluster, options: Record<string, unknown> = {}): Mesh {
  const lookup = (
    hostname: string,
    opts: { all?: boolean },
    callback: (e: Error | null, a: string | LookupAddress[], f?: number) => void,
  ) => {
    if (hostname !== FQDN && hostname !== 'proxied') {
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '');
    } else if (opts.all === true) callback(null, [{ address: VIP, family: 4 }]);
    else callback(null, VIP, 4);
  };
  const mesh = new Mesh({ resolver: cluster.resolver, connect: { lookup }, ...options });
  t.teardown(() => mesh.close());
  return mesh;
}

async function podsSeen(mesh: Mesh, url: string, count: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const res = await request(url, { dispatcher: mesh.dispatcher });
    seen.add(((await res.body.json()) as { pod: string }).pod);
  }
  return seen;
}

function names(pods: readonly HttpTestServer[]): string[] {
  return pods.map((p) => p.name).sort();
}

test('a Service labelled for another proxy passes through to its ClusterIP; without the label it is balanced again', async (t) => {
  const { cluster, proxy, pods, apply } = await setup(t, { [LABEL]: 'other-proxy' });
  const mesh = meshOf(t, cluster);
  const url = `http://${FQDN}:${proxy.port}/`;
  t.deepEqual([...(await podsSeen(mesh, url, 12))], ['other-proxy'], 'by name: to the proxy at the ClusterIP');
  const snap = await mesh.resolve(`proxied:${proxy.port}`);
  t.deepEqual(snap.service?.clusterIPs, [VIP]);
  t.deepEqual([...(await podsSeen(mesh, `http://${VIP}:${proxy.port}/`, 12))], ['other-proxy'], 'by ClusterIP too');
  const report = await mesh.endpoints(`proxied:${proxy.port}`);
  t.is(report.proxiedBy, 'other-proxy');
  t.is(report.endpoints.length, 3, 'the report still lists what kube-proxy rules would pick');

  // The label goes: the route, still watched, balances over the pods from the next snapshot on.
  const routed = nextMessage<MeshRouteMessage>(
    t,
    CHANNEL_NAMES.meshRoute,
    (m) => m.route === `${FQDN}:${proxy.port}` && m.decision === 'route' && m.endpoints.length === 3,
  );
  apply({});
  await routed;
  t.deepEqual([...(await podsSeen(mesh, url, 30))].sort(), names(pods));
  t.is((await mesh.endpoints(`proxied:${proxy.port}`)).proxiedBy, undefined);

  // And back: the pools drain, requests go to the proxy again.
  const passed = nextMessage<MeshRouteMessage>(
    t,
    CHANNEL_NAMES.meshRoute,
    (m) => m.route === `${FQDN}:${proxy.port}` && m.decision === 'pass',
  );
  apply({ [LABEL]: 'other-proxy' });
  await passed;
  t.deepEqual([...(await podsSeen(mesh, url, 12))], ['other-proxy']);
});

test('serviceProxyName: the mesh balances only the Services labelled with its name', async (t) => {
  const { cluster, proxy, pods } = await setup(t, { [LABEL]: 'clusterip' });
  const named = meshOf(t, cluster, { serviceProxyName: 'clusterip' });
  t.deepEqual([...(await podsSeen(named, `http://${FQDN}:${proxy.port}/`, 30))].sort(), names(pods));
  t.is((await named.endpoints(`proxied:${proxy.port}`)).proxiedBy, undefined);
  // A mesh without a name leaves the same Service to the proxy it names.
  const plain = meshOf(t, cluster);
  t.deepEqual([...(await podsSeen(plain, `http://${FQDN}:${proxy.port}/`, 12))], ['other-proxy']);
  t.is((await plain.endpoints(`proxied:${proxy.port}`)).proxiedBy, 'clusterip');
});

test('serviceProxyName: an unlabelled Service belongs to kube-proxy for a named mesh', async (t) => {
  const { cluster, proxy } = await setup(t, {});
  const named = meshOf(t, cluster, { serviceProxyName: 'clusterip' });
  t.deepEqual([...(await podsSeen(named, `http://${FQDN}:${proxy.port}/`, 12))], ['other-proxy']);
  t.is((await named.endpoints(`proxied:${proxy.port}`)).proxiedBy, 'kube-proxy');
});

test('a short name keeps its route while labelled: removing the label takes effect at once', async (t) => {
  const { cluster, proxy, pods, apply } = await setup(t, { [LABEL]: 'other-proxy' });
  const mesh = meshOf(t, cluster, { negativeCacheTtlMs: 3_600_000 });
  const url = `http://proxied:${proxy.port}/`;
  t.deepEqual([...(await podsSeen(mesh, url, 6))], ['other-proxy']);
  const routed = nextMessage<MeshRouteMessage>(
    t,
    CHANNEL_NAMES.meshRoute,
    (m) => m.route === `proxied:${proxy.port}` && m.decision === 'route' && m.endpoints.length === 3,
  );
  apply({});
  await routed;
  t.deepEqual([...(await podsSeen(mesh, url, 30))].sort(), names(pods));
});

test('serviceProxyName false: the label is ignored, every Service is balanced', async (t) => {
  const { cluster, proxy, pods } = await setup(t, { [LABEL]: 'other-proxy' });
  const mesh = meshOf(t, cluster, { serviceProxyName: false });
  t.deepEqual([...(await podsSeen(mesh, `http://${FQDN}:${proxy.port}/`, 30))].sort(), names(pods));
  t.is((await mesh.endpoints(`proxied:${proxy.port}`)).proxiedBy, undefined);
});

test('serviceProxyName must be a label value or false', (t) => {
  for (const bad of ['-x', 'a b', 'x'.repeat(64), 7, true]) {
    const error = t.throws(() => new Mesh({ serviceProxyName: bad as string, source: undefined }));
    t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.is((error as { option?: string }).option, 'serviceProxyName');
  }
});
