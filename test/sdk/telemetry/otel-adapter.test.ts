import diagnosticsChannel from 'node:diagnostics_channel';
import type { Endpoint, ServiceSnapshot } from '@clusterip/resolver';
import { enableTelemetry } from '@clusterip/sdk';
import {
  channels,
  type EndpointCounts,
  type GrpcPickMessage,
  type HttpAttemptMessage,
  type HttpRequestMessage,
} from '@clusterip/sdk/internal/telemetry/channels.js';
import { Metadata } from '@grpc/grpc-js';
import { context, SpanKind, trace } from '@opentelemetry/api';
import test from 'ava';
import { countOf, createTestOtel, sumOf } from '../../helpers/otel.js';

const resolverUpdate = diagnosticsChannel.channel('clusterip:resolver:update');
const sourceList = diagnosticsChannel.channel('clusterip:source:list');
const sourceWatch = diagnosticsChannel.channel('clusterip:source:watch');
const sourceEvent = diagnosticsChannel.channel('clusterip:source:event');

const endpoint = (ip: string, pod: string): Endpoint => ({
  address: ip,
  port: 8080,
  protocol: 'TCP',
  addressType: 'IPv4',
  conditions: { ready: true, serving: true, terminating: false },
  nodeName: 'node-a',
  zone: 'zone-a',
  targetRef: { kind: 'Pod', name: pod, namespace: 'default' },
});

const counts: EndpointCounts = {
  total: 3,
  ready: 2,
  serving: 3,
  terminating: 1,
  eligible: 2,
  skipped: { notReady: 0, terminating: 1, otherNode: 0, otherZone: 0 },
};

function requestMessage(): HttpRequestMessage {
  return {
    service: 'web.default:80',
    namespace: 'default',
    name: 'web',
    hostname: 'web',
    port: 80,
    scheme: 'http',
    method: 'GET',
    path: '/orders?id=1',
    policy: 'random',
    traceparent: false,
  };
}

function attemptMessage(request: HttpRequestMessage, attempt: number, ep: Endpoint) {
  const headers: Record<string, string> = {};
  const message: HttpAttemptMessage = {
    request,
    attempt,
    endpoint: ep,
    setHeader: (name, value) => {
      headers[name] = value;
    },
    wrap: undefined,
  };
  return { message, headers };
}

test.serial(
  'an HTTP request retried once: one INTERNAL span, one CLIENT span per attempt, trace headers per attempt, metrics',
  async (t) => {
    const otel = createTestOtel(t);
    const telemetry = enableTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider });
    t.teardown(() => telemetry.close());
    t.true(telemetry.tracing);
    t.true(telemetry.metrics);
    channels.meshRoute.publish({
      route: 'web:80',
      service: 'web.default:80',
      decision: 'route',
      endpoints: ['10.0.0.1:8080', '10.0.0.2:8080'],
      namespace: 'default',
      name: 'web',
      counts,
    });

    const parent = otel.tracerProvider.getTracer('test').startSpan('frontend');
    const request = requestMessage();
    const first = attemptMessage(request, 1, endpoint('10.0.0.1', 'web-1'));
    const second = attemptMessage(request, 2, endpoint('10.0.0.2', 'web-2'));
    context.with(trace.setSpan(context.active(), parent), () => {
      channels.httpRequest.publish(request);
      channels.balancerAffinity.publish({ service: 'web.default:80', endpoint: '10.0.0.1:8080', hit: false });
      channels.httpAttempt.publish(first.message);
      channels.httpAttemptEnd.publish({ attempt: first.message, status: 503, retry: true });
      channels.httpAttempt.publish(second.message);
      channels.httpAttemptEnd.publish({ attempt: second.message, status: 200, retry: false });
      channels.httpRequestEnd.publish({ request, attempts: 2, status: 200 });
    });
    parent.end();

    const spans = otel.spans();
    const route = spans.find((s) => s.name === 'clusterip route web.default:80');
    t.truthy(route);
    t.is(route!.kind, SpanKind.INTERNAL);
    t.is(route!.parentSpanContext?.spanId, parent.spanContext().spanId);
    t.is(route!.attributes['k8s.service.name'], 'web');
    t.is(route!.attributes['k8s.namespace.name'], 'default');
    t.is(route!.attributes['clusterip.attempts'], 2);
    t.is(route!.attributes['network.peer.address'], '10.0.0.2');
    t.is(route!.attributes['clusterip.skipped.terminating'], 1);
    const picks = route!.events.filter((e) => e.name === 'clusterip.pick');
    t.deepEqual(
      picks.map((e) => [
        e.attributes?.['clusterip.attempt'],
        e.attributes?.['clusterip.endpoint.pod'],
        e.attributes?.['clusterip.affinity'],
      ]),
      [
        [1, 'web-1', 'miss'],
        [2, 'web-2', 'none'],
      ],
    );
    t.is(route!.events.filter((e) => e.name === 'clusterip.attempt.failed').length, 1);

    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    t.is(clients.length, 2);
    for (const c of clients) t.is(c.parentSpanContext?.spanId, route!.spanContext().spanId);
    t.deepEqual(
      clients.map((c) => [
        c.attributes['network.peer.address'],
        c.attributes['http.response.status_code'],
        c.attributes['http.request.resend_count'],
      ]),
      [
        ['10.0.0.1', 503, undefined],
        ['10.0.0.2', 200, 1],
      ],
    );
    // Each attempt carries its own CLIENT span as parent.
    t.is(first.headers.traceparent?.split('-')[2], clients[0]!.spanContext().spanId);
    t.is(second.headers.traceparent?.split('-')[2], clients[1]!.spanContext().spanId);
    t.is(first.headers.traceparent?.split('-')[1], parent.spanContext().traceId);

    t.is(sumOf(await otel.points('clusterip.client.picks'), { 'k8s.service.name': 'web' }), 2);
    t.is(sumOf(await otel.points('clusterip.client.picks'), { 'clusterip.affinity': 'miss' }), 1);
    t.is(sumOf(await otel.points('clusterip.client.retries'), { 'clusterip.transport': 'http' }), 1);
    const durations = await otel.points('http.client.request.duration');
    t.is(countOf(durations, { 'server.address': 'web', 'http.response.status_code': 503 }), 1);
    t.is(countOf(durations, { 'server.address': 'web', 'http.response.status_code': 200 }), 1);
    for (const p of [...durations, ...(await otel.points('clusterip.client.picks'))]) {
      t.false(Object.values(p.attributes).includes('10.0.0.1'), 'no pod IP in metric attributes');
    }
  },
);

test.serial(
  'with instrumentation-undici listening, no CLIENT span or header of ours: the dispatch runs in the route span',
  async (t) => {
    const otel = createTestOtel(t);
    const telemetry = enableTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider });
    t.teardown(() => telemetry.close());
    const listener = () => {};
    diagnosticsChannel.subscribe('undici:request:create', listener);
    t.teardown(() => diagnosticsChannel.unsubscribe('undici:request:create', listener));

    const request = requestMessage();
    const attempt = attemptMessage(request, 1, endpoint('10.0.0.1', 'web-1'));
    channels.httpRequest.publish(request);
    channels.httpAttempt.publish(attempt.message);
    let active: string | undefined;
    t.truthy(attempt.message.wrap);
    attempt.message.wrap!(() => {
      active = trace.getSpan(context.active())?.spanContext().spanId;
    });
    channels.httpAttemptEnd.publish({ attempt: attempt.message, status: 200, retry: false });
    channels.httpRequestEnd.publish({ request, attempts: 1, status: 200 });

    t.deepEqual(attempt.headers, {});
    const spans = otel.spans();
    t.is(spans.filter((s) => s.kind === SpanKind.CLIENT).length, 0);
    t.is(active, spans.find((s) => s.name.startsWith('clusterip route'))?.spanContext().spanId);
    t.is((await otel.points('http.client.request.duration')).length, 0);
  },
);

test.serial('a caller CLIENT span is annotated instead of opening an INTERNAL span', (t) => {
  const otel = createTestOtel(t);
  const telemetry = enableTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider });
  t.teardown(() => telemetry.close());
  const client = otel.tracerProvider.getTracer('test').startSpan('sdk call', { kind: SpanKind.CLIENT });
  const request = requestMessage();
  const attempt = attemptMessage(request, 1, endpoint('10.0.0.1', 'web-1'));
  context.with(trace.setSpan(context.active(), client), () => {
    channels.httpRequest.publish(request);
    channels.httpAttempt.publish(attempt.message);
    channels.httpAttemptEnd.publish({ attempt: attempt.message, status: 200, retry: false });
    channels.httpRequestEnd.publish({ request, attempts: 1, status: 200 });
  });
  client.end();
  const spans = otel.spans();
  t.false(spans.some((s) => s.name.startsWith('clusterip route')));
  const annotated = spans.find((s) => s.name === 'sdk call')!;
  t.is(annotated.attributes['clusterip.endpoint.pod'], 'web-1');
  t.is(annotated.events.filter((e) => e.name === 'clusterip.pick').length, 1);
});

test.serial(
  'a gRPC pick without trace headers: INTERNAL span under the caller, headers injected, rpc.client.duration',
  async (t) => {
    const otel = createTestOtel(t);
    const telemetry = enableTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider });
    t.teardown(() => telemetry.close());
    const parent = otel.tracerProvider.getTracer('test').startSpan('backend');
    const metadata = new Metadata();
    const pick: GrpcPickMessage = {
      service: 'db.default:grpc',
      policy: 'round-robin',
      endpoint: endpoint('10.0.0.5', 'db-1'),
      attempt: 1,
      metadata,
    };
    context.with(trace.setSpan(context.active(), parent), () => channels.grpcPick.publish(pick));
    channels.grpcCallEnd.publish({ pick, code: 0, details: 'OK' });
    parent.end();
    const span = otel.spans().find((s) => s.name === 'clusterip pick db.default:grpc')!;
    t.truthy(span);
    t.is(span.parentSpanContext?.spanId, parent.spanContext().spanId);
    t.is(span.attributes['k8s.service.name'], 'db');
    t.is(span.attributes['network.peer.address'], '10.0.0.5');
    t.is(span.attributes['rpc.grpc.status_code'], 0);
    t.is(String(metadata.get('traceparent')[0]).split('-')[2], span.spanContext().spanId);
    t.is(countOf(await otel.points('rpc.client.duration'), { 'rpc.grpc.status_code': 0 }), 1);
  },
);

test.serial(
  'a gRPC pick of a call that carries trace headers (instrumentation-grpc) is parented to them, nothing injected',
  (t) => {
    const otel = createTestOtel(t);
    const telemetry = enableTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider });
    t.teardown(() => telemetry.close());
    const metadata = new Metadata();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    metadata.set('traceparent', traceparent);
    const pick: GrpcPickMessage = {
      service: 'db.default:grpc',
      policy: 'random',
      endpoint: endpoint('10.0.0.5', 'db-1'),
      attempt: 2,
      metadata,
    };
    channels.grpcPick.publish(pick);
    channels.grpcCallEnd.publish({ pick, code: 14, details: 'unavailable' });
    const span = otel.spans().find((s) => s.name === 'clusterip pick db.default:grpc')!;
    t.is(span.parentSpanContext?.spanId, 'b7ad6b7169203331');
    t.is(span.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    t.is(span.attributes['clusterip.attempt'], 2);
    t.deepEqual(metadata.get('traceparent'), [traceparent]);
  },
);

test.serial(
  'discovery and health events: endpoint gauges, ejections, circuit breakers, relists, reconnects, staleness, propagation delay',
  async (t) => {
    const otel = createTestOtel(t);
    const telemetry = enableTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider });
    t.teardown(() => telemetry.close());
    channels.meshRoute.publish({
      route: 'web:80',
      service: 'web.default:80',
      decision: 'route',
      endpoints: ['10.0.0.1:8080', '10.0.0.2:8080'],
      namespace: 'default',
      name: 'web',
      counts,
    });
    channels.breakerState.publish({
      service: 'web.default:80',
      endpoint: '10.0.0.1:8080',
      state: 'ejected',
      ejectionTimeMs: 30_000,
    });
    for (const state of ['open', 'half-open', 'open', 'half-open', 'closed'] as const) {
      channels.circuitState.publish({ service: 'web.default:80', route: 'web:80', state });
    }
    const loop = { resource: 'endpointslices', namespace: 'default', subject: 'endpointslices default/web' };
    sourceList.publish({ ...loop, items: 1, relist: false, recovered: false });
    sourceList.publish({ ...loop, items: 1, relist: true, recovered: true });
    sourceWatch.publish({ ...loop, reconnect: true, recovered: false });
    sourceWatch.publish({ ...loop, reconnect: false, recovered: false });
    const now = Date.now();
    sourceEvent.publish({ ...loop, type: 'MODIFIED', name: 'web-abc', triggerTime: now - 250, receivedAt: now });
    const snapshot = {
      status: 'ok',
      target: 'web:80',
      fqdn: 'web.default.svc.cluster.local.',
      name: { kind: 'service', namespace: 'default', service: 'web', fqdn: 'web.default.svc.cluster.local.' },
      port: 80,
      service: { name: 'web', namespace: 'default' },
      endpoints: [],
      stale: true,
      syncedAt: now - 5000,
      tried: [],
      source: 'kubernetes',
      version: 3,
    } as unknown as ServiceSnapshot;
    resolverUpdate.publish({ snapshot });

    const endpoints = await otel.points('clusterip.service.endpoints');
    const byState = Object.fromEntries(endpoints.map((p) => [p.attributes['clusterip.endpoint.state'], p.value]));
    t.deepEqual(byState, { ready: 2, serving: 3, terminating: 1, ejected: 1 });
    t.is(sumOf(await otel.points('clusterip.endpoint.ejections'), { 'k8s.service.name': 'web' }), 1);
    t.is(sumOf(await otel.points('clusterip.service.circuit.opens'), { 'k8s.service.name': 'web' }), 2);
    t.is(sumOf(await otel.points('clusterip.watch.relists')), 1);
    t.is(sumOf(await otel.points('clusterip.watch.reconnects')), 1);
    const delay = await otel.points('clusterip.endpoint.propagation.duration');
    t.is(countOf(delay), 1);
    t.true(Math.abs((delay[0]!.value as { sum: number }).sum - 0.25) < 1e-9);
    const stale = await otel.points('clusterip.service.staleness');
    t.true((stale[0]?.value as number) >= 5);

    const names = otel.spans().map((s) => s.name);
    for (const n of [
      'clusterip.endpoints.changed',
      'clusterip.endpoint.ejected',
      'clusterip.circuit.open',
      'clusterip.circuit.half_open',
      'clusterip.circuit.closed',
      'clusterip.watch.relist',
      'clusterip.watch.reconnect',
      'clusterip.endpoints.stale',
    ]) {
      t.true(names.includes(n), n);
    }
  },
);

test.serial('close() unsubscribes; handles of the same providers share one adapter', async (t) => {
  const otel = createTestOtel(t);
  const a = enableTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider });
  const b = enableTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider });
  t.true(channels.httpRequest.hasSubscribers);
  t.is(a.close(), a.close());
  await a.close();
  t.true(channels.httpRequest.hasSubscribers);
  await b.close();
  t.false(channels.httpRequest.hasSubscribers);
  t.false(channels.meshRoute.hasSubscribers);
});
