import diagnosticsChannel from 'node:diagnostics_channel';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubernetesApi, StaticSource } from '@clusterip/resolver/testing';
import { MESH_CHANNEL_NAMES, Mesh, type MeshRouteMessage } from '@clusterip/sdk';
import test from 'ava';
import { type Dispatcher, request } from 'undici';
import { createHttpTestServer, shopSource } from '../../helpers/http-test-server.js';

const context = { namespace: 'shop', resolvConf: '', env: {} };

/** Resolves with the first `clusterip:mesh:route` message matching `filter`. */
function nextRouteMessage(filter: (m: MeshRouteMessage) => boolean): Promise<MeshRouteMessage> {
  return new Promise((resolve) => {
    const listener = (message: unknown) => {
      const m = message as MeshRouteMessage;
      if (!filter(m)) return;
      diagnosticsChannel.unsubscribe(MESH_CHANNEL_NAMES.route, listener);
      resolve(m);
    };
    diagnosticsChannel.subscribe(MESH_CHANNEL_NAMES.route, listener);
  });
}

test('idle routes close after routeIdleTimeoutMs; a route with a request in flight stays; the next request re-creates it', async (t) => {
  let release: (() => void) | undefined;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const slow = await createHttpTestServer(t, {
    host: '127.0.77.11',
    handler: (_req, res) => {
      void held.then(() => res.end('late'));
    },
  });
  const fast = await createHttpTestServer(t, { host: '127.0.77.12' });
  const source = shopSource({ slow: [slow], fast: [fast] });
  t.teardown(() => source.close());
  const mesh = new Mesh({ source, context, routeIdleTimeoutMs: 20 });
  t.teardown(() => mesh.close());
  const closed: string[] = [];
  const record = (m: unknown) => {
    if ((m as MeshRouteMessage).decision === 'closed') closed.push((m as MeshRouteMessage).route);
  };
  diagnosticsChannel.subscribe(MESH_CHANNEL_NAMES.route, record);
  t.teardown(() => diagnosticsChannel.unsubscribe(MESH_CHANNEL_NAMES.route, record));

  const inflight = request('http://slow/', { dispatcher: mesh.dispatcher });
  while (slow.requests === 0) await new Promise((r) => setImmediate(r));
  const fastClosed = nextRouteMessage((m) => m.route === 'fast:80' && m.decision === 'closed');
  await (await request('http://fast/', { dispatcher: mesh.dispatcher })).body.text();
  const message = await fastClosed;
  t.is(message.service, 'fast.shop:80');
  // The sweep that closed `fast` saw `slow` unused for a whole period too: only its request kept it.
  t.deepEqual(closed, ['fast:80']);
  release!();
  const res = await inflight;
  t.is(await res.body.text(), 'late');
  const again = await request('http://fast/', { dispatcher: mesh.dispatcher });
  t.is(again.statusCode, 200, 'a closed route is re-created by the next request');
  await again.body.dump();
  t.is(fast.requests, 2);
});

// Serial: routes they close are published on the global route channel that the idle-route test counts.

/** A pod that holds every request until `release()`, on `host`. */
async function holdingPod(t: Parameters<typeof createHttpTestServer>[0], host: string) {
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const pod = await createHttpTestServer(t, {
    host,
    handler: (req, res) => {
      void held.then(() => res.end(`done ${req.url}`));
    },
  });
  return { pod, release };
}

test.serial(
  'close() is graceful for requests queued unsent in a pool too: they go where they were sent and finish',
  async (t) => {
    const { pod, release } = await holdingPod(t, '127.0.78.11');
    const source = shopSource({ web: [pod] });
    t.teardown(() => source.close());
    const mesh = new Mesh({ source, context, pool: { connections: 1 } });
    const sent = [1, 2, 3].map((i) =>
      request(`http://web/${i}`, { dispatcher: mesh.dispatcher }).then((r) => r.body.text()),
    );
    while (pod.requests === 0) await new Promise((r) => setImmediate(r)); // 1 on the connection, 2 and 3 queued
    const closing = mesh.close();
    release();
    t.deepEqual(await Promise.all(sent), ['done /1', 'done /2', 'done /3']);
    await closing;
  },
);

test.serial(
  'over maxServices the least recently used idle route goes, not a busy one with requests queued',
  async (t) => {
    const busy = await holdingPod(t, '127.0.78.12');
    const b = await createHttpTestServer(t, { host: '127.0.78.13' });
    const c = await createHttpTestServer(t, { host: '127.0.78.14' });
    const source = shopSource({ a: [busy.pod], b: [b], c: [c] });
    t.teardown(() => source.close());
    const mesh = new Mesh({ source, context, maxServices: 2, pool: { connections: 1 } });
    t.teardown(() => mesh.close());
    const queued = [1, 2, 3, 4, 5].map((i) =>
      request(`http://a/${i}`, { dispatcher: mesh.dispatcher }).then((r) => r.body.text()),
    );
    while (busy.pod.requests === 0) await new Promise((r) => setImmediate(r));
    await (await request('http://b/', { dispatcher: mesh.dispatcher })).body.dump();
    await (await request('http://c/', { dispatcher: mesh.dispatcher })).body.dump(); // a third route: one goes
    busy.release();
    t.deepEqual(await Promise.all(queued), ['done /1', 'done /2', 'done /3', 'done /4', 'done /5']);
    t.deepEqual([b.requests, c.requests], [1, 1]);
  },
);

test('routeIdleTimeoutMs is validated; 0 keeps routes', (t) => {
  const error = t.throws(() => new Mesh({ source: new StaticSource([]), routeIdleTimeoutMs: -5 }));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  t.regex(error!.message, /routeIdleTimeoutMs/);
  t.notThrows(() => new Mesh({ source: new StaticSource([]), routeIdleTimeoutMs: 0 }).close());
});

test('new-API handlers (a compose()d interceptor) get parsed and raw headers, trailers, and pause/resume', async (t) => {
  const chunk = 'x'.repeat(64 * 1024);
  const pod = await createHttpTestServer(t, {
    host: '127.0.77.13',
    handler: (_req, res) => {
      res.writeHead(200, { 'x-pod': 'one', 'set-cookie': ['a=1', 'b=2'], trailer: 'x-done' });
      for (let i = 0; i < 16; i++) res.write(chunk);
      res.addTrailers({ 'x-done': 'yes' });
      res.end();
    },
  });
  const source = shopSource({ web: [pod] });
  t.teardown(() => source.close());
  const mesh = new Mesh({ source, context });
  t.teardown(() => mesh.close());
  const seen: { headers?: Record<string, unknown>; raw?: unknown; trailers?: Record<string, unknown>; paused: number } =
    { paused: 0 };
  const spy = (dispatch: Dispatcher.Dispatch): Dispatcher.Dispatch =>
    function spied(opts, handler) {
      return dispatch(opts, {
        onRequestStart: (c, ctx) => handler.onRequestStart?.(c, ctx),
        onResponseStart: (c, status, headers, message) => {
          seen.headers = headers;
          seen.raw = c.rawHeaders;
          handler.onResponseStart?.(c, status, headers, message);
        },
        onResponseData: (c, data) => {
          // Pause on every chunk and resume on the next turn: the body must still arrive whole.
          c.pause();
          seen.paused++;
          setImmediate(() => c.resume());
          handler.onResponseData?.(c, data);
        },
        onResponseEnd: (c, trailers) => {
          seen.trailers = trailers;
          handler.onResponseEnd?.(c, trailers);
        },
        onResponseError: (c, error) => handler.onResponseError?.(c, error),
      });
    };
  const res = await request('http://web/', { dispatcher: mesh.dispatcher.compose(spy) });
  const body = await res.body.text();
  t.is(body.length, 16 * chunk.length);
  t.is(res.headers['x-pod'], 'one');
  t.is(seen.headers?.['x-pod'], 'one');
  t.deepEqual(seen.headers?.['set-cookie'], ['a=1', 'b=2']);
  t.true(Array.isArray(seen.raw), 'the controller exposes the raw headers');
  t.is(seen.trailers?.['x-done'], 'yes');
  t.true(seen.paused > 1);
});

test.serial(
  'the namespace of the kubeconfig context is the mesh namespace, unless context.namespace is given',
  async (t) => {
    const api = await FakeKubernetesApi.start();
    t.teardown(() => api.close());
    const dir = await mkdtemp(join(tmpdir(), 'clusterip-mesh-kubeconfig-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'config');
    await writeFile(path, api.kubeconfig({ namespace: 'team-a' }));
    const saved = { KUBECONFIG: process.env.KUBECONFIG, host: process.env.KUBERNETES_SERVICE_HOST };
    process.env.KUBECONFIG = path;
    delete process.env.KUBERNETES_SERVICE_HOST;
    t.teardown(() => {
      if (saved.KUBECONFIG === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved.KUBECONFIG;
      if (saved.host !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved.host;
    });
    const fromKubeconfig = new Mesh({ context: { resolvConf: '', env: {} } });
    t.teardown(() => fromKubeconfig.close());
    t.is((await fromKubeconfig.context()).namespace, 'team-a');
    const explicit = new Mesh({ context: { namespace: 'mine', resolvConf: '', env: {} } });
    t.teardown(() => explicit.close());
    t.is((await explicit.context()).namespace, 'mine');
  },
);
