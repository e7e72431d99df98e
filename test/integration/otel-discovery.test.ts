import diagnosticsChannel from 'node:diagnostics_channel';
import { RESOLVER_CHANNEL_NAMES, type SourceListMessage, type SourceWatchMessage } from '@clusterip/resolver';
import { enableTelemetry } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { countOf, createTestOtel, sumOf } from '../helpers/otel.js';

/** Resolves with the first message on `name` that satisfies `predicate`. */
function nextMessage<T>(t: ExecutionContext, name: string, predicate: (m: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    const handler = (m: unknown) => {
      if (!predicate(m as T)) return;
      diagnosticsChannel.unsubscribe(name, handler);
      resolve(m as T);
    };
    diagnosticsChannel.subscribe(name, handler);
    t.teardown(() => diagnosticsChannel.unsubscribe(name, handler));
  });
}

test('KubernetesSource relists, watch reconnects and EndpointSlice propagation delay reach the metrics and traces', async (t) => {
  const otel = createTestOtel(t);
  const telemetry = enableTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider });
  t.teardown(() => telemetry.close());
  const cluster = await createFakeCluster(t);
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  const seen = new Promise<void>((resolve) => {
    const watch = cluster.resolver.watch('web:80', (s) => {
      if (s.endpoints.length === 1) resolve();
    });
    t.teardown(() => watch.close());
  });
  await cluster.api.waitForWatches({ kind: 'EndpointSlice' }, 1);
  // A slice written by the controller 1.5 s ago (its trigger time), read by the watch now.
  cluster.apply({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'web-abc',
      labels: { 'kubernetes.io/service-name': 'web' },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': new Date(Date.now() - 1500).toISOString() },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.11'], conditions: { ready: true } }],
  });
  await seen;

  const reconnect = nextMessage<SourceWatchMessage>(t, RESOLVER_CHANNEL_NAMES.sourceWatch, (m) => m.reconnect);
  t.true(cluster.api.dropWatches({ kind: 'EndpointSlice' }) >= 1);
  const r = await reconnect;
  t.is(r.resource, 'endpointslices');

  await cluster.api.waitForWatches({ kind: 'EndpointSlice' }, 1);
  const relist = nextMessage<SourceListMessage>(t, RESOLVER_CHANNEL_NAMES.sourceList, (m) => m.relist);
  t.true(cluster.api.expireWatches({ kind: 'EndpointSlice' }) >= 1);
  await relist;

  t.true(sumOf(await otel.points('clusterip.watch.reconnects'), { 'clusterip.watch.resource': 'endpointslices' }) >= 1);
  t.true(sumOf(await otel.points('clusterip.watch.relists'), { 'clusterip.watch.resource': 'endpointslices' }) >= 1);
  const delay = await otel.points('clusterip.endpoint.propagation.duration');
  t.is(countOf(delay), 1);
  const sum = (delay[0]!.value as { sum: number }).sum;
  t.true(sum >= 1.5 && sum < 10, `propagation ${sum} s`);
  const names = otel.spans().map((s) => s.name);
  t.true(names.includes('clusterip.watch.reconnect'));
  t.true(names.includes('clusterip.watch.relist'));
});
