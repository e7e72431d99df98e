// A caller's abort ends its request at once, wherever the request is: waiting for a pod's connection,
// or for its Service to be discovered. Nothing of an aborted request is sent, and no pod is blamed. A
// handler that throws when it is started gets its own error, as from undici's pools.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EndpointSource } from '@clusterip/resolver';
import { Mesh, type MeshOptions } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { type Dispatcher, interceptors, request } from 'undici';
import { gatedSource } from '../helpers/gated-source.js';
import { createHttpTestServer, type HttpTestServer, shopSource } from '../helpers/http-test-server.js';

const context = { namespace: 'shop', resolvConf: '', env: {} };

/** Settles once the event loop has run every callback queued so far: long enough for an abort that ends a request at once. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Track a promise: `settled()` says whether it has settled yet. */
function track<T>(promise: Promise<T>): { readonly promise: Promise<T>; settled(): boolean } {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  tracked.catch(() => {});
  return { promise: tracked, settled: () => done };
}

/** A pod that holds `/hold` requests until `release()`, and answers anything else at once. */
async function holdingPod(t: ExecutionContext, host: string) {
  const held: ServerResponse[] = [];
  const arrived: Array<() => void> = [];
  const pod = await createHttpTestServer(t, {
    host,
    handler: (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      if (req.url === '/hold') {
        held.push(res);
        for (const notify of arrived.splice(0)) notify();
      } else res.end('ok');
    },
  });
  return {
    pod,
    /** Resolves once a `/hold` request is held. */
    held: () => new Promise<void>((resolve) => (held.length > 0 ? resolve() : arrived.push(resolve))),
    release: () => {
      for (const res of held.splice(0)) res.end('released');
    },
  };
}

async function meshOver(t: ExecutionContext, source: EndpointSource, options: MeshOptions = {}) {
  const mesh = new Mesh({ source, context, ...options });
  t.teardown(async () => {
    await mesh.destroy();
    await source.close();
  });
  return mesh;
}

/** The health and in-flight count of every endpoint of `web:80`. */
async function balancerView(mesh: Mesh) {
  const view = await mesh.endpoints('web:80');
  return view.endpoints.map((e) => ({ health: e.health, inFlight: e.inFlight }));
}

test('an abort ends a request waiting for a connection to its pod at once; nothing is sent and the pod is not blamed', async (t) => {
  const { pod, held, release } = await holdingPod(t, '127.0.248.1');
  const mesh = await meshOver(t, shopSource({ web: [pod] }), {
    pool: { connections: 1 },
    outlierDetection: { consecutiveFailures: 1 },
  });
  const first = track(request('http://web/hold', { dispatcher: mesh.dispatcher }));
  await held();
  // The only connection is busy: the next request waits in the pod's pool.
  const controller = new AbortController();
  const second = track(request('http://web/', { dispatcher: mesh.dispatcher, signal: controller.signal }));
  await turn();
  t.false(second.settled());
  controller.abort();
  await turn();
  t.true(second.settled(), 'the abort ended the request while the connection was still busy');
  await t.throwsAsync(second.promise, { any: true, name: 'AbortError' });
  t.false(first.settled());
  release();
  t.is(await (await first.promise).body.text(), 'released');
  t.is(await (await request('http://web/', { dispatcher: mesh.dispatcher })).body.text(), 'ok');
  t.is(pod.requests, 2, 'the aborted request was never sent');
  t.deepEqual(await balancerView(mesh), [{ health: 'healthy', inFlight: 0 }]);
});

test('the same for a caller of the new handler API: its controller aborts the request before it has a connection', async (t) => {
  const { pod, held, release } = await holdingPod(t, '127.0.248.2');
  const mesh = await meshOver(t, shopSource({ web: [pod] }), { pool: { connections: 1 } });
  const first = track(request('http://web/hold', { dispatcher: mesh.dispatcher }));
  await held();
  const reason = new Error('caller gave up');
  const events: string[] = [];
  const ended = new Promise<Error>((resolve) => {
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        events.push('start');
        queueMicrotask(() => controller.abort(reason));
      },
      onResponseStart: () => events.push('response'),
      onResponseEnd: () => events.push('end'),
      onResponseError(_controller, error) {
        events.push('error');
        resolve(error);
      },
    };
    mesh.dispatcher.dispatch({ origin: 'http://web', path: '/', method: 'GET' }, handler);
  });
  t.is(await ended, reason);
  t.deepEqual(events, ['start', 'error']);
  release();
  await (await first.promise).body.text();
  t.is(pod.requests, 1);
  t.deepEqual(await balancerView(mesh), [{ health: 'healthy', inFlight: 0 }]);
});

test('an abort while the Service is still being discovered ends the request at once, and nothing is sent once it is found', async (t) => {
  const pod = await createHttpTestServer(t, { host: '127.0.248.3' });
  const source = gatedSource(shopSource({ web: [pod] }));
  const mesh = await meshOver(t, source);
  const controller = new AbortController();
  const pending = track(request('http://web/', { dispatcher: mesh.dispatcher, signal: controller.signal }));
  await turn();
  t.false(pending.settled(), 'discovery is still waiting for the source');
  controller.abort();
  await turn();
  t.true(pending.settled());
  await t.throwsAsync(pending.promise, { any: true, name: 'AbortError' });
  source.open();
  t.is((await request('http://web/', { dispatcher: mesh.dispatcher })).statusCode, 200);
  t.is(pod.requests, 1, 'only the request after the abort reached the pod');
});

test('a request that waited for discovery and was not aborted goes on as usual, to a Service or past the mesh', async (t) => {
  const { pod, held, release } = await holdingPod(t, '127.0.248.4');
  const outside = await createHttpTestServer(t, { host: 'localhost', name: 'outside' });
  const source = gatedSource(shopSource({ web: [pod] }));
  const mesh = await meshOver(t, source);
  // Routed: the caller was started during discovery; its abort now reaches the request on its connection.
  const controller = new AbortController();
  const routed = track(request('http://web/hold', { dispatcher: mesh.dispatcher, signal: controller.signal }));
  // Passed through: a short name is looked up as a Service first (`localhost` never is one).
  const passed = track(request(`http://localhost:${outside.port}/`, { dispatcher: mesh.dispatcher }));
  source.open();
  await held();
  t.is((await passed.promise).statusCode, 200);
  controller.abort();
  await t.throwsAsync(routed.promise, { any: true, name: 'AbortError' });
  release();
  t.is(pod.requests, 1);
  t.is(outside.requests, 1);
});

test('an abort of a request to an outside host, while the mesh still looks for a Service of that name, ends it at once; nothing is sent', async (t) => {
  const outside = await createHttpTestServer(t, { host: 'localhost', name: 'outside' });
  const source = gatedSource(shopSource({ web: [] as HttpTestServer[] }));
  const mesh = await meshOver(t, source);
  const url = `http://localhost:${outside.port}/`;
  const controller = new AbortController();
  const pending = track(request(url, { dispatcher: mesh.dispatcher, signal: controller.signal }));
  await turn();
  t.false(pending.settled(), 'the lookup of a Service named localhost is still waiting for the source');
  controller.abort();
  await turn();
  t.true(pending.settled());
  await t.throwsAsync(pending.promise, { any: true, name: 'AbortError' });
  source.open();
  t.is((await request(url, { dispatcher: mesh.dispatcher })).statusCode, 200);
  t.is(outside.requests, 1);
});

test('a handler that throws when it is started gets its own error, and neither pod nor Service is blamed', async (t) => {
  const pod = await createHttpTestServer(t, { host: '127.0.248.7' });
  const source = gatedSource(shopSource({ web: [pod] }));
  const mesh = await meshOver(t, source, {
    circuitBreaker: { volumeThreshold: 2 },
    outlierDetection: { consecutiveFailures: 1 },
  });
  const thrown = new Error('handler refused to start');
  const dispatchThrowing = (api: 'legacy' | 'new') =>
    new Promise<unknown>((resolve) => {
      const handler =
        api === 'legacy'
          ? {
              onConnect() {
                throw thrown;
              },
              onHeaders: () => true,
              onData: () => true,
              onComplete: () => resolve('completed'),
              onError: resolve,
            }
          : {
              onRequestStart() {
                throw thrown;
              },
              onResponseEnd: () => resolve('completed'),
              onResponseError: (_: unknown, error: Error) => resolve(error),
            };
      mesh.dispatcher.dispatch(
        { origin: 'http://web', path: '/', method: 'GET' },
        handler as unknown as Dispatcher.DispatchHandler,
      );
    });
  // While discovery waits, then on a known route, in both handler APIs.
  const during = dispatchThrowing('legacy');
  source.open();
  t.is(await during, thrown);
  for (let i = 0; i < 3; i++) {
    t.is(await dispatchThrowing('legacy'), thrown);
    t.is(await dispatchThrowing('new'), thrown);
  }
  t.is(pod.requests, 0);
  t.is((await request('http://web/', { dispatcher: mesh.dispatcher })).statusCode, 200, 'the breaker is closed');
  t.deepEqual(await balancerView(mesh), [{ health: 'healthy', inFlight: 0 }]);
});

test('a request that fails during discovery is a failure, not an abort: undici’s retry interceptor retries the first request to a missing Service as it does later ones', async (t) => {
  const pod = await createHttpTestServer(t, { host: '127.0.248.8' });
  const mesh = await meshOver(t, shopSource({ web: [pod] }));
  let dispatched = 0;
  const counting: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
    dispatched++;
    return dispatch(opts, handler);
  };
  const dispatcher = mesh.dispatcher.compose(
    counting,
    interceptors.retry({
      errorCodes: ['CLUSTERIP_ERR_SERVICE_NOT_FOUND'],
      maxRetries: 2,
      minTimeout: 1,
      timeoutFactor: 1,
    }),
  );
  for (const when of ['first', 'later']) {
    dispatched = 0;
    await t.throwsAsync(request('http://missing.shop.svc.cluster.local/', { dispatcher }), {
      code: 'CLUSTERIP_ERR_SERVICE_NOT_FOUND',
    });
    t.is(dispatched, 3, `${when} request: one try and two retries`);
  }
});

test('a legacy handler’s optional callbacks (Node’s fetch times the response with onResponseStarted) still reach it after waiting for discovery', async (t) => {
  const outside = await createHttpTestServer(t, { host: 'localhost', name: 'outside' });
  const source = gatedSource(shopSource({ web: [] as HttpTestServer[] }));
  const mesh = await meshOver(t, source);
  const calls: string[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const handler = {
      onConnect: () => calls.push('connect'),
      onRequestSent: () => calls.push('request-sent'),
      onResponseStarted: () => calls.push('response-started'),
      onHeaders: () => true,
      onData: () => true,
      onComplete: () => resolve(),
      onError: reject,
    };
    mesh.dispatcher.dispatch(
      { origin: `http://localhost:${outside.port}`, path: '/', method: 'GET' },
      handler as unknown as Dispatcher.DispatchHandler,
    );
  });
  source.open();
  await done;
  t.deepEqual(calls, ['connect', 'request-sent', 'response-started']);
});
