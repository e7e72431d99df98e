// Reliability (resource hygiene): endpoints added and removed 10,000 times — through the EndpointSet and
// balancer directly, and through FakeKubernetesApi → KubernetesSource → Resolver → Mesh with HTTP traffic.
// Heap after GC returns near its post-warm-up level; tables, pools and sockets do not grow with churned endpoints.

import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  type Endpoint,
  EndpointSet,
  endpointKey,
  KubernetesSource,
  READY,
  Resolver,
  type ServiceSnapshot,
} from '@clusterip/resolver';
import { createBalancer, Mesh } from '@clusterip/sdk';
import { AffinityTable } from '@clusterip/sdk/internal/picker/affinity-table.js';
import { EndpointPools } from '@clusterip/sdk/internal/pool/endpoint-pools.js';
import test, { type ExecutionContext } from 'ava';
import { createFakeKubeApi } from '../helpers/fake-kube-api.js';
import { activeResources } from '../helpers/leak-check.js';

/** Churn steps of each test (each step adds one endpoint and removes one). */
const STEPS = Number(process.env.CLUSTERIP_CHURN_STEPS ?? 10_000);
/** Steps before the reference heap is taken: caches, JIT and pools reach their steady size first. */
const WARM_UP = Math.min(1000, Math.floor(STEPS / 10));
/** Heap growth allowed after all steps, against the post-warm-up heap (generous: a leak of 1 KB per step is 10 MB). */
const MAX_GROWTH_BYTES = 10 * 1024 * 1024;
/** Churned endpoints present at any time. */
const WINDOW = 5;

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap in use after full collections (a few rounds: weak maps and finalizers settle in steps). */
async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

/** `127.1.x.y`: a distinct loopback address per step, where nothing listens (connections are refused). */
function churnAddress(i: number): string {
  return `127.1.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;
}

test.before((t) => {
  if (gc === undefined) t.log('run with --expose-gc (reliability.ava.config.mjs does) to measure the heap');
});

test.serial('EndpointSet + balancer: 10,000 churns leave the heap and the balancer at their steady size', async (t) => {
  t.truthy(gc, 'the heap check needs node --expose-gc');
  let now = 0;
  const balancer = createBalancer({
    policy: 'least-request',
    sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10_800, maxEntries: 1000 },
    outlierDetection: { consecutiveFailures: 2 },
    service: 'web.churn:http',
    now: () => now,
    random: () => 0.42,
  });
  t.teardown(() => balancer.close());
  const stable: Endpoint[] = [1, 2, 3].map((i) => ({
    address: `10.0.0.${i}`,
    port: 8080,
    protocol: 'TCP',
    addressType: 'IPv4',
    conditions: READY,
  }));
  let set = EndpointSet.of(stable);
  const step = (i: number) => {
    now += 10;
    const added: Endpoint = { ...stable[0]!, address: churnAddress(i) };
    set = set.apply({ type: 'add', endpoints: [added] });
    if (i >= WINDOW)
      set = set.apply({ type: 'remove', keys: [endpointKey({ address: churnAddress(i - WINDOW), port: 8080 })] });
    balancer.update(set.endpoints);
    for (let k = 0; k < 3; k++) {
      const r = balancer.pick({ affinityKey: `client-${(i * 3 + k) % 5000}` });
      // Churned endpoints fail (they would refuse connections), stable ones answer: ejections come and go.
      if (r.type === 'pick')
        r.done(
          r.endpoint.address.startsWith('127.1.')
            ? { type: 'error', error: new Error('refused') }
            : { type: 'http', status: 200 },
        );
    }
  };
  for (let i = 0; i < WARM_UP; i++) step(i);
  const warm = await settledHeap();
  for (let i = WARM_UP; i < WARM_UP + STEPS; i++) step(i);
  const after = await settledHeap();
  t.log(`heap after warm-up ${mb(warm)}, after ${STEPS} churns ${mb(after)}: ${mb(after - warm)} growth`);
  t.is(set.size, stable.length + WINDOW);
  t.is(balancer.size, stable.length + WINDOW, 'the balancer holds exactly the current endpoints');
  t.is(balancer.endpoints().length, stable.length + WINDOW);
  t.true(after - warm < MAX_GROWTH_BYTES, `heap grew by ${mb(after - warm)}`);
});

test.serial(
  'EndpointPools and AffinityTable: 10,000 churns keep one pool and bindings per present endpoint',
  async (t) => {
    t.truthy(gc, 'the heap check needs node --expose-gc');
    const pools = new EndpointPools({
      connections: 4,
      keepAliveTimeoutMs: 4000,
      pipelining: 1,
      connectTimeoutMs: 1000,
      headersTimeoutMs: 1000,
      bodyTimeoutMs: 1000,
      connect: undefined,
    });
    t.teardown(() => pools.close());
    const affinity = new AffinityTable<string>(10_800_000, 100_000);
    const present: string[] = [];
    const step = (i: number) => {
      const endpoint: Endpoint = {
        address: churnAddress(i),
        port: 8080,
        protocol: 'TCP',
        addressType: 'IPv4',
        conditions: READY,
      };
      // As a route does: a pool on first pick, bindings to it, and on every update retain/drop the rest.
      const key = pools.get(endpoint, 'http:', undefined).endpoint;
      affinity.set(`client-${i}`, key, i);
      present.push(key);
      if (present.length > WINDOW) present.shift();
      const keep = new Set(present);
      pools.retain(keep);
      affinity.drop((bound) => !keep.has(bound));
    };
    for (let i = 0; i < WARM_UP; i++) step(i);
    const warm = await settledHeap();
    for (let i = WARM_UP; i < WARM_UP + STEPS; i++) step(i);
    const after = await settledHeap();
    t.log(`heap after warm-up ${mb(warm)}, after ${STEPS} churns ${mb(after)}: ${mb(after - warm)} growth`);
    t.is(pools.size, WINDOW, 'one live pool per present endpoint');
    t.is(affinity.size, WINDOW, 'bindings to departed endpoints are dropped');
    await idempotent(t, pools);
    t.true(after - warm < MAX_GROWTH_BYTES, `heap grew by ${mb(after - warm)}`);
  },
);

/** close() twice gives the same promise; then await it. */
function idempotent(t: ExecutionContext, object: { close(): Promise<void> }): Promise<void> {
  const first = object.close();
  t.is(object.close(), first);
  return first;
}

/** A pod: an HTTP server on a loopback address and a given port (0: any). */
async function pod(t: ExecutionContext, host: string, port: number): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer({ keepAliveTimeout: 60_000 }, (_req, res) => res.end(host));
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return server;
}

/** Three pods on 127.0.0.61-63 sharing one port (an EndpointSlice has one port per name). */
async function stablePods(t: ExecutionContext): Promise<{ hosts: string[]; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const first = await pod(t, '127.0.0.61', 0);
    const port = (first.address() as AddressInfo).port;
    try {
      await pod(t, '127.0.0.62', port);
      await pod(t, '127.0.0.63', port);
      return { hosts: ['127.0.0.61', '127.0.0.62', '127.0.0.63'], port };
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

function slice(name: string, addresses: readonly string[], port: number) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  };
}

test.serial(
  'FakeKubernetesApi → Mesh: 10,000 churns under HTTP traffic keep heap, sockets and endpoints steady',
  async (t) => {
    t.truthy(gc, 'the heap check needs node --expose-gc');
    const started = performance.now();
    const { hosts, port } = await stablePods(t);
    // Small logs and history: the fake server's own bounded buffers must not dominate the heap figures.
    const api = await createFakeKubeApi(t, {
      endpointSliceController: false,
      historySize: 100,
      requestLogSize: 100,
      bookmarkIntervalMs: 0,
    });
    api.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        clusterIP: '10.96.0.80',
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
        sessionAffinity: 'ClientIP',
      },
    });
    api.apply(slice('web-stable', hosts, port));
    const source = new KubernetesSource({ server: api.url, requestTimeoutMs: 10_000 });
    t.teardown(() => source.close());
    const resolver = new Resolver({
      source,
      context: { namespace: 'default', env: {}, resolvConf: '', podIP: '127.0.0.1' },
    });
    t.teardown(() => resolver.close());
    const mesh = new Mesh({
      resolver,
      telemetry: false,
      affinityKey: { header: 'x-user' },
      retry: { attempts: 10, budget: false, backoff: { baseMs: 0, maxMs: 0 } },
      pool: { connections: 4 },
    });
    t.teardown(() => mesh.close());

    // Event-driven pacing: wait until the resolver's view contains a given endpoint.
    let latest: ServiceSnapshot | undefined;
    const waiters = new Set<{ key: string; resolve: () => void }>();
    const watch = resolver.watch('web:http', (snapshot) => {
      latest = snapshot;
      const keys = new Set(snapshot.endpoints.map(endpointKey));
      for (const w of waiters) {
        if (!keys.has(w.key)) continue;
        waiters.delete(w);
        w.resolve();
      }
    });
    t.teardown(() => watch.close());
    const seen = (key: string) =>
      latest?.endpoints.some((e) => endpointKey(e) === key)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.add({ key, resolve }));

    let ok = 0;
    let failed = 0;
    const failures = new Map<string, number>();
    const request = async (i: number) => {
      try {
        const res = await mesh.dispatcher.request({
          origin: 'http://web',
          path: '/',
          method: 'GET',
          headers: { 'x-user': `user-${i % 500}` },
        });
        await res.body.text();
        if (res.statusCode === 200) ok++;
        else failed++;
      } catch (error) {
        failed++;
        const code = String((error as { code?: unknown }).code ?? (error as Error).name);
        failures.set(code, (failures.get(code) ?? 0) + 1);
      }
    };

    const window: string[] = [];
    const step = async (i: number) => {
      window.push(churnAddress(i));
      if (window.length > WINDOW) window.shift();
      api.apply(slice('web-churn', window, port));
      // Every 10 steps: catch up with the watch, then route one request while the set keeps changing.
      if (i % 10 === 9) {
        await seen(`${churnAddress(i)}:${port}`);
        await request(i);
      }
    };
    for (let i = 0; i < WARM_UP; i++) await step(i);
    const warm = await settledHeap();
    const warmTcp = activeResources().get('TCPSocketWrap') ?? 0;
    for (let i = WARM_UP; i < WARM_UP + STEPS; i++) await step(i);
    await seen(`${churnAddress(WARM_UP + STEPS - 1)}:${port}`);
    for (let i = 0; i < 20; i++) await request(i);
    const after = await settledHeap();
    const tcp = activeResources().get('TCPSocketWrap') ?? 0;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    t.log(`${STEPS} churns in ${seconds} s; requests ok ${ok}, failed ${failed} ${JSON.stringify([...failures])}`);
    t.log(`heap after warm-up ${mb(warm)}, after churn ${mb(after)}: ${mb(after - warm)} growth`);
    t.log(`TCP sockets after warm-up ${warmTcp}, after churn ${tcp}`);

    const view = await mesh.endpoints('web:80');
    t.is(view.endpoints.length, hosts.length + WINDOW, 'the mesh sees exactly the current endpoints');
    t.true(after - warm < MAX_GROWTH_BYTES, `heap grew by ${mb(after - warm)}`);
    // Pools of departed endpoints are closed: the socket count does not follow the churn.
    t.true(tcp <= warmTcp + 8, `TCP sockets grew from ${warmTcp} to ${tcp}`);
    t.true(ok > 0, 'no request succeeded');
    t.is(failed, 0, `requests failed: ${JSON.stringify([...failures])}`);
  },
);
