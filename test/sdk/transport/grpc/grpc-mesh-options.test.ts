import type { ServiceSnapshot } from '@clusterip/resolver';
import { Mesh } from '@clusterip/sdk';
import { meshChannelOptions, register, serviceConfig } from '@clusterip/sdk/grpc';
import test, { type ExecutionContext } from 'ava';
import { createFakeCluster, type FakeCluster } from '../../../helpers/fake-cluster.js';
import { createEchoClient, createGrpcPods, type EchoClient } from '../../../helpers/grpc-test-server.js';

function until(t: ExecutionContext, cluster: FakeCluster, predicate: (s: ServiceSnapshot) => boolean) {
  return new Promise<ServiceSnapshot>((resolve) => {
    const watch = cluster.resolver.watch('echo:grpc', (s) => {
      if (predicate(s)) resolve(s);
    });
    t.teardown(() => watch.close());
  });
}

async function podsOf(echo: EchoClient, n: number, metadata?: Record<string, string>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const { pod } = await echo.who({}, { waitForReady: true, ...(metadata ? { metadata } : {}) });
    counts.set(pod, (counts.get(pod) ?? 0) + 1);
  }
  return counts;
}

/** Call until `n` distinct pods answered (every subchannel connected), at most 1,000 calls. */
async function warm(echo: EchoClient, n: number): Promise<void> {
  const seen = new Set<string>();
  for (let i = 0; i < 1000 && seen.size < n; i++) seen.add((await echo.who({}, { waitForReady: true })).pod);
}

async function threePods(t: ExecutionContext, base: number): Promise<FakeCluster> {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  await Promise.all([
    pods.add('echo-1', `127.0.79.${base + 1}`),
    pods.add('echo-2', `127.0.79.${base + 2}`),
    pods.add('echo-3', `127.0.79.${base + 3}`),
  ]);
  await until(t, cluster, (s) => s.endpoints.length === 3);
  return cluster;
}

test('without a service config the channel takes the policy of the mesh (round-robin: exact thirds)', async (t) => {
  const cluster = await threePods(t, 10);
  const mesh = new Mesh({ resolver: cluster.resolver, policy: 'round-robin' });
  t.teardown(() => mesh.close());
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', meshChannelOptions(mesh));
  await warm(echo, 3);
  const counts = await podsOf(echo, 300);
  t.deepEqual([...counts.values()], [100, 100, 100]);
});

test('the mesh’s per-Service override applies (ClientIP affinity keyed by metadata); the service config still wins where it speaks', async (t) => {
  const cluster = await threePods(t, 20);
  const mesh = new Mesh({
    resolver: cluster.resolver,
    services: {
      [`echo.${cluster.namespace}`]: { sessionAffinity: { type: 'ClientIP' }, affinityKey: { metadata: 'x-user' } },
    },
  });
  t.teardown(() => mesh.close());
  register();
  const keyed = createEchoClient(t, 'kubernetes:///echo:grpc', meshChannelOptions(mesh));
  await warm(keyed, 3);
  const landing = new Set<string>();
  // 24 keys, each first placed at random: all on one of three pods is 3 in 3^24.
  for (let i = 1; i <= 24; i++) {
    const user = `u${i}`;
    const counts = await podsOf(keyed, 4, { 'x-user': user });
    t.is(counts.size, 1, `user ${user} sticks to one pod`);
    landing.add([...counts.keys()][0]!);
  }
  t.true(landing.size > 1, 'different keys land on different pods');

  // The channel's own service config sets sessionAffinity None and a policy: the mesh's affinity is not used.
  const own = createEchoClient(t, 'kubernetes:///echo:grpc', {
    ...meshChannelOptions(mesh),
    'grpc.service_config': serviceConfig({ policy: 'round-robin', sessionAffinity: { type: 'None' } }),
  });
  await warm(own, 3);
  t.deepEqual([...(await podsOf(own, 30, { 'x-user': 'u1' })).values()], [10, 10, 10]);
});

test('a mesh whose header extractor names the key reads it from the call metadata', async (t) => {
  const cluster = await threePods(t, 30);
  const mesh = new Mesh({
    resolver: cluster.resolver,
    policy: 'ring-hash',
    affinityKey: { header: 'x-tenant' },
  });
  t.teardown(() => mesh.close());
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', meshChannelOptions(mesh));
  await warm(echo, 3);
  const landing = new Set<string>();
  // 24 keys: with 8, all landing on one of three pods happened about once in 1,700 rings (measured).
  for (let i = 0; i < 24; i++) {
    const tenant = `tenant-${i}`;
    const counts = await podsOf(echo, 4, { 'x-tenant': tenant });
    t.is(counts.size, 1, `tenant ${tenant} sticks to one pod`);
    landing.add([...counts.keys()][0]!);
  }
  t.true(landing.size > 1);
});

test('register(mesh): channels without their own mesh option take that mesh’s options', async (t) => {
  const cluster = await threePods(t, 40);
  const mesh = new Mesh({ resolver: cluster.resolver, policy: 'round-robin' });
  t.teardown(() => mesh.close());
  const registration = register(mesh);
  t.is(registration.mesh, mesh);
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', {});
  await warm(echo, 3);
  t.deepEqual([...(await podsOf(echo, 300)).values()], [100, 100, 100]);
});
