import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import test from 'ava';
import { createTestOtel } from '../../helpers/otel.js';
import { addressRange, startCluster } from './cluster-fixtures.js';

// Alone in its file: the images use the global tracer provider, as an application's OTel setup registers it.

const tier = (name: string, downstream?: string) => `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: app
        image: clusterip/echo-http
        ports: [{name: http, containerPort: 8080}]
${downstream === undefined ? '' : `        env: [{name: DOWNSTREAM_URL, value: "${downstream}"}]\n`}---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: shop}
spec:
  selector: {app: ${name}}
  ports: [{name: http, port: 80, targetPort: http}]
`;

test('frontend → backend → database through the cluster meshes is one trace of SERVER spans', async (t) => {
  const otel = createTestOtel(t);
  trace.setGlobalTracerProvider(otel.tracerProvider);
  t.teardown(() => trace.disable());
  const cluster = await startCluster(t, { addresses: addressRange(97, 0) });
  await cluster.apply(
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n${tier('frontend', 'http://backend/')}${tier('backend', 'http://database/')}${tier('database')}`,
  );
  const [frontend] = cluster.pods({ namespace: 'shop', labels: { app: 'frontend' } });
  const root = otel.tracerProvider.getTracer('test').startSpan('client', { kind: SpanKind.CLIENT });
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), root), headers);
  const res = await fetch(`http://${frontend!.ip}:8080/checkout`, { headers });
  const body = (await res.json()) as { downstream: { pod: string; downstream: { pod: string } } };
  root.end();
  t.is(res.status, 200);
  t.regex(body.downstream.pod, /^backend-/);
  t.regex(body.downstream.downstream.pod, /^database-/);
  const servers = otel
    .spans()
    .filter((s) => s.instrumentationScope.name === 'clusterip-local-cluster' && s.kind === SpanKind.SERVER);
  t.is(servers.length, 3);
  const traceId = root.spanContext().traceId;
  t.true(servers.every((s) => s.spanContext().traceId === traceId));
  t.true(servers.some((s) => s.parentSpanContext?.spanId === root.spanContext().spanId));
});
