import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import type { ServiceSnapshot } from '@clusterip/resolver';
import { meshChannelOptions, register, serviceConfig } from '@clusterip/sdk/grpc';
import test, { type ExecutionContext } from 'ava';
import { createFakeCluster, type FakeCluster } from '../helpers/fake-cluster.js';
import { createEchoClient, createGrpcPods, type EchoClient } from '../helpers/grpc-test-server.js';

const TARGET = 'kubernetes:///echo:grpc';

function channelOptions(cluster: FakeCluster, options: Parameters<typeof serviceConfig>[0] = {}) {
  register();
  return { ...meshChannelOptions({ resolver: cluster.resolver }), 'grpc.service_config': serviceConfig(options) };
}

/** Resolves when a watch of the Service sees `predicate` hold (the channel's watch shares the same source watch). */
function until(t: ExecutionContext, cluster: FakeCluster, predicate: (s: ServiceSnapshot) => boolean) {
  return new Promise<ServiceSnapshot>((resolve) => {
    const watch = cluster.resolver.watch('echo:grpc', (s) => {
      if (predicate(s)) resolve(s);
    });
    t.teardown(() => watch.close());
  });
}

const readyCount = (n: number) => (s: ServiceSnapshot) => s.endpoints.filter((e) => e.conditions.ready).length === n;

/** Call until `n` distinct pods answered (every subchannel connected), at most 1,000 calls. */
async function warm(echo: EchoClient, n: number): Promise<void> {
  const seen = new Set<string>();
  for (let i = 0; i < 1000 && seen.size < n; i++) seen.add((await echo.who({}, { waitForReady: true })).pod);
}

async function callMany(echo: EchoClient, total: number, concurrency: number, metadata?: Record<string, string>) {
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      const { pod } = await echo.who({}, { waitForReady: true, ...(metadata ? { metadata } : {}) });
      counts.set(pod, (counts.get(pod) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

test('one channel spreads 3,000 unary RPCs over 3 pods within ±5 %, where one ClusterIP connection pins one pod', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  await Promise.all([
    pods.add('echo-1', '127.0.0.11'),
    pods.add('echo-2', '127.0.0.12'),
    pods.add('echo-3', '127.0.0.13'),
  ]);
  await until(t, cluster, readyCount(3));

  const echo = createEchoClient(t, TARGET, channelOptions(cluster, { policy: 'round-robin' }));
  // Wait until all three are connected, so that the count measures balancing, not connection set-up.
  await warm(echo, 3);
  const counts = await callMany(echo, 3000, 16);
  t.log('per pod', Object.fromEntries(counts));
  t.is(counts.size, 3);
  for (const n of counts.values()) t.true(Math.abs(n - 1000) <= 50, `${n} not within 1000 ± 5 %`);

  // ClusterIP: a kube-proxy-like TCP balancer picks a pod per connection; HTTP/2 keeps one connection.
  const backends = [...pods.servers.values()];
  let i = 0;
  const proxy = createServer((client: Socket) => {
    const b = backends[i++ % backends.length]!;
    const upstream = connect(b.port, b.host);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  proxy.listen(0, '127.0.0.20');
  await once(proxy, 'listening');
  t.teardown(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
  const address = proxy.address() as { port: number };
  const viaClusterIP = createEchoClient(t, `ipv4:127.0.0.20:${address.port}`);
  const pinned = await callMany(viaClusterIP, 300, 16);
  viaClusterIP.close();
  t.is(pinned.size, 1, 'every RPC of one HTTP/2 connection lands on one pod');
});

test('scale out 3 → 5 under load: new pods take RPCs right after they become ready, no reconnect needed', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  await Promise.all([
    pods.add('echo-1', '127.0.0.21'),
    pods.add('echo-2', '127.0.0.22'),
    pods.add('echo-3', '127.0.0.23'),
  ]);
  await until(t, cluster, readyCount(3));
  const echo = createEchoClient(t, TARGET, channelOptions(cluster, { policy: 'least-request' }));
  await warm(echo, 3);

  let stop = false;
  let failures = 0;
  const load = Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let n = 0; !stop && n < 20_000; n++) {
        await echo.who({}, { waitForReady: true }).catch(() => failures++);
      }
    }),
  );
  const [p4, p5] = await Promise.all([
    pods.add('echo-4', '127.0.0.24', { ready: false }),
    pods.add('echo-5', '127.0.0.25', { ready: false }),
  ]);
  await until(t, cluster, (s) => s.endpoints.length === 5);
  const readyAt = performance.now(); // the apply at FakeKubernetesApi that makes them Ready
  cluster.setReady('echo-4', true);
  cluster.setReady('echo-5', true);
  const [first4, first5] = await Promise.all([p4.firstCall(), p5.firstCall()]);
  stop = true;
  await load;
  const latency = Math.max(first4, first5) - readyAt;
  t.log(`first RPC on the new pods ${latency.toFixed(1)} ms after the Ready condition was applied`);
  t.is(failures, 0);
  // Generous bound (the benchmark reports the real figure): the DNS resolver of grpc-js would not see
  // these pods before some connection breaks, and then at most every 30 s.
  t.true(latency < 2000, `${latency} ms`);
});

test('rolling update under load with wait-for-ready and the retry policy: zero failed RPCs', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  await Promise.all([pods.add('v1-a', '127.0.0.31'), pods.add('v1-b', '127.0.0.32'), pods.add('v1-c', '127.0.0.33')]);
  await until(t, cluster, readyCount(3));
  const echo = createEchoClient(
    t,
    TARGET,
    channelOptions(cluster, { policy: 'round-robin', waitForReady: true, retry: { maxAttempts: 5 } }),
  );
  await warm(echo, 3);

  let stop = false;
  let failures = 0;
  let calls = 0;
  const progress: { at: number; resolve: () => void }[] = [];
  /** Resolves once `n` more RPCs have completed under the load below. */
  const after = (n: number) => new Promise<void>((resolve) => progress.push({ at: calls + n, resolve }));
  const errors: string[] = [];
  const seen = new Map<string, number>();
  const load = Promise.all(
    Array.from({ length: 6 }, async () => {
      for (let n = 0; !stop && n < 50_000; n++) {
        try {
          const { pod } = await echo.who({ delayMs: 1 });
          seen.set(pod, (seen.get(pod) ?? 0) + 1);
          calls++;
          for (const p of progress) if (p.at <= calls) p.resolve();
        } catch (error) {
          failures++;
          errors.push((error as Error).message);
        }
      }
    }),
  );
  const next = ['127.0.0.34', '127.0.0.35', '127.0.0.36'];
  for (const [i, old] of ['v1-a', 'v1-b', 'v1-c'].entries()) {
    const name = `v2-${'abc'[i]}`;
    const fresh = await pods.add(name, next[i]!);
    await fresh.firstCall();
    await after(100);
    // The kubelet marks the old pod terminating; the controller turns its endpoint not-ready.
    const gone = until(t, cluster, (s) =>
      s.endpoints.every((e) => e.address !== pods.servers.get(old)!.host || !e.conditions.ready),
    );
    cluster.terminate(old, { stillServing: false });
    await gone;
    await pods.servers.get(old)!.shutdown(); // graceful: in-flight calls finish
    cluster.deletePod(old);
    await after(100);
  }
  await until(t, cluster, (s) => s.endpoints.length === 3);
  await after(300);
  stop = true;
  await load;
  t.log(`${calls} RPCs, per pod`, Object.fromEntries(seen));
  t.deepEqual(errors, []);
  t.is(failures, 0);
  for (const name of ['v2-a', 'v2-b', 'v2-c']) t.true((seen.get(name) ?? 0) > 0);
});

test('affinity by metadata key: a key sticks to its pod, moves when the pod goes and sticks again', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  await Promise.all([
    pods.add('echo-1', '127.0.0.41'),
    pods.add('echo-2', '127.0.0.42'),
    pods.add('echo-3', '127.0.0.43'),
  ]);
  await until(t, cluster, readyCount(3));
  const echo = createEchoClient(
    t,
    TARGET,
    channelOptions(cluster, { sessionAffinity: { type: 'ClientIP' }, affinityKey: { metadata: 'x-user' } }),
  );
  await callMany(echo, 30, 3);

  const podOf = new Map<string, string>();
  for (let u = 0; u < 24; u++) {
    const counts = await callMany(echo, 10, 2, { 'x-user': `user-${u}` });
    t.is(counts.size, 1, `user-${u} went to ${[...counts.keys()].join(', ')}`);
    podOf.set(`user-${u}`, [...counts.keys()][0]!);
  }
  t.true(new Set(podOf.values()).size > 1, 'different keys spread over pods');

  const moved = 'user-0';
  const oldPod = podOf.get(moved)!;
  const oldHost = pods.servers.get(oldPod)!.host;
  const gone = until(t, cluster, (s) => s.endpoints.every((e) => e.address !== oldHost));
  cluster.deletePod(oldPod);
  await gone;
  await pods.servers.get(oldPod)!.shutdown();
  const after = await callMany(echo, 20, 2, { 'x-user': moved });
  t.is(after.size, 1);
  t.not([...after.keys()][0], oldPod);
  // Keys of the pods that stayed did not move.
  for (const [user, pod] of podOf) {
    if (pod === oldPod) continue;
    const again = await callMany(echo, 3, 1, { 'x-user': user });
    t.deepEqual([...again.keys()], [pod], user);
  }
});

test('streams keep their pod for their lifetime; new streams balance, also onto a pod added meanwhile', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  await Promise.all([
    pods.add('echo-1', '127.0.0.51'),
    pods.add('echo-2', '127.0.0.52'),
    pods.add('echo-3', '127.0.0.53'),
  ]);
  await until(t, cluster, readyCount(3));
  const echo = createEchoClient(t, TARGET, channelOptions(cluster, { policy: 'round-robin', waitForReady: true }));
  await warm(echo, 3);

  const streams = Array.from({ length: 6 }, () => echo.chat());
  const firstPods = await Promise.all(streams.map((s) => s.send()));
  t.is(new Set(firstPods).size, 3, 'six streams over three pods');
  await pods.add('echo-4', '127.0.0.54');
  await until(t, cluster, readyCount(4));
  const p4 = pods.servers.get('echo-4')!;
  // Unary traffic reaches the new pod (the channel has connected to it).
  while (p4.calls === 0) await echo.who({});
  for (let round = 0; round < 5; round++) {
    const now = await Promise.all(streams.map((s) => s.send()));
    t.deepEqual(now, firstPods, 'each stream stays on its pod');
  }
  const more = Array.from({ length: 8 }, () => echo.chat());
  const morePods = await Promise.all(more.map((s) => s.send()));
  t.true(morePods.includes('echo-4'), 'a new stream lands on the new pod');
  await Promise.all([...streams, ...more].map((s) => s.end()));
});
