import { createServer as createTcpServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Mesh } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createHttpTestServer, createPods, waitForReady } from '../helpers/http-test-server.js';

async function json(res: Awaited<ReturnType<typeof request>>): Promise<{ pod: string; host: string; body: string }> {
  return (await res.body.json()) as { pod: string; host: string; body: string };
}

function svc(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ...spec } };
}

async function meshOf(
  t: ExecutionContext,
  cluster: { resolver: Mesh['resolver'] },
  options: Record<string, unknown> = {},
) {
  const mesh = new Mesh({ resolver: cluster.resolver, ...options });
  t.teardown(() => mesh.close());
  return mesh;
}

test('multi-port Service: each Service port maps to its own named target port, per pod', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(
    svc('multi', {
      ports: [
        { name: 'http', port: 80, targetPort: 'web' },
        { name: 'admin', port: 9090, targetPort: 'admin' },
      ],
    }),
  );
  for (const i of [1, 2]) {
    const web = await createHttpTestServer(t, { host: `127.0.61.${10 + i}`, name: `web-${i}` });
    const admin = await createHttpTestServer(t, { host: `127.0.61.${10 + i}`, name: `admin-${i}` });
    cluster.addPod({
      name: `multi-${i}`,
      ip: web.host,
      labels: { app: 'multi' },
      ports: { web: web.port, admin: admin.port },
    });
  }
  await waitForReady(cluster.resolver, 'multi:9090', 2);
  const mesh = await meshOf(t, cluster);
  const web = new Set<string>();
  const admin = new Set<string>();
  for (let i = 0; i < 16; i++) {
    web.add((await json(await request('http://multi/', { dispatcher: mesh.dispatcher }))).pod);
    admin.add((await json(await request('http://multi:9090/', { dispatcher: mesh.dispatcher }))).pod);
  }
  t.deepEqual([...web].sort(), ['web-1', 'web-2']);
  t.deepEqual([...admin].sort(), ['admin-1', 'admin-2']);
  const err = await request('http://multi:7777/', { dispatcher: mesh.dispatcher }).catch((e: unknown) => e);
  t.is((err as { code?: string }).code, 'CLUSTERIP_ERR_PORT_NOT_FOUND', 'an unknown Service port fails like a refusal');
});

test('headless Service: balanced over all its ready pods, as cluster DNS answers; no proxy applies internalTrafficPolicy', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop', nodeName: 'node-a' });
  cluster.apply(
    svc('headless', {
      clusterIP: 'None',
      internalTrafficPolicy: 'Local',
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    }),
  );
  await createPods(t, cluster, { app: 'headless', count: 3, subnet: 62, nodeName: () => 'node-b' });
  await waitForReady(cluster.resolver, 'headless:80', 3);
  const mesh = await meshOf(t, cluster);
  const seen = new Set<string>();
  for (let i = 0; i < 30; i++)
    seen.add((await json(await request('http://headless/', { dispatcher: mesh.dispatcher }))).pod);
  t.is(seen.size, 3);
  const view = await mesh.endpoints('headless:80');
  t.deepEqual(
    view.endpoints.map((e) => e.reason),
    ['ready', 'ready', 'ready'],
  );
});

test('ExternalName: passes through to the external name, Host stays the name the caller used', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  const external = await createHttpTestServer(t, { host: 'localhost', name: 'external' });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'ext' },
    spec: { type: 'ExternalName', externalName: 'localhost' },
  });
  const mesh = await meshOf(t, cluster);
  const body = await json(await request(`http://ext:${external.port}/x`, { dispatcher: mesh.dispatcher }));
  t.is(body.pod, 'external');
  t.is(body.host, `ext:${external.port}`);
});

test('internalTrafficPolicy Local: only pods on this node; none here fails with NO_LOCAL_ENDPOINTS', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop', nodeName: 'node-a' });
  cluster.apply(
    svc('local', { internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, targetPort: 'http' }] }),
  );
  cluster.apply(
    svc('remote', { internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, targetPort: 'http' }] }),
  );
  await createPods(t, cluster, {
    app: 'local',
    count: 3,
    subnet: 63,
    nodeName: (i) => (i === 2 ? 'node-a' : 'node-b'),
  });
  await createPods(t, cluster, { app: 'remote', count: 2, subnet: 64, nodeName: () => 'node-b' });
  await waitForReady(cluster.resolver, 'local:80', 3);
  await waitForReady(cluster.resolver, 'remote:80', 2);
  const mesh = await meshOf(t, cluster);
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++)
    seen.add((await json(await request('http://local/', { dispatcher: mesh.dispatcher }))).pod);
  t.deepEqual([...seen], ['local-2']);
  const err = await request('http://remote/', { dispatcher: mesh.dispatcher }).catch((e: unknown) => e);
  t.is((err as { code?: string }).code, 'CLUSTERIP_ERR_NO_LOCAL_ENDPOINTS');
});

test('no endpoints fails fast with NO_ENDPOINTS; unknown names fail or pass through by their form', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(svc('empty', { ports: [{ name: 'http', port: 80, targetPort: 'http' }] }));
  const mesh = await meshOf(t, cluster);
  const empty = await request('http://empty/', { dispatcher: mesh.dispatcher }).catch((e: unknown) => e);
  t.is((empty as { code?: string }).code, 'CLUSTERIP_ERR_NO_ENDPOINTS');
  // Under the cluster domain only the cluster can answer: a typed not-found error.
  const fqdn = await request('http://nope.shop.svc.cluster.local/', { dispatcher: mesh.dispatcher }).catch(
    (e: unknown) => e,
  );
  t.is((fqdn as { code?: string }).code, 'CLUSTERIP_ERR_SERVICE_NOT_FOUND');
  // A short name that is no Service passes through to the system resolver (which fails here).
  const short = await request('http://no-such-service-xyz/', { dispatcher: mesh.dispatcher }).catch((e: unknown) => e);
  t.regex(String((short as { code?: string }).code), /ENOTFOUND|EAI_AGAIN/);
  const strict = await meshOf(t, cluster, { notFound: 'error' });
  const typed = await request('http://no-such-service-xyz/', { dispatcher: strict.dispatcher }).catch(
    (e: unknown) => e,
  );
  t.is((typed as { code?: string }).code, 'CLUSTERIP_ERR_SERVICE_NOT_FOUND');
  // Malformed input never crashes the mesh: a bad URL is rejected by undici, a bad name by the mesh.
  await t.throwsAsync(async () => request('http://exa mple/', { dispatcher: mesh.dispatcher }));
  const bad = await request('http://-bad-.shop.svc/', { dispatcher: mesh.dispatcher }).catch((e: unknown) => e);
  // (The Kubernetes source reports the API's 400 for an invalid label as "unavailable": a typed error either way.)
  t.regex(String((bad as { code?: string }).code), /^CLUSTERIP_ERR_(INVALID_NAME|SERVICE_NOT_FOUND|WATCH_FAILED)$/);
});

test('request bodies: streams are not replayed after being sent; unread streams follow a refused connect', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(svc('upload', { ports: [{ name: 'http', port: 80, targetPort: 'http' }] }));
  // Reads the body, then resets the connection: bytes reached the pod.
  const received: string[] = [];
  const pods = await createPods(t, cluster, {
    app: 'upload',
    count: 2,
    subnet: 65,
    handler: (req) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push(body);
        req.socket.destroy();
      });
    },
  });
  await waitForReady(cluster.resolver, 'upload:80', 2);
  const mesh = await meshOf(t, cluster, { retry: { attempts: 3, backoff: { baseMs: 1, maxMs: 1 } } });
  const post = await request('http://upload/', {
    dispatcher: mesh.dispatcher,
    method: 'POST',
    body: Readable.from(['a', 'b']),
  }).catch((e: unknown) => e);
  t.is((post as { code?: string }).code, 'CLUSTERIP_ERR_UPSTREAM');
  t.is((post as { reason?: string }).reason, 'not-retryable', 'POST after bytes reached the pod');
  const put = await request('http://upload/', {
    dispatcher: mesh.dispatcher,
    method: 'PUT',
    body: Readable.from(['a', 'b']),
  }).catch((e: unknown) => e);
  t.is((put as { reason?: string }).reason, 'body', 'an idempotent PUT with a consumed stream cannot be replayed');
  t.is((put as { attempts?: unknown[] }).attempts?.length, 1);
  const buffered = await request('http://upload/', { dispatcher: mesh.dispatcher, method: 'PUT', body: 'ab' }).catch(
    (e: unknown) => e,
  );
  t.is((buffered as { reason?: string }).reason, 'attempts', 'a string body is replayed up to the attempt limit');
  t.is((buffered as { attempts?: unknown[] }).attempts?.length, 3);
  // clusterip.replayBody: a consumed stream is replaced by a fresh one for each retry.
  let fresh = 0;
  const replayed = await request('http://upload/', {
    dispatcher: mesh.dispatcher,
    method: 'PUT',
    body: Readable.from(['a', 'b']),
    clusterip: {
      replayBody: () => {
        fresh++;
        return Readable.from(['a', 'b']);
      },
    },
  } as Parameters<typeof request>[1]).catch((e: unknown) => e);
  t.is((replayed as { reason?: string }).reason, 'attempts', 'a stream with replayBody is replayed up to the limit');
  t.is((replayed as { attempts?: unknown[] }).attempts?.length, 3);
  t.is(fresh, 2, 'one fresh body per retry');
  t.deepEqual(received.slice(-3), ['ab', 'ab', 'ab'], 'every attempt sent the whole body');
  t.is(pods[0]!.requests + pods[1]!.requests, 8);
});

test('a stream body is carried to another pod when the first connect is refused', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(svc('echo', { ports: [{ name: 'http', port: 80, targetPort: 'http' }] }));
  const pods = await createPods(t, cluster, { app: 'echo', count: 2, subnet: 66 });
  await waitForReady(cluster.resolver, 'echo:80', 2);
  await pods[0]!.kill();
  const mesh = await meshOf(t, cluster, { policy: 'round-robin', outlierDetection: false });
  for (let i = 0; i < 6; i++) {
    const res = await request('http://echo/', {
      dispatcher: mesh.dispatcher,
      method: 'POST',
      body: Readable.from([`x${i}`]),
    });
    const body = await json(res);
    t.is(body.pod, 'echo-2');
    t.is(body.body, `x${i}`);
  }
});

test('a hanging pod times out with a typed error; a pod sending garbage fails with a typed error', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply(svc('hang', { ports: [{ name: 'http', port: 80, targetPort: 'http' }] }));
  cluster.apply(svc('garbage', { ports: [{ name: 'http', port: 80, targetPort: 'http' }] }));
  await createPods(t, cluster, { app: 'hang', count: 1, subnet: 67, handler: () => {} });
  const sockets = new Set<Socket>();
  const garbage = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => socket.end('NOT HTTP AT ALL\r\n\r\n'));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => garbage.listen(0, '127.0.67.21', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        garbage.close(() => resolve());
      }),
  );
  const port = (garbage.address() as { port: number }).port;
  cluster.addPod({ name: 'garbage-1', ip: '127.0.67.21', labels: { app: 'garbage' }, ports: { http: port } });
  await waitForReady(cluster.resolver, 'hang:80', 1);
  await waitForReady(cluster.resolver, 'garbage:80', 1);
  const mesh = await meshOf(t, cluster, { timeouts: { headersMs: 150 } });
  const hung = await request('http://hang/', { dispatcher: mesh.dispatcher }).catch((e: unknown) => e);
  t.is((hung as { code?: string }).code, 'CLUSTERIP_ERR_UPSTREAM');
  t.is((hung as { attempts?: { error: string }[] }).attempts?.[0]?.error, 'UND_ERR_HEADERS_TIMEOUT');
  const bad = await request('http://garbage/', { dispatcher: mesh.dispatcher }).catch((e: unknown) => e);
  t.is((bad as { code?: string }).code, 'CLUSTERIP_ERR_UPSTREAM');
  t.regex(String((bad as { message?: string }).message), /garbage\.shop:80/);
});
