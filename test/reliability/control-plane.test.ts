// Reliability: the control plane misbehaves under a 2,000 req/s load (API server restarts, stalls, 410
// storms, disconnects), over HTTP and, for the restart, gRPC. No request may fail because of it; the
// watch resumes; staleness is reported.

import {
  KubernetesSource,
  Resolver,
  type ServiceSnapshot,
  type SourceFailureMessage,
  type SourceListMessage,
  type SourceWatchMessage,
} from '@clusterip/resolver';
import { CHANNEL_NAMES, type GrpcResolutionMessage, Mesh, type MeshRouteMessage } from '@clusterip/sdk';
import { register, serviceConfig } from '@clusterip/sdk/grpc';
import test, { type ExecutionContext } from 'ava';
import { createFakeCluster, type FakeCluster } from '../helpers/fake-cluster.js';
import { createEchoClient, createGrpcPods } from '../helpers/grpc-test-server.js';
import { createHttpTestServer, createPods } from '../helpers/http-test-server.js';
import { bounded } from './helpers/bounded.js';
import { nextMessage, recordMessages } from './helpers/channel-events.js';
import { getPod } from './helpers/http-get.js';
import { assertNoFailedRequest, describeLoad, type OpenLoop, startOpenLoop, warmUp } from './helpers/open-loop.js';
import { readyCount, type SnapshotLog, watchSnapshots } from './helpers/snapshot-log.js';
import { createWebCluster } from './helpers/web-service.js';

const RATE = 2000;
const MAX_LOAD_MS = 20_000;
const STEP_MS = 10_000;
/** Completed requests between two fault steps. */
const STEP = 400;
const ROUNDS = 8;

interface Setup {
  readonly cluster: FakeCluster;
  readonly resolver: Resolver;
  readonly mesh: Mesh;
  readonly snapshots: SnapshotLog;
  readonly load: OpenLoop;
  /** Watches the source keeps open on the API when healthy. */
  readonly watches: number;
  /** Start pod `web-<n>` on the subnet and add it to the cluster (Ready). */
  addPod(n: number): Promise<string>;
}

/**
 * A KubernetesSource on the cluster's API with short request timeouts and backoff (so that a fault
 * is noticed and retried within the scenario), and a Resolver and a Mesh over it; closed at teardown.
 */
function meshOverApi(t: ExecutionContext, cluster: FakeCluster): { resolver: Resolver; mesh: Mesh } {
  const source = new KubernetesSource({
    server: cluster.api.url,
    requestTimeoutMs: 1000,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  t.teardown(() => source.close());
  const resolver = new Resolver({ source, context: cluster.context });
  t.teardown(() => resolver.close());
  const mesh = new Mesh({ resolver });
  t.teardown(() => mesh.close());
  return { resolver, mesh };
}

/**
 * Service `web` with 3 pods, a KubernetesSource with short request timeouts and backoff (so that a
 * fault is noticed and retried within the scenario), a Mesh over it, and the load running.
 */
async function setup(t: ExecutionContext, subnet: number): Promise<Setup> {
  const cluster = await createWebCluster(t);
  await createPods(t, cluster, { app: 'web', count: 3, subnet });
  const { resolver, mesh } = meshOverApi(t, cluster);
  const snapshots = watchSnapshots(t, resolver, 'web:80');
  await bounded(
    snapshots.until((s) => readyCount(s) === 3),
    STEP_MS,
    'three ready endpoints',
  );
  // The source's two watches (the namespace's Services, the Service's EndpointSlices) are open.
  const watches = 2;
  await bounded(cluster.api.waitForWatches({}, watches), STEP_MS, 'the source watches');
  const send = () => getPod('http://web/', mesh.dispatcher);
  await warmUp(send, 400);
  const load = startOpenLoop(t, { ratePerSecond: RATE, maxDurationMs: MAX_LOAD_MS, send });
  const addPod = async (n: number) => {
    const server = await createHttpTestServer(t, { host: `127.0.${subnet}.${10 + n}`, name: `web-${n}` });
    cluster.addPod({ name: `web-${n}`, ip: server.host, labels: { app: 'web' }, ports: { http: server.port } });
    return `${server.host}:${server.port}`;
  };
  return { cluster, resolver, mesh, snapshots, load, watches, addPod };
}

/** Resolves when the mesh routes `web:80` to `key`. */
function routedTo(t: ExecutionContext, key: string): Promise<MeshRouteMessage> {
  return nextMessage<MeshRouteMessage>(
    t,
    CHANNEL_NAMES.meshRoute,
    (m) => m.route === 'web:80' && m.endpoints.includes(key),
  );
}

/** No snapshot of the log lost the endpoints: an outage serves the last good set. */
function assertNeverEmptied(t: ExecutionContext, snapshots: readonly ServiceSnapshot[]): void {
  const emptied = snapshots.filter((s) => s.status !== 'ok' || s.endpoints.length === 0);
  t.deepEqual(
    emptied.map((s) => `${s.status} ${s.endpoints.length} ${s.error?.message ?? ''}`),
    [],
    'the endpoint set never emptied',
  );
}

test.serial(
  'API server restarts under load: stale last good set served, watch relists, zero failed requests',
  async (t) => {
    const { cluster, snapshots, load, watches, addPod } = await setup(t, 211);
    const recovered = recordMessages<SourceWatchMessage>(t, CHANNEL_NAMES.sourceWatch, (m) => m.recovered);
    const relisted = recordMessages<SourceListMessage>(t, CHANNEL_NAMES.sourceList, (m) => m.recovered);
    await bounded(load.afterCompleted(STEP), STEP_MS, 'warm-up requests');

    for (let round = 1; round <= 2; round++) {
      const failed = nextMessage<SourceFailureMessage>(t, CHANNEL_NAMES.sourceFailure);
      const staleSeen = snapshots.until((s) => s.stale);
      let stale: ServiceSnapshot | undefined;
      let newKey = '';
      await cluster.api.restart({
        whileDown: async () => {
          await bounded(failed, STEP_MS, 'the source notices the API is down');
          stale = await bounded(staleSeen, STEP_MS, 'the snapshot turns stale');
          // The cluster changes while the API is unreachable: a new pod (kept in the API's store).
          newKey = await addPod(3 + round);
          await bounded(load.afterCompleted(STEP), STEP_MS, 'requests while the API is down');
        },
      });
      t.is(stale?.error?.code, 'CLUSTERIP_ERR_WATCH_FAILED', 'staleness carries the watch failure');
      t.is(stale?.endpoints.length, 2 + round, 'the last good set is still served');
      const routed = routedTo(t, newKey);
      const fresh = await bounded(
        snapshots.until((s) => !s.stale && readyCount(s) === 3 + round),
        STEP_MS,
        'the watch resumes and sees the pod added while the API was down',
      );
      t.is(fresh.error, undefined);
      await bounded(routed, STEP_MS, 'the mesh routes to the new pod');
      await bounded(cluster.api.waitForWatches({}, watches), STEP_MS, 'every watch is open again');
      await bounded(load.afterCompleted(STEP), STEP_MS, 'requests after the restart');
    }
    const report = await load.stop();
    t.log(describeLoad('api restarts', report));
    const resumed = recovered.messages.length + relisted.messages.length;
    t.log(`${recovered.messages.length} watches resumed and ${relisted.messages.length} relists after the outages`);
    // Each restart cuts both watches (Services, EndpointSlices); the new watch cache starts after the
    // pod added while down, so both resume by a relist.
    t.true(resumed >= 4, `${resumed} recoveries for 2 restarts × 2 watches`);
    t.true(relisted.messages.length >= 4, 'the history was lost with the watch cache: both watches relisted');
    assertNeverEmptied(t, snapshots.snapshots);
    assertNoFailedRequest(t, report, STEP * 5);
    t.true((report.byLabel.get('web-5') ?? 0) > 0, 'the pod added during the second restart served');
  },
);

test.serial('API server stalls under load: requests time out, staleness reported, recovery on release', async (t) => {
  const { cluster, snapshots, load, watches } = await setup(t, 212);
  await bounded(load.afterCompleted(STEP), STEP_MS, 'warm-up requests');
  const failures = recordMessages<SourceFailureMessage>(t, CHANNEL_NAMES.sourceFailure);

  for (let round = 1; round <= 2; round++) {
    // Every new request is accepted and never answered; the open watches end (as on an apiserver
    // timeout), so the source's next watch hangs until its request timeout.
    const stall = cluster.api.stall({});
    const staleSeen = snapshots.until((s) => s.stale);
    cluster.api.dropWatches();
    await bounded(stall.waitForStalled(2), STEP_MS, 'the re-watches stall');
    const stale = await bounded(staleSeen, STEP_MS, 'the stalled watch times out: the snapshot turns stale');
    t.is(stale.error?.code, 'CLUSTERIP_ERR_WATCH_FAILED');
    t.is(readyCount(stale), round === 1 ? 3 : 2, 'the last good set is still served');
    // A change the stalled API cannot deliver yet: pod web-3 turns not ready (it keeps serving, as a pod
    // whose readiness probe flaps does).
    cluster.setReady('web-3', round === 2);
    await bounded(load.afterCompleted(STEP), STEP_MS, 'requests while the API stalls');
    stall.release();
    await bounded(
      snapshots.until((s) => !s.stale && readyCount(s) === (round === 2 ? 3 : 2)),
      STEP_MS,
      'after the stall, the watch delivers the change',
    );
    await bounded(cluster.api.waitForWatches({}, watches), STEP_MS, 'every watch is open again');
    await bounded(load.afterCompleted(STEP), STEP_MS, 'requests after the stall');
  }
  const report = await load.stop();
  t.log(describeLoad('api stalls', report));
  t.log(`${failures.messages.length} failed API requests reported`);
  t.true(failures.messages.length >= 2, 'the stalled requests were reported');
  t.true(
    failures.messages.every((m) => m.error.code === 'CLUSTERIP_ERR_WATCH_FAILED'),
    'failures are typed WatchFailedErrors',
  );
  assertNeverEmptied(t, snapshots.snapshots);
  assertNoFailedRequest(t, report, STEP * 5);
});

test.serial(
  `410 storm under load (${ROUNDS} rounds of expired watches and compactions): relists, zero failed requests`,
  async (t) => {
    const { cluster, snapshots, load, watches } = await setup(t, 213);
    await bounded(load.afterCompleted(STEP), STEP_MS, 'warm-up requests');
    const relists = recordMessages<SourceListMessage>(t, CHANNEL_NAMES.sourceList, (m) => m.relist);

    for (let round = 1; round <= ROUNDS; round++) {
      // Alternately: the watch cache expires the watchers (ERROR 410 in the stream), or etcd compacts and
      // the watches are cut, so the resumed watch gets HTTP 410 for its resourceVersion.
      // A write the source does not watch (a Node) moves the revision past the source's resourceVersions,
      // so the compaction leaves them behind.
      cluster.api.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: `storm-${round}` } });
      cluster.api.compactHistory();
      if (round % 2 === 1) cluster.api.expireWatches();
      else cluster.api.disconnectWatches();
      // A change in the middle of the storm: pod web-2 flips readiness every third round.
      if (round % 3 === 0) cluster.setReady('web-2', round % 6 !== 3);
      await bounded(cluster.api.waitForWatches({}, watches), STEP_MS, `round ${round}: the watches are open again`);
      await bounded(load.afterCompleted(STEP / 4), STEP_MS, `round ${round}: requests`);
    }
    const final = ROUNDS % 6 >= 3 ? 2 : 3;
    await bounded(
      snapshots.until((s) => !s.stale && readyCount(s) === final),
      STEP_MS,
      'the endpoint set follows the changes made during the storm',
    );
    await bounded(load.afterCompleted(STEP), STEP_MS, 'requests after the storm');
    const report = await load.stop();
    t.log(describeLoad('410 storm', report));
    t.log(`${relists.messages.length} relists in ${ROUNDS} rounds`);
    t.true(relists.messages.length >= 2 * ROUNDS, 'every 410 was answered by a relist (2 watches a round)');
    assertNeverEmptied(t, snapshots.snapshots);
    assertNoFailedRequest(t, report, STEP * 2 + (STEP / 4) * ROUNDS);
  },
);

test.serial(
  `API disconnects under load (${ROUNDS} rounds): watches resume, staleness comes and goes, zero failed requests`,
  async (t) => {
    const { cluster, snapshots, load, watches, addPod } = await setup(t, 214);
    await bounded(load.afterCompleted(STEP), STEP_MS, 'warm-up requests');
    const reconnects = recordMessages<SourceWatchMessage>(t, CHANNEL_NAMES.sourceWatch, (m) => m.reconnect);
    const failures = recordMessages<SourceFailureMessage>(t, CHANNEL_NAMES.sourceFailure);
    let newKey = '';

    for (let round = 1; round <= ROUNDS; round++) {
      // Cut every watch mid-stream; every other round, also cut the next two requests (the re-watches),
      // so the source has to back off and retry.
      if (round % 2 === 0) cluster.api.disconnectNext({ count: 2 });
      cluster.api.disconnectWatches();
      if (round === ROUNDS / 2) newKey = await addPod(4);
      await bounded(cluster.api.waitForWatches({}, watches), STEP_MS, `round ${round}: the watches are open again`);
      await bounded(load.afterCompleted(STEP / 4), STEP_MS, `round ${round}: requests`);
    }
    const routed = routedTo(t, newKey);
    const arrived = await bounded(
      snapshots.until((s) => !s.stale && readyCount(s) === 4),
      STEP_MS,
      'the pod added during the disconnects arrives',
    );
    t.true(arrived.endpoints.some((e) => `${e.address}:${e.port}` === newKey));
    // The route may have included the new pod before `routed` subscribed: then the load's count shows it.
    await bounded(Promise.race([routed, load.afterCompleted(STEP)]), STEP_MS, 'the mesh routes to the new pod');
    await bounded(load.afterCompleted(STEP), STEP_MS, 'requests after the disconnects');
    const report = await load.stop();
    t.log(describeLoad('api disconnects', report));
    t.log(`${reconnects.messages.length} watch reconnects, ${failures.messages.length} failures reported`);
    t.true(reconnects.messages.length >= ROUNDS, 'each cut watch resumed from its resourceVersion');
    t.true(failures.messages.length >= ROUNDS / 2, 'the cut requests were reported');
    t.true(
      snapshots.snapshots.some((s) => s.stale),
      'staleness was reported while requests failed',
    );
    assertNeverEmptied(t, snapshots.snapshots);
    assertNoFailedRequest(t, report, STEP * 2 + (STEP / 4) * ROUNDS);
    t.true((report.byLabel.get('web-4') ?? 0) > 0, 'the pod added during the disconnects served');
  },
);

test.serial(
  'API server restart under gRPC load through register(mesh): the channel keeps its pods, zero failed RPCs',
  async (t) => {
    const cluster = await createFakeCluster(t);
    const pods = createGrpcPods(t, cluster, 'echo');
    for (let i = 1; i <= 3; i++) await pods.add(`echo-${i}`, `127.0.215.${10 + i}`);
    const { resolver, mesh } = meshOverApi(t, cluster);
    const plugin = register(mesh);
    t.teardown(() => plugin.close());
    const snapshots = watchSnapshots(t, resolver, 'echo:grpc');
    await bounded(
      snapshots.until((s) => readyCount(s) === 3),
      STEP_MS,
      'three ready endpoints',
    );
    const echo = createEchoClient(t, 'kubernetes:///echo:grpc', {
      'grpc.service_config': serviceConfig({ policy: 'round-robin' }),
    });
    const send = async () => (await echo.who({})).pod;
    await warmUp(send, 400);
    const load = startOpenLoop(t, { ratePerSecond: RATE, maxDurationMs: MAX_LOAD_MS, send });
    await bounded(load.afterCompleted(STEP), STEP_MS, 'warm-up RPCs');

    const failed = nextMessage<SourceFailureMessage>(t, CHANNEL_NAMES.sourceFailure);
    const staleSeen = snapshots.until((s) => s.stale);
    let newKey = '';
    await cluster.api.restart({
      whileDown: async () => {
        await bounded(failed, STEP_MS, 'the source notices the API is down');
        await bounded(staleSeen, STEP_MS, 'the snapshot turns stale');
        const fresh = await pods.add('echo-4', '127.0.215.14');
        newKey = `${fresh.host}:${fresh.port}`;
        await bounded(load.afterCompleted(STEP), STEP_MS, 'RPCs while the API is down');
      },
    });
    const resolved = nextMessage<GrpcResolutionMessage>(t, CHANNEL_NAMES.grpcResolution, (m) =>
      m.endpoints.includes(newKey),
    );
    await bounded(resolved, STEP_MS, 'the channel gets the pod added while the API was down');
    await bounded(pods.servers.get('echo-4')!.firstCall(), STEP_MS, 'the new pod takes RPCs');
    await bounded(load.afterCompleted(STEP), STEP_MS, 'RPCs after the restart');
    const report = await load.stop();
    t.log(describeLoad('grpc api restart', report));
    assertNeverEmptied(t, snapshots.snapshots);
    assertNoFailedRequest(t, report, STEP * 3);
    t.true((report.byLabel.get('echo-4') ?? 0) > 0, 'the pod added during the restart served');
  },
);
