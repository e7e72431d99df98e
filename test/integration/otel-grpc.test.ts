import { Mesh } from '@clusterip/sdk';
import { meshChannelOptions, register, serviceConfig } from '@clusterip/sdk/grpc';
import * as grpc from '@grpc/grpc-js';
import { context, SpanKind, trace } from '@opentelemetry/api';
import test from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { echoService, type WhoReply, type WhoRequest } from '../helpers/grpc-test-server.js';
import { waitForReady } from '../helpers/http-test-server.js';
import { createTestOtel, sumOf } from '../helpers/otel.js';

test('a gRPC call retried by grpc-js: two picks on two pods under one trace, each pod sees its pick’s traceparent', async (t) => {
  const otel = createTestOtel(t);
  const cluster = await createFakeCluster(t);
  const mesh = new Mesh({
    resolver: cluster.resolver,
    tracerProvider: otel.tracerProvider,
    meterProvider: otel.meterProvider,
  });
  t.teardown(() => mesh.close());
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'store' },
    spec: { selector: { app: 'store' }, ports: [{ name: 'grpc', port: 50051, targetPort: 'grpc' }] },
  });
  const seen = new Map<string, string[]>();
  for (const [name, ip, ok] of [
    ['store-1', '127.0.66.11', false],
    ['store-2', '127.0.66.12', true],
  ] as const) {
    const server = new grpc.Server();
    seen.set(name, []);
    server.addService(echoService as unknown as grpc.ServiceDefinition, {
      who: (call: grpc.ServerUnaryCall<WhoRequest, WhoReply>, callback: grpc.sendUnaryData<WhoReply>) => {
        seen.get(name)!.push(String(call.metadata.get('traceparent')[0] ?? ''));
        if (ok) callback(null, { pod: name });
        else callback({ code: grpc.status.UNAVAILABLE, details: 'not today' });
      },
      chat: () => {},
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${ip}:0`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    t.teardown(() => server.forceShutdown());
    cluster.addPod({ name, ip, labels: { app: 'store' }, ports: { grpc: port } });
  }
  await waitForReady(cluster.resolver, 'store:grpc', 2);
  register();
  const Client = grpc.makeGenericClientConstructor(echoService as unknown as grpc.ServiceDefinition, 'Echo');
  const client = new Client('kubernetes:///store:grpc', grpc.credentials.createInsecure(), {
    ...meshChannelOptions(mesh),
    'grpc.service_config': serviceConfig({
      policy: 'round-robin',
      retry: { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 1 },
    }),
  });
  t.teardown(() => client.close());
  const who = () =>
    new Promise<WhoReply>((resolve, reject) =>
      (client as unknown as Record<string, (...a: unknown[]) => void>).who!(
        {},
        new grpc.Metadata(),
        { waitForReady: true },
        (e: Error | null, r: WhoReply) => (e ? reject(e) : resolve(r)),
      ),
    );
  // Connect both pods first (see the chain test): call until each one has been reached.
  for (let i = 0; i < 50 && seen.get('store-1')!.length + seen.get('store-2')!.length < 4; i++) {
    await who().catch(() => undefined);
  }

  const tracer = otel.tracerProvider.getTracer('app');
  let traceId: string | undefined;
  for (let i = 0; i < 20 && traceId === undefined; i++) {
    otel.exporter.reset();
    const before = seen.get('store-1')!.length;
    const root = tracer.startSpan(`caller ${i}`);
    const reply = await context.with(trace.setSpan(context.active(), root), () => who().catch(() => undefined));
    root.end();
    if (reply?.pod === 'store-2' && seen.get('store-1')!.length > before) traceId = root.spanContext().traceId;
  }
  t.truthy(traceId, 'no call went to store-1 first in 20 tries');
  const spans = otel.spans();
  const root = spans.find((s) => s.name.startsWith('caller'))!;
  const picks = spans.filter((s) => s.name === 'clusterip pick store.default:grpc');
  t.is(picks.length, 2);
  for (const p of picks) {
    t.is(p.kind, SpanKind.INTERNAL);
    t.is(p.spanContext().traceId, traceId!);
    t.is(p.parentSpanContext?.spanId, root.spanContext().spanId);
  }
  t.deepEqual(
    picks.map((p) => [
      p.attributes['clusterip.attempt'],
      p.attributes['clusterip.endpoint.pod'],
      p.attributes['rpc.grpc.status_code'],
    ]),
    [
      [1, 'store-1', 14],
      [2, 'store-2', 0],
    ],
  );
  t.is(seen.get('store-1')!.at(-1)!.split('-')[2], picks[0]!.spanContext().spanId);
  t.is(seen.get('store-2')!.at(-1)!.split('-')[2], picks[1]!.spanContext().spanId);
  t.true(sumOf(await otel.points('clusterip.client.retries'), { 'clusterip.transport': 'grpc' }) >= 1);
});
