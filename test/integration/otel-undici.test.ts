import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, createServer as createH2cServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Mesh } from '@clusterip/sdk';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createHttpTestServer, waitForReady } from '../helpers/http-test-server.js';
import { createTestOtel } from '../helpers/otel.js';

/** Every `traceparent` field a request carried (Node joins repeated fields in `headers`; `rawHeaders` keeps them). */
function traceparents(rawHeaders: readonly string[]): string[] {
  return rawHeaders.filter((_value, i) => i % 2 === 1 && rawHeaders[i - 1]?.toLowerCase() === 'traceparent');
}

/** Test OpenTelemetry providers, with instrumentation-undici recording into them until the test ends. */
function instrumentedOtel(t: ExecutionContext) {
  const otel = createTestOtel(t);
  const instrumentation = new UndiciInstrumentation();
  instrumentation.setTracerProvider(otel.tracerProvider);
  instrumentation.setMeterProvider(otel.meterProvider);
  instrumentation.enable();
  t.teardown(() => instrumentation.disable());
  return otel;
}

// Serial: instrumentation-undici, the context manager and the propagator are process-wide.
test.serial(
  'with instrumentation-undici: exactly one CLIENT span per attempt and one traceparent per request at the pod',
  async (t) => {
    const otel = instrumentedOtel(t);

    const cluster = await createFakeCluster(t);
    cluster.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    const seen: string[][] = [];
    const handler = (status: number) => (req: IncomingMessage, res: ServerResponse) => {
      seen.push(traceparents(req.rawHeaders));
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
    for (const h of seen) t.is(h.length, 1, `one traceparent header, got ${JSON.stringify(h)}`);
    const clientIds = new Set(clients.map((c) => c.spanContext().spanId));
    for (const [h] of seen) t.true(clientIds.has(String(h).split('-')[2]!), 'the header names undici’s CLIENT span');
  },
);

test.serial(
  'with instrumentation-undici: requests to HTTP/2 (h2c) pods get undici’s CLIENT span and its traceparent too',
  async (t) => {
    const otel = instrumentedOtel(t);

    const cluster = await createFakeCluster(t);
    cluster.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'h2web' },
      spec: {
        selector: { app: 'h2web' },
        ports: [{ name: 'http', port: 80, targetPort: 'http', appProtocol: 'kubernetes.io/h2c' }],
      },
    });
    const seen: string[][] = [];
    const server = createH2cServer((req, res) => {
      seen.push(traceparents(req.rawHeaders));
      if (req.url === '/reset') {
        req.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        return;
      }
      res.end('ok');
    });
    server.listen(0, '127.0.64.21');
    await once(server, 'listening');
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    cluster.addPod({ name: 'h2web-1', ip: '127.0.64.21', labels: { app: 'h2web' }, ports: { http: port } });
    await waitForReady(cluster.resolver, 'h2web:80', 1);
    const mesh = new Mesh({
      resolver: cluster.resolver,
      tracerProvider: otel.tracerProvider,
      meterProvider: otel.meterProvider,
      retry: false,
    });
    t.teardown(() => mesh.destroy());

    const tracer = otel.tracerProvider.getTracer('app');
    const N = 6;
    // Concurrent: the first requests wait for the connection and start from its callback, in another context.
    await Promise.all(
      Array.from({ length: N }, (_, i) => {
        const root = tracer.startSpan(`frontend-${i}`);
        return context.with(trace.setSpan(context.active(), root), async () => {
          const res = await request('http://h2web/ok', { dispatcher: mesh.dispatcher });
          t.is(await res.body.text(), 'ok');
          root.end();
        });
      }),
    );
    const failed = await t.throwsAsync(request('http://h2web/reset', { dispatcher: mesh.dispatcher }));
    t.is((failed as { code?: string }).code, 'CLUSTERIP_ERR_UPSTREAM');

    const clients = otel
      .spans()
      .filter((s) => s.kind === SpanKind.CLIENT && s.attributes['server.address'] === '127.0.64.21');
    t.is(clients.length, N + 1, 'one CLIENT span per request sent');
    const routes = otel.spans().filter((s) => s.name === 'clusterip route h2web.default:80');
    t.is(routes.length, N + 1);
    const routeIds = new Set(routes.map((r) => r.spanContext().spanId));
    for (const c of clients) t.true(routeIds.has(c.parentSpanContext?.spanId ?? ''), 'attempt under its route span');
    t.is(new Set(clients.map((c) => c.parentSpanContext?.spanId)).size, N + 1, 'each under its own route span');
    // Each route span sits under its own request's root: the dispatch context was kept.
    const roots = new Map(
      otel
        .spans()
        .filter((s) => s.name.startsWith('frontend-'))
        .map((s) => [s.spanContext().spanId, s]),
    );
    const rooted = routes.filter((r) => r.parentSpanContext !== undefined);
    t.is(rooted.length, N);
    for (const r of rooted) {
      const root = roots.get(r.parentSpanContext?.spanId ?? '');
      t.truthy(root, 'the route span’s parent is a request root');
      t.is(root?.spanContext().traceId, r.spanContext().traceId);
    }
    t.is(roots.size, N);
    const ok = clients.filter((c) => c.attributes['http.response.status_code'] === 200);
    t.is(ok.length, N);
    for (const c of ok) t.is(c.attributes['network.protocol.version'], '2');
    const reset = clients.find((c) => c.attributes['http.response.status_code'] === undefined);
    t.is(reset?.status.code, 2 /* ERROR */);
    t.is(seen.length, N + 1);
    for (const h of seen) t.is(h.length, 1, `one traceparent header, got ${JSON.stringify(h)}`);
    const clientIds = new Set(clients.map((c) => c.spanContext().spanId));
    for (const [h] of seen) t.true(clientIds.has(String(h).split('-')[2]!), 'the header names undici’s CLIENT span');
  },
);
