import { request } from 'node:http';
import { ECHO_GRPC_METHOD, echoGrpcService, startImage } from '@clusterip/sdk/cluster';
import {
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
} from '@clusterip/sdk/internal/transport/grpc/grpc-health-check.js';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';

// Each test listens on its own 127.0.95.x address.
const env = { POD_NAME: 'web-1', POD_NAMESPACE: 'shop', NODE_NAME: 'node-a', ZONE: 'zone-a' };

test('echo-http answers who served the request, honours ?status= and ?delayMs=, rejects bad values', async (t) => {
  const container = await startImage('clusterip/echo-http:1.0', { host: '127.0.95.1', ports: [8080, 8081], env });
  t.teardown(() => container.stop(0));
  const res = await fetch('http://127.0.95.1:8081/orders/7?x=1', { method: 'POST', body: 'hi' });
  t.is(res.status, 200);
  t.deepEqual(await res.json(), {
    pod: 'web-1',
    namespace: 'shop',
    node: 'node-a',
    zone: 'zone-a',
    ip: '127.0.95.1',
    port: 8081,
    method: 'POST',
    path: '/orders/7',
  });
  t.is((await fetch('http://127.0.95.1:8080/?status=503')).status, 503);
  const slow = await fetch('http://127.0.95.1:8080/?delayMs=20');
  t.is(slow.status, 200);
  t.is((await fetch('http://127.0.95.1:8080/?delayMs=10001')).status, 400);
  t.is((await fetch('http://127.0.95.1:8080/?status=abc')).status, 400);
  t.like(await (await fetch('http://127.0.95.1:8080/healthz')).json(), { status: 'ok' });
});

test('echo-http stop(): refuses new connections, finishes the request in flight, then closes', async (t) => {
  const container = await startImage('clusterip/echo-http', { host: '127.0.95.2', ports: [8080], env });
  t.teardown(() => container.stop(0));
  // Make sure the slow request is being served before stopping: wait for its response head? It only
  // comes after the delay, so wait for the socket to be connected and the request written instead.
  const inFlight = new Promise<number>((resolve, reject) => {
    const req = request('http://127.0.95.2:8080/?delayMs=200', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
  const connected = await fetch('http://127.0.95.2:8080/healthz');
  t.is(connected.status, 200);
  const stopped = container.stop(2000);
  t.is(await inFlight, 200);
  await stopped;
  await t.throwsAsync(fetch('http://127.0.95.2:8080/'));
});

test('echo-http kill(): requests in flight see their connection reset', async (t) => {
  const container = await startImage('clusterip/echo-http', { host: '127.0.95.3', ports: [8080], env });
  t.teardown(() => container.stop(0));
  const pending = fetch('http://127.0.95.3:8080/?delayMs=5000');
  t.is((await fetch('http://127.0.95.3:8080/healthz')).status, 200);
  container.kill();
  await t.throwsAsync(pending);
});

test('startImage rejects an unknown image and bad ports with InvalidArgumentError', async (t) => {
  await t.throwsAsync(startImage('nginx', { host: '127.0.95.4', ports: [80] }), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
  await t.throwsAsync(startImage('clusterip/echo-http', { host: '127.0.95.4', ports: [] }), {
    code: 'CLUSTERIP_ERR_INVALID_ARG',
  });
  await t.throwsAsync(startImage('clusterip/echo-http', { host: '127.0.95.4', ports: [70000] }), {
    code: 'CLUSTERIP_ERR_INVALID_ARG',
  });
});

test('echo-grpc: the JSON Echo method through a generic client, and grpc.health.v1 SERVING → NOT_SERVING on stop', async (t) => {
  const container = await startImage('clusterip/echo-grpc', { host: '127.0.95.5', ports: [9090], env });
  t.teardown(() => container.stop(0));
  const Echo = grpc.makeGenericClientConstructor(echoGrpcService as unknown as grpc.ServiceDefinition, 'Echo');
  const client = new Echo('127.0.95.5:9090', grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Echo(request: unknown, callback: (error: grpc.ServiceError | null, reply: Record<string, unknown>) => void): void;
  };
  t.teardown(() => client.close());
  const reply = await new Promise<Record<string, unknown>>((resolve, reject) =>
    client.Echo({}, (error, value) => (error ? reject(error) : resolve(value))),
  );
  t.deepEqual(reply, {
    pod: 'web-1',
    namespace: 'shop',
    node: 'node-a',
    zone: 'zone-a',
    ip: '127.0.95.5',
    port: 9090,
    method: ECHO_GRPC_METHOD,
  });
  const failed = await new Promise<grpc.ServiceError | null>((resolve) =>
    client.Echo({ status: grpc.status.UNAVAILABLE }, (error) => resolve(error)),
  );
  t.is(failed?.code, grpc.status.UNAVAILABLE);

  const check = () =>
    new Promise<number>((resolve, reject) =>
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        encodeHealthCheckRequest,
        decodeHealthCheckResponse,
        '',
        (error, value) => (error ? reject(error) : resolve(value as number)),
      ),
    );
  t.is(await check(), 1);
  const watch = client.makeServerStreamRequest(
    '/grpc.health.v1.Health/Watch',
    encodeHealthCheckRequest,
    decodeHealthCheckResponse,
    '',
  );
  const statuses: number[] = [];
  const ended = new Promise<void>((resolve) => {
    watch.on('data', (s: number) => {
      statuses.push(s);
      if (statuses.length === 1) void container.stop(1000);
    });
    watch.on('error', () => resolve());
    watch.on('end', () => resolve());
  });
  await ended;
  t.deepEqual(statuses, [1, 2]);
});
