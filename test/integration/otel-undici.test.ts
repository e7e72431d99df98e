import type { IncomingMessage, ServerResponse } from 'node:http';
import { Mesh } from '@clusterip/sdk';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import test from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createHttpTestServer, waitForReady } from '../helpers/http-test-server.js';
import { createTestOtel } from '../helpers/otel.js';

test('with instrumentation-undici: exactly one CLIENT span per attempt and one traceparent per request at the pod', async (t) => {
  const otel = createTestOtel(t);
  const instrumentation = new UndiciInstrumentation();
  instrumentation.setTracerProvider(otel.tracerProvider);
  instrumentation.setMeterProvider(otel.meterProvider);
  instrumentation.enable();
  t.teardown(() => instrumentation.disable());

  const cluster = await createFakeCluster(t);
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  const seen: (string | string[] | undefined)[] = [];
  const handler = (status: number) => (req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.headers.traceparent);
    res.statusCode = status;
    res.end();
  };
  const sick = await createHttpTestServer(t, { host: '127.0.64.11', name: 'web-1', handler: handler(503) });
  const well = await createHttpTestServer(t, { host: '127.0.64.12', name: 'web-2', handler: handler(200) });
  cluster.addPod({ name: 'web-1', ip: sick.host, labels: { app: 'web' }, ports: { http: sick.port } });
  cluster.addPod({ name: 'web-2', ip: well.host, labels: { app: 'web' }, ports: { http: well.port } });
  await waitForReady(cluster.resolver, 'web:80', 2);
  const mesh = new Mesh({
    resolver: cluster.resolver,
    tracerProvider: otel.tracerProvider,
    meterProvider: otel.meterProvider,
    retry: { attempts: 2, statuses: [503], backoff: { baseMs: 1, maxMs: 1 }, budget: false },
    outlierDetection: false,
  });
  t.teardown(() => mesh.close());

  const tracer = otel.tracerProvider.getTracer('app');
  const N = 10;
  for (let i = 0; i < N; i++) {
    const root = tracer.startSpan('frontend');
    await context.with(trace.setSpan(context.active(), root), async () => {
      const res = await mesh.fetch('http://web/');
      await res.arrayBuffer();
    });
    root.end();
  }
  const attempts = N + sick.requests;
  // The fake API server's list/watch requests go through undici too: keep the spans of requests to the pods.
  const pods = new Set([sick.host, well.host]);
  const clients = otel
    .spans()
    .filter((s) => s.kind === SpanKind.CLIENT && pods.has(String(s.attributes['server.address'])));
  t.is(clients.length, attempts, 'one CLIENT span per attempt, none of ours next to undici’s');
  const routes = otel.spans().filter((s) => s.name === 'clusterip route web.default:80');
  t.is(routes.length, N);
  const routeIds = new Set(routes.map((r) => r.spanContext().spanId));
  for (const c of clients) t.true(routeIds.has(c.parentSpanContext?.spanId ?? ''), 'attempt under its route span');
  t.is(seen.length, attempts);
  for (const h of seen) t.is(typeof h, 'string', `one traceparent header, got ${JSON.stringify(h)}`);
  const clientIds = new Set(clients.map((c) => c.spanContext().spanId));
  for (const h of seen) t.true(clientIds.has(String(h).split('-')[2]!), 'the header names undici’s CLIENT span');
});
