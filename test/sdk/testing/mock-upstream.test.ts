// @clusterip/sdk/testing createMockUpstream: a Mesh routes to its pods (real HTTP servers on 127.0.0.1)
// exactly as to a cluster's, and each pod command (ready, crash, restart, terminate, scale) is seen by the
// next request. Every upstream and mesh is closed in t.teardown.

import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { Mesh, type MeshOptions } from '@clusterip/sdk';
import {
  createMockUpstream,
  type MockHandler,
  type MockPod,
  type MockUpstream,
  type MockUpstreamOptions,
  StaticSource,
} from '@clusterip/sdk/testing';
import test, { type ExecutionContext } from 'ava';

async function upstream(t: ExecutionContext, options: MockUpstreamOptions): Promise<MockUpstream> {
  const u = await createMockUpstream(options);
  t.teardown(() => u.close());
  return u;
}

function meshFor(t: ExecutionContext, u: MockUpstream, options: Omit<MeshOptions, 'source' | 'context'> = {}): Mesh {
  const mesh = new Mesh({ source: u.source, context: u.context, ...options });
  t.teardown(() => mesh.close());
  return mesh;
}

/** `count` sequential GETs of `path`; the pod of each, from the default echo answer. */
async function podsOf(mesh: Mesh, url: string, count: number): Promise<string[]> {
  const pods: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await mesh.fetch(url);
    pods.push(((await res.json()) as { pod: string }).pod);
  }
  return pods;
}

/** The distinct values of `values`, sorted. */
function distinct(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/**
 * A handler that holds requests to `/slow` until `release()` (`arrived` resolves with the first one's pod),
 * and answers others at once with `{ pod }`.
 */
function holdingHandler() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived!: (pod: MockPod) => void;
  const first = new Promise<MockPod>((resolve) => {
    arrived = resolve;
  });
  const handler: MockHandler = async (req, res, pod) => {
    if (req.url !== '/slow') {
      res.end(JSON.stringify({ pod: pod.name }));
      return;
    }
    arrived(pod);
    await released;
    res.end('late');
  };
  return { release, arrived: first, handler };
}

test('a Mesh balances over every pod, and each request is recorded with its pod, method, path and headers', async (t) => {
  const orders = await upstream(t, { name: 'orders', namespace: 'shop' });
  const mesh = meshFor(t, orders, { policy: 'round-robin' });
  t.is(orders.url, 'http://orders.shop');
  t.deepEqual(
    orders.pods.map((p) => [p.name, p.state, p.address]),
    [
      ['orders-0', 'ready', '127.0.0.1'],
      ['orders-1', 'ready', '127.0.0.1'],
      ['orders-2', 'ready', '127.0.0.1'],
    ],
  );
  t.is(new Set(orders.pods.map((p) => p.port)).size, 3);

  const pods = await podsOf(mesh, 'http://orders/items?id=1', 9);
  t.deepEqual(distinct(pods), ['orders-0', 'orders-1', 'orders-2']);
  t.deepEqual(
    orders.pods.map((p) => p.requests),
    [3, 3, 3],
  );
  t.is(orders.requests.length, 9);
  t.deepEqual(
    orders.requests.map((r) => r.pod),
    pods,
  );
  const [first] = orders.requests;
  t.is(first?.method, 'GET');
  t.is(first?.path, '/items?id=1');
  t.is(first?.headers.host, 'orders');

  const endpoints = await mesh.endpoints('orders');
  t.deepEqual(endpoints.endpoints.map((e) => e.endpoint.targetRef?.name).sort(), ['orders-0', 'orders-1', 'orders-2']);
});

test('setReady(false) takes a pod out of the next request, setReady(true) puts it back', async (t) => {
  const web = await upstream(t, { name: 'web', replicas: 2, port: 8080 });
  const mesh = meshFor(t, web, { policy: 'round-robin' });
  t.is(web.url, 'http://web.default:8080');
  const [a, b] = web.pods;
  await a?.setReady(false);
  t.is(a?.state, 'not-ready');
  t.deepEqual(a?.conditions, { ready: false, serving: false, terminating: false });
  t.deepEqual(await podsOf(mesh, 'http://web:8080/', 4), ['web-1', 'web-1', 'web-1', 'web-1']);
  await a?.setReady(true);
  t.deepEqual(distinct(await podsOf(mesh, 'http://web:8080/', 4)), ['web-0', 'web-1']);
  t.is(b?.state, 'ready');
});

test('a crashed pod refuses connections while still listed; the Mesh retries elsewhere, and restart() brings it back', async (t) => {
  const api = await upstream(t, { name: 'api', replicas: 3 });
  // Outlier detection would eject the pod for its refused connections; here the pod's own states are tested.
  const mesh = meshFor(t, api, { policy: 'round-robin', outlierDetection: false });
  await podsOf(mesh, 'http://api/', 3); // a keep-alive connection to each pod
  const crashed = api.pods[1];
  await crashed?.crash();
  t.is(crashed?.state, 'crashed');
  t.deepEqual(crashed?.conditions, { ready: true, serving: true, terminating: false });

  const pods = await podsOf(mesh, 'http://api/', 12);
  t.false(pods.includes('api-1'));
  t.is(pods.length, 12);
  t.is(crashed?.requests, 1);

  await crashed?.restart();
  t.is(crashed?.state, 'ready');
  const after = await podsOf(mesh, 'http://api/', 30);
  t.true(after.includes('api-1'));
});

test('terminate() lists the pod as terminating, lets its request in flight finish, and removes it; later requests avoid it', async (t) => {
  const held = holdingHandler();
  const svc = await upstream(t, { name: 'svc', replicas: 2, drainDelayMs: 20, handler: held.handler });
  const mesh = meshFor(t, svc, { policy: 'round-robin' });
  const inFlight = mesh.fetch('http://svc/slow');
  const leaving = await held.arrived;
  const staying = svc.pods.find((p) => p !== leaving)?.name;

  const terminated = leaving.terminate();
  t.is(leaving.terminate(), terminated);
  t.is(leaving.state, 'terminating');
  t.deepEqual(leaving.conditions, { ready: false, serving: true, terminating: true });
  const listedAs = async () =>
    (await mesh.endpoints('svc')).endpoints.find((e) => e.endpoint.targetRef?.name === leaving.name)?.endpoint
      .conditions;
  for (let turn = 0; turn < 100 && (await listedAs())?.terminating !== true; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.deepEqual(await listedAs(), { ready: false, serving: true, terminating: true });

  // Requests meanwhile: none fails, none reaches the terminating pod.
  const during = await podsOf(mesh, 'http://svc/', 10);
  t.deepEqual(distinct(during), [staying]);
  held.release();
  const res = await inFlight;
  t.is(res.status, 200);
  t.is(await res.text(), 'late');
  await terminated;
  t.is(leaving.state as string, 'terminated');
  t.is(leaving.conditions, undefined);
  t.deepEqual(
    svc.pods.map((p) => p.name),
    [staying],
  );
  const listed = await mesh.endpoints('svc');
  t.deepEqual(
    listed.endpoints.map((e) => e.endpoint.targetRef?.name),
    [staying],
  );
  await t.throwsAsync(leaving.setReady(true), { code: 'CLUSTERIP_ERR_CLOSED' });
  await t.throwsAsync(leaving.restart(), { code: 'CLUSTERIP_ERR_CLOSED' });
});

test('terminate() and scale() under concurrent GETs through a Mesh (default policy, drainDelayMs): no request fails', async (t) => {
  const svc = await upstream(t, { name: 'busy', replicas: 3, drainDelayMs: 50 });
  const mesh = meshFor(t, svc);
  let done = 0;
  const failures: string[] = [];
  let changed!: () => void;
  const halfway = new Promise<void>((resolve) => {
    changed = resolve;
  });
  const worker = async () => {
    for (let i = 0; i < 40; i++) {
      try {
        const res = await mesh.fetch('http://busy/');
        if (res.status !== 200) failures.push(`status ${res.status}`);
        await res.text();
      } catch (error) {
        failures.push(String((error as Error).cause ?? error));
      }
      if (++done === 60) changed();
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, worker));
  await halfway;
  const first = svc.pods[0]!;
  await Promise.all([first.terminate(), svc.scale(3)]);
  await load;
  t.is(done, 320);
  t.deepEqual(failures, []);
  t.false(svc.pods.includes(first));
  t.is(svc.pods.length, 3);
});

test('restart() racing crash(), terminate() or the upstream closing: the later call wins', async (t) => {
  const svc = await upstream(t, { name: 'racy', replicas: 3 });
  const [a, b, c] = svc.pods;
  await Promise.all([a?.crash(), b?.crash(), c?.crash()]);

  const restarting = a?.restart();
  await a?.crash();
  await restarting;
  t.is(a?.state, 'crashed');
  const refused = httpRequest({ host: a?.address, port: a?.port, path: '/' });
  t.is(((await once(refused.end(), 'error')) as [NodeJS.ErrnoException])[0].code, 'ECONNREFUSED');

  const restartingB = b?.restart();
  await b?.terminate();
  await restartingB;
  t.is(b?.state, 'terminated');
  t.is(b?.conditions, undefined);

  const restartingC = c?.restart();
  await svc.close();
  await restartingC;
  t.is(c?.state, 'terminated');
  const gone = httpRequest({ host: c?.address, port: c?.port, path: '/' });
  t.is(((await once(gone.end(), 'error')) as [NodeJS.ErrnoException])[0].code, 'ECONNREFUSED');
});

test('terminationGraceMs cuts a request that never ends', async (t) => {
  const svc = await upstream(t, {
    name: 'hung',
    replicas: 1,
    terminationGraceMs: 50,
    handler: () => undefined, // never answers
  });
  const [pod] = svc.pods;
  const req = httpRequest({ host: pod?.address, port: pod?.port, path: '/' });
  const failed = once(req, 'error');
  req.end();
  while (pod?.requests !== 1) await new Promise((resolve) => setImmediate(resolve));
  await pod.terminate();
  const [error] = (await failed) as [NodeJS.ErrnoException];
  t.is(error.code, 'ECONNRESET');
  t.is(svc.pods.length, 0);
});

test('scale() starts pods listed at once and terminates the newest; a Mesh follows both', async (t) => {
  const svc = await upstream(t, { name: 'scaled', replicas: 1 });
  const mesh = meshFor(t, svc, { policy: 'round-robin' });
  await svc.scale(3);
  t.deepEqual(
    svc.pods.map((p) => p.name),
    ['scaled-0', 'scaled-1', 'scaled-2'],
  );
  t.deepEqual(distinct(await podsOf(mesh, 'http://scaled/', 6)), ['scaled-0', 'scaled-1', 'scaled-2']);
  await Promise.all([svc.scale(1), svc.scale(2)]); // in order: down to 1, then a new pod
  t.deepEqual(
    svc.pods.map((p) => p.name),
    ['scaled-0', 'scaled-3'],
  );
  t.deepEqual(distinct(await podsOf(mesh, 'http://scaled/', 6)), ['scaled-0', 'scaled-3']);
  await svc.scale(0);
  const none = await t.throwsAsync(mesh.fetch('http://scaled/'));
  t.is((none?.cause as { code?: string } | undefined)?.code, 'CLUSTERIP_ERR_NO_ENDPOINTS');
  await t.throwsAsync(svc.scale(-1), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
  await t.throwsAsync(svc.scale(undefined as unknown as number), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
});

test('a handler that throws or rejects answers 500 with its message; a per-pod handler overrides the upstream one', async (t) => {
  const svc = await upstream(t, {
    name: 'faulty',
    replicas: 2,
    handler: (req) => {
      if (req.url === '/throw') throw new Error('boom');
      return Promise.reject(new Error('async boom'));
    },
  });
  const mesh = meshFor(t, svc, { policy: 'round-robin', retry: false });
  const thrown = await mesh.fetch('http://faulty/throw');
  t.is(thrown.status, 500);
  t.regex(await thrown.text(), /^mock handler of pod faulty-\d failed: boom$/);
  const rejected = await mesh.fetch('http://faulty/reject');
  t.is(rejected.status, 500);
  t.regex(await rejected.text(), /async boom/);

  for (const pod of svc.pods) {
    pod.setHandler((_req, res, p) => {
      res.writeHead(503, { 'retry-after': '0' }).end(p.name);
    });
  }
  const unavailable = await mesh.fetch('http://faulty/');
  t.is(unavailable.status, 503);
  t.regex(await unavailable.text(), /^faulty-\d$/);
  svc.pods[0]?.setHandler(undefined);
  svc.pods[1]?.setHandler(undefined);
  t.is((await mesh.fetch('http://faulty/throw')).status, 500);
});

test('a Service spec is passed through: ClientIP affinity keeps every request on one pod', async (t) => {
  const svc = await upstream(t, {
    name: 'sticky',
    spec: { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } },
  });
  const mesh = meshFor(t, svc);
  t.is(new Set(await podsOf(mesh, 'http://sticky/', 12)).size, 1);
});

test('several upstreams share one StaticSource behind one Mesh; closing one removes only its Service', async (t) => {
  const source = new StaticSource();
  t.teardown(() => source.close());
  const users = await upstream(t, { name: 'users', namespace: 'shop', replicas: 1, source });
  const carts = await upstream(t, { name: 'carts', namespace: 'shop', replicas: 1, source });
  const mesh = new Mesh({ source, context: users.context });
  t.teardown(() => mesh.close());
  t.deepEqual(await podsOf(mesh, 'http://users.shop.svc.cluster.local/', 1), ['users-0']);
  t.deepEqual(await podsOf(mesh, 'http://carts.shop/', 1), ['carts-0']);

  await users.close();
  t.false(source.closed);
  // A name under the cluster domain fails when missing (a short one would pass through to the system's DNS).
  const gone = await t.throwsAsync(mesh.fetch('http://users.shop.svc.cluster.local/'));
  t.is((gone?.cause as { code?: string } | undefined)?.code, 'CLUSTERIP_ERR_SERVICE_NOT_FOUND');
  t.deepEqual(await podsOf(mesh, 'http://carts/', 1), ['carts-0']);
  t.deepEqual(
    carts.requests.map((r) => r.path),
    ['/', '/'],
  );
});
