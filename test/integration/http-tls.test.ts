// Integration: the HTTP mesh to https pods — the TLS handshake per pod (certificates, resets, a pod that
// does not speak TLS) and the name a certificate is verified against.

import { createServer as createHttpServer, type Server } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Mesh, UpstreamError } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { createFakeCluster, type FakeCluster } from '../helpers/fake-cluster.js';
import { listenUntilTeardown } from '../helpers/listen.js';
import { createSelfSignedCert, type SelfSignedCert } from '../helpers/self-signed-cert.js';

/** A Service `name` in namespace shop, port 443 to the pods' named port `https`. */
function service(name: string, clusterIP?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: {
      ...(clusterIP === undefined ? {} : { clusterIP }),
      selector: { app: name },
      ports: [{ name: 'https', port: 443, targetPort: 'https' }],
    },
  };
}

/** Listen with `server` on `ip` as pod `name` of app `app`; its sockets are destroyed at teardown. */
async function startPod(
  t: ExecutionContext,
  cluster: FakeCluster,
  app: string,
  name: string,
  ip: string,
  server: Server | ReturnType<typeof createTcpServer>,
): Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listenUntilTeardown(t, server, ip, () => sockets);
  cluster.addPod({ name, ip, labels: { app }, ports: { https: port } });
}

/** An https pod answering with its name; counts the requests it got. */
function httpsPod(cert: SelfSignedCert, name: string, seen: string[]): Server {
  return createHttpsServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    seen.push(`${name} ${req.method}`);
    res.end(name);
  });
}

test('a pod whose TLS handshake fails (untrusted certificate, reset, plain HTTP) gets nothing: the request, POST included, goes to another pod', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(service('tlsweb'));
  const trusted = await createSelfSignedCert(t, '127.0.0.1', ['tlsweb']);
  const untrusted = await createSelfSignedCert(t, '127.0.0.1', ['tlsweb']);
  const seen: string[] = [];
  await startPod(t, cluster, 'tlsweb', 'good', '127.0.251.1', httpsPod(trusted, 'good', seen));
  await startPod(t, cluster, 'tlsweb', 'untrusted', '127.0.251.2', httpsPod(untrusted, 'untrusted', seen));
  // Resets the connection when the ClientHello arrives.
  await startPod(
    t,
    cluster,
    'tlsweb',
    'reset',
    '127.0.251.3',
    createTcpServer((socket) => socket.once('data', () => socket.resetAndDestroy())),
  );
  // Plain HTTP on the TLS port.
  const plain = createHttpServer((req, res) => {
    seen.push(`plain ${req.method}`);
    res.end('plain');
  });
  await startPod(t, cluster, 'tlsweb', 'plain', '127.0.251.4', plain);
  await cluster.resolver.resolve('tlsweb:443').then((s) => t.is(s.endpoints.length, 4));
  const mesh = new Mesh({
    resolver: cluster.resolver,
    policy: 'round-robin',
    connect: { ca: trusted.cert },
    retry: { attempts: 4, budget: false },
    outlierDetection: false,
  });
  t.teardown(() => mesh.close());

  const answers: string[] = [];
  for (let i = 0; i < 8; i++) {
    const method = i % 2 === 0 ? 'POST' : 'GET';
    const res = await request('https://tlsweb/', {
      dispatcher: mesh.dispatcher,
      method,
      ...(method === 'POST' ? { body: `order ${i}` } : {}),
    });
    answers.push(`${res.statusCode} ${await res.body.text()}`);
  }
  t.deepEqual(answers, Array(8).fill('200 good'));
  t.deepEqual(seen, Array(4).fill(['good POST', 'good GET']).flat(), 'each request reached one pod, once');
});

test('every pod failing its TLS handshake: UpstreamError naming each pod and why, after the attempts', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(service('tlsbad'));
  const trusted = await createSelfSignedCert(t, '127.0.0.1', ['tlsbad']);
  const untrusted = await createSelfSignedCert(t, '127.0.0.1', ['tlsbad']);
  const seen: string[] = [];
  await startPod(t, cluster, 'tlsbad', 'untrusted-1', '127.0.251.5', httpsPod(untrusted, 'untrusted-1', seen));
  await startPod(t, cluster, 'tlsbad', 'untrusted-2', '127.0.251.6', httpsPod(untrusted, 'untrusted-2', seen));
  await cluster.resolver.resolve('tlsbad:443').then((s) => t.is(s.endpoints.length, 2));
  const mesh = new Mesh({ resolver: cluster.resolver, connect: { ca: trusted.cert }, retry: { attempts: 2 } });
  t.teardown(() => mesh.close());

  const error = await t.throwsAsync(
    request('https://tlsbad/', { dispatcher: mesh.dispatcher, method: 'POST', body: 'x' }),
    {
      instanceOf: UpstreamError,
    },
  );
  t.is(error.reason, 'attempts');
  t.deepEqual(error.attempts.map((a) => `${a.endpoint.split(':')[0]} ${a.error}`).sort(), [
    '127.0.251.5 DEPTH_ZERO_SELF_SIGNED_CERT',
    '127.0.251.6 DEPTH_ZERO_SELF_SIGNED_CERT',
  ]);
  // Node 24 adds a hint after the OpenSSL reason.
  t.regex(
    error.message,
    /^service tlsbad\.shop:443: request failed after 2 attempts .*: self-signed certificate(;.*)?$/,
  );
  t.deepEqual(seen, []);
});

test('the certificate is verified against the name or ClusterIP the caller used, as through the ClusterIP; SNI and Host are that name', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(service('named', '10.96.251.10'));
  // Valid for the Service's names and its ClusterIP, not for the pod's address.
  const cert = await createSelfSignedCert(t, '10.96.251.10', ['named', 'named.shop', 'named.shop.svc.cluster.local']);
  const server = createSecureServer({ key: cert.key, cert: cert.cert, allowHTTP1: true }, (req, res) => {
    const socket = req.socket as TLSSocket;
    res.end(`${req.httpVersion} sni=${socket.servername || '-'} host=${req.headers[':authority'] ?? req.headers.host}`);
  });
  const sessions = new Set<{ destroy(): void }>();
  server.on('session', (session) => sessions.add(session));
  server.on('secureConnection', (socket: TLSSocket) => sessions.add(socket));
  const port = await listenUntilTeardown(t, server, '127.0.251.7', () => sessions);
  cluster.addPod({ name: 'named-1', ip: '127.0.251.7', labels: { app: 'named' }, ports: { https: port } });
  await cluster.resolver.resolve('named:443').then((s) => t.is(s.endpoints.length, 1));

  for (const allowH2 of [false, true]) {
    const mesh = new Mesh({ resolver: cluster.resolver, connect: { ca: cert.cert }, pool: { allowH2 } });
    t.teardown(() => mesh.close());
    t.deepEqual((await mesh.resolve('named:443')).service?.clusterIPs, ['10.96.251.10']);
    const answers: string[] = [];
    for (const url of ['https://named/', 'https://named.shop.svc.cluster.local/', 'https://10.96.251.10/']) {
      const res = await request(url, { dispatcher: mesh.dispatcher });
      answers.push(await res.body.text());
    }
    const v = allowH2 ? '2.0' : '1.1';
    t.deepEqual(answers, [
      `${v} sni=named host=named`,
      `${v} sni=named.shop.svc.cluster.local host=named.shop.svc.cluster.local`,
      `${v} sni=- host=10.96.251.10`,
    ]);
    await mesh.close();
  }
});

test("a request's own servername option is its TLS name, as with undici's Agent: SNI and verification, by name or by ClusterIP", async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(service('sni', '10.96.251.11'));
  // Valid only for the public name the pods serve, not for the Service's names or addresses.
  const cert = await createSelfSignedCert(t, '192.0.2.1', ['api.example.test']);
  const server = createHttpsServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    res.end(`sni=${(req.socket as TLSSocket).servername} host=${req.headers.host}`);
  });
  await startPod(t, cluster, 'sni', 'sni-1', '127.0.251.8', server);
  await cluster.resolver.resolve('sni:443').then((s) => t.is(s.endpoints.length, 1));
  const mesh = new Mesh({ resolver: cluster.resolver, connect: { ca: cert.cert }, retry: false });
  t.teardown(() => mesh.close());
  await mesh.resolve('sni:443');
  const answers: string[] = [];
  for (const url of ['https://sni/', 'https://10.96.251.11/']) {
    // `servername` is a dispatch option undici reads but its request() types leave out.
    const res = await request(url, { dispatcher: mesh.dispatcher, ...({ servername: 'api.example.test' } as object) });
    answers.push(await res.body.text());
  }
  t.deepEqual(answers, ['sni=api.example.test host=sni', 'sni=api.example.test host=10.96.251.11']);
});
