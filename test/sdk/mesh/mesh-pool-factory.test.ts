import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { StaticSource } from '@clusterip/resolver/testing';
import { Mesh } from '@clusterip/sdk';
import test from 'ava';
import { type Dispatcher, Pool, request } from 'undici';
import { createHttpTestServer, shopSource } from '../../helpers/http-test-server.js';

const context = { namespace: 'shop', resolvConf: '', env: {} };

test('pool.factory builds each endpoint’s dispatcher from its origin and the mesh’s pool options', async (t) => {
  const seen: string[] = [];
  const pods = [
    await createHttpTestServer(t, {
      host: '127.0.73.11',
      handler: (req, res) => res.end(String(req.headers['x-via'])),
    }),
    await createHttpTestServer(t, {
      host: '127.0.73.12',
      handler: (req, res) => res.end(String(req.headers['x-via'])),
    }),
  ];
  const origins: string[] = [];
  const options: Pool.Options[] = [];
  const optsOrigins: string[] = [];
  const spreadKeys: string[] = [];
  const source = shopSource({ web: pods });
  const mesh = new Mesh({
    source,
    context,
    pool: {
      keepAliveTimeoutMs: 1234,
      factory: (origin, o) => {
        origins.push(origin);
        options.push(o);
        // A per-endpoint interceptor: what the factory is for.
        return new Pool(origin, o).compose((dispatch) => (opts, handler) => {
          seen.push(origin);
          optsOrigins.push(String(opts.origin));
          spreadKeys.push(...Object.keys({ ...opts }));
          return dispatch({ ...opts, headers: { ...(opts.headers as object), 'x-via': origin } }, handler);
        });
      },
    },
  });
  t.teardown(async () => {
    await mesh.close();
    await source.close();
  });
  const bodies = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const res = await request('http://web/', { dispatcher: mesh.dispatcher });
    bodies.add(await res.body.text());
  }
  t.deepEqual([...origins].sort(), pods.map((p) => p.url).sort(), 'one dispatcher per endpoint, from its origin');
  t.deepEqual(
    [...bodies].sort(),
    pods.map((p) => p.url).sort(),
    'every request went through its endpoint’s interceptor',
  );
  t.is(seen.length, 20);
  t.is(options[0]?.keepAliveTimeout, 1234);
  // Interceptors on a pool see the endpoint's origin (undici's dns and cache interceptors parse and key
  // by it), and a spread of the options carries dispatch options only.
  t.deepEqual(
    [...new Set(optsOrigins)].sort(),
    pods.map((p) => new URL(p.url).origin).sort(),
    'opts.origin is the endpoint’s',
  );
  t.deepEqual(
    [...new Set(spreadKeys)].filter((k) => k.startsWith('raw') || k === 'clusterip'),
    [],
    'no response state or mesh options in the spread',
  );
});

test('a pool.factory that is not a function is InvalidArgumentError naming pool.factory', (t) => {
  const err = t.throws(() => new Mesh({ source: new StaticSource(), context, pool: { factory: 'Pool' as never } }));
  t.is((err as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  t.is((err as { option?: string }).option, 'pool.factory');
  t.regex(err!.message, /pool\.factory must be a function/);
});

/** Dispatch with a legacy handler that only `registry` (a FinalizationRegistry) knows of afterwards. */
function send(dispatcher: Dispatcher, registry: FinalizationRegistry<number>, id: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const handler = {
      onConnect() {},
      onHeaders: () => true,
      onData: () => true,
      onComplete: () => resolve(),
      onError: reject,
    };
    registry.register(handler, id);
    dispatcher.dispatch(
      { origin: 'http://web', path: '/', method: 'POST', body: Buffer.alloc(64 * 1024) },
      handler as unknown as Dispatcher.DispatchHandler,
    );
  });
}

test('a finished request does not keep its caller’s handler alive, even if its pool keeps the request', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const pods = [await createHttpTestServer(t, { host: '127.0.73.21' })];
  // undici may keep a finished request referenced from connection state for a while: here, for good.
  const kept: unknown[] = [];
  const source = shopSource({ web: pods });
  const mesh = new Mesh({
    source,
    context,
    pool: {
      factory: (origin, o) =>
        new Pool(origin, o).compose((dispatch) => (opts, handler) => {
          kept.push(opts, handler);
          return dispatch(opts, handler);
        }),
    },
  });
  t.teardown(async () => {
    await mesh.close();
    await source.close();
  });
  // A FinalizationRegistry, not WeakRefs: a WeakRef keeps its target alive until its job ends.
  const collected = new Set<number>();
  const registry = new FinalizationRegistry<number>((id) => collected.add(id));
  for (let i = 0; i < 3; i++) await send(mesh.dispatcher, registry, i);
  t.is(kept.length, 6, 'the pool saw every request');
  // Collected once nothing but the kept request refers to them; finalizers run after the GC, in a task.
  for (let i = 0; i < 20 && collected.size < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  t.deepEqual([...collected].sort(), [0, 1, 2], 'every caller handler was collected');
});

test('an endpoint that leaves the Service: its pool is closed, the pools of the others stay', async (t) => {
  const pods = await Promise.all(
    ['127.0.253.21', '127.0.253.22', '127.0.253.23'].map((host) =>
      createHttpTestServer(t, { host, handler: (_req, res) => res.end(host) }),
    ),
  );
  const closed: string[] = [];
  let onClose: (origin: string) => void = () => {};
  const source = shopSource({ web: pods });
  const mesh = new Mesh({
    source,
    context,
    // Every pod in turn: a random pick could miss one in 12 requests.
    policy: 'round-robin',
    pool: {
      factory: (origin, o) => {
        const pool = new Pool(origin, o);
        // undici's promise form of close() calls close(callback) again: note the first call only.
        const close = pool.close.bind(pool) as (...args: unknown[]) => unknown;
        let noted = false;
        (pool as unknown as { close: (...args: unknown[]) => unknown }).close = (...args) => {
          if (!noted) {
            noted = true;
            closed.push(origin);
            onClose(origin);
          }
          return close(...args);
        };
        return pool;
      },
    },
  });
  t.teardown(async () => {
    await mesh.close();
    await source.close();
  });
  const hosts = async (n: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const res = await request('http://web/', { dispatcher: mesh.dispatcher });
      seen.add(await res.body.text());
    }
    return [...seen].sort();
  };
  t.deepEqual(await hosts(12), ['127.0.253.21', '127.0.253.22', '127.0.253.23'], 'a pool per endpoint');
  const gone = pods[2]!;
  const closedGone = new Promise<string>((resolve) => {
    onClose = resolve;
  });
  source.set({
    namespace: 'shop',
    name: 'web',
    ports: [{ name: 'http', port: 80 }],
    endpoints: pods.slice(0, 2).map((p) => ({ address: p.host, ports: { http: p.port } })),
  });
  const timeout = new Promise<string>((resolve) => setTimeout(resolve, 5000, 'timed out').unref());
  t.is(await Promise.race([closedGone, timeout]), gone.url);
  t.deepEqual(await hosts(12), ['127.0.253.21', '127.0.253.22']);
  t.deepEqual(closed, [gone.url], 'only the pool of the endpoint that left');
});
