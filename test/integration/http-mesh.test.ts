import { endpointKey } from '@clusterip/resolver';
import { Mesh } from '@clusterip/sdk';
import test from 'ava';
import { request, fetch as undiciFetch } from 'undici';
import { createFakeCluster, type FakeCluster } from '../helpers/fake-cluster.js';
import { createPods, waitForReady } from '../helpers/http-test-server.js';

function service(name: string, extra: Record<string, unknown> = {}, ports?: unknown[]) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: {
      selector: { app: name },
      ports: ports ?? [{ name: 'http', port: 80, targetPort: 'http' }],
      ...extra,
    },
  };
}

async function setup(t: Parameters<typeof createFakeCluster>[0], subnet: number, extra: Record<string, unknown> = {}) {
  const cluster: FakeCluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(
    service('backend-service', extra, [
      { name: 'http', port: 80, targetPort: 'http' },
      { name: 'alt', port: 3000, targetPort: 'http' },
    ]),
  );
  const pods = await createPods(t, cluster, { app: 'backend-service', count: 3, subnet });
  await waitForReady(cluster.resolver, 'backend-service:80', 3);
  const mesh = new Mesh({ resolver: cluster.resolver });
  t.teardown(() => mesh.close());
  return { cluster, pods, mesh };
}

test('undici.request, undici.fetch and the global fetch reach all 3 pods over one keep-alive dispatcher', async (t) => {
  const { pods, mesh } = await setup(t, 41);
  const seen = new Map<string, number>();
  const hosts = new Set<string>();
  for (let i = 0; i < 30; i++) {
    const res = await request('http://backend-service/orders', { dispatcher: mesh.dispatcher });
    t.is(res.statusCode, 200);
    const body = (await res.body.json()) as { pod: string; host: string; path: string };
    seen.set(body.pod, (seen.get(body.pod) ?? 0) + 1);
    hosts.add(body.host);
    t.is(body.path, '/orders');
  }
  for (let i = 0; i < 15; i++) {
    const res = await undiciFetch('http://backend-service/x', { dispatcher: mesh.dispatcher });
    const body = (await res.json()) as { pod: string };
    seen.set(body.pod, (seen.get(body.pod) ?? 0) + 1);
  }
  for (let i = 0; i < 15; i++) {
    // Node's bundled fetch takes an undici 7 dispatcher at run time; the types differ, hence the cast.
    const res = await globalThis.fetch('http://backend-service/y', {
      dispatcher: mesh.dispatcher,
    } as unknown as RequestInit);
    const body = (await res.json()) as { pod: string };
    seen.set(body.pod, (seen.get(body.pod) ?? 0) + 1);
  }
  t.deepEqual([...seen.keys()].sort(), pods.map((p) => p.name).sort(), 'every pod served requests');
  t.deepEqual([...hosts], ['backend-service'], 'the Host header is the name the caller used');
  // Keep-alive: sequential requests reuse one connection per pod, whichever client API sent them.
  const connections = pods.reduce((n, p) => n + p.connections, 0);
  t.true(connections <= 6, `${connections} connections for 60 requests`);
});

test('names with namespace, FQDN and a second Service port map to the endpoint target port', async (t) => {
  const { mesh } = await setup(t, 42);
  for (const url of [
    'http://backend-service.shop:3000/a',
    'http://backend-service.shop.svc.cluster.local:3000/b',
    'http://backend-service.shop.svc/c',
  ]) {
    const res = await mesh.fetch(url);
    t.is(res.status, 200, url);
    const body = (await res.json()) as { host: string };
    t.is(body.host, new URL(url).host, 'virtual hosting: Host is the authority the caller used');
  }
});

test('sessionAffinity ClientIP on the Service: every request of the process sticks to one pod', async (t) => {
  const { mesh } = await setup(t, 43, { sessionAffinity: 'ClientIP' });
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const res = await request('http://backend-service/', { dispatcher: mesh.dispatcher });
    seen.add(((await res.body.json()) as { pod: string }).pod);
  }
  t.is(seen.size, 1);
});

test('a per-request affinity key (header extractor or request option) spreads keys but sticks each one', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(service('backend-service', { sessionAffinity: 'ClientIP' }));
  await createPods(t, cluster, { app: 'backend-service', count: 3, subnet: 44 });
  await waitForReady(cluster.resolver, 'backend-service:80', 3);
  const mesh = new Mesh({ resolver: cluster.resolver, affinityKey: { header: 'x-user' } });
  t.teardown(() => mesh.close());
  const byUser = new Map<string, Set<string>>();
  for (let i = 0; i < 60; i++) {
    const user = `u${i % 12}`;
    const res = await request('http://backend-service/', { dispatcher: mesh.dispatcher, headers: { 'x-user': user } });
    const pod = ((await res.body.json()) as { pod: string }).pod;
    byUser.set(user, (byUser.get(user) ?? new Set()).add(pod));
  }
  for (const [user, pods] of byUser) t.is(pods.size, 1, `${user} sticks`);
  const all = new Set([...byUser.values()].flatMap((s) => [...s]));
  t.true(all.size >= 2, 'different keys land on different pods');
  const viaOption = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const res = await request('http://backend-service/', {
      dispatcher: mesh.dispatcher,
      clusterip: { affinityKey: 'same' },
    } as Parameters<typeof request>[1]);
    viaOption.add(((await res.body.json()) as { pod: string }).pod);
  }
  t.is(viaOption.size, 1);
});

test('a request to a known ClusterIP is balanced in-process; unknown IPs and outside names pass through', async (t) => {
  const { mesh, pods } = await setup(t, 45);
  const snap = await mesh.resolve('backend-service:80');
  const clusterIP = snap.service?.clusterIPs[0];
  t.truthy(clusterIP);
  const seen = new Set<string>();
  for (let i = 0; i < 24; i++) {
    const res = await request(`http://${clusterIP}:80/`, { dispatcher: mesh.dispatcher });
    const body = (await res.body.json()) as { pod: string; host: string };
    seen.add(body.pod);
    t.is(body.host, `${clusterIP}`);
  }
  t.is(seen.size, 3);
  // A pod IP is not a ClusterIP: the request goes straight there, untouched.
  const direct = await request(`${pods[0]!.url}/direct`, { dispatcher: mesh.dispatcher });
  t.is(((await direct.body.json()) as { pod: string }).pod, pods[0]!.name);
  // `localhost` is never a Service: nothing listens on 127.0.0.1 at that port, and the refusal is the raw
  // socket error of a pass-through request, not a mesh error.
  const local = await request(`http://localhost:${pods[0]!.port}/`, { dispatcher: mesh.dispatcher }).catch(
    (e: unknown) => e as { code?: string },
  );
  t.is((local as { code?: string }).code, 'ECONNREFUSED');
});

test('mesh.endpoints explains the eligible set, and mesh.serviceConfig exposes the resolved options', async (t) => {
  const { mesh, cluster } = await setup(t, 46);
  await mesh.fetch('http://backend-service/').then((r) => r.text());
  cluster.setReady('backend-service-1', false);
  await waitForReady(cluster.resolver, 'backend-service:80', 2);
  const report = await mesh.endpoints('backend-service:80');
  t.is(report.status, 'ok');
  t.is(report.outcome?.type, 'ok');
  const byReason = report.endpoints.map((e) => `${e.endpoint.address}:${e.reason}`).sort();
  t.deepEqual(byReason, ['127.0.46.11:not-ready', '127.0.46.12:ready', '127.0.46.13:ready']);
  t.true(report.endpoints.filter((e) => e.eligible).every((e) => typeof e.inFlight === 'number'));
  t.is(endpointKey(report.endpoints[0]!.endpoint), report.endpoints[0]!.key);
  const config = mesh.serviceConfig({ namespace: 'shop', name: 'backend-service' });
  t.is(config.policy, 'random');
  t.deepEqual(config.sessionAffinity, { type: 'Service' });
  t.is(config.retry?.attempts, 3);
});
