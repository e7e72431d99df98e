import { Mesh } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { createHttpTestServer, shopSource } from '../../helpers/http-test-server.js';

const context = { namespace: 'shop', resolvConf: '', env: {} };

function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  counts.delete('TTYWrap');
  return counts;
}

async function settled(t: ExecutionContext, baseline: Map<string, number>): Promise<void> {
  // Socket handles disappear a few ticks after close(); wait for that, bounded.
  for (let i = 0; i < 200; i++) {
    const now = resources();
    if ([...new Set([...now.keys(), ...baseline.keys()])].every((k) => (now.get(k) ?? 0) <= (baseline.get(k) ?? 0))) {
      t.pass();
      return;
    }
    await new Promise((r) => setImmediate(r));
  }
  t.deepEqual(Object.fromEntries(resources()), Object.fromEntries(baseline), 'no handle or timer left');
}

test.serial('after close() no socket or timer of the mesh remains', async (t) => {
  const baseline = resources();
  const pods = [
    await createHttpTestServer(t, { host: '127.0.71.11' }),
    await createHttpTestServer(t, { host: '127.0.71.12' }),
  ];
  const source = shopSource({ web: pods });
  const mesh = new Mesh({ source, context });
  for (let i = 0; i < 10; i++) {
    const res = await request('http://web/', { dispatcher: mesh.dispatcher });
    await res.body.text();
    await (await mesh.fetch('http://web/')).text();
  }
  const closing = mesh.close();
  t.is(mesh.close(), closing, 'close() returns the same promise');
  await closing;
  await source.close();
  await Promise.all(pods.map((p) => p.kill()));
  await settled(t, baseline);
});

test('close() lets in-flight requests finish, then every later request fails with CLUSTERIP_ERR_CLOSED', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const pod = await createHttpTestServer(t, {
    host: '127.0.72.11',
    handler: (_req, res) => {
      void gate.then(() => res.end('late'));
    },
  });
  const mesh = new Mesh({ source: shopSource({ web: [pod] }), context });
  const inflight = request('http://web/', { dispatcher: mesh.dispatcher });
  while (pod.requests === 0) await new Promise((r) => setImmediate(r));
  const closing = mesh.close();
  t.true(mesh.closed);
  release();
  const res = await inflight;
  t.is(await res.body.text(), 'late');
  await closing;
  const after = await request('http://web/', { dispatcher: mesh.dispatcher }).catch((e: unknown) => e);
  t.is((after as { code?: string }).code, 'CLUSTERIP_ERR_CLOSED');
  await t.throwsAsync(mesh.fetch('http://web/'), { code: 'CLUSTERIP_ERR_CLOSED' });
  await t.throwsAsync(mesh.resolve('web'), { code: 'CLUSTERIP_ERR_CLOSED' });
  t.is(await mesh.destroy(), undefined);
});

test('destroy() aborts in-flight requests with its error; dispatcher.close() closes the mesh', async (t) => {
  const pod = await createHttpTestServer(t, { host: '127.0.73.11', handler: () => {} });
  const mesh = new Mesh({ source: shopSource({ web: [pod] }), context });
  const inflight = request('http://web/', { dispatcher: mesh.dispatcher }).catch((e: unknown) => e);
  while (pod.requests === 0) await new Promise((r) => setImmediate(r));
  const reason = new Error('shutting down');
  await mesh.destroy(reason);
  t.true(mesh.destroyed);
  t.is(await inflight, reason, 'the error destroy() was given, not an upstream failure');
  const other = new Mesh({ source: shopSource({ web: [pod] }), context });
  await other.dispatcher.close();
  t.true(other.closed);
});

test('destroy() without an error: requests in flight, queued for a connection, waiting for a retry or for discovery fail with DestroyedError; later ones with ClosedError', async (t) => {
  const hanging = await createHttpTestServer(t, { host: '127.0.73.21', handler: () => {} });
  const busy = await createHttpTestServer(t, {
    host: '127.0.73.22',
    handler: (_req, res) => {
      res.statusCode = 503;
      res.end('busy');
    },
  });
  const inner = shopSource({ web: [hanging], api: [busy], slow: [busy] });
  // `slow` is never answered: a request to it waits for discovery.
  const source = {
    kind: 'partial',
    watch: (query: Parameters<typeof inner.watch>[0], listener: Parameters<typeof inner.watch>[1]) =>
      inner.watch(query, (event) => {
        if (!query.fqdn.startsWith('slow.')) listener(event);
      }),
    close: () => inner.close(),
  };
  const mesh = new Mesh({
    source,
    context,
    pool: { connections: 1 },
    retry: { attempts: 3, backoff: { baseMs: 60_000, maxMs: 60_000 } },
    random: () => 0.5,
  });
  t.teardown(() => inner.close());
  const settle = (url: string) => request(url, { dispatcher: mesh.dispatcher }).catch((e: unknown) => e);
  const inflight = settle('http://web/');
  while (hanging.requests === 0) await new Promise((r) => setImmediate(r));
  const queued = settle('http://web/');
  const retrying = settle('http://api/');
  while (busy.requests === 0) await new Promise((r) => setImmediate(r));
  const discovering = settle('http://slow/');
  await mesh.destroy();
  for (const [what, pending] of Object.entries({ inflight, queued, retrying, discovering })) {
    const err = (await pending) as { name?: string; code?: string; message?: string };
    t.is(err.code, 'CLUSTERIP_ERR_DESTROYED', what);
    t.is(err.message, 'mesh: destroyed', what);
    t.is(err.name, 'DestroyedError', what);
  }
  t.is(hanging.requests, 1, 'the queued request was never sent');
  t.is(((await settle('http://web/')) as { code?: string }).code, 'CLUSTERIP_ERR_CLOSED');
});

test('retries wait with backoff and a retry still waiting when the mesh closes fails with reason closed', async (t) => {
  const pod = await createHttpTestServer(t, {
    host: '127.0.74.11',
    handler: (_req, res) => {
      res.statusCode = 503;
      res.end('busy');
    },
  });
  const mesh = new Mesh({
    source: shopSource({ web: [pod] }),
    context,
    retry: { attempts: 3, backoff: { baseMs: 60_000, maxMs: 60_000 } },
    random: () => 0.5,
  });
  const pending = request('http://web/', { dispatcher: mesh.dispatcher }).catch((e: unknown) => e);
  while (pod.requests === 0) await new Promise((r) => setImmediate(r));
  await mesh.close();
  const err = (await pending) as { code?: string; reason?: string; attempts?: unknown[] };
  t.is(err.code, 'CLUSTERIP_ERR_UPSTREAM');
  t.is(err.reason, 'closed');
  t.deepEqual(err.attempts, [{ endpoint: `${pod.host}:${pod.port}`, error: 'HTTP 503' }]);
});

test('a retryable status is retried on idempotent requests on another pod; POST is not', async (t) => {
  const pods = [
    await createHttpTestServer(t, {
      host: '127.0.75.11',
      name: 'busy',
      handler: (_req, res) => {
        res.statusCode = 503;
        res.end('busy');
      },
    }),
    await createHttpTestServer(t, { host: '127.0.75.12', name: 'ok' }),
  ];
  const mesh = new Mesh({
    source: shopSource({ web: pods }),
    context,
    retry: { backoff: { baseMs: 0, maxMs: 0 } },
    outlierDetection: false,
  });
  t.teardown(() => mesh.close());
  for (let i = 0; i < 10; i++) {
    const res = await request('http://web/', { dispatcher: mesh.dispatcher });
    t.is(res.statusCode, 200);
    await res.body.text();
  }
  const post = await request('http://web/', { dispatcher: mesh.dispatcher, method: 'POST', body: 'x' });
  t.true(post.statusCode === 200 || post.statusCode === 503, 'POST is never retried on a status');
  await post.body.text();
});
