import type { IncomingMessage, ServerResponse } from 'node:http';
import { Mesh } from '@clusterip/sdk';
import { context, SpanKind, trace } from '@opentelemetry/api';
import test from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createHttpTestServer, waitForReady } from '../helpers/http-test-server.js';
import { countOf, createTestOtel, sumOf } from '../helpers/otel.js';

async function twoPods(t: Parameters<typeof createFakeCluster>[0], subnet: number) {
  const cluster = await createFakeCluster(t);
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  const traceparents = new Map<string, string[]>();
  const handler = (status: number) => (req: IncomingMessage, res: ServerResponse) => {
    const name = req.socket.localAddress ?? '';
    const list = traceparents.get(name) ?? [];
    list.push(String(req.headers.traceparent ?? ''));
    traceparents.set(name, list);
    res.statusCode = status;
    res.end(String(status));
  };
  const sick = await createHttpTestServer(t, { host: `127.0.${subnet}.11`, name: 'web-1', handler: handler(503) });
  const well = await createHttpTestServer(t, { host: `127.0.${subnet}.12`, name: 'web-2', handler: handler(200) });
  cluster.addPod({ name: 'web-1', ip: sick.host, labels: { app: 'web' }, ports: { http: sick.port } });
  cluster.addPod({ name: 'web-2', ip: well.host, labels: { app: 'web' }, ports: { http: well.port } });
  await waitForReady(cluster.resolver, 'web:80', 2);
  return { cluster, sick, well, traceparents };
}

test.serial(
  'a retried request: two attempts on two endpoints under one trace, each pod sees its attempt’s traceparent',
  async (t) => {
    const otel = createTestOtel(t);
    const { cluster, sick, well, traceparents } = await twoPods(t, 62);
    const mesh = new Mesh({
      resolver: cluster.resolver,
      tracerProvider: otel.tracerProvider,
      meterProvider: otel.meterProvider,
      retry: { attempts: 2, statuses: [503], backoff: { baseMs: 1, maxMs: 1 } },
      outlierDetection: false,
    });
    t.teardown(() => mesh.close());
    const tracer = otel.tracerProvider.getTracer('app');

    // Round-robin or random may start on either pod: send until one request went to the sick pod first.
    let retried: { root: string; status: number } | undefined;
    for (let i = 0; i < 30 && retried === undefined; i++) {
      const root = tracer.startSpan(`frontend ${i}`);
      const status = await context.with(trace.setSpan(context.active(), root), async () => {
        const res = await mesh.fetch('http://web/');
        await res.arrayBuffer();
        return res.status;
      });
      root.end();
      if (sick.requests > 0) retried = { root: root.spanContext().traceId, status };
    }
    t.truthy(retried, 'no request reached the sick pod in 30 tries');
    t.is(retried!.status, 200);
    const spans = otel.spans().filter((s) => s.spanContext().traceId === retried!.root);
    const route = spans.find((s) => s.name === 'clusterip route web.default:80')!;
    t.is(route.attributes['clusterip.attempts'], 2);
    t.deepEqual(
      route.events.filter((e) => e.name === 'clusterip.pick').map((e) => e.attributes?.['clusterip.endpoint.pod']),
      ['web-1', 'web-2'],
    );
    t.is(route.events.filter((e) => e.name === 'clusterip.attempt.failed').length, 1);
    const attempts = spans.filter((s) => s.kind === SpanKind.CLIENT);
    t.deepEqual(
      attempts.map((s) => [s.attributes['network.peer.address'], s.attributes['http.response.status_code']]),
      [
        [sick.host, 503],
        [well.host, 200],
      ],
    );
    for (const a of attempts) t.is(a.parentSpanContext?.spanId, route.spanContext().spanId);
    t.is(attempts[1]!.attributes['http.request.resend_count'], 1);
    // The pods saw the trace, each with its own attempt span as parent.
    const atSick = traceparents.get(sick.host)!.at(-1)!.split('-');
    const atWell = traceparents.get(well.host)!.at(-1)!.split('-');
    t.is(atSick[1], retried!.root);
    t.is(atWell[1], retried!.root);
    t.is(atSick[2], attempts[0]!.spanContext().spanId);
    t.is(atWell[2], attempts[1]!.spanContext().spanId);
  },
);

test.serial('metrics match the traffic: picks, retries, request durations, endpoints by state', async (t) => {
  const otel = createTestOtel(t);
  const { cluster, sick, well } = await twoPods(t, 63);
  const mesh = new Mesh({
    resolver: cluster.resolver,
    tracerProvider: otel.tracerProvider,
    meterProvider: otel.meterProvider,
    retry: { attempts: 2, statuses: [503], backoff: { baseMs: 1, maxMs: 1 }, budget: false },
    outlierDetection: false,
  });
  t.teardown(() => mesh.close());
  const N = 20;
  for (let i = 0; i < N; i++) {
    const res = await mesh.fetch('http://web/');
    await res.arrayBuffer();
    t.is(res.status, 200);
  }
  const retries = sick.requests; // every request that met the sick pod first was retried once
  t.is(well.requests, N);
  const attrs = { 'k8s.service.name': 'web', 'k8s.namespace.name': 'default' };
  t.is(sumOf(await otel.points('clusterip.client.picks'), { ...attrs, 'clusterip.transport': 'http' }), N + retries);
  t.is(sumOf(await otel.points('clusterip.client.retries'), attrs), retries);
  const durations = await otel.points('http.client.request.duration');
  t.is(countOf(durations, { 'server.address': 'web', 'http.response.status_code': 200 }), N);
  t.is(countOf(durations, { 'server.address': 'web', 'http.response.status_code': 503 }), retries);
  const endpoints = await otel.points('clusterip.service.endpoints');
  const ready = endpoints.find(
    (p) => p.attributes['k8s.service.name'] === 'web' && p.attributes['clusterip.endpoint.state'] === 'ready',
  );
  t.is(ready?.value, 2);
  for (const p of [...durations, ...(await otel.points('clusterip.client.picks'))]) {
    t.false(
      Object.values(p.attributes).some((v) => v === sick.host || v === well.host),
      'no pod IP in attributes',
    );
  }
});

test.serial(
  'url.full of an attempt span: signed-URL credentials in the query are REDACTED, the rest kept',
  async (t) => {
    const otel = createTestOtel(t);
    const { cluster } = await twoPods(t, 234);
    const mesh = new Mesh({
      resolver: cluster.resolver,
      tracerProvider: otel.tracerProvider,
      meterProvider: otel.meterProvider,
      retry: false,
      outlierDetection: false,
    });
    t.teardown(() => mesh.close());
    const query =
      '?X-Goog-Signature=abc123&part=2&AWSAccessKeyId=AKIA0&Signature=s%3D&sig=zz&signature=lower&x=sig%3D1' +
      '&X-Amz-Credential=AKIA1&X-Amz-Signature=ff00&X-Amz-Security-Token=tok#frag';
    const res = await mesh.fetch(`http://web/bucket/object${query}`);
    await res.arrayBuffer();
    const attempt = otel.spans().find((s) => s.kind === SpanKind.CLIENT);
    const full = String(attempt?.attributes['url.full']);
    t.regex(full, /^http:\/\/web:80\/bucket\/object\?/);
    t.is(
      full.slice(full.indexOf('?')),
      '?X-Goog-Signature=REDACTED&part=2&AWSAccessKeyId=REDACTED&Signature=REDACTED&sig=REDACTED&signature=lower&x=sig%3D1' +
        '&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED',
    );
    t.false(/abc123|AKIA0|AKIA1|ff00|tok|zz/.test(JSON.stringify(otel.spans().map((s) => s.attributes))));
  },
);
