// Tests of the HTTP benchmarks' load helpers (test/bench/http-load.ts, bench-child.ts, bench-pod.ts):
// request counts, bounds and per-pod tallies of the closed and open loops; the client clock's
// split, bounded by holds timed in the same process rather than by fixed times; the pod process protocol.
// Against real loopback servers. The clock tests run serially: subscriptions are process-wide.

import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { BalancedPool, type Dispatcher, interceptors, Pool, request } from 'undici';
import { createHttpTestServer } from '../helpers/http-test-server.js';
import { startChild } from './bench-child.js';
import { ClientClock, closedLoop, interleavedOpenLoop, type LoadSample, openLoop } from './http-load.js';

const pod = (host: string) => ({
  host,
  handler: (_req: unknown, res: ServerResponse) => {
    res.writeHead(200, { 'content-length': 2, 'x-pod': host });
    res.end('ok');
  },
});

test('openLoop issues rate × duration requests and tallies them by x-pod', async (t) => {
  const server = await createHttpTestServer(t, pod('127.0.85.11'));
  const pool = new Pool(server.url, { connections: 4 });
  t.teardown(() => pool.close());
  const s = await openLoop({ url: `${server.url}/`, dispatcher: pool }, 200, 100);
  // 20 are due; on a starved machine the issuing may stop at its time bound, and those count as late.
  const done = s.latenciesUs.length;
  t.is(s.errors, 0);
  t.true(done >= 1 && done <= 20);
  t.true(s.late >= 20 - done);
  t.deepEqual(s.pods, { '127.0.85.11': done });
  t.is(server.requests, done);
  t.is(s.rate, 200);
  t.true(s.latenciesUs.every((us) => Number.isInteger(us) && us >= 0));
});

test('interleavedOpenLoop alternates requests between its targets', async (t) => {
  const a = await createHttpTestServer(t, pod('127.0.85.12'));
  const b = await createHttpTestServer(t, pod('127.0.85.13'));
  const pa = new Pool(a.url, { connections: 4 });
  const pb = new Pool(b.url, { connections: 4 });
  t.teardown(() => Promise.all([pa.close(), pb.close()]));
  const [sa, sb] = await interleavedOpenLoop(
    [
      { url: `${a.url}/`, dispatcher: pa },
      { url: `${b.url}/`, dispatcher: pb },
    ],
    400,
    100,
  );
  // Request i goes to target i % 2: the first target gets the odd one out, if any.
  const na = sa!.latenciesUs.length;
  const nb = sb!.latenciesUs.length;
  t.true(na + nb >= 1 && na + nb <= 40);
  t.true(na - nb === 0 || na - nb === 1);
  t.deepEqual(sa!.pods, { '127.0.85.12': na });
  t.deepEqual(sb!.pods, { '127.0.85.13': nb });
  t.is(a.requests, na);
  t.is(b.requests, nb);
  t.is(sa!.rate, 200);
});

test.serial('interleavedOpenLoop with a clock splits client and remote time and skips retried requests', async (t) => {
  // Bounds that follow from the order of events, each side timed with performance.now() in this process:
  // a request held in the client before undici gets it counts as client time; the pod's hold lies
  // between the socket write and the response's parse, so it counts as remote time.
  const holds: number[] = [];
  const seen = new Set<string>();
  const server = await createHttpTestServer(t, {
    host: '127.0.85.16',
    handler: (req: IncomingMessage, res: ServerResponse) => {
      const id = String(req.headers['x-load-id']);
      if (req.url === '/flaky' && !seen.has(id)) {
        seen.add(id); // the first attempt of each request fails: the retry interceptor sends it again
        res.writeHead(503, { 'content-length': 0 });
        res.end();
        return;
      }
      const at = performance.now();
      setTimeout(() => {
        holds.push(performance.now() - at);
        res.writeHead(200, { 'content-length': 2, 'x-pod': 'slow' });
        res.end('ok');
      }, 20);
    },
  });
  const before: number[] = [];
  const holdInClient: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
    const at = performance.now();
    setTimeout(() => {
      before.push(performance.now() - at);
      dispatch(opts, handler);
    }, 5);
    return true;
  };
  // Two connections each: requests also wait in the pools for one.
  const held = new Pool(server.url, { connections: 2 });
  const balanced = new BalancedPool([server.url], { connections: 2 });
  const retried = new Pool(server.url, { connections: 2 });
  t.teardown(() => Promise.all([held.close(), balanced.close(), retried.close()]));
  const targets = [
    { url: `${server.url}/`, dispatcher: held.compose(holdInClient) },
    { url: `${server.url}/`, dispatcher: balanced },
    {
      url: `${server.url}/flaky`,
      dispatcher: retried.compose(interceptors.retry({ maxRetries: 1, minTimeout: 1, statusCodes: [503] })),
    },
  ];
  const clock = new ClientClock();
  let samples: LoadSample[];
  try {
    samples = await interleavedOpenLoop(targets, 300, 100, undefined, { clock });
    // The loop leaves the caller's clock open.
    t.true(diagnostics.channel('undici:request:create').hasSubscribers);
  } finally {
    clock.close();
  }
  t.is(diagnostics.channel('undici:request:create').hasSubscribers, false);
  const [h, b, r] = samples;
  const minHoldUs = Math.min(...holds) * 1000;
  for (const s of [h!, b!]) {
    t.is(s.errors, 0);
    t.is(s.clientSkipped, 0);
    t.true(s.latenciesUs.length >= 1);
    t.is(s.clientUs!.length, s.latenciesUs.length);
    t.is(s.remoteUs!.length, s.latenciesUs.length);
    t.true(s.clientUs!.every((us) => Number.isInteger(us) && us >= 0));
    // ±2 µs: the figures are rounded to whole µs one by one.
    t.true(s.remoteUs!.every((us) => us >= minHoldUs - 2));
  }
  t.true(h!.clientUs!.every((us) => us >= Math.min(...before) * 1000 - 2));
  // Every request of the third target was sent twice: none of them is measured.
  t.is(r!.errors, 0);
  t.true(r!.latenciesUs.length >= 1);
  t.is(r!.clientSkipped, r!.latenciesUs.length);
  t.deepEqual(r!.clientUs, []);
  // Without a clock nothing is recorded.
  const [plain] = await interleavedOpenLoop([targets[1]!], 200, 20);
  t.is(plain!.clientUs, undefined);
});

test('closedLoop with a new connection per request opens a connection for each', async (t) => {
  const server = await createHttpTestServer(t, pod('127.0.85.14'));
  const pool = new Pool(server.url, { connections: 2 });
  t.teardown(() => pool.close());
  const s = await closedLoop({ url: `${server.url}/`, dispatcher: pool, newConnectionPerRequest: true }, 2, 50);
  t.is(s.errors, 0);
  t.true(s.latenciesUs.length > 0);
  t.is(server.connections, server.requests);
});

test.serial('closedLoop stops at maxRequests; one clock spans loops; each request has its own id', async (t) => {
  const ids: string[] = [];
  const server = await createHttpTestServer(t, {
    host: '127.0.85.17',
    handler: (req: IncomingMessage, res: ServerResponse) => {
      ids.push(String(req.headers['x-load-id']));
      res.writeHead(200, { 'content-length': 2, 'x-pod': 'p' });
      res.end('ok');
    },
  });
  const pool = new Pool(server.url, { connections: 4 });
  t.teardown(() => pool.close());
  const target = { url: `${server.url}/`, dispatcher: pool };
  // A duration far beyond what 30 requests take here: the count ends the loop (issued, counted before
  // each request, so 4 workers do not overshoot).
  const s = await closedLoop(target, 4, 5000, undefined, { maxRequests: 30 });
  t.is(s.latenciesUs.length, 30);
  t.is(server.requests, 30);
  await t.throwsAsync(closedLoop(target, 1, 10, undefined, { maxRequests: 0 }), { message: /maxRequests/ });
  // One clock over a closed loop and then an open loop: both split every request.
  const clock = new ClientClock();
  let warm: LoadSample;
  let open: LoadSample;
  try {
    warm = await closedLoop(target, 2, 5000, undefined, { clock, maxRequests: 10 });
    [open] = (await interleavedOpenLoop([target], 200, 50, undefined, { clock })) as [LoadSample];
  } finally {
    clock.close();
  }
  for (const x of [warm, open]) {
    t.is(x.errors, 0);
    t.true(x.latenciesUs.length >= 1);
    t.is(x.clientSkipped, 0);
    t.is(x.clientUs!.length, x.latenciesUs.length);
    t.is(x.remoteUs!.length, x.latenciesUs.length);
  }
  t.is(warm.latenciesUs.length, 10);
  // A closed clock refuses new requests rather than measuring nothing.
  await t.throwsAsync(closedLoop(target, 1, 1000, undefined, { clock, maxRequests: 1 }), { message: /closed/ });
  await t.throwsAsync(interleavedOpenLoop([target], 200, 50, undefined, { clock }), { message: /closed/ });
  const total = 40 + open.latenciesUs.length;
  t.is(ids.length, total);
  t.true(ids.every((id) => /^\d+$/.test(id)));
  t.is(new Set(ids).size, total);
});

test('a bench pod reports its port, serves with x-pod and exits when killed', async (t) => {
  const script = join(fileURLToPath(new URL('.', import.meta.url)), 'bench-pod.js');
  const child = startChild([process.execPath, script, '127.0.85.15']);
  t.teardown(() => child.kill());
  const { port } = await child.next<{ port: number }>(10_000);
  const res = await request(`http://127.0.85.15:${port}/`);
  t.is(res.statusCode, 200);
  t.is(res.headers['x-pod'], '127.0.85.15');
  t.is(await res.body.text(), 'ok');
  t.is(await child.kill(), await child.kill());
  await t.throwsAsync(child.next(1000), { message: /exited/ });
});
