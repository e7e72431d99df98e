import { createServer } from 'node:http';
import { ClusterIPError } from '@clusterip/resolver';
import { Mesh } from '@clusterip/sdk';
import type { ContainerContext, RunningContainer } from '@clusterip/sdk/cluster';
import { LocalCluster } from '@clusterip/sdk/cluster';
import test from 'ava';
import { addressRange, startCluster, waitUntil, webManifest } from './cluster-fixtures.js';

const BLOCK = 93;

interface SliceEndpoint {
  addresses: string[];
  conditions: { ready?: boolean; serving?: boolean; terminating?: boolean };
  nodeName?: string;
  zone?: string;
}

function sliceEndpoints(cluster: LocalCluster, namespace: string): SliceEndpoint[] {
  return cluster.api
    .list('EndpointSlice', { namespace, labelSelector: 'kubernetes.io/service-name=web' })
    .flatMap((s) => (s.endpoints as SliceEndpoint[]) ?? []);
}

test('apply of a multi-document YAML starts pods on distinct 127.0.x.y addresses that answer, and slices list them', async (t) => {
  const cluster = await startCluster(t, { addresses: addressRange(BLOCK, 0) });
  const applied = await cluster.apply(webManifest('shop'));
  t.deepEqual(
    applied.map((o) => o.kind),
    ['Namespace', 'Service', 'Deployment'],
  );
  const pods = cluster.pods({ namespace: 'shop', labels: { app: 'web' } });
  t.is(pods.length, 3);
  t.is(new Set(pods.map((p) => p.ip)).size, 3);
  t.true(pods.every((p) => p.ready && !p.terminating && /^127\.0\.93\.\d+$/.test(p.ip)));
  t.deepEqual(pods.map((p) => p.zone).sort(), ['zone-a', 'zone-b', 'zone-c']);
  for (const pod of pods) {
    const res = await fetch(`http://${pod.ip}:8080/hello?x=1`);
    t.is(res.status, 200);
    t.like(await res.json(), {
      pod: pod.name,
      namespace: 'shop',
      node: pod.node,
      zone: pod.zone,
      ip: pod.ip,
      port: 8080,
      path: '/hello',
    });
  }
  const endpoints = sliceEndpoints(cluster, 'shop');
  t.deepEqual(endpoints.map((e) => e.addresses[0]).sort(), pods.map((p) => p.ip).sort());
  t.true(endpoints.every((e) => e.conditions.ready === true && e.nodeName !== undefined && e.zone !== undefined));
  const podObject = cluster.api.get('Pod', 'shop', pods[0]!.name);
  t.like(podObject?.metadata?.ownerReferences?.[0], { kind: 'Deployment', name: 'web', controller: true });
  t.like(cluster.api.get('Deployment', 'shop', 'web')?.status, {
    replicas: 3,
    readyReplicas: 3,
    updatedReplicas: 3,
    availableReplicas: 3,
    observedGeneration: 1,
  });
});

test('scale up and down: exactly that many ready pods; removed pods terminate and free their address', async (t) => {
  const cluster = await startCluster(t, { addresses: addressRange(BLOCK, 1) });
  await cluster.apply(webManifest('shop', 1));
  await cluster.scale('shop', 'web', 4);
  const up = cluster.pods({ namespace: 'shop' }).filter((p) => !p.terminating);
  t.is(up.length, 4);
  t.true(up.every((p) => p.ready));
  await cluster.scale('shop', 'web', 2);
  t.is(cluster.pods({ namespace: 'shop' }).filter((p) => !p.terminating && p.ready).length, 2);
  await waitUntil(cluster, () => cluster.pods({ namespace: 'shop' }).length === 2, 'terminated pods to go');
  t.is(sliceEndpoints(cluster, 'shop').length, 2);
  t.is((cluster.api.get('Deployment', 'shop', 'web')?.spec as { replicas: number } | undefined)?.replicas, 2);
  await cluster.scale('shop', 'web', 0);
  await waitUntil(cluster, () => cluster.pods({ namespace: 'shop' }).length === 0, 'every pod to go');
  await t.throwsAsync(cluster.scale('shop', 'web', -1), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
  await t.throwsAsync(cluster.scale('shop', 'nope', 1), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
});

/**
 * A custom image whose requests wait until the test releases them, so "in flight" is certain. On
 * SIGTERM it either keeps listening until the held request is answered (`listenUntilDone`), or
 * closes its listener at once and only finishes the held request.
 */
function heldImage(listenUntilDone: boolean) {
  let arrived: () => void = () => {};
  const requestArrived = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const stops: number[] = [];
  const factory = async (ctx: ContainerContext): Promise<RunningContainer> => {
    const server = createServer((_req, res) => {
      arrived();
      void released.then(() => res.end(ctx.pod.name));
    });
    await new Promise<void>((resolve) => server.listen(ctx.container.ports[0]!.containerPort, ctx.host, resolve));
    return {
      async stop(graceMs) {
        stops.push(graceMs);
        if (listenUntilDone) await released;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await released;
        server.closeIdleConnections();
        await closed;
      },
      kill() {
        server.closeAllConnections();
        server.close();
      },
    };
  };
  return { images: { 'test/held': factory }, requestArrived, release, stops };
}

test('deletion follows the termination sequence: terminating (ready false, serving true), SIGTERM with in-flight work finished, removed, replaced', async (t) => {
  const held = heldImage(true);
  const cluster = await startCluster(t, { addresses: addressRange(BLOCK, 2), images: held.images });
  await cluster.apply(webManifest('shop', 2).replace('image: clusterip/echo-http', 'image: test/held'));
  const [victim] = cluster.pods({ namespace: 'shop' });
  const inFlight = fetch(`http://${victim!.ip}:8080/`);
  await held.requestArrived;
  const deleted = cluster.deletePod('shop', victim!.name);
  await waitUntil(cluster, () => held.stops.length > 0, 'SIGTERM');
  const during = sliceEndpoints(cluster, 'shop').find((e) => e.addresses[0] === victim!.ip);
  t.deepEqual(during?.conditions, { ready: false, serving: true, terminating: true });
  t.true(cluster.pods({ namespace: 'shop' }).find((p) => p.name === victim!.name)?.terminating);
  // terminationGracePeriodSeconds: 2 scaled to 100 ms per second.
  t.deepEqual(held.stops, [200]);
  held.release();
  t.is(await (await inFlight).text(), victim!.name);
  await deleted;
  t.is(cluster.api.get('Pod', 'shop', victim!.name), undefined);
  await cluster.waitForRollout('shop', 'web');
  const pods = cluster.pods({ namespace: 'shop' });
  t.is(pods.length, 2);
  t.false(pods.some((p) => p.name === victim!.name));
  t.false(sliceEndpoints(cluster, 'shop').some((e) => e.conditions.terminating === true));
});

test('a terminating pod that stops accepting connections fails its readiness probe: serving false while it finishes in-flight work', async (t) => {
  const held = heldImage(false);
  const cluster = await startCluster(t, { addresses: addressRange(BLOCK, 9), images: held.images });
  await cluster.apply(webManifest('shop', 1).replace('image: clusterip/echo-http', 'image: test/held'));
  const [victim] = cluster.pods({ namespace: 'shop' });
  const inFlight = fetch(`http://${victim!.ip}:8080/`);
  await held.requestArrived;
  const deleted = cluster.deletePod('shop', victim!.name);
  const endpoint = () => sliceEndpoints(cluster, 'shop').find((e) => e.addresses[0] === victim!.ip);
  await waitUntil(cluster, () => endpoint()?.conditions.serving === false, 'serving false');
  t.deepEqual(endpoint()?.conditions, { ready: false, serving: false, terminating: true });
  held.release();
  t.is(await (await inFlight).text(), victim!.name);
  await deleted;
});

test('crash: connections reset, pod not ready, then restarted (restartCount 1) and ready again', async (t) => {
  const cluster = await startCluster(t, { addresses: addressRange(BLOCK, 3) });
  await cluster.apply(webManifest('shop', 1));
  const [pod] = cluster.pods({ namespace: 'shop' });
  const pending = fetch(`http://${pod!.ip}:8080/?delayMs=5000`);
  await new Promise<void>((resolve) => setImmediate(resolve));
  await cluster.crash(pod!.name);
  const error = await t.throwsAsync(pending);
  t.regex(
    String((error?.cause as { code?: string })?.code ?? error?.message),
    /ECONNRESET|UND_ERR_SOCKET|other side closed/,
  );
  const crashed = cluster.pods({ namespace: 'shop' })[0]!;
  t.false(crashed.ready);
  t.is(sliceEndpoints(cluster, 'shop')[0]?.conditions.ready, false);
  await waitUntil(
    cluster,
    () => cluster.pods({ namespace: 'shop' })[0]?.ready === true,
    'the restarted pod to be ready',
  );
  const restarted = cluster.pods({ namespace: 'shop' })[0]!;
  t.is(restarted.restarts, 1);
  t.is(restarted.ip, pod!.ip);
  const status = cluster.api.get('Pod', 'shop', pod!.name)?.status as {
    containerStatuses: { restartCount: number; lastState: { terminated?: { exitCode: number } } }[];
  };
  t.is(status.containerStatuses[0]?.restartCount, 1);
  t.is(status.containerStatuses[0]?.lastState.terminated?.exitCode, 137);
  t.is((await fetch(`http://${pod!.ip}:8080/`)).status, 200);
  await t.throwsAsync(cluster.crash('nope'), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
});

test('rollout under steady load through a Mesh: no failed request, every pod replaced', async (t) => {
  const cluster = await startCluster(t, { addresses: addressRange(BLOCK, 4) });
  await cluster.apply(webManifest('shop', 3));
  const before = new Set(cluster.pods({ namespace: 'shop' }).map((p) => p.name));
  const kubeconfigSource = cluster.kubeconfig({ namespace: 'shop' });
  t.true(kubeconfigSource.includes(cluster.url));
  const mesh = new Mesh({ context: { namespace: 'shop', env: {} }, source: await sourceFor(cluster) });
  t.teardown(() => mesh.close());
  const answered = new Set<string>();
  const failures: string[] = [];
  let stop = false;
  let requests = 0;
  // Two clients in a bounded loop (at most 2 × 400 requests or until the rollout ends).
  const client = async () => {
    for (let i = 0; i < 400 && !stop; i++) {
      requests++;
      try {
        const res = await mesh.fetch('http://web.shop/');
        const body = (await res.json()) as { pod: string };
        if (res.status !== 200) failures.push(`status ${res.status}`);
        answered.add(body.pod);
      } catch (error) {
        failures.push(String((error as Error).message));
      }
    }
  };
  const load = Promise.all([client(), client()]);
  await cluster.rollout('shop', 'web', { env: { VERSION: '2' } });
  stop = true;
  await load;
  t.deepEqual(failures, []);
  t.true(requests > 0);
  const after = cluster.pods({ namespace: 'shop' });
  t.is(after.length, 3);
  t.false(after.some((p) => before.has(p.name)));
  const template = cluster.api.get('Deployment', 'shop', 'web')?.spec as {
    template: { spec: { containers: { env: unknown[] }[] } };
  };
  t.deepEqual(template.template.spec.containers[0]?.env, [{ name: 'VERSION', value: '2' }]);
  // A restart with no change works too (kubectl rollout restart's annotation).
  await cluster.rollout('shop', 'web');
  t.false(cluster.pods({ namespace: 'shop' }).some((p) => after.some((a) => a.name === p.name)));
});

async function sourceFor(cluster: LocalCluster) {
  const { KubernetesSource } = await import('@clusterip/resolver');
  const source = new KubernetesSource({ server: cluster.url });
  return source;
}

test('DOWNSTREAM_URL: a frontend pod calls the backend Service through the cluster mesh and nests its answer', async (t) => {
  const cluster = await startCluster(t, { addresses: addressRange(BLOCK, 5) });
  await cluster.apply(webManifest('shop', 2));
  await cluster.apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: front, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: front}}
  template:
    metadata: {labels: {app: front}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        env: [{name: DOWNSTREAM_URL, value: "http://web/"}]
        ports: [{containerPort: 8080}]
`);
  t.true(cluster.warnings.some((w) => w.includes('nginx') && w.includes('clusterip/echo-http')));
  const [front] = cluster.pods({ namespace: 'shop', labels: { app: 'front' } });
  const res = await fetch(`http://${front!.ip}:8080/`);
  const body = (await res.json()) as { pod: string; downstream: { pod: string; namespace: string } };
  t.is(res.status, 200);
  t.is(body.pod, front!.name);
  t.true(cluster.pods({ namespace: 'shop', labels: { app: 'web' } }).some((p) => p.name === body.downstream.pod));
});

test('tls: the API server speaks HTTPS with a token in the kubeconfig', async (t) => {
  const cluster = await startCluster(t, { addresses: addressRange(BLOCK, 6), tls: true });
  t.regex(cluster.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const kubeconfig = cluster.kubeconfig();
  t.regex(kubeconfig, /certificate-authority-data/);
  t.regex(kubeconfig, /token:/);
});

test('unknown options, bad manifests and use after close are typed errors', async (t) => {
  await t.throwsAsync(LocalCluster.start({ nope: 1 } as never), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
  await t.throwsAsync(LocalCluster.start({ readyDelayMs: -1 }), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
  await t.throwsAsync(LocalCluster.start({ addresses: { first: '10.0.0.1', last: '10.0.0.9' } }), {
    code: 'CLUSTERIP_ERR_INVALID_ARG',
  });
  await t.throwsAsync(LocalCluster.start({ manifests: ['/nonexistent/manifests'] }), {
    code: 'CLUSTERIP_ERR_INVALID_ARG',
  });
  const cluster = await startCluster(t, { addresses: addressRange(BLOCK, 7) });
  const bad = await t.throwsAsync(
    cluster.apply(
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {template: {spec: {containers: []}}}\n',
    ),
    { code: 'CLUSTERIP_ERR_INVALID_MANIFEST' },
  );
  t.regex(bad!.message, /^<input>: document 1 \(Deployment x\): rejected by the API server: .*spec\.selector/);
  const closing = cluster.close();
  t.is(cluster.close(), closing);
  await closing;
  t.throws(() => cluster.pods(), { code: 'CLUSTERIP_ERR_CLOSED' });
  await t.throwsAsync(cluster.scale('default', 'web', 1), { code: 'CLUSTERIP_ERR_CLOSED' });
  t.true(bad instanceof ClusterIPError);
});

test('a Service asking for topology gets zone hints on its slices, from the nodes the pods run on', async (t) => {
  const cluster = await startCluster(t, { addresses: addressRange(BLOCK, 10) });
  await cluster.apply(
    webManifest('shop', 3).replace('selector: {app: web}', 'selector: {app: web}\n  trafficDistribution: PreferClose'),
  );
  const pods = cluster.pods({ namespace: 'shop' });
  const endpoints = sliceEndpoints(cluster, 'shop') as (SliceEndpoint & { hints?: { forZones: { name: string }[] } })[];
  t.is(endpoints.length, 3);
  for (const e of endpoints) {
    const pod = pods.find((p) => p.ip === e.addresses[0]);
    t.is(e.nodeName, pod?.node);
    t.is(e.zone, pod?.zone);
    t.deepEqual(e.hints, { forZones: [{ name: pod!.zone }] });
  }
});
