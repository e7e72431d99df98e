import type { IncomingMessage, ServerResponse } from 'node:http';
import { Mesh } from '@clusterip/sdk';
import { meshChannelOptions, register, serviceConfig } from '@clusterip/sdk/grpc';
import * as grpc from '@grpc/grpc-js';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import test from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { echoService, type WhoReply, type WhoRequest } from '../helpers/grpc-test-server.js';
import { createHttpTestServer, waitForReady } from '../helpers/http-test-server.js';
import { createTestOtel } from '../helpers/otel.js';

const headerGetter = {
  get: (carrier: IncomingMessage['headers'], key: string) => carrier[key] as string | undefined,
  keys: (carrier: IncomingMessage['headers']) => Object.keys(carrier),
};
const metadataGetter = {
  get: (carrier: grpc.Metadata, key: string) => carrier.get(key)[0] as string | undefined,
  keys: () => [],
};

test('frontend → backend (HTTP) → database (gRPC): one trace, routing spans between the tiers', async (t) => {
  const otel = createTestOtel(t);
  const tracer = otel.tracerProvider.getTracer('app');
  const cluster = await createFakeCluster(t);
  const mesh = new Mesh({
    resolver: cluster.resolver,
    tracerProvider: otel.tracerProvider,
    meterProvider: otel.meterProvider,
  });
  t.teardown(() => mesh.close());

  // database: two gRPC pods whose handler opens a SERVER span from the call's metadata.
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'database' },
    spec: { selector: { app: 'database' }, ports: [{ name: 'grpc', port: 50051, targetPort: 'grpc' }] },
  });
  for (const [name, ip] of [
    ['database-1', '127.0.61.11'],
    ['database-2', '127.0.61.12'],
  ] as const) {
    const server = new grpc.Server();
    server.addService(echoService as unknown as grpc.ServiceDefinition, {
      who: (call: grpc.ServerUnaryCall<WhoRequest, WhoReply>, callback: grpc.sendUnaryData<WhoReply>) => {
        const parent = propagation.extract(context.active(), call.metadata, metadataGetter);
        tracer.startSpan('database Who', { kind: SpanKind.SERVER }, parent).end();
        callback(null, { pod: name });
      },
      chat: () => {},
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${ip}:0`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    t.teardown(() => server.forceShutdown());
    cluster.addPod({ name, ip, labels: { app: 'database' }, ports: { grpc: port } });
  }
  register();
  const Client = grpc.makeGenericClientConstructor(echoService as unknown as grpc.ServiceDefinition, 'Echo');
  const db = new Client('kubernetes:///database:grpc', grpc.credentials.createInsecure(), {
    ...meshChannelOptions(mesh),
    'grpc.service_config': serviceConfig({ policy: 'round-robin' }),
  });
  t.teardown(() => db.close());
  const who = (metadata = new grpc.Metadata()) =>
    new Promise<WhoReply>((resolve, reject) =>
      (db as unknown as Record<string, (...a: unknown[]) => void>).who!(
        {},
        metadata,
        { waitForReady: true },
        (e: Error | null, r: WhoReply) => (e ? reject(e) : resolve(r)),
      ),
    );

  // backend: two HTTP pods; each request opens a SERVER span from its headers and calls the database.
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'backend' },
    spec: { selector: { app: 'backend' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const parent = propagation.extract(context.active(), req.headers, headerGetter);
    const span = tracer.startSpan('backend GET', { kind: SpanKind.SERVER }, parent);
    void context.with(trace.setSpan(parent, span), async () => {
      const reply = await who();
      span.end();
      res.end(JSON.stringify({ db: reply.pod }));
    });
  };
  for (const [name, ip] of [
    ['backend-1', '127.0.61.21'],
    ['backend-2', '127.0.61.22'],
  ] as const) {
    const pod = await createHttpTestServer(t, { host: ip, name, handler });
    cluster.addPod({ name, ip, labels: { app: 'backend' }, ports: { http: pod.port } });
  }
  await Promise.all([
    waitForReady(cluster.resolver, 'backend:80', 2),
    waitForReady(cluster.resolver, 'database:grpc', 2),
  ]);
  // Connect the gRPC channel first: a call picked while the channel connects is picked in the channel's
  // context (a grpc-js limit, see the README); this test is about the steady state.
  for (let i = 0; i < 4; i++) await who();
  otel.exporter.reset();

  const root = tracer.startSpan('frontend', { kind: SpanKind.SERVER });
  const body = await context.with(trace.setSpan(context.active(), root), async () => {
    const res = await mesh.fetch('http://backend/orders');
    return (await res.json()) as { db: string };
  });
  root.end();
  t.true(body.db.startsWith('database-'));

  const spans = otel.spans();
  const one = (name: string): ReadableSpan => {
    const found = spans.filter((s) => s.name === name);
    t.is(found.length, 1, name);
    return found[0]!;
  };
  const frontend = one('frontend');
  const route = one('clusterip route backend.default:80');
  const attempt = spans.find((s) => s.kind === SpanKind.CLIENT && s.name === 'GET')!;
  const backend = one('backend GET');
  const pick = one('clusterip pick database.default:grpc');
  const database = one('database Who');
  const traceId = frontend.spanContext().traceId;
  for (const s of [route, attempt, backend, pick, database]) t.is(s.spanContext().traceId, traceId, s.name);
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
  t.is(parentOf(route), frontend.spanContext().spanId);
  t.is(parentOf(attempt), route.spanContext().spanId);
  t.is(parentOf(backend), attempt.spanContext().spanId);
  t.is(parentOf(pick), backend.spanContext().spanId);
  t.is(parentOf(database), pick.spanContext().spanId);

  t.is(route.kind, SpanKind.INTERNAL);
  t.is(route.attributes['k8s.service.name'], 'backend');
  t.is(route.attributes['k8s.namespace.name'], 'default');
  t.is(route.attributes['server.port'], 80);
  t.true(String(route.attributes['clusterip.endpoint.pod']).startsWith('backend-'));
  t.true(['127.0.61.21', '127.0.61.22'].includes(String(route.attributes['network.peer.address'])));
  t.is(route.attributes['clusterip.attempts'], 1);
  t.is(attempt.attributes['server.address'], 'backend');
  t.is(attempt.attributes['http.response.status_code'], 200);
  t.is(pick.attributes['k8s.service.name'], 'database');
  t.is(pick.attributes['clusterip.policy'], 'round-robin');
  t.is(pick.attributes['clusterip.endpoint.pod'], body.db);
  t.is(pick.attributes['rpc.grpc.status_code'], 0);
});
