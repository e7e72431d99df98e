// What goes wrong on the caller's side is the caller's: a request body that fails, a handler that throws,
// a content-length that does not match the body. The caller gets its own error, as from undici's pools,
// and neither the pod (outlier detection) nor the Service (circuit breaker) is blamed for it.

import { createReadStream } from 'node:fs';
import { createServer as createH2cServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { EndpointSource } from '@clusterip/resolver';
import { StaticSource } from '@clusterip/resolver/testing';
import { Mesh, type MeshOptions } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { type Dispatcher, interceptors, request } from 'undici';
import { createHttpTestServer, shopSource } from '../helpers/http-test-server.js';

const context = { namespace: 'shop', resolvConf: '', env: {} };

/** A Mesh over `web.shop`: two HTTP/1.1 pods (127.0.243.base+1, +2) that read the whole body and answer 200 (or `status(path)`). */
async function meshOverTwoPods(t: ExecutionContext, base: number, options: MeshOptions = {}, status = () => 200) {
  const pods = await Promise.all(
    [1, 2].map((i) =>
      createHttpTestServer(t, {
        host: `127.0.243.${base + i}`,
        handler: (req, res) => {
          req.resume();
          req.on('end', () => {
            res.statusCode = status();
            res.end('ok');
          });
          req.on('error', () => {});
        },
      }),
    ),
  );
  const source = shopSource({ web: pods });
  const mesh = new Mesh({ source, context, ...options });
  t.teardown(async () => {
    await mesh.destroy();
    await source.close();
  });
  return { mesh, pods };
}

/** A readable that gives one chunk, then fails with `message`. */
function failingBody(message: string): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(Buffer.alloc(1024, 1));
      } else this.destroy(new Error(message));
    },
  });
}

test('a stream body that fails before it is read (a file that does not exist) fails its request with that error', async (t) => {
  const { mesh } = await meshOverTwoPods(t, 10);
  const missing = new URL('./no-such-file.bin', import.meta.url);
  for (let i = 0; i < 3; i++) {
    await t.throwsAsync(
      request('http://web/upload', { dispatcher: mesh.dispatcher, method: 'PUT', body: createReadStream(missing) }),
      { code: 'ENOENT' },
    );
  }
  // And a stream destroyed with an error before undici ever reads it.
  const early = new Readable({ read() {} });
  const sent = request('http://web/upload', { dispatcher: mesh.dispatcher, method: 'PUT', body: early });
  early.destroy(new Error('source gone'));
  await t.throwsAsync(sent, { message: 'source gone' });
  t.is((await request('http://web/', { dispatcher: mesh.dispatcher })).statusCode, 200);
});

test('a stream body that fails while its Service is still being looked up fails its request, and nothing is sent', async (t) => {
  const pod = await createHttpTestServer(t, { host: '127.0.243.41' });
  const inner = shopSource({ web: [pod] });
  // Answers as a watch or a DNS query would: a while after it was asked.
  const slow: EndpointSource = {
    kind: 'slow',
    watch: (query, listener) =>
      inner.watch(query, (event) => {
        setTimeout(() => listener(event), 30);
      }),
    close: () => inner.close(),
  };
  const mesh = new Mesh({ source: slow, context });
  t.teardown(async () => {
    await mesh.destroy();
    await inner.close();
  });
  const missing = new URL('./no-such-file.bin', import.meta.url);
  const put = (body: Readable) =>
    request('http://web/upload', { dispatcher: mesh.dispatcher, method: 'PUT', body: body as never });
  await t.throwsAsync(put(createReadStream(missing)), { code: 'ENOENT' });
  const early = new Readable({ read() {} });
  const sent = put(early);
  early.destroy(new Error('source gone'));
  await t.throwsAsync(sent, { message: 'source gone' });
  t.is(pod.requests, 0);
});

test('the mesh stops listening to a stream body when its request ends', async (t) => {
  let body: Readable | undefined;
  let during = 0;
  const pod = await createHttpTestServer(t, {
    host: '127.0.243.51',
    handler: (req, res) => {
      req.resume();
      req.on('end', () => {
        during = body!.listenerCount('error'); // the mesh's, and the iterator's that reads it
        res.end('ok');
      });
    },
  });
  const source = shopSource({ web: [pod] });
  const mesh = new Mesh({ source, context });
  t.teardown(async () => {
    await mesh.destroy();
    await source.close();
  });
  body = Readable.from([Buffer.from('a'), Buffer.from('b')]);
  const res = await request('http://web/', { dispatcher: mesh.dispatcher, method: 'POST', body });
  await res.body.text();
  t.true(during >= 1);
  t.is(body.listenerCount('error'), during - 1, 'what listens now is not the mesh');
});

test('bodies that fail during the upload are the caller’s: the breaker stays closed and no pod is ejected', async (t) => {
  const { mesh } = await meshOverTwoPods(t, 20, {
    circuitBreaker: { volumeThreshold: 5 },
    outlierDetection: { consecutiveFailures: 2 },
  });
  for (let i = 0; i < 12; i++) {
    const error = await t.throwsAsync(
      request('http://web/upload', { dispatcher: mesh.dispatcher, method: 'POST', body: failingBody('source failed') }),
    );
    t.is(error!.message, 'source failed', 'the caller gets its body’s error, not an upstream error');
  }
  t.is((await request('http://web/', { dispatcher: mesh.dispatcher })).statusCode, 200);
  const view = await mesh.endpoints('web:80');
  t.deepEqual(
    view.endpoints.map((e) => e.health),
    ['healthy', 'healthy'],
  );
});

test('a handler that throws gets its own error: undici’s retry interceptor (throwOnError) settles on a 503', async (t) => {
  const { mesh } = await meshOverTwoPods(t, 30, { retry: { attempts: 1 } }, () => 503);
  const withRetry = mesh.dispatcher.compose(interceptors.retry({ maxRetries: 1, minTimeout: 1, timeoutFactor: 1 }));
  await t.throwsAsync(request('http://web/', { dispatcher: withRetry }), { code: 'UND_ERR_REQ_RETRY' });

  // A legacy handler whose onHeaders throws: its onError gets that very error.
  const thrown = new Error('handler refused the headers');
  const got = await new Promise<Error>((resolve) => {
    const handler = {
      onConnect() {},
      onHeaders() {
        throw thrown;
      },
      onData() {
        return true;
      },
      onComplete() {
        resolve(new Error('completed'));
      },
      onError: resolve,
    };
    mesh.dispatcher.dispatch(
      { origin: 'http://web', path: '/', method: 'GET' },
      handler as unknown as Dispatcher.DispatchHandler,
    );
  });
  t.is(got, thrown);
  const view = await mesh.endpoints('web:80');
  t.deepEqual(
    view.endpoints.map((e) => e.health),
    ['healthy', 'healthy'],
  );
});

test('h2c: content-length as undici sends it over HTTP/1.1: a mismatch with a payload is the caller’s error, otherwise the real length goes', async (t) => {
  const server = createH2cServer();
  const bodies: number[] = [];
  const lengths: unknown[] = [];
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    lengths.push(headers['content-length']);
    let n = 0;
    stream.on('data', (chunk: Buffer) => {
      n += chunk.length;
    });
    stream.on('end', () => {
      bodies.push(n);
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
    stream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.242.43', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const source = new StaticSource([
    {
      namespace: 'shop',
      name: 'h2',
      ports: [{ name: 'http', port: 80, targetPort: port, appProtocol: 'kubernetes.io/h2c' }],
      endpoints: [{ address: '127.0.242.43' }],
    },
  ]);
  const mesh = new Mesh({ source, context, outlierDetection: { consecutiveFailures: 1 } });
  t.teardown(async () => {
    await mesh.destroy();
    await source.close();
  });
  const post = (body: unknown, length: string, method = 'POST') =>
    request('http://h2/', {
      dispatcher: mesh.dispatcher,
      method: method as 'POST',
      headers: { 'content-length': length },
      body: body as string,
    });
  await t.throwsAsync(post('abc', '10'), { code: 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' });
  await t.throwsAsync(post(Readable.from([Buffer.alloc(8), Buffer.alloc(8)]), '10'), {
    code: 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  });
  await t.throwsAsync(post(Readable.from([Buffer.alloc(4)]), '10'), { code: 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' });
  t.deepEqual(bodies, [], 'no complete request reached the pod');
  const ok = await post('0123456789', '10');
  t.is(ok.statusCode, 200);
  await ok.body.text();
  t.deepEqual(bodies, [10]);
  // As undici's HTTP/1.1 client: no payload, or a method without one, sends the real length (or none).
  for (const [body, length, method] of [
    [undefined, '5', 'GET'],
    [undefined, '5', 'POST'],
    ['abc', '5', 'GET'],
  ] as const) {
    const res = await post(body, length, method);
    t.is(res.statusCode, 200, `${method} ${body} with content-length ${length}`);
    await res.body.text();
  }
  t.deepEqual(bodies, [10, 0, 0, 3]);
  t.deepEqual(lengths.slice(-4), ['10', undefined, '0', '3']);
  t.deepEqual(
    (await mesh.endpoints('h2:80')).endpoints.map((e) => e.health),
    ['healthy'],
  );
});
