// Example test (packages/examples/src/otel-node-sdk): the compiled program, with the OpenTelemetry Node SDK and
// console exporters, against an emulated cluster; its printed spans must form one trace with routing attributes.

import test from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createPods, waitForReady } from '../helpers/http-test-server.js';
import { exampleEnv, examplePath, runExample } from './run-example.js';

/** One span as ConsoleSpanExporter prints it (util.inspect of an object literal), read back with regexes. */
interface PrintedSpan {
  readonly text: string;
  readonly name: string;
  readonly traceId: string;
  readonly id: string;
  readonly parentId: string | undefined;
  readonly kind: number;
  attribute(name: string): string | undefined;
}

function printedSpans(stdout: string): PrintedSpan[] {
  // Each exported span is a top-level `{ ... }` block whose first key is `resource`.
  const blocks = stdout
    .split(/^(?=\{\n {2}resource: )/m)
    .filter((b) => b.startsWith('{'))
    .map((b) => b.slice(0, b.indexOf('\n}') + 2));
  return blocks.flatMap((text) => {
    const field = (re: RegExp) => re.exec(text)?.[1];
    const name = field(/^ {2}name: '([^']*)'/m);
    const traceId = field(/^ {2}traceId: '([0-9a-f]{32})'/m);
    const id = field(/^ {2}id: '([0-9a-f]{16})'/m);
    if (name === undefined || traceId === undefined || id === undefined) return [];
    return [
      {
        text,
        name,
        traceId,
        id,
        parentId: field(/^ {2}parentSpanContext: \{[^}]*?spanId: '([0-9a-f]{16})'/ms),
        kind: Number(field(/^ {2}kind: (\d)/m)),
        attribute: (attr: string) => {
          const escaped = attr.replace(/\./g, '\\.');
          return field(new RegExp(`^ {4}'?${escaped}'?: '?([^',\\n]*)'?,?$`, 'm'));
        },
      },
    ];
  });
}

test('OTel Node SDK: one trace from the app span through the mesh routing span to each request, with routing attributes; metrics exported', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'backend-service' },
    spec: { selector: { app: 'backend' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  const traceparents: string[] = [];
  await createPods(t, cluster, {
    app: 'backend',
    count: 3,
    subnet: 94,
    handler: (req, res, pod) => {
      traceparents.push(String(req.headers.traceparent));
      res.end(`hello from ${pod.name}\n`);
    },
  });
  await waitForReady(cluster.resolver, 'backend-service:80', 3);

  const env = await exampleEnv(t, cluster.api, 'shop', { REQUESTS: '3' });
  const { stdout } = await runExample(t, examplePath('otel-node-sdk'), [], env);
  const traceId = /^trace ([0-9a-f]{32}): 3 requests to http:\/\/backend-service\/ under span "checkout"$/m.exec(
    stdout,
  )?.[1];
  t.truthy(traceId, stdout);
  const spans = printedSpans(stdout);
  const inTrace = spans.filter((s) => s.traceId === traceId);

  // The app's span is the root of the trace.
  const roots = inTrace.filter((s) => s.name === 'checkout');
  t.is(roots.length, 1);
  t.is(roots[0]!.parentId, undefined);

  // One routing span per request under it, carrying the mesh's routing decision.
  const routes = inTrace.filter((s) => s.name === 'clusterip route backend-service.shop:80');
  t.is(routes.length, 3);
  for (const route of routes) {
    t.is(route.parentId, roots[0]!.id);
    t.is(route.kind, 0, 'INTERNAL');
    t.is(route.attribute('k8s.service.name'), 'backend-service');
    t.is(route.attribute('k8s.namespace.name'), 'shop');
    t.is(route.attribute('clusterip.policy'), 'random');
    t.is(route.attribute('clusterip.attempts'), '1');
    t.regex(route.attribute('clusterip.endpoint.pod') ?? '', /^backend-[123]$/);
    t.regex(route.attribute('network.peer.address') ?? '', /^127\.0\.94\.1[123]$/);
    t.regex(route.text, /name: 'clusterip\.pick'/);
  }

  // instrumentation-undici's CLIENT span of each request sits under its routing span, and its context is
  // what reached the pod (W3C traceparent).
  const routeIds = new Set(routes.map((r) => r.id));
  const clients = inTrace.filter((s) => s.kind === 2);
  t.is(clients.length, 3);
  for (const c of clients) t.true(routeIds.has(c.parentId ?? ''), 'CLIENT span under a routing span');
  t.deepEqual(
    traceparents.map((h) => h.split('-')[1]),
    [traceId, traceId, traceId],
  );
  t.deepEqual(new Set(traceparents.map((h) => h.split('-')[2])), new Set(clients.map((c) => c.id)));

  // Nothing else in this trace, and no span for the SDK's own Kubernetes API requests (the SDK suppresses their tracing).
  t.is(inTrace.length, 7);
  const apiPort = String(new URL(cluster.api.url).port);
  t.false(
    spans.some((s) => s.kind === 2 && s.attribute('server.port') === apiPort),
    'no CLIENT span for the API server',
  );

  // Metrics, exported at shutdown by the console exporter.
  t.regex(stdout, /name: 'clusterip\.client\.picks'/);
});
