// runWithoutTracing and Mesh's use of it: with the real instrumentation-undici installed, a Mesh over a
// KubernetesSource records no CLIENT span for its own list/watch requests, while routed requests keep theirs.

import { KubernetesSource } from '@clusterip/resolver';
import { Mesh } from '@clusterip/sdk';
import { runWithoutTracing } from '@clusterip/sdk/internal/telemetry/suppress-tracing.js';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { createFakeKubeApi } from '../../helpers/fake-kube-api.js';
import { createHttpTestServer } from '../../helpers/http-test-server.js';
import { createTestOtel, type TestOtel } from '../../helpers/otel.js';

function instrument(t: ExecutionContext): TestOtel {
  const otel = createTestOtel(t);
  const instrumentation = new UndiciInstrumentation();
  instrumentation.setTracerProvider(otel.tracerProvider);
  instrumentation.setMeterProvider(otel.meterProvider);
  instrumentation.enable();
  t.teardown(() => instrumentation.disable());
  return otel;
}

const isApiPath = (path: unknown) => /^\/apis?(\/|$)/.test(String(path));

test.serial(
  'runWithoutTracing: a request started inside it gets no CLIENT span; one started outside does',
  async (t) => {
    const otel = instrument(t);
    const server = await createHttpTestServer(t);
    const quiet = await runWithoutTracing(() => request(`${server.url}/quiet`));
    await quiet.body.dump();
    const loud = await request(`${server.url}/loud`);
    await loud.body.dump();
    t.is(server.requests, 2);
    const paths = otel
      .spans()
      .filter((s) => s.kind === SpanKind.CLIENT)
      .map((s) => s.attributes['url.path']);
    t.deepEqual(paths, ['/loud']);
    // The suppression stays inside the call: the active context afterwards is unchanged.
    t.is(
      runWithoutTracing(() => 42),
      42,
    );
  },
);

test.serial(
  'Mesh over a KubernetesSource: no CLIENT span for /api or /apis requests, a routed request keeps its CLIENT span',
  async (t) => {
    const otel = instrument(t);
    const api = await createFakeKubeApi(t);
    const pod = await createHttpTestServer(t, { host: '127.0.71.2', name: 'web-1' });
    api.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: pod.port }] },
    });
    api.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image: 'web', ports: [{ containerPort: pod.port }] }] },
      status: { phase: 'Running', podIP: pod.host, conditions: [{ type: 'Ready', status: 'True' }] },
    });
    const source = new KubernetesSource({ server: api.url, idleTimeoutMs: 0 });
    const mesh = new Mesh({
      context: { namespace: 'shop', env: {} },
      source,
      tracerProvider: otel.tracerProvider,
      meterProvider: otel.meterProvider,
    });
    t.teardown(async () => {
      await mesh.close();
      await source.close();
    });

    // The first request starts the list/watch inside the user's trace: exactly where spans would leak.
    const root = otel.tracerProvider.getTracer('app').startSpan('frontend');
    await context.with(trace.setSpan(context.active(), root), async () => {
      const res = await mesh.fetch('http://web/hello');
      t.is(res.status, 200);
      await res.arrayBuffer();
    });
    root.end();
    // A relist after a dropped watch is started outside any user code: it must stay untraced too.
    await api.waitForWatches({}, 2);
    api.dropWatches();
    await api.waitForWatches({}, 2);

    t.true(api.requests.filter((r) => isApiPath(r.path)).length >= 4, 'the source talked to the API');
    const clients = otel.spans().filter((s) => s.kind === SpanKind.CLIENT);
    t.deepEqual(
      clients.filter((s) => isApiPath(s.attributes['url.path'])).map((s) => s.attributes['url.path']),
      [],
      'no span for the SDK’s own API requests',
    );
    const routed = clients.filter((s) => s.attributes['url.path'] === '/hello');
    t.is(routed.length, 1);
    t.is(routed[0]?.spanContext().traceId, root.spanContext().traceId);
  },
);
