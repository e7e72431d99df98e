import { createRequire } from 'node:module';
import type { ServiceSnapshot } from '@clusterip/resolver';
import { meshChannelOptions, register, serviceConfig } from '@clusterip/sdk/grpc';
import { meshChannelOptionsWith, registerWith } from '@clusterip/sdk/internal/transport/grpc/register.js';
import * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import * as lowest from 'grpc-js-lowest';
import { createFakeCluster, type FakeCluster } from '../../../helpers/fake-cluster.js';
import { createEchoClient, createGrpcPods, type EchoClient, echoService } from '../../../helpers/grpc-test-server.js';

function until(t: ExecutionContext, cluster: FakeCluster, predicate: (s: ServiceSnapshot) => boolean) {
  return new Promise<ServiceSnapshot>((resolve) => {
    const watch = cluster.resolver.watch('echo:grpc', (s) => {
      if (predicate(s)) resolve(s);
    });
    t.teardown(() => watch.close());
  });
}

/** Call until `n` distinct pods answered (every subchannel connected), at most 1,000 calls. */
async function warm(echo: EchoClient, n: number): Promise<void> {
  const seen = new Set<string>();
  for (let i = 0; i < 1000 && seen.size < n; i++) seen.add((await echo.who({}, { waitForReady: true })).pod);
}

async function podsOf(echo: EchoClient, n: number, metadata?: Record<string, string>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const { pod } = await echo.who({}, { waitForReady: true, ...(metadata ? { metadata } : {}) });
    counts.set(pod, (counts.get(pod) ?? 0) + 1);
  }
  return counts;
}

const require = createRequire(import.meta.url);

test('the alias really is the lowest version we declare, and the peer the newest', (t) => {
  t.is(require('grpc-js-lowest/package.json').version, '1.14.0');
  t.regex(require('@grpc/grpc-js/package.json').version, /^1\.14\./);
  t.not(lowest.experimental, grpc.experimental);
});

for (const [version, module] of [
  ['newest', grpc],
  ['lowest (1.14.0)', lowest as unknown as typeof grpc],
] as const) {
  test(`balances per RPC and keeps affinity with @grpc/grpc-js ${version} (${module === grpc ? 'peer' : 'alias'})`, async (t) => {
    const cluster = await createFakeCluster(t);
    const pods = createGrpcPods(t, cluster, 'echo', { grpc: module });
    await Promise.all([
      pods.add('echo-1', '127.0.0.71'),
      pods.add('echo-2', '127.0.0.72'),
      pods.add('echo-3', '127.0.0.73'),
    ]);
    await until(t, cluster, (s) => s.endpoints.length === 3);
    registerWith(module);
    const mesh = meshChannelOptionsWith(module, { resolver: cluster.resolver });
    const rr = createEchoClient(
      t,
      'kubernetes:///echo:grpc',
      { ...mesh, 'grpc.service_config': serviceConfig({ policy: 'round-robin' }) },
      module,
    );
    await warm(rr, 3);
    const counts = await podsOf(rr, 300);
    t.deepEqual([...counts.values()], [100, 100, 100]);
    const sticky = createEchoClient(
      t,
      'kubernetes:///echo:grpc',
      { ...mesh, 'grpc.service_config': serviceConfig({ policy: 'ring-hash', affinityKey: { metadata: 'x-user' } }) },
      module,
    );
    // A ring maps keys consistently for a stable membership: wait until all three are connected.
    await warm(sticky, 3);
    for (const user of ['a', 'b', 'c', 'd']) t.is((await podsOf(sticky, 10, { 'x-user': user })).size, 1);
    t.true(module.experimental.isLoadBalancerNameRegistered('clusterip'));
  });
}

test('without grpc.service_config a kubernetes: channel gets the clusterip policy (per-RPC, not pick_first)', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  await Promise.all([pods.add('echo-1', '127.0.0.74'), pods.add('echo-2', '127.0.0.75')]);
  await until(t, cluster, (s) => s.endpoints.length === 2);
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo', meshChannelOptions({ resolver: cluster.resolver }));
  const counts = await podsOf(echo, 200);
  t.is(counts.size, 2);
});

test('Service sessionAffinity ClientIP pins the whole channel to one pod (kube-proxy semantics)', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo', { sessionAffinity: 'ClientIP' });
  await Promise.all([
    pods.add('echo-1', '127.0.0.76'),
    pods.add('echo-2', '127.0.0.77'),
    pods.add('echo-3', '127.0.0.78'),
  ]);
  await until(t, cluster, (s) => s.endpoints.length === 3);
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', meshChannelOptions({ resolver: cluster.resolver }));
  // Wait for every pod to be connected: until then the channel may only see some of them.
  await podsOf(echo, 5);
  const counts = await podsOf(echo, 100);
  t.is(counts.size, 1);
});

test('internalTrafficPolicy Local: only this node’s pods get RPCs; none local means DROP, even for wait-for-ready', async (t) => {
  const cluster = await createFakeCluster(t, { nodeName: 'node-a' });
  const pods = createGrpcPods(t, cluster, 'echo', { internalTrafficPolicy: 'Local' });
  await pods.add('local', '127.0.0.81', { nodeName: 'node-a' });
  await pods.add('remote', '127.0.0.82', { nodeName: 'node-b' });
  await until(t, cluster, (s) => s.endpoints.length === 2);
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', meshChannelOptions({ resolver: cluster.resolver }));
  t.deepEqual([...(await podsOf(echo, 50)).keys()], ['local']);
  const gone = until(t, cluster, (s) => s.endpoints.length === 1);
  cluster.deletePod('local');
  await gone;
  const error = await t.throwsAsync(echo.who({}, { waitForReady: true }));
  t.is((error as { code?: number }).code, grpc.status.UNAVAILABLE);
  t.regex(error!.message, /no local endpoints|node-a/);
});

test('a terminating pod gets no new RPCs while its open stream finishes on it', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  await Promise.all([pods.add('echo-1', '127.0.0.83'), pods.add('echo-2', '127.0.0.84')]);
  await until(t, cluster, (s) => s.endpoints.length === 2);
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', {
    ...meshChannelOptions({ resolver: cluster.resolver }),
    'grpc.service_config': serviceConfig({ policy: 'round-robin' }),
  });
  await warm(echo, 2);
  const streams = [echo.chat(), echo.chat()];
  const first = await Promise.all(streams.map((s) => s.send()));
  const onOne = streams[first.indexOf('echo-1')]!;
  const terminating = until(t, cluster, (s) =>
    s.endpoints.some((e) => e.address === '127.0.0.83' && e.conditions.terminating),
  );
  cluster.terminate('echo-1', { stillServing: true }); // serving-terminating: only used if nothing is ready
  await terminating;
  t.deepEqual([...(await podsOf(echo, 50)).keys()], ['echo-2']);
  t.is(await onOne.send(), 'echo-1', 'the stream opened before keeps its pod');
  await Promise.all(streams.map((s) => s.end()));
});

/**
 * A pod of Service `echo` whose server closes every connection after `maxAgeMs` (GOAWAY, as servers set
 * `grpc.max_connection_age_ms` to spread clients): the channel reconnects to it all the time.
 * `fail` makes its calls answer UNAVAILABLE; `hang` makes them never answer.
 */
async function recyclingPod(t: ExecutionContext, cluster: FakeCluster, name: string, ip: string, maxAgeMs: number) {
  const pod = { fail: false, hang: false, calls: 0 };
  const server = new grpc.Server({ 'grpc.max_connection_age_ms': maxAgeMs, 'grpc.max_connection_age_grace_ms': 100 });
  server.addService(echoService as unknown as grpc.ServiceDefinition, {
    who: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
      pod.calls++;
      if (pod.hang) return;
      if (pod.fail) callback({ code: grpc.status.UNAVAILABLE, details: `${name} is failing` });
      else callback(null, { pod: name });
    },
    chat: () => {},
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${ip}:0`, grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  t.teardown(() => server.forceShutdown());
  cluster.addPod({ name, ip, labels: { app: 'echo' }, ports: { grpc: port } });
  return pod;
}

/** Sequential calls for `ms` (at most 2,000), counted per pod that answered (or per error code). */
async function callFor(echo: EchoClient, ms: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const end = performance.now() + ms;
  for (let i = 0; i < 2000 && performance.now() < end; i++) {
    const r = await echo.who({}, { waitForReady: true, deadlineMs: 2000 }).then(
      (reply) => reply.pod,
      (error: { code?: number }) => `error ${error.code}`,
    );
    counts.set(r, (counts.get(r) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return counts;
}

test('ClientIP affinity stays on its pod while the pod’s connection is recycled (GOAWAY at max connection age)', async (t) => {
  const cluster = await createFakeCluster(t);
  createGrpcPods(t, cluster, 'echo', { sessionAffinity: 'ClientIP' });
  await Promise.all([
    recyclingPod(t, cluster, 'echo-1', '127.0.244.1', 300),
    recyclingPod(t, cluster, 'echo-2', '127.0.244.2', 300),
    recyclingPod(t, cluster, 'echo-3', '127.0.244.3', 300),
  ]);
  await until(t, cluster, (s) => s.endpoints.length === 3);
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', meshChannelOptions({ resolver: cluster.resolver }));
  await podsOf(echo, 5);
  const pinned = (await echo.who()).pod;
  // About six reconnects of every pod. The binding ends only when its pod leaves the Service (spec §7.4):
  // while the pod reconnects (a few ms), calls go elsewhere and come back.
  const counts = await callFor(echo, 2000);
  t.log(Object.fromEntries(counts));
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  // About 99 % measured on a quiet machine; 44 % when a reconnect dropped the binding. The margin is for
  // reconnects slowed by a loaded machine.
  t.true((counts.get(pinned) ?? 0) >= total * 0.7, `${counts.get(pinned)} of ${total} calls on ${pinned}`);
});

/**
 * Pods echo-1..3 on `127.0.244.<first>`.. (echo-1's connections recycled after `firstMaxAgeMs`) and a
 * round-robin channel over them that ejects a pod after 3 failures in a row, for 60 s; warmed up.
 */
async function ejectingChannel(t: ExecutionContext, first: number, firstMaxAgeMs: number) {
  const cluster = await createFakeCluster(t);
  createGrpcPods(t, cluster, 'echo');
  const pods = await Promise.all([
    recyclingPod(t, cluster, 'echo-1', `127.0.244.${first}`, firstMaxAgeMs),
    recyclingPod(t, cluster, 'echo-2', `127.0.244.${first + 1}`, 60_000),
    recyclingPod(t, cluster, 'echo-3', `127.0.244.${first + 2}`, 60_000),
  ]);
  await until(t, cluster, (s) => s.endpoints.length === 3);
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', {
    ...meshChannelOptions({ resolver: cluster.resolver }),
    'grpc.service_config': serviceConfig({
      policy: 'round-robin',
      outlierDetection: { consecutiveFailures: 3, baseEjectionTimeMs: 60_000 },
    }),
  });
  await warm(echo, 3);
  return { echo, first: pods[0] };
}

test('an ejected pod stays out for its ejection time while its connection is recycled', async (t) => {
  const { echo, first: bad } = await ejectingChannel(t, 4, 300);
  bad.fail = true;
  // Three failures in a row eject it (round-robin: within 9 calls, some retried by nobody: counted).
  for (let i = 0; i < 20; i++) await echo.who().catch(() => {});
  const calls = bad.calls;
  const counts = await callFor(echo, 1500);
  t.log(Object.fromEntries(counts));
  t.is(bad.calls, calls, 'no call reached the ejected pod after its reconnects');
  t.false([...counts.keys()].some((k) => k.startsWith('error')));
});

test('a pod that takes calls and never answers is ejected: its calls end DEADLINE_EXCEEDED, which counts as a failure', async (t) => {
  const { echo, first: hung } = await ejectingChannel(t, 7, 60_000);
  hung.hang = true;
  // Round-robin: the hung pod takes every third call until its third deadline ejects it.
  let timedOut = 0;
  for (let i = 0; i < 15; i++) {
    await echo.who({}, { deadlineMs: 150 }).catch((error: { code?: number }) => {
      if (error.code === grpc.status.DEADLINE_EXCEEDED) timedOut++;
    });
  }
  t.is(timedOut, 3);
  const calls = hung.calls;
  const answers = [];
  for (let i = 0; i < 12; i++) answers.push((await echo.who({}, { deadlineMs: 2000 })).pod);
  t.is(hung.calls, calls, 'no call reached the hung pod after its ejection');
  t.deepEqual([...new Set(answers)].sort(), ['echo-2', 'echo-3']);
});

test('a hand-written service config that grpc-js would drop in silence (a policy misspelt) gives a process warning', async (t) => {
  const cluster = await createFakeCluster(t);
  createGrpcPods(t, cluster, 'echo');
  await recyclingPod(t, cluster, 'echo-1', '127.0.244.10', 60_000);
  await until(t, cluster, (s) => s.endpoints.length === 1);
  register();
  const warned = new Promise<Error>((resolve) => {
    const onWarning = (warning: Error) => {
      if (warning.name !== 'ClusterIPWarning' || !warning.message.includes('round_robin_misspelt')) return;
      process.off('warning', onWarning);
      resolve(warning);
    };
    process.on('warning', onWarning);
  });
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', {
    ...meshChannelOptions({ resolver: cluster.resolver }),
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ clusterip: { policy: 'round_robin_misspelt' } }] }),
  });
  // grpc-js falls back to pick_first: the call still goes through.
  t.is((await echo.who({}, { waitForReady: true })).pod, 'echo-1');
  const warning = await warned;
  t.regex(
    warning.message,
    /^clusterip: grpc\.service_config: clusterip\.policy must be one of .*round_robin_misspelt.*pick_first/,
  );
});
