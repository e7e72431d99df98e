import diagnosticsChannel from 'node:diagnostics_channel';
import { MESH_CHANNEL_NAMES, Mesh, type MeshRouteMessage } from '@clusterip/sdk';
import test from 'ava';
import { request } from 'undici';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createHttpTestServer, createPods, waitForReady } from '../helpers/http-test-server.js';

interface LoadResult {
  ok: number;
  failures: { startedAt: number; error: unknown }[];
  byPod: Map<string, number>;
}

/** Steady load: `concurrency` workers until `stop()`, bounded by `maxRequests` and `maxMs`. */
function startLoad(url: string, dispatcher: Mesh['dispatcher'], concurrency = 6, maxRequests = 6000, maxMs = 20_000) {
  const result: LoadResult = { ok: 0, failures: [], byPod: new Map() };
  let stopped = false;
  let sent = 0;
  const deadline = performance.now() + maxMs;
  const worker = async () => {
    while (!stopped && sent < maxRequests && performance.now() < deadline) {
      sent++;
      const startedAt = performance.now();
      try {
        const res = await request(url, { dispatcher });
        const body = (await res.body.json()) as { pod: string };
        if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
        result.ok++;
        result.byPod.set(body.pod, (result.byPod.get(body.pod) ?? 0) + 1);
      } catch (error) {
        result.failures.push({ startedAt, error });
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    result,
    /** Resolves after `n` more successful requests (or when the load ends). */
    async after(n: number): Promise<void> {
      const target = result.ok + n;
      while (result.ok < target && !stopped && sent < maxRequests && performance.now() < deadline) {
        await new Promise((r) => setImmediate(r));
      }
    },
    async stop(): Promise<LoadResult> {
      stopped = true;
      await Promise.all(workers);
      return result;
    },
  };
}

/** Resolves on the first `clusterip:mesh:route` message of `route` that satisfies `predicate`. */
function routeChange(route: string, predicate: (m: MeshRouteMessage) => boolean): Promise<MeshRouteMessage> {
  return new Promise((resolve) => {
    const listener = (message: unknown) => {
      const m = message as MeshRouteMessage;
      if (m.route !== route || !predicate(m)) return;
      diagnosticsChannel.unsubscribe(MESH_CHANNEL_NAMES.route, listener);
      resolve(m);
    };
    diagnosticsChannel.subscribe(MESH_CHANNEL_NAMES.route, listener);
  });
}

test('rolling update under steady load (3 pods replaced one by one): zero failed requests', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  const old = await createPods(t, cluster, { app: 'web', count: 3, subnet: 51 });
  await waitForReady(cluster.resolver, 'web:80', 3);
  const mesh = new Mesh({ resolver: cluster.resolver });
  t.teardown(() => mesh.close());
  const load = startLoad('http://web/', mesh.dispatcher);
  await load.after(50);

  for (let i = 0; i < 3; i++) {
    const replaced = old[i]!;
    const name = `web-${i + 4}`;
    const fresh = await createHttpTestServer(t, { host: `127.0.51.${14 + i}`, name });
    const freshKey = `${fresh.host}:${fresh.port}`;
    const oldKey = `${replaced.host}:${replaced.port}`;
    // New pod: created not ready, then its readiness probe passes.
    cluster.addPod({ name, ip: fresh.host, labels: { app: 'web' }, ports: { http: fresh.port }, ready: false });
    const added = routeChange('web:80', (m) => m.endpoints.includes(freshKey));
    cluster.setReady(name, true);
    await added;
    await load.after(30);
    // Old pod: deletionTimestamp set (terminating, still serving); once the mesh stopped choosing it,
    // the process exits gracefully (what a preStop hook gives kube-proxy users), then the object goes.
    const gone = routeChange('web:80', (m) => !m.endpoints.includes(oldKey));
    cluster.terminate(replaced.name, { stillServing: true });
    await gone;
    await replaced.stop();
    cluster.deletePod(replaced.name);
    await load.after(30);
  }
  const result = await load.stop();
  t.deepEqual(
    result.failures.map((f) => String(f.error)),
    [],
    'no request failed',
  );
  t.true(result.ok > 200, `${result.ok} requests`);
  for (const pod of ['web-4', 'web-5', 'web-6']) t.true((result.byPod.get(pod) ?? 0) > 0, `${pod} served`);
});

test('a pod killed abruptly under load: only requests in flight on it may fail; refused connects retry elsewhere', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  const pods = await createPods(t, cluster, { app: 'web', count: 3, subnet: 52 });
  await waitForReady(cluster.resolver, 'web:80', 3);
  const mesh = new Mesh({ resolver: cluster.resolver, outlierDetection: false });
  t.teardown(() => mesh.close());
  const load = startLoad('http://web/', mesh.dispatcher, 6, 4000, 15_000);
  await load.after(60);
  const victim = pods[0]!;
  const servedBefore = victim.requests;
  const killedAt = performance.now();
  await victim.kill();
  // The endpoint stays in the EndpointSlice (the kubelet has not noticed yet): every new connection to
  // it is refused and must be retried on another pod.
  await load.after(300);
  const result = await load.stop();
  const late = result.failures.filter((f) => f.startedAt > killedAt);
  t.deepEqual(
    late.map((f) => String(f.error)),
    [],
    'requests sent after the kill all succeeded',
  );
  t.true(result.failures.length <= 6, 'at most the requests in flight on the killed pod failed');
  t.is(victim.requests, servedBefore, 'the dead pod served nothing after the kill');
  t.true((result.byPod.get('web-2') ?? 0) > 0 && (result.byPod.get('web-3') ?? 0) > 0);
});
