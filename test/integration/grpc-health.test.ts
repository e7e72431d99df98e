import diagnosticsChannel from 'node:diagnostics_channel';
import type { ServiceSnapshot } from '@clusterip/resolver';
import { type BalancerPanicMessage, CHANNEL_NAMES, type GrpcHealthMessage } from '@clusterip/sdk';
import { meshChannelOptions, register, serviceConfig } from '@clusterip/sdk/grpc';
import { meshChannelOptionsWith, registerWith } from '@clusterip/sdk/internal/transport/grpc/register.js';
import * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import * as lowest from 'grpc-js-lowest';
import { createFakeCluster, type FakeCluster } from '../helpers/fake-cluster.js';
import { addHealthService, NOT_SERVING, SERVING } from '../helpers/grpc-health-server.js';
import { createEchoClient, createGrpcPods, type EchoClient } from '../helpers/grpc-test-server.js';
import { settle, trackResources } from '../helpers/leak-check.js';

function until(t: ExecutionContext, cluster: FakeCluster, predicate: (s: ServiceSnapshot) => boolean) {
  return new Promise<ServiceSnapshot>((resolve) => {
    const watch = cluster.resolver.watch('echo:grpc', (s) => {
      if (predicate(s)) resolve(s);
    });
    t.teardown(() => watch.close());
  });
}

/** The next `clusterip:grpc:health` message for endpoint host `host` that satisfies `predicate`. */
function healthEvent(
  t: ExecutionContext,
  host: string,
  predicate: (m: GrpcHealthMessage) => boolean,
): Promise<GrpcHealthMessage> {
  return new Promise((resolve) => {
    const listener = (m: unknown) => {
      const message = m as GrpcHealthMessage;
      if (message.endpoint.startsWith(`${host}:`) && predicate(message)) {
        diagnosticsChannel.unsubscribe(CHANNEL_NAMES.grpcHealth, listener);
        resolve(message);
      }
    };
    diagnosticsChannel.subscribe(CHANNEL_NAMES.grpcHealth, listener);
    t.teardown(() => diagnosticsChannel.unsubscribe(CHANNEL_NAMES.grpcHealth, listener));
  });
}

/** Call until `n` distinct pods answered (every endpoint connected and serving), at most 1,000 calls. */
async function warm(echo: EchoClient, n: number): Promise<void> {
  const seen = new Set<string>();
  for (let i = 0; i < 1000 && seen.size < n; i++) seen.add((await echo.who({}, { waitForReady: true })).pod);
}

async function podsOf(echo: EchoClient, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const { pod } = await echo.who({}, { waitForReady: true });
    counts.set(pod, (counts.get(pod) ?? 0) + 1);
  }
  return counts;
}

for (const [version, module] of [
  ['newest', grpc],
  ['lowest (1.14.0)', lowest as unknown as typeof grpc],
] as const) {
  test(`a NOT_SERVING pod gets no RPCs until it reports SERVING again (@grpc/grpc-js ${version})`, async (t) => {
    const base = module === grpc ? 200 : 210;
    const ip = (i: number) => `127.0.0.${base + i}`;
    const cluster = await createFakeCluster(t);
    const pods = createGrpcPods(t, cluster, 'echo', { grpc: module });
    const servers = await Promise.all([1, 2, 3].map((i) => pods.add(`echo-${i}`, ip(i))));
    const health = servers.map((s) => addHealthService(s.server, { '': SERVING }, module));
    await until(t, cluster, (s) => s.endpoints.length === 3);
    registerWith(module);
    const echo = createEchoClient(
      t,
      'kubernetes:///echo:grpc',
      {
        ...meshChannelOptionsWith(module, { resolver: cluster.resolver }),
        'grpc.service_config': serviceConfig({ policy: 'round-robin', healthCheck: true }),
      },
      module,
    );
    await warm(echo, 3);
    t.deepEqual([...(await podsOf(echo, 30)).values()], [10, 10, 10]);

    const down = healthEvent(t, ip(2), (m) => !m.serving);
    health[1]!.set(NOT_SERVING);
    const message = await down;
    t.like(message, { service: 'echo.default:grpc', status: 'NOT_SERVING', serviceName: '', serving: false });
    const during = await podsOf(echo, 40);
    t.false(during.has('echo-2'));
    t.deepEqual([...during.values()], [20, 20]);

    const up = healthEvent(t, ip(2), (m) => m.serving);
    health[1]!.set(SERVING);
    t.like(await up, { status: 'SERVING' });
    t.deepEqual([...(await podsOf(echo, 30)).values()].sort(), [10, 10, 10]);
  });
}

test('a server without the health service counts as serving (UNIMPLEMENTED, gRFC A17), and SERVICE_UNKNOWN does not', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  const plain = await pods.add('plain', '127.0.0.221');
  const checked = await pods.add('checked', '127.0.0.222');
  const other = await pods.add('other', '127.0.0.223');
  addHealthService(checked.server, { 'test.Echo': SERVING });
  addHealthService(other.server, { '': SERVING }); // knows nothing of test.Echo
  void plain;
  await until(t, cluster, (s) => s.endpoints.length === 3);
  const unimplemented = healthEvent(t, '127.0.0.221', () => true);
  const unknown = healthEvent(t, '127.0.0.223', () => true);
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', {
    ...meshChannelOptions({ resolver: cluster.resolver }),
    'grpc.service_config': serviceConfig({ policy: 'round-robin', healthCheck: { serviceName: 'test.Echo' } }),
  });
  echo.client.getChannel().getConnectivityState(true); // connect now (the channel is idle until asked)
  t.like(await unimplemented, { status: 'UNIMPLEMENTED', serving: true, serviceName: 'test.Echo' });
  t.like(await unknown, { status: 'SERVICE_UNKNOWN', serving: false });
  await warm(echo, 2);
  const counts = await podsOf(echo, 40);
  t.deepEqual([...counts.keys()].sort(), ['checked', 'plain']);
});

test('all pods NOT_SERVING: the panic rule (default 50 %) balances over all of them', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  const servers = await Promise.all([pods.add('echo-1', '127.0.0.231'), pods.add('echo-2', '127.0.0.232')]);
  const health = servers.map((s) => addHealthService(s.server));
  await until(t, cluster, (s) => s.endpoints.length === 2);
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', {
    ...meshChannelOptions({ resolver: cluster.resolver }),
    'grpc.service_config': serviceConfig({ policy: 'round-robin', healthCheck: true }),
  });
  await warm(echo, 2);
  // One of two serving is 50 %: not below the threshold, so the other pod takes everything.
  const first = healthEvent(t, '127.0.0.231', (m) => !m.serving);
  health[0]!.set(NOT_SERVING);
  await first;
  t.deepEqual([...(await podsOf(echo, 10)).keys()], ['echo-2']);
  // None serving: panic mode, every connected pod takes RPCs.
  const panic = new Promise<BalancerPanicMessage>((resolve) => {
    const listener = (m: unknown) => {
      const message = m as BalancerPanicMessage;
      if (message.service === 'echo.default:grpc' && message.panic) resolve(message);
    };
    diagnosticsChannel.subscribe(CHANNEL_NAMES.balancerPanic, listener);
    t.teardown(() => diagnosticsChannel.unsubscribe(CHANNEL_NAMES.balancerPanic, listener));
  });
  const second = healthEvent(t, '127.0.0.232', (m) => !m.serving);
  health[1]!.set(NOT_SERVING);
  await second;
  t.like(await panic, { healthy: 0, total: 2 });
  t.deepEqual([...(await podsOf(echo, 10)).values()], [5, 5]);
});

test('all pods NOT_SERVING without panic mode (outlierDetection: false): UNAVAILABLE saying why; wait-for-ready waits for SERVING', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  const servers = await Promise.all([pods.add('echo-1', '127.0.0.233'), pods.add('echo-2', '127.0.0.234')]);
  const health = servers.map((s) => addHealthService(s.server, { '': NOT_SERVING }));
  await until(t, cluster, (s) => s.endpoints.length === 2);
  const reported = Promise.all([
    healthEvent(t, '127.0.0.233', (m) => m.status === 'NOT_SERVING'),
    healthEvent(t, '127.0.0.234', (m) => m.status === 'NOT_SERVING'),
  ]);
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', {
    ...meshChannelOptions({ resolver: cluster.resolver }),
    'grpc.service_config': serviceConfig({ healthCheck: true, outlierDetection: false }),
  });
  // Start connecting, then wait until both servers answered.
  echo.client.getChannel().getConnectivityState(true);
  await reported;
  const error = await t.throwsAsync<grpc.ServiceError>(echo.who({}, { waitForReady: false }));
  t.is(error?.code, grpc.status.UNAVAILABLE);
  t.regex(error?.details ?? '', /not serving/);
  const waiting = echo.who({}, { waitForReady: true });
  health[1]!.set(SERVING);
  t.is((await waiting).pod, 'echo-2');
});

test('endpoints that leave the Service get their Watch cancelled; a failed Watch is retried', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  const servers = await Promise.all([pods.add('echo-1', '127.0.0.241'), pods.add('echo-2', '127.0.0.242')]);
  const health = servers.map((s) => addHealthService(s.server));
  await until(t, cluster, (s) => s.endpoints.length === 2);
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo:grpc', {
    ...meshChannelOptions({ resolver: cluster.resolver }),
    'grpc.service_config': serviceConfig({ healthCheck: { initialBackoffMs: 10 } }),
  });
  await warm(echo, 2);
  t.is(health[0]!.watchers, 1);
  t.is(health[1]!.watchers, 1);

  // The server ends the stream: the client reports FAILED (not serving) and opens a new Watch at once
  // (it had answered), which answers SERVING again.
  const failed = healthEvent(t, '127.0.0.241', (m) => m.status === 'FAILED');
  const back = healthEvent(t, '127.0.0.241', (m) => m.status === 'SERVING');
  health[0]!.failWatches(grpc.status.UNAVAILABLE);
  t.like(await failed, { serving: false, code: grpc.status.UNAVAILABLE });
  await back;
  await health[0]!.until(() => health[0]!.watchers === 1);

  // The pod leaves the Service (not Ready): its Watch is cancelled while its server keeps running.
  const endedBefore = health[1]!.ended;
  cluster.setReady('echo-2', false);
  await health[1]!.until(() => health[1]!.watchers === 0);
  t.is(health[1]!.ended, endedBefore + 1);
  t.deepEqual([...(await podsOf(echo, 5)).keys()], ['echo-1']);
});

/** Active handles that keep the loop alive, by type. */
function handles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

test.serial('after channel close no Watch stream, retry timer or handle remains', async (t) => {
  const baseline = handles();
  const tracker = trackResources(['Timeout']);
  t.teardown(() => tracker.stop());
  // Timers created by the health checker (its retry backoff), unref'd ones included.
  const healthTimers = () => tracker.origins().filter((stack) => stack.includes('grpc-health-check')).length;
  await t
    .try(async (tt) => {
      const cluster = await createFakeCluster(tt);
      const pods = createGrpcPods(tt, cluster, 'echo');
      const servers = await Promise.all([pods.add('echo-1', '127.0.0.251'), pods.add('echo-2', '127.0.0.252')]);
      const health = servers.map((s) => addHealthService(s.server));
      await until(tt, cluster, (s) => s.endpoints.length === 2);
      const registration = register({ resolver: cluster.resolver });
      tt.teardown(() => registration.close());
      const echo = createEchoClient(tt, 'kubernetes:///echo:grpc', {
        ...meshChannelOptions({ resolver: cluster.resolver }),
        'grpc.service_config': serviceConfig({ healthCheck: { initialBackoffMs: 600_000 } }),
      });
      await warm(echo, 2);
      // echo-1's Watch fails after answering (retried at once), then its retry is refused before any
      // answer: a long backoff timer is pending.
      const failedTwice = new Promise<void>((resolve) => {
        let n = 0;
        const listener = (m: unknown) => {
          const message = m as GrpcHealthMessage;
          if (message.endpoint.startsWith('127.0.0.251:') && message.status === 'FAILED' && ++n === 2) resolve();
        };
        diagnosticsChannel.subscribe(CHANNEL_NAMES.grpcHealth, listener);
        tt.teardown(() => diagnosticsChannel.unsubscribe(CHANNEL_NAMES.grpcHealth, listener));
      });
      health[0]!.refuse(grpc.status.INTERNAL);
      health[0]!.failWatches(grpc.status.INTERNAL);
      await failedTwice;
      tt.true(healthTimers() >= 1, 'a retry timer is pending');
      tt.is(health[1]!.watchers, 1);

      echo.close();
      await Promise.all(health.map((h) => h.until(() => h.watchers === 0)));
      tt.true(await settle(() => healthTimers() === 0), 'the retry timer is cleared on close');
      for (const server of pods.servers.values()) await server.shutdown();
    })
    .then((attempt) => attempt.commit());
  const leftovers = () => {
    const extra: string[] = [];
    for (const [type, n] of handles()) {
      if (n > (baseline.get(type) ?? 0)) extra.push(`${type}×${n - (baseline.get(type) ?? 0)}`);
    }
    return extra;
  };
  await settle(() => leftovers().length === 0);
  t.deepEqual(leftovers(), []);
});
