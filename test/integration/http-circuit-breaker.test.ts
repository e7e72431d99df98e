// The Mesh's per-Service circuit breaker (option `circuitBreaker`) on real HTTP pods on loopback:
// it opens on failed requests, fails requests fast without sending them, lets one trial through after
// its reset timeout, and ignores what says nothing about the Service's health.

import diagnosticsChannel from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { CHANNEL_NAMES, type CircuitStateMessage, Mesh, type MeshOptions } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { createHttpTestServer, type HttpTestServer, shopSource } from '../helpers/http-test-server.js';

const context = { namespace: 'shop', resolvConf: '', env: {} };

/**
 * The state changes of one Service's breaker, from `clusterip:circuit:state`. `next(state)` resolves on
 * the first change to `state` not yet consumed; it fails the test after 5 s (the breaker's reset timer is
 * unref'd, so a ref'd deadline also keeps the event loop alive while waiting for it).
 */
function circuitStates(t: ExecutionContext, service: string) {
  const seen: string[] = [];
  let consumed = 0;
  const waiters = new Set<() => void>();
  const onMessage = (message: unknown) => {
    const m = message as CircuitStateMessage;
    if (m.service !== service) return;
    seen.push(m.state);
    for (const wake of [...waiters]) wake();
  };
  diagnosticsChannel.subscribe(CHANNEL_NAMES.circuitState, onMessage);
  t.teardown(() => diagnosticsChannel.unsubscribe(CHANNEL_NAMES.circuitState, onMessage));
  const take = (state: string): boolean => {
    const at = seen.indexOf(state, consumed);
    if (at === -1) return false;
    consumed = at + 1;
    return true;
  };
  return {
    seen,
    next(state: string): Promise<void> {
      if (take(state)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`${service}: breaker never reached ${state} (saw ${seen.join(', ') || 'nothing'})`));
        }, 5000);
        const wake = () => {
          if (!take(state)) return;
          clearTimeout(deadline);
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
      });
    },
  };
}

function meshFor(t: ExecutionContext, services: Record<string, HttpTestServer[]>, options: MeshOptions = {}): Mesh {
  const mesh = new Mesh({ source: shopSource(services), context, ...options });
  t.teardown(() => mesh.destroy());
  return mesh;
}

/**
 * A pod that answers every request with `answer` (a status, 500 to begin with), or with `answer: 'hold'`
 * keeps them in `held` until the test ends them; `nextHeld()` resolves when the next one is held.
 */
async function controlledPod(t: ExecutionContext, host: string) {
  let onHeld: (() => void) | undefined;
  const control = {
    answer: 500 as number | 'hold',
    held: [] as ServerResponse[],
    nextHeld: () =>
      new Promise<void>((resolve) => {
        onHeld = resolve;
      }),
    pod: undefined as unknown as HttpTestServer,
  };
  control.pod = await createHttpTestServer(t, {
    host,
    handler: (_req, res) => {
      if (control.answer !== 'hold') {
        res.statusCode = control.answer;
        res.end();
        return;
      }
      control.held.push(res);
      const wake = onHeld;
      onHeld = undefined;
      wake?.();
    },
  });
  return control;
}

async function get(mesh: Mesh, url: string): Promise<number> {
  const res = await request(url, { dispatcher: mesh.dispatcher });
  await res.body.dump();
  return res.statusCode;
}

test('5xx responses open the breaker; open, it fails requests unsent; a successful trial closes it', async (t) => {
  const control = await controlledPod(t, '127.0.241.11');
  const pod = control.pod;
  const mesh = meshFor(
    t,
    { cb1: [pod] },
    { circuitBreaker: { volumeThreshold: 4, errorThresholdPercent: 50, resetTimeoutMs: 1000 } },
  );
  const states = circuitStates(t, 'cb1.shop:80');
  for (let i = 0; i < 4; i++) t.is(await get(mesh, 'http://cb1/'), 500);
  await states.next('open');
  t.is((await mesh.endpoints('cb1:80')).circuit, 'open');

  const err = await t.throwsAsync(get(mesh, 'http://cb1/'));
  t.is((err as { code?: string }).code, 'CLUSTERIP_ERR_CIRCUIT_OPEN');
  // Requests refused while open are not among the window's calls (opossum would count them).
  t.regex(err!.message, /^service cb1\.shop:80: circuit open \(4 of 4 recent calls failed; retrying after 1000 ms\)/);
  // Refused inside dispatch(), as a refused connection would be: a handler that throws throws there.
  t.throws(
    () =>
      mesh.dispatcher.dispatch({ origin: 'http://cb1', path: '/', method: 'GET' }, {
        onError() {
          throw new Error('handler bug');
        },
      } as never),
    { message: 'handler bug' },
  );
  const viaFetch = await t.throwsAsync(mesh.fetch('http://cb1/'));
  t.is((viaFetch!.cause as { code?: string }).code, 'CLUSTERIP_ERR_CIRCUIT_OPEN');
  t.is(pod.requests, 4, 'nothing was sent while open');

  control.answer = 200;
  await states.next('half-open');
  t.is(await get(mesh, 'http://cb1/'), 200);
  await states.next('closed');
  t.deepEqual(states.seen, ['open', 'half-open', 'closed']);
  t.is((await mesh.endpoints('cb1:80')).circuit, 'closed');
  t.is(await get(mesh, 'http://cb1/'), 200);
  t.is(pod.requests, 6);
});

test('half-open, one trial goes through and the others fail fast; a failed trial reopens the breaker', async (t) => {
  const control = await controlledPod(t, '127.0.241.12');
  const pod = control.pod;
  const mesh = meshFor(t, { cb2: [pod] }, { circuitBreaker: { volumeThreshold: 2, resetTimeoutMs: 500 } });
  const states = circuitStates(t, 'cb2.shop:80');
  t.is(await get(mesh, 'http://cb2/'), 500);
  t.is(await get(mesh, 'http://cb2/'), 500);
  await states.next('open');
  await states.next('half-open');

  control.answer = 'hold';
  const arrived = control.nextHeld();
  const trial = get(mesh, 'http://cb2/');
  await arrived;
  const err = await t.throwsAsync(get(mesh, 'http://cb2/'));
  t.is((err as { code?: string }).code, 'CLUSTERIP_ERR_CIRCUIT_OPEN');
  t.regex(err!.message, /a trial call is in flight/);
  t.is(pod.requests, 3, 'only the trial reached the pod');

  control.answer = 500;
  control.held[0]!.statusCode = 500;
  control.held[0]!.end();
  t.is(await trial, 500);
  await states.next('open');
  t.deepEqual(states.seen, ['open', 'half-open', 'open']);
  t.is((await t.throwsAsync(get(mesh, 'http://cb2/')))?.message.includes('circuit open'), true);
});

test('refused connections open the breaker once retries run out on every pod', async (t) => {
  const a = await createHttpTestServer(t, { host: '127.0.241.21' });
  const b = await createHttpTestServer(t, { host: '127.0.241.22' });
  await a.kill();
  await b.kill();
  const mesh = meshFor(
    t,
    { cb3: [a, b] },
    { circuitBreaker: { volumeThreshold: 3, resetTimeoutMs: 60_000 }, retry: { budget: false } },
  );
  const states = circuitStates(t, 'cb3.shop:80');
  for (let i = 0; i < 3; i++) {
    const err = await t.throwsAsync(get(mesh, 'http://cb3/'));
    t.is((err as { code?: string }).code, 'CLUSTERIP_ERR_UPSTREAM');
  }
  await states.next('open');
  const err = await t.throwsAsync(get(mesh, 'http://cb3/'));
  t.is((err as { code?: string }).code, 'CLUSTERIP_ERR_CIRCUIT_OPEN');
});

test('4xx, aborts, requests retried to success and a Service without endpoints do not count', async (t) => {
  let held: ServerResponse | undefined;
  let onHeld: (() => void) | undefined;
  const answering = await createHttpTestServer(t, {
    host: '127.0.241.31',
    handler: (req, res) => {
      if (req.url === '/hold') {
        held = res;
        onHeld?.();
        return;
      }
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end();
    },
  });
  const unavailable = await createHttpTestServer(t, {
    host: '127.0.241.32',
    handler: (_req, res) => {
      res.statusCode = 503;
      res.end();
    },
  });
  // Any single counted failure would open these breakers.
  const mesh = meshFor(
    t,
    { cb4: [answering, unavailable], empty: [] },
    { policy: 'round-robin', circuitBreaker: { volumeThreshold: 1, errorThresholdPercent: 1, resetTimeoutMs: 60_000 } },
  );
  for (let i = 0; i < 3; i++) t.is(await get(mesh, 'http://cb4/missing'), 404);
  // GETs meeting the 503 pod are retried on the other one: the caller sees 200, which is what counts.
  for (let i = 0; i < 4; i++) t.is(await get(mesh, 'http://cb4/'), 200);
  t.true(unavailable.requests >= 2);

  const arrived = new Promise<void>((resolve) => {
    onHeld = resolve;
  });
  const controller = new AbortController();
  const aborted = request('http://cb4/hold', { dispatcher: mesh.dispatcher, signal: controller.signal }).then(
    () => undefined,
    (error: Error) => error,
  );
  await arrived;
  // A reason of the caller's own, with no abort name or code: the call is known to be aborted all the same.
  controller.abort(new Error('caller gave up'));
  t.is((await aborted)?.message, 'caller gave up');
  held?.destroy();

  for (let i = 0; i < 3; i++) {
    const err = await t.throwsAsync(get(mesh, 'http://empty/'));
    t.is((err as { code?: string }).code, 'CLUSTERIP_ERR_NO_ENDPOINTS');
  }
  t.is((await mesh.endpoints('cb4:80')).circuit, 'closed');
  t.is(await get(mesh, 'http://cb4/missing'), 404);
});

test('a breaker set for one Service leaves the others without one', async (t) => {
  const web = (await controlledPod(t, '127.0.241.41')).pod;
  const api = (await controlledPod(t, '127.0.241.42')).pod;
  const mesh = meshFor(
    t,
    { cb5: [web], api5: [api] },
    { services: { 'cb5.shop': { circuitBreaker: { volumeThreshold: 1, errorThresholdPercent: 1 } } } },
  );
  const states = circuitStates(t, 'cb5.shop:80');
  t.is(await get(mesh, 'http://cb5/'), 500);
  await states.next('open');
  t.is(((await t.throwsAsync(get(mesh, 'http://cb5/'))) as { code?: string }).code, 'CLUSTERIP_ERR_CIRCUIT_OPEN');
  for (let i = 0; i < 3; i++) t.is(await get(mesh, 'http://api5/'), 500);
  t.is(api.requests, 3);
  t.is((await mesh.endpoints('api5:80')).circuit, undefined);
  t.is((await mesh.endpoints('cb5:80')).circuit, 'open');
});

test('a half-open trial that gets no response headers within timeouts.headersMs counts as failed', async (t) => {
  const control = await controlledPod(t, '127.0.241.51');
  const mesh = meshFor(
    t,
    { cb6: [control.pod] },
    { circuitBreaker: { volumeThreshold: 1, resetTimeoutMs: 50 }, timeouts: { headersMs: 200 }, retry: false },
  );
  const states = circuitStates(t, 'cb6.shop:80');
  t.is(await get(mesh, 'http://cb6/'), 500);
  await states.next('open');
  await states.next('half-open');

  control.answer = 'hold';
  const arrived = control.nextHeld();
  // The caller turned its headers timeout off: without the trial's own deadline, the breaker would wait for it.
  const trial = request('http://cb6/', { dispatcher: mesh.dispatcher, headersTimeout: 0 });
  await arrived;
  await states.next('open');
  t.deepEqual(states.seen, ['open', 'half-open', 'open']);
  // The trial itself is not cut short: its late answer still reaches the caller (and is not counted).
  control.held[0]!.end();
  const res = await trial;
  t.is(res.statusCode, 200);
  await res.body.dump();
  t.false(states.seen.includes('closed'), 'the late answer did not close the breaker');

  control.answer = 200;
  await states.next('half-open');
  t.is(await get(mesh, 'http://cb6/'), 200);
  await states.next('closed');
});

test('a trial that says nothing about the Service (its caller aborts it) reopens the breaker, not closes it', async (t) => {
  const control = await controlledPod(t, '127.0.241.61');
  const mesh = meshFor(
    t,
    { cb7: [control.pod] },
    { circuitBreaker: { volumeThreshold: 1, resetTimeoutMs: 50 }, retry: false },
  );
  const states = circuitStates(t, 'cb7.shop:80');
  t.is(await get(mesh, 'http://cb7/'), 500);
  await states.next('open');
  await states.next('half-open');

  control.answer = 'hold';
  const arrived = control.nextHeld();
  const controller = new AbortController();
  const trial = request('http://cb7/', { dispatcher: mesh.dispatcher, signal: controller.signal }).then(
    () => undefined,
    (error: Error) => error,
  );
  await arrived;
  controller.abort(new Error('caller gave up'));
  t.is((await trial)?.message, 'caller gave up');
  control.held[0]?.destroy();
  await states.next('open');
  t.deepEqual(states.seen.slice(0, 3), ['open', 'half-open', 'open'], 'the aborted trial did not close it');

  control.answer = 200;
  await states.next('half-open');
  t.is(await get(mesh, 'http://cb7/'), 200);
  await states.next('closed');
});
