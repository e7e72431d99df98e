import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  constants,
  createServer as createH2cServer,
  createSecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Stream,
} from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Mesh } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { createFakeCluster, type FakeCluster } from '../helpers/fake-cluster.js';
import { listenUntilTeardown } from '../helpers/listen.js';
import { createSelfSignedCert } from '../helpers/self-signed-cert.js';
import { startTcpRelay } from '../helpers/tcp-relay.js';

/** What a pod answers: who it is, the HTTP version, the authority it was asked for, the TLS server name. */
interface Reply {
  readonly pod: string;
  readonly version: string;
  readonly authority: string;
  readonly servername?: string;
}

/** One pod: its server, and how many connections (h2 sessions or h1 sockets) it accepted. */
interface H2Pod {
  readonly name: string;
  readonly port: number;
  connections: number;
  /** Most requests in flight at once on one connection. */
  maxInFlightPerConnection: number;
}

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;

/**
 * Start a pod on `host` with `make(handler)` and add it to the cluster under app `app` (named port
 * `http`). The handler answers after 20 ms, so concurrent requests overlap on the server.
 */
async function startPod(
  t: ExecutionContext,
  cluster: FakeCluster,
  app: string,
  name: string,
  host: string,
  make: (handler: (req: AnyRequest, res: AnyResponse) => void) => Server | ReturnType<typeof createH2cServer>,
): Promise<H2Pod> {
  const inFlight = new Map<object, number>();
  const pod: H2Pod = { name, port: 0, connections: 0, maxInFlightPerConnection: 0 };
  const server = make((req, res) => {
    const connection = 'stream' in req ? (req.stream.session ?? req.socket) : req.socket;
    const now = (inFlight.get(connection as object) ?? 0) + 1;
    inFlight.set(connection as object, now);
    pod.maxInFlightPerConnection = Math.max(pod.maxInFlightPerConnection, now);
    const reply: Reply = {
      pod: name,
      version: req.httpVersion,
      authority: String(req.headers[':authority'] ?? req.headers.host),
      ...((req.socket as TLSSocket).encrypted ? { servername: String((req.socket as TLSSocket).servername) } : {}),
    };
    const timer = setTimeout(() => {
      inFlight.set(connection as object, (inFlight.get(connection as object) ?? 1) - 1);
      (res as ServerResponse).setHeader('content-type', 'application/json');
      res.end(JSON.stringify(reply));
    }, 20);
    res.on('close', () => clearTimeout(timer));
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // An h2 server counts sessions; an HTTP/1.1 server (or an h2 server's h1 fallback) counts sockets.
  server.on('session', () => pod.connections++);
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol !== 'h2') pod.connections++;
  });
  server.listen(0, host);
  await once(server, 'listening');
  (pod as { port: number }).port = (server.address() as AddressInfo).port;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  cluster.addPod({ name, ip: host, labels: { app }, ports: { http: pod.port } });
  return pod;
}

function service(name: string, port: number, appProtocol?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: {
      selector: { app: name },
      ports: [{ name: 'http', port, targetPort: 'http', ...(appProtocol ? { appProtocol } : {}) }],
    },
  };
}

async function get(mesh: Mesh, url: string): Promise<Reply> {
  const res = await request(url, { dispatcher: mesh.dispatcher });
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  return (await res.body.json()) as Reply;
}

async function concurrently(mesh: Mesh, url: string, count: number): Promise<Reply[]> {
  return Promise.all(Array.from({ length: count }, () => get(mesh, url)));
}

test('appProtocol kubernetes.io/h2c: cleartext HTTP/2 to every pod, requests balanced per request and multiplexed', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(service('grpcweb', 80, 'kubernetes.io/h2c'));
  // h2c servers only: an HTTP/1.1 request would fail, so every answer proves the protocol.
  const pods = await Promise.all(
    [1, 2, 3].map((i) => startPod(t, cluster, 'grpcweb', `grpcweb-${i}`, `127.0.238.${10 + i}`, createH2cServer)),
  );
  await cluster.resolver.resolve('grpcweb:80').then((s) => t.is(s.endpoints.length, 3));
  const mesh = new Mesh({ resolver: cluster.resolver, policy: 'round-robin' });
  t.teardown(() => mesh.close());

  const replies = [
    ...(await concurrently(mesh, 'http://grpcweb/', 60)),
    ...(await concurrently(mesh, 'http://grpcweb/', 60)),
  ];
  t.deepEqual([...new Set(replies.map((r) => r.pod))].sort(), ['grpcweb-1', 'grpcweb-2', 'grpcweb-3']);
  t.deepEqual([...new Set(replies.map((r) => r.version))], ['2.0']);
  t.deepEqual([...new Set(replies.map((r) => r.authority))], ['grpcweb'], ':authority is the name the caller used');
  for (const pod of pods) {
    t.is(pod.connections, 1, `${pod.name}: one connection carries all its requests`);
    t.true(pod.maxInFlightPerConnection > 1, `${pod.name}: requests overlap on that connection`);
  }
});

test('pool.allowH2: https pods that offer h2 get multiplexed HTTP/2, an HTTP/1.1-only pod keeps one request per connection; CA, client certificate and server name pass through', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(service('secure', 443));
  const { key, cert } = await createSelfSignedCert(t, '127.0.0.1', ['secure']);
  // Mutual TLS: the pods require a client certificate signed by the same CA.
  const tls = { key, cert, ca: cert, requestCert: true, rejectUnauthorized: true };
  const h2Pods = await Promise.all(
    [1, 2].map((i) =>
      startPod(t, cluster, 'secure', `h2-${i}`, `127.0.238.${20 + i}`, (h) =>
        createSecureServer({ ...tls, allowHTTP1: true }, h),
      ),
    ),
  );
  const h1Pod = await startPod(t, cluster, 'secure', 'h1-3', '127.0.238.23', (h) =>
    createHttpsServer(tls, h as (req: IncomingMessage, res: ServerResponse) => void),
  );
  await cluster.resolver.resolve('secure:443').then((s) => t.is(s.endpoints.length, 3));
  const mesh = new Mesh({
    resolver: cluster.resolver,
    policy: 'round-robin',
    pool: { allowH2: true },
    connect: { ca: cert, key, cert },
  });
  t.teardown(() => mesh.close());

  // A cold burst waits for each pod's first connection; the second burst finds the protocols known.
  const replies = [
    ...(await concurrently(mesh, 'https://secure/', 60)),
    ...(await concurrently(mesh, 'https://secure/', 60)),
  ];
  const byPod = new Map<string, Set<string>>();
  for (const r of replies) byPod.set(r.pod, (byPod.get(r.pod) ?? new Set()).add(r.version));
  t.deepEqual(Object.fromEntries([...byPod].map(([pod, versions]) => [pod, [...versions]])), {
    'h2-1': ['2.0'],
    'h2-2': ['2.0'],
    'h1-3': ['1.1'],
  });
  t.deepEqual([...new Set(replies.map((r) => r.servername))], ['secure'], 'TLS server name: the URL host');
  t.deepEqual([...new Set(replies.map((r) => r.authority))], ['secure']);
  for (const pod of h2Pods) {
    t.is(pod.connections, 1, `${pod.name}: one HTTP/2 connection`);
    t.true(pod.maxInFlightPerConnection > 1, `${pod.name}: multiplexed`);
  }
  t.true(h1Pod.connections > 1, 'the HTTP/1.1 pod gets more connections once it answered http/1.1');
  t.is(h1Pod.maxInFlightPerConnection, 1, 'and is never pipelined');
});

test('without allowH2, https pods that offer h2 are spoken to in HTTP/1.1', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(service('plain', 443));
  const { key, cert } = await createSelfSignedCert(t, '127.0.0.1', ['plain']);
  await startPod(t, cluster, 'plain', 'plain-1', '127.0.238.31', (h) =>
    createSecureServer({ key, cert, allowHTTP1: true }, h),
  );
  await cluster.resolver.resolve('plain:443').then((s) => t.is(s.endpoints.length, 1));
  const mesh = new Mesh({ resolver: cluster.resolver, connect: { ca: cert } });
  t.teardown(() => mesh.close());
  t.is((await get(mesh, 'https://plain/')).version, '1.1');
});

test('h2c: POSTs multiplex like GETs; a burst above maxConcurrentStreams opens more connections, and no more', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(service('upload', 80, 'kubernetes.io/h2c'));
  const pod = await startPod(t, cluster, 'upload', 'upload-1', '127.0.238.41', createH2cServer);
  await cluster.resolver.resolve('upload:80').then((s) => t.is(s.endpoints.length, 1));
  const mesh = new Mesh({ resolver: cluster.resolver, pool: { maxConcurrentStreams: 4 } });
  t.teardown(() => mesh.close());
  // 6 POSTs at once, 4 streams per connection: 2 connections, each carrying several POSTs at a time.
  const posts = await Promise.all(
    Array.from({ length: 6 }, () =>
      request('http://upload/', { dispatcher: mesh.dispatcher, method: 'POST', body: 'x' }).then((r) => r.body.json()),
    ),
  );
  t.is(posts.length, 6);
  t.is(pod.connections, 2, 'POSTs share connections: 4 streams, then a second connection');
  t.true(pod.maxInFlightPerConnection > 1, 'POSTs run side by side on one connection');
  // 20 GETs at once from a fresh mesh: 4 streams per connection at most, so 5 connections.
  const fresh = new Mesh({ resolver: cluster.resolver, pool: { maxConcurrentStreams: 4 } });
  t.teardown(() => fresh.close());
  const before = pod.connections;
  await concurrently(fresh, 'http://upload/', 20);
  t.true(pod.maxInFlightPerConnection <= 4, `${pod.maxInFlightPerConnection} streams on one connection`);
  t.is(pod.connections - before, 5, 'more connections when the streams run out, and no more');
});

test('h2c and allowH2: a refused connection is retried on another pod, and the process lives on', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(service('flaky', 80, 'kubernetes.io/h2c'));
  await startPod(t, cluster, 'flaky', 'flaky-1', '127.0.238.51', createH2cServer);
  // A pod whose port is closed: every connect is refused.
  const closed = createH2cServer();
  closed.listen(0, '127.0.238.52');
  await once(closed, 'listening');
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  cluster.addPod({ name: 'flaky-2', ip: '127.0.238.52', labels: { app: 'flaky' }, ports: { http: port } });
  await cluster.resolver.resolve('flaky:80').then((s) => t.is(s.endpoints.length, 2));
  const mesh = new Mesh({ resolver: cluster.resolver, policy: 'round-robin', pool: { allowH2: true } });
  t.teardown(() => mesh.close());
  const replies = [
    ...(await concurrently(mesh, 'http://flaky/', 10)),
    ...(await concurrently(mesh, 'http://flaky/', 10)),
  ];
  t.deepEqual([...new Set(replies.map((r) => r.pod))], ['flaky-1']);
});

test('h2c pods that close a connection with GOAWAY: requests it refused go to another pod, none is processed twice, POSTs included', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(service('rotating', 80, 'kubernetes.io/h2c'));
  const processed = new Map<string, number>();
  let refused = 0;
  for (const [name, host] of [
    ['rotating-1', '127.0.238.61'],
    ['rotating-2', '127.0.238.62'],
  ] as const) {
    const server = createH2cServer();
    const answer = (stream: ServerHttp2Stream, id: string) => {
      if (stream.closed || stream.destroyed) return;
      processed.set(id, (processed.get(id) ?? 0) + 1);
      stream.respond({ ':status': 200 });
      stream.end(name);
    };
    // The first connection holds six streams, then sends GOAWAY naming the third as the last it will
    // process: it answers three and refuses every later stream, unprocessed (RFC 9113 §6.8), including
    // those already read from the socket. Other connections answer.
    const held: { stream: ServerHttp2Stream; id: string }[] = [];
    let rotated: { session: object; last: number } | undefined;
    server.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      stream.resume();
      const id = String(headers['x-id']);
      if (rotated !== undefined && rotated.session === stream.session && stream.id! > rotated.last) {
        refused++;
        stream.close(constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      if (rotated !== undefined) {
        setTimeout(() => answer(stream, id), 2);
        return;
      }
      held.push({ stream, id });
      if (held.length < 6) return;
      const last = held[2]!.stream.id!;
      rotated = { session: stream.session!, last };
      stream.session!.goaway(constants.NGHTTP2_NO_ERROR, last);
      for (const h of held) {
        if (h.stream.id! <= last) answer(h.stream, h.id);
        else {
          refused++;
          h.stream.close(constants.NGHTTP2_REFUSED_STREAM);
        }
      }
    });
    // A Node server that sent GOAWAY without close() keeps its side open after the client left.
    const sockets = new Set<Socket>();
    server.on('connection', (socket: Socket) => sockets.add(socket));
    const port = await listenUntilTeardown(t, server, host, () => sockets);
    cluster.addPod({
      name,
      ip: host,
      labels: { app: 'rotating' },
      ports: { http: port },
    });
  }
  await cluster.resolver.resolve('rotating:80').then((s) => t.is(s.endpoints.length, 2));
  // Round-robin: the first 16 requests, sent at once, put 8 streams on each pod's first connection.
  const mesh = new Mesh({ resolver: cluster.resolver, policy: 'round-robin' });
  t.teardown(() => mesh.close());
  let next = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (next < 200) {
      const id = next++;
      const post = id % 2 === 0;
      try {
        const res = await request('http://rotating/', {
          dispatcher: mesh.dispatcher,
          method: post ? 'POST' : 'GET',
          headers: { 'x-id': String(id) },
          ...(post ? { body: `order ${id}` } : {}),
        });
        await res.body.text();
        if (res.statusCode !== 200) failures.push(`${id}: ${res.statusCode}`);
      } catch (error) {
        failures.push(`${id}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  t.deepEqual(failures, []);
  t.is(processed.size, 200, 'every request was processed');
  t.deepEqual(
    [...processed].filter(([, n]) => n > 1),
    [],
    'and none twice',
  );
  t.true(refused >= 6, `the pods refused ${refused} streams, three or more each`);
});

test('h2c: a pod gone silent under a request (node lost, partition) is found by an unanswered PING; the GET goes to another pod before its headers timeout', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(service('silent', 80, 'kubernetes.io/h2c'));
  await startPod(t, cluster, 'silent', 'silent-1', '127.0.238.71', createH2cServer);
  // silent-2 takes requests and never answers; the relay in front of it then carries nothing either way.
  const mute = createH2cServer();
  let taken = 0;
  const relayed: { silence(): void }[] = [];
  mute.on('stream', (stream: ServerHttp2Stream) => {
    taken++;
    stream.on('error', () => {});
    for (const relay of relayed) relay.silence();
  });
  mute.listen(0, '127.0.238.72');
  await once(mute, 'listening');
  t.teardown(() => new Promise<void>((resolve) => mute.close(() => resolve())));
  const relay = await startTcpRelay(t, '127.0.238.73', {
    host: '127.0.238.72',
    port: (mute.address() as AddressInfo).port,
  });
  relayed.push(relay);
  cluster.addPod({ name: 'silent-2', ip: relay.host, labels: { app: 'silent' }, ports: { http: relay.port } });
  await cluster.resolver.resolve('silent:80').then((s) => t.is(s.endpoints.length, 2));
  const mesh = new Mesh({
    resolver: cluster.resolver,
    policy: 'round-robin',
    timeouts: { headersMs: 60_000 },
    // A PING timeout far above what a loaded machine takes to answer one: only the silent pod misses it.
    pool: { pingIntervalMs: 100, pingTimeoutMs: 1000 },
  });
  t.teardown(() => mesh.destroy());
  // Round robin over two pods: one of the two goes to silent-2 first.
  const replies = await concurrently(mesh, 'http://silent/', 2);
  t.deepEqual(
    replies.map((r) => r.pod),
    ['silent-1', 'silent-1'],
  );
  t.is(taken, 1);
});
