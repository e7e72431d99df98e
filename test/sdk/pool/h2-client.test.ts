import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer as createHttp1Server } from 'node:http';
import {
  constants,
  createServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { H2Client } from '@clusterip/sdk/internal/pool/h2-client.js';
import test, { type ExecutionContext } from 'ava';
import { buildConnector, Client, type Dispatcher, Pool, request } from 'undici';
import { listenUntilTeardown } from '../../helpers/listen.js';
import { createSelfSignedCert } from '../../helpers/self-signed-cert.js';
import { startTcpRelay } from '../../helpers/tcp-relay.js';

/** An h2c server on `host`; `onStream` answers (or holds) each stream. Closed at teardown. */
async function h2Server(
  t: ExecutionContext,
  host: string,
  onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void,
): Promise<{ server: Http2Server; origin: string; sessions: Http2Session[] }> {
  const server = createServer();
  const sessions: Http2Session[] = [];
  server.on('session', (session) => sessions.push(session));
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {}); // refused and cancelled streams end with an error on this side too
    onStream(stream, headers);
  });
  const port = await listenUntilTeardown(t, server, host, () => sessions);
  return { server, origin: `http://${host}:${port}`, sessions };
}

/** A Pool of H2Clients for `origin`, as the mesh builds it for an h2c endpoint. */
function h2Pool(
  t: ExecutionContext,
  origin: string,
  extra: {
    streams?: number;
    headersTimeoutMs?: number;
    connectTimeoutMs?: number;
    keepAliveTimeoutMs?: number;
    pingIntervalMs?: number;
    pingTimeoutMs?: number;
  } = {},
) {
  const pool = new Pool(origin, {
    connect: { timeout: 1000 },
    factory: (o, options) =>
      new H2Client(o, {
        connect: (options as { connect: never }).connect,
        maxConcurrentStreams: extra.streams ?? 100,
        keepAliveTimeoutMs: extra.keepAliveTimeoutMs ?? 4000,
        ...(extra.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: extra.connectTimeoutMs }),
        ...(extra.pingIntervalMs === undefined ? {} : { pingIntervalMs: extra.pingIntervalMs }),
        ...(extra.pingTimeoutMs === undefined ? {} : { pingTimeoutMs: extra.pingTimeoutMs }),
        headersTimeoutMs: extra.headersTimeoutMs ?? 10_000,
        bodyTimeoutMs: 10_000,
        http1: (connect) => new Client(o, { connect }),
      }),
  });
  t.teardown(() => pool.destroy());
  return pool;
}

function respond(stream: ServerHttp2Stream, body: string, headers: Record<string, string> = {}): void {
  if (stream.closed) return;
  stream.respond({ ':status': 200, ...headers });
  stream.end(body);
}

/** The undici diagnostics messages about requests to `origin`: per request, its channels in publish order. */
function undiciMessages(t: ExecutionContext, origin: string): Map<object, string[]> {
  const seen = new Map<object, string[]>();
  for (const name of [
    'undici:request:create',
    'undici:client:sendHeaders',
    'undici:request:headers',
    'undici:request:trailers',
    'undici:request:error',
  ]) {
    const listener = (message: unknown) => {
      const request = (message as { request: { origin: unknown } }).request;
      if (String(request.origin) !== origin) return;
      seen.set(request, [...(seen.get(request) ?? []), name.slice(name.lastIndexOf(':') + 1)]);
    };
    diagnosticsChannel.subscribe(name, listener);
    t.teardown(() => diagnosticsChannel.unsubscribe(name, listener));
  }
  return seen;
}

/** Send `n` POSTs at once, each with its number as body; settle all. */
function posts(origin: string, pool: Dispatcher, n: number) {
  return Promise.allSettled(
    Array.from({ length: n }, (_, i) =>
      request(origin, { dispatcher: pool, method: 'POST', body: String(i) }).then((r) => r.body.text()),
    ),
  );
}

/** The server's next stream. */
async function nextStream(server: Http2Server): Promise<ServerHttp2Stream> {
  const [stream] = (await once(server, 'stream')) as [ServerHttp2Stream];
  return stream;
}

/** Collect `n` streams with their bodies, then hand them to `then` together. */
function collect(n: number, then: (held: { stream: ServerHttp2Stream; body: string }[]) => void) {
  const held: { stream: ServerHttp2Stream; body: string }[] = [];
  return (stream: ServerHttp2Stream) => {
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      body += chunk;
    });
    stream.on('end', () => {
      held.push({ stream, body });
      if (held.length === n) then(held.splice(0));
    });
  };
}

test('a graceful GOAWAY lets every stream the server accepted finish; later requests open a new connection', async (t) => {
  const { origin, sessions } = await h2Server(
    t,
    '127.0.240.1',
    collect(10, (held) => {
      // GOAWAY (NO_ERROR, last stream = the last one received), then answer all ten.
      held[0]!.stream.session!.close();
      for (const { stream, body } of held) respond(stream, `done ${body}`);
    }),
  );
  const pool = h2Pool(t, origin);
  const first = await posts(origin, pool, 10);
  t.deepEqual(
    first.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason))),
    Array.from({ length: 10 }, (_, i) => `done ${i}`),
    'undici 7 fails at least one of these',
  );
  const second = await posts(origin, pool, 10);
  t.true(
    second.every((r) => r.status === 'fulfilled'),
    'requests after the GOAWAY go out on a new connection',
  );
  t.is(sessions.length, 2);
});

test('streams above the GOAWAY last stream id fail with StreamRefusedError; the server processed exactly the others', async (t) => {
  const processed: string[] = [];
  const { origin } = await h2Server(
    t,
    '127.0.240.2',
    collect(10, (held) => {
      const ids = held.map((h) => h.stream.id!).sort((a, b) => a - b);
      const last = ids[3]!; // the four lowest are processed, the six above are not
      held[0]!.stream.session!.goaway(constants.NGHTTP2_NO_ERROR, last);
      for (const { stream, body } of held) {
        if (stream.id! <= last) {
          processed.push(body);
          respond(stream, `done ${body}`);
        }
      }
    }),
  );
  const pool = h2Pool(t, origin);
  const results = await posts(origin, pool, 10);
  const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.slice(5)] : []));
  const refused = results.flatMap((r) =>
    r.status === 'rejected' ? [r.reason as { code?: string; message: string }] : [],
  );
  t.is(ok.length, 4);
  t.deepEqual(ok.sort(), processed.sort(), 'what succeeded is what the server processed');
  t.is(refused.length, 6);
  for (const error of refused) {
    t.is(error.code, 'CLUSTERIP_ERR_STREAM_REFUSED');
    t.regex(error.message, /^endpoint 127\.0\.240\.2:\d+: HTTP\/2 stream refused \(GOAWAY after stream \d+\)/);
  }
});

test('RST_STREAM REFUSED_STREAM is a refusal; another reset code is not', async (t) => {
  const { origin } = await h2Server(t, '127.0.240.3', (stream, headers) => {
    stream.close(headers[':path'] === '/refuse' ? constants.NGHTTP2_REFUSED_STREAM : constants.NGHTTP2_INTERNAL_ERROR);
  });
  const pool = h2Pool(t, origin);
  const refused = await t.throwsAsync(request(`${origin}/refuse`, { dispatcher: pool }));
  t.is((refused as { code?: string }).code, 'CLUSTERIP_ERR_STREAM_REFUSED');
  t.regex(refused!.message, /\(REFUSED_STREAM\)/);
  const reset = await t.throwsAsync(request(`${origin}/fail`, { dispatcher: pool }));
  t.not((reset as { code?: string }).code, 'CLUSTERIP_ERR_STREAM_REFUSED');
  t.regex(String((reset as { code?: string }).code), /^(ERR_HTTP2_STREAM_ERROR|UND_ERR_SOCKET)$/);
});

test('streamed bodies of concurrent POSTs multiplex on one connection; headers, query, trailers and backpressure', async (t) => {
  const big = Buffer.alloc(1 << 20, 7);
  let inFlight = 0;
  let most = 0;
  const { origin, sessions } = await h2Server(t, '127.0.240.4', (stream, headers) => {
    inFlight++;
    most = Math.max(most, inFlight);
    let length = 0;
    stream.on('data', (chunk: Buffer) => {
      length += chunk.length;
    });
    stream.on('end', () => {
      inFlight--;
      if (stream.closed) return;
      stream.respond(
        { ':status': 201, 'x-seen': `${headers[':path']} ${headers[':authority']} ${headers['x-a']}` },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-length': String(length) }));
      stream.end(big);
    });
  });
  const pool = h2Pool(t, origin);
  const replies = await Promise.all(
    Array.from({ length: 4 }, async (_, i) => {
      const res = await request(`${origin}/up`, {
        dispatcher: pool,
        query: { n: i, tag: ['a', 'b'] },
        method: 'PUT',
        headers: new Map([
          ['host', 'upload.shop'],
          ['x-a', String(i)],
          ['connection', 'keep-alive'],
        ]),
        body: Readable.from([big, big]),
      });
      let received = 0;
      for await (const chunk of res.body) received += (chunk as Buffer).length;
      return { status: res.statusCode, seen: res.headers['x-seen'], length: res.trailers['x-length'], received };
    }),
  );
  t.deepEqual(
    replies,
    Array.from({ length: 4 }, (_, i) => ({
      status: 201,
      seen: `/up?n=${i}&tag=a&tag=b upload.shop ${i}`,
      length: String(2 * big.length),
      received: big.length,
    })),
  );
  t.is(sessions.length, 1, 'one connection');
  t.true(most > 1, 'the uploads ran side by side');
});

test('a headers timeout and an abort cancel the stream; the caller gets the error', async (t) => {
  const { server, origin } = await h2Server(t, '127.0.240.5', () => {});
  const pool = h2Pool(t, origin, { headersTimeoutMs: 50 });
  const timedOut = nextStream(server);
  const timeout = await t.throwsAsync(request(origin, { dispatcher: pool }));
  t.is((timeout as { code?: string }).code, 'UND_ERR_HEADERS_TIMEOUT');
  const first = await timedOut;
  if (!first.closed) await once(first, 'close');
  t.is(first.rstCode, constants.NGHTTP2_CANCEL, 'the timed-out stream is cancelled');
  const controller = new AbortController();
  const arrived = nextStream(server);
  const aborted = request(origin, { dispatcher: pool, signal: controller.signal, headersTimeout: 0 });
  const second = await arrived;
  controller.abort(new Error('caller gave up'));
  await t.throwsAsync(aborted, { message: 'caller gave up' });
  if (!second.closed) await once(second, 'close');
  t.is(second.rstCode, constants.NGHTTP2_CANCEL, 'the aborted stream is cancelled');
});

test('close() lets requests in flight finish, then ends the connection; destroy() fails them; both idempotent', async (t) => {
  const { server, origin, sessions } = await h2Server(t, '127.0.240.6', () => {});
  const options = {
    connect: buildConnector({}),
    maxConcurrentStreams: 10,
    keepAliveTimeoutMs: 4000,
    headersTimeoutMs: 10_000,
    bodyTimeoutMs: 10_000,
    http1: () => t.fail('no HTTP/1.1') as never,
  };
  const client = new H2Client(origin, options);
  t.teardown(() => client.destroy());
  const arrived = nextStream(server);
  const pending = request(origin, { dispatcher: client });
  const held = await arrived;
  const closing = client.close();
  t.is(client.close(), closing, 'close() returns the same promise');
  t.true(client.closed);
  await t.throwsAsync(request(origin, { dispatcher: client }), { code: 'UND_ERR_CLOSED' });
  respond(held, 'last');
  t.is(await (await pending).body.text(), 'last', 'the request in flight finished');
  await closing;
  if (!sessions[0]!.closed) await once(sessions[0]!, 'close');
  t.true(sessions[0]!.closed, 'the server saw the connection end');

  const other = new H2Client(origin, options);
  const arrivedToo = nextStream(server);
  const inFlight = request(origin, { dispatcher: other });
  await arrivedToo;
  const destroying = other.destroy(new Error('shutting down'));
  await t.throwsAsync(inFlight, { message: 'shutting down' });
  await destroying;
  await other.destroy();
  t.true(other.destroyed);
  await t.throwsAsync(request(origin, { dispatcher: other }), { code: 'UND_ERR_DESTROYED' });
});

test('a refused connection fails the queued requests with the connect error', async (t) => {
  const { server, origin } = await h2Server(t, '127.0.240.7', (stream) => respond(stream, 'x'));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const pool = h2Pool(t, origin);
  const results = await Promise.allSettled([
    request(origin, { dispatcher: pool }),
    request(origin, { dispatcher: pool }),
  ]);
  t.deepEqual(
    results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok')),
    ['ECONNREFUSED', 'ECONNREFUSED'],
  );
});

test("the server's SETTINGS_MAX_CONCURRENT_STREAMS bounds streams per connection", async (t) => {
  const server = createServer({ settings: { maxConcurrentStreams: 3 } });
  let inFlight = 0;
  let most = 0;
  server.on('stream', (stream) => {
    inFlight++;
    most = Math.max(most, inFlight);
    setImmediate(() => {
      inFlight--;
      respond(stream, 'ok');
    });
  });
  server.listen(0, '127.0.240.8');
  await once(server, 'listening');
  const origin = `http://127.0.240.8:${(server.address() as AddressInfo).port}`;
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const pool = h2Pool(t, origin);
  const bodies = await Promise.all(
    Array.from({ length: 12 }, () => request(origin, { dispatcher: pool }).then((r) => r.body.text())),
  );
  // The server refuses streams above its limit: had the client sent more at once, some would have failed.
  t.deepEqual(bodies, Array(12).fill('ok'));
  t.true(most > 1, 'streams still multiplex');
});

test('an HTTP/1.1 server on an h2c endpoint: Http2ConnectError for what waited, counted as a connect failure', async (t) => {
  const server = createHttp1Server((_req, res) => res.end('h1'));
  server.listen(0, '127.0.240.9');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const origin = `http://127.0.240.9:${(server.address() as AddressInfo).port}`;
  const pool = h2Pool(t, origin);
  const results = await Promise.allSettled([
    request(origin, { dispatcher: pool }),
    request(origin, { dispatcher: pool }),
  ]);
  for (const result of results) {
    t.is(result.status, 'rejected');
    const error = (result as PromiseRejectedResult).reason as { code?: string; message: string };
    t.is(error.code, 'CLUSTERIP_ERR_HTTP2_CONNECT');
    t.regex(error.message, /^endpoint 127\.0\.240\.9:\d+: no HTTP\/2 connection \(.+\): is the port serving HTTP\/2\?/);
  }
});

test('TLS whose ALPN answers http/1.1: a lone request goes over HTTP/1.1 on the handshaken socket', async (t) => {
  const { key, cert } = await createSelfSignedCert(t, '127.0.251.21');
  const server = createHttpsServer({ key, cert }, (req, res) => res.end(`h${req.httpVersion}`));
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket: Socket) => sockets.add(socket));
  const port = await listenUntilTeardown(t, server, '127.0.251.21', () => sockets);
  const origin = `https://127.0.251.21:${port}`;
  const pool = new Pool(origin, {
    allowH2: true,
    connect: { ca: cert, timeout: 1000 },
    factory: (o, options) =>
      new H2Client(o, {
        connect: (options as { connect: never }).connect,
        maxConcurrentStreams: 100,
        keepAliveTimeoutMs: 4000,
        headersTimeoutMs: 10_000,
        bodyTimeoutMs: 10_000,
        http1: (connect) => new Client(o, { connect }),
      }),
  });
  t.teardown(() => pool.destroy());
  // One request and nothing after it: nothing else would nudge the HTTP/1.1 client into sending it.
  t.is(await request(origin, { dispatcher: pool }).then((r) => r.body.text()), 'h1.1');
  t.is(await request(origin, { dispatcher: pool }).then((r) => r.body.text()), 'h1.1');
  t.is(sockets.size, 1, 'the socket ALPN was negotiated on carries both');
});

test('a server that accepts and never sends SETTINGS fails what waited after connectTimeoutMs, not the idle timeout', async (t) => {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.240.11');
  await once(server, 'listening');
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const origin = `http://127.0.240.11:${(server.address() as AddressInfo).port}`;
  // Were the idle timeout the deadline, the request would wait a minute (and ava's timeout fail the test).
  const pool = h2Pool(t, origin, { connectTimeoutMs: 150, keepAliveTimeoutMs: 60_000 });
  const error = await t.throwsAsync(request(origin, { dispatcher: pool }));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_HTTP2_CONNECT');
  t.regex(error!.message, /no SETTINGS from the server in time/);
});

test('a connection closed for idleness is not used again: the next request opens a new one and succeeds', async (t) => {
  const { origin, sessions } = await h2Server(t, '127.0.240.10', (stream) => respond(stream, 'ok'));
  const pool = new Pool(origin, {
    factory: (o, options) =>
      new H2Client(o, {
        connect: (options as { connect: never }).connect,
        maxConcurrentStreams: 10,
        keepAliveTimeoutMs: 20,
        headersTimeoutMs: 10_000,
        bodyTimeoutMs: 10_000,
        http1: () => t.fail('no HTTP/1.1') as never,
      }),
  });
  t.teardown(() => pool.destroy());
  t.is(await (await request(origin, { dispatcher: pool })).body.text(), 'ok');
  if (!sessions[0]!.closed) await once(sessions[0]!, 'close'); // the client closed it after 20 ms idle
  t.is(await (await request(origin, { dispatcher: pool })).body.text(), 'ok');
  t.is(sessions.length, 2);
});

test('a peer gone silent under a request in flight: an unanswered PING ends the connection before the headers timeout, and it is not used again', async (t) => {
  const { server, origin } = await h2Server(t, '127.0.242.20', () => {}); // never answers
  const port = Number(new URL(origin).port);
  const relay = await startTcpRelay(t, '127.0.242.21', { host: '127.0.242.20', port });
  const via = `http://127.0.242.21:${relay.port}`;
  const pool = h2Pool(t, via, { headersTimeoutMs: 30_000, pingIntervalMs: 50, pingTimeoutMs: 100 });
  const first = request(via, { dispatcher: pool });
  await nextStream(server);
  relay.silence();
  const error = await t.throwsAsync(first);
  t.is((error as { code?: string }).code, 'UND_ERR_SOCKET');
  t.is(error!.message, `127.0.242.21:${relay.port}: HTTP/2 PING unanswered after 100 ms`);
  // The next request opens a new connection (which the silent relay accepts and starves).
  t.is(relay.accepted, 1);
  const second = request(via, { dispatcher: pool });
  await relay.accepting(2);
  await pool.destroy();
  await t.throwsAsync(second, { code: 'UND_ERR_DESTROYED' });
});

test('a slow but live peer answers the PING and its response arrives; pingIntervalMs 0 sends none', async (t) => {
  let pings = 0;
  const { server, origin } = await h2Server(t, '127.0.242.22', (stream) => {
    // Answer once the client has pinged: it was silent with a request in flight.
    stream.session!.once('ping', () => respond(stream, 'late'));
  });
  server.on('session', (session) => session.on('ping', () => pings++));
  const pool = h2Pool(t, origin, { headersTimeoutMs: 10_000, pingIntervalMs: 20, pingTimeoutMs: 5000 });
  t.is(await (await request(origin, { dispatcher: pool })).body.text(), 'late');
  t.true(pings >= 1);

  pings = 0;
  const quiet = h2Pool(t, origin, { headersTimeoutMs: 300, pingIntervalMs: 0 });
  await t.throwsAsync(request(origin, { dispatcher: quiet }), { code: 'UND_ERR_HEADERS_TIMEOUT' });
  t.is(pings, 0);
});

test('a PING answered while the client’s event loop was stalled past its deadline keeps the connection', async (t) => {
  const { origin } = await h2Server(t, '127.0.242.25', (stream) => {
    stream.session!.once('ping', () => {
      // The ACK is on its way; now the process (client included) stalls past the PING's deadline.
      setImmediate(() => {
        const until = performance.now() + 300;
        while (performance.now() < until);
        respond(stream, 'after the stall');
      });
    });
  });
  const pool = h2Pool(t, origin, { pingIntervalMs: 20, pingTimeoutMs: 100 });
  t.is(await (await request(origin, { dispatcher: pool })).body.text(), 'after the stall');
});

test('a stream reset with NO_ERROR before any response, while its body is still uploading, fails the request; the connection goes on', async (t) => {
  let first = true;
  const { origin } = await h2Server(t, '127.0.242.23', (stream) => {
    if (first) {
      first = false;
      setImmediate(() => stream.close()); // RST_STREAM(NO_ERROR), nothing answered, the body not read
    } else respond(stream, 'ok');
  });
  const pool = h2Pool(t, origin, { headersTimeoutMs: 1000 });
  const error = await t.throwsAsync(
    request(origin, { dispatcher: pool, method: 'POST', body: Buffer.alloc(1 << 20), headersTimeout: 60_000 }),
  );
  t.is((error as { code?: string }).code, 'UND_ERR_SOCKET');
  t.is(await (await request(origin, { dispatcher: pool })).body.text(), 'ok');
  await pool.close();
});

test('a complete response to a body the server never read: the caller gets it, and the stream is released', async (t) => {
  const { origin, sessions } = await h2Server(t, '127.0.242.24', (stream) => {
    stream.pause(); // never reads the body: its window stays shut
    stream.respond({ ':status': 413 });
    stream.end('too large');
  });
  const pool = h2Pool(t, origin, { streams: 1 });
  for (let i = 0; i < 3; i++) {
    const res = await request(origin, { dispatcher: pool, method: 'POST', body: Buffer.alloc(1 << 20) });
    t.is(res.statusCode, 413);
    t.is(await res.body.text(), 'too large');
  }
  // A stream left open holds its connection: close() would wait for it for ever.
  await pool.close();
  for (const session of sessions) if (!session.closed) await once(session, 'close');
  t.true(sessions.length >= 1);
});

test.serial(
  "diagnostics channels: a request that never got a connection shows as created, then failed, as with undici's Client",
  async (t) => {
    const closedPort = async (host: string) => {
      const { server, origin } = await h2Server(t, host, (stream) => respond(stream, 'x'));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return origin;
    };
    const h2Origin = await closedPort('127.0.242.1');
    const h1Origin = await closedPort('127.0.242.2');
    const h2Seen = undiciMessages(t, h2Origin);
    const h1Seen = undiciMessages(t, h1Origin);
    const h1Pool = new Pool(h1Origin);
    t.teardown(() => h1Pool.destroy());
    const h2 = h2Pool(t, h2Origin);
    for (const [origin, dispatcher] of [
      [h2Origin, h2],
      [h1Origin, h1Pool],
    ] as const) {
      const results = await Promise.allSettled([request(origin, { dispatcher }), request(origin, { dispatcher })]);
      t.true(results.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ECONNREFUSED'));
    }
    t.deepEqual(
      [...h1Seen.values()],
      [
        ['create', 'error'],
        ['create', 'error'],
      ],
    );
    t.deepEqual([...h2Seen.values()], [...h1Seen.values()]);
  },
);

test.serial(
  'diagnostics channels: destroyed while waiting for the connection: created, then failed; invalid options: nothing',
  async (t) => {
    const silent = createTcpServer(() => {}); // accepts, never sends SETTINGS
    silent.listen(0, '127.0.242.3');
    await once(silent, 'listening');
    const sockets: Socket[] = [];
    silent.on('connection', (socket: Socket) => sockets.push(socket));
    t.teardown(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const origin = `http://127.0.242.3:${(silent.address() as AddressInfo).port}`;
    const seen = undiciMessages(t, origin);
    const pool = h2Pool(t, origin);
    const waiting = Promise.allSettled([request(origin, { dispatcher: pool }), request(origin, { dispatcher: pool })]);
    await once(silent, 'connection');
    await pool.destroy();
    t.true((await waiting).every((r) => r.status === 'rejected'));
    t.deepEqual(
      [...seen.values()],
      [
        ['create', 'error'],
        ['create', 'error'],
      ],
    );

    const { origin: live } = await h2Server(t, '127.0.242.4', (stream) => respond(stream, 'ok'));
    const liveSeen = undiciMessages(t, live);
    const livePool = h2Pool(t, live);
    await t.throwsAsync(request(live, { dispatcher: livePool, method: 'BAD METHOD' }), {
      code: 'UND_ERR_INVALID_ARG',
    });
    t.is(await (await request(live, { dispatcher: livePool })).body.text(), 'ok');
    t.deepEqual([...liveSeen.values()], [['create', 'sendHeaders', 'headers', 'trailers']]);
  },
);
