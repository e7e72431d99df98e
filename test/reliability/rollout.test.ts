// Reliability: a rolling update of every pod of a Service under a 2,000 req/s open-loop load, over HTTP
// (Mesh dispatcher) and gRPC (register(mesh)). Every request's outcome is counted; none may fail.

import { CHANNEL_NAMES, type GrpcResolutionMessage, Mesh, type MeshRouteMessage } from '@clusterip/sdk';
import { register, serviceConfig } from '@clusterip/sdk/grpc';
import test, { type ExecutionContext } from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createEchoClient, createGrpcPods } from '../helpers/grpc-test-server.js';
import { createHttpTestServer, type HttpTestServer, waitForReady } from '../helpers/http-test-server.js';
import { bounded } from './helpers/bounded.js';
import { nextMessage } from './helpers/channel-events.js';
import { getPod } from './helpers/http-get.js';
import {
  assertNoFailedRequest,
  describeLoad,
  type LoadReport,
  type OpenLoop,
  startOpenLoop,
  warmUp,
} from './helpers/open-loop.js';
import { createWebCluster } from './helpers/web-service.js';

const RATE = 2000;
const PODS = 4;
/** Completed requests between two steps of the rollout (half a second at RATE). */
const STEP = 1000;
/** Bound of each load in time; the count bound is RATE × this. The rollout normally ends well before. */
const MAX_LOAD_MS = 20_000;
/** Bound of one step's wait for an event. */
const STEP_MS = 10_000;

/** One pod replacement, as the Deployment controller and the kubelet do it (maxSurge 1, maxUnavailable 0). */
interface Replacement {
  /** Start the new pod (not ready yet); return its endpoint key. */
  create(i: number): Promise<string>;
  /** Its readiness probe passes. */
  ready(i: number): void;
  /** The old pod's endpoint key. */
  oldKey(i: number): string;
  /** Delete the old pod: terminating (still serving). */
  terminate(i: number): void;
  /** The old pod, no longer chosen, shuts down gracefully; its object goes. */
  stop(i: number): Promise<void>;
}

/** Replace pods 1..PODS one by one, each step paced by completed requests (not by time), under `load`. */
async function rollout(
  t: ExecutionContext,
  load: OpenLoop,
  pods: Replacement,
  endpointsChanged: (predicate: (endpoints: readonly string[]) => boolean) => Promise<unknown>,
): Promise<LoadReport> {
  await bounded(load.afterCompleted(STEP), STEP_MS, 'warm-up requests');
  for (let i = 1; i <= PODS; i++) {
    const freshKey = await pods.create(i);
    const added = endpointsChanged((e) => e.includes(freshKey));
    pods.ready(i);
    await bounded(added, STEP_MS, `pod ${i} of the new version takes traffic`);
    await bounded(load.afterCompleted(STEP / 2), STEP_MS, 'requests after the new pod');
    const oldKey = pods.oldKey(i);
    const gone = endpointsChanged((e) => !e.includes(oldKey) && e.length > 0);
    pods.terminate(i);
    await bounded(gone, STEP_MS, `old pod ${i} leaves the rotation`);
    await pods.stop(i);
    await bounded(load.afterCompleted(STEP / 2), STEP_MS, 'requests after the old pod');
  }
  t.true(load.report.started < (RATE * MAX_LOAD_MS) / 1000, 'the whole rollout happened under load');
  await bounded(load.afterCompleted(STEP / 2), STEP_MS, 'requests after the rollout');
  return load.stop();
}

function assertNoFailure(t: ExecutionContext, name: string, report: LoadReport, newPods: readonly string[]): void {
  t.log(describeLoad(name, report));
  t.log('per pod', Object.fromEntries(report.byLabel));
  assertNoFailedRequest(t, report, STEP * (PODS + 1));
  for (const pod of newPods) t.true((report.byLabel.get(pod) ?? 0) > 0, `${pod} served`);
}

test.serial(`HTTP: rolling update of all ${PODS} pods under ${RATE} req/s: zero failed requests`, async (t) => {
  const cluster = await createWebCluster(t);
  const servers = new Map<string, HttpTestServer>();
  const addPod = async (name: string, ip: string, ready: boolean): Promise<HttpTestServer> => {
    const server = await createHttpTestServer(t, { host: ip, name });
    servers.set(name, server);
    cluster.addPod({ name, ip, labels: { app: 'web' }, ports: { http: server.port }, ready });
    return server;
  };
  for (let i = 1; i <= PODS; i++) await addPod(`web-v1-${i}`, `127.0.201.${10 + i}`, true);
  await waitForReady(cluster.resolver, 'web:80', PODS);
  const mesh = new Mesh({ resolver: cluster.resolver });
  t.teardown(() => mesh.close());

  const send = () => getPod('http://web/', mesh.dispatcher);
  await warmUp(send, 400);
  const load = startOpenLoop(t, { ratePerSecond: RATE, maxDurationMs: MAX_LOAD_MS, send });
  const key = (s: HttpTestServer) => `${s.host}:${s.port}`;
  const report = await rollout(
    t,
    load,
    {
      create: async (i) => key(await addPod(`web-v2-${i}`, `127.0.201.${20 + i}`, false)),
      ready: (i) => cluster.setReady(`web-v2-${i}`, true),
      oldKey: (i) => key(servers.get(`web-v1-${i}`)!),
      terminate: (i) => cluster.terminate(`web-v1-${i}`, { stillServing: true }),
      stop: async (i) => {
        await servers.get(`web-v1-${i}`)!.stop();
        cluster.deletePod(`web-v1-${i}`);
      },
    },
    (predicate) => nextMessage<MeshRouteMessage>(t, CHANNEL_NAMES.meshRoute, (m) => predicate(m.endpoints)),
  );
  assertNoFailure(
    t,
    'http rollout',
    report,
    Array.from({ length: PODS }, (_, i) => `web-v2-${i + 1}`),
  );
});

test.serial(
  `gRPC: rolling update of all ${PODS} pods under ${RATE} RPC/s through register(mesh): zero failed RPCs`,
  async (t) => {
    const cluster = await createFakeCluster(t);
    const pods = createGrpcPods(t, cluster, 'echo');
    for (let i = 1; i <= PODS; i++) await pods.add(`echo-v1-${i}`, `127.0.202.${10 + i}`);
    await waitForReady(cluster.resolver, 'echo:grpc', PODS);
    const mesh = new Mesh({ resolver: cluster.resolver });
    t.teardown(() => mesh.close());
    const plugin = register(mesh);
    t.teardown(() => plugin.close());
    // What an application configures for rollouts: calls wait for a ready pod instead of failing fast,
    // and UNAVAILABLE is retried on another pick.
    const echo = createEchoClient(t, 'kubernetes:///echo:grpc', {
      'grpc.service_config': serviceConfig({ policy: 'round-robin', waitForReady: true, retry: { maxAttempts: 3 } }),
    });
    // Connect every subchannel before measuring (bounded: at most 1,000 calls).
    const seen = new Set<string>();
    for (let i = 0; i < 1000 && seen.size < PODS; i++) seen.add((await echo.who({})).pod);

    const load = startOpenLoop(t, {
      ratePerSecond: RATE,
      maxDurationMs: MAX_LOAD_MS,
      send: async () => (await echo.who({ delayMs: 1 })).pod,
    });
    const key = (name: string) => {
      const s = pods.servers.get(name)!;
      return `${s.host}:${s.port}`;
    };
    const report = await rollout(
      t,
      load,
      {
        create: async (i) => {
          await pods.add(`echo-v2-${i}`, `127.0.202.${20 + i}`, { ready: false });
          return key(`echo-v2-${i}`);
        },
        ready: (i) => cluster.setReady(`echo-v2-${i}`, true),
        oldKey: (i) => key(`echo-v1-${i}`),
        terminate: (i) => cluster.terminate(`echo-v1-${i}`, { stillServing: true }),
        stop: async (i) => {
          await pods.servers.get(`echo-v1-${i}`)!.shutdown();
          cluster.deletePod(`echo-v1-${i}`);
        },
      },
      (predicate) => nextMessage<GrpcResolutionMessage>(t, CHANNEL_NAMES.grpcResolution, (m) => predicate(m.endpoints)),
    );
    assertNoFailure(
      t,
      'grpc rollout',
      report,
      Array.from({ length: PODS }, (_, i) => `echo-v2-${i + 1}`),
    );
  },
);
