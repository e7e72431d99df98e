// Telemetry (leaf): the OpenTelemetry adapter — subscribes to the SDK's and the resolver's diagnostics
// channels and turns them into spans, span events and metrics through `@opentelemetry/api` only.
// Consumes channel messages and the application's providers; produces telemetry, and nothing when off.

import diagnosticsChannel from 'node:diagnostics_channel';
import type {
  ResolverUpdateMessage,
  SourceEventMessage,
  SourceFailureMessage,
  SourceListMessage,
  SourceWatchMessage,
} from '@clusterip/resolver';
import { endpointKey } from '@clusterip/resolver';
import type { Attributes, Meter, MeterProvider, Tracer, TracerProvider } from '@opentelemetry/api';
import { monotonicClock } from '../internal/clock.js';
import {
  type BalancerAffinityMessage,
  type BalancerPanicMessage,
  type BreakerStateMessage,
  CHANNEL_NAMES,
  type CircuitStateMessage,
  type GrpcCallEndMessage,
  type GrpcPickMessage,
  type GrpcResolutionMessage,
  type HttpAttemptEndMessage,
  type HttpAttemptMessage,
  type HttpRequestEndMessage,
  type HttpRequestMessage,
  type MeshRouteMessage,
} from './channels.js';
import { MeshMetrics, type ServiceState } from './metrics.js';
import { loadOtelApi, type OtelApiModule } from './otel-api.js';
import {
  ATTR_CLUSTERIP_AFFINITY,
  ATTR_CLUSTERIP_ATTEMPT,
  ATTR_CLUSTERIP_ENDPOINTS,
  ATTR_CLUSTERIP_ENDPOINTS_ADDED,
  ATTR_CLUSTERIP_ENDPOINTS_REMOVED,
  ATTR_CLUSTERIP_POLICY,
  ATTR_CLUSTERIP_SERVICE,
  ATTR_CLUSTERIP_SKIPPED_EJECTED,
  ATTR_CLUSTERIP_SKIPPED_NOT_READY,
  ATTR_CLUSTERIP_SKIPPED_OTHER_NODE,
  ATTR_CLUSTERIP_SKIPPED_OTHER_ZONE,
  ATTR_CLUSTERIP_SKIPPED_TERMINATING,
  ATTR_CLUSTERIP_SKIPPED_TRIED,
  ATTR_CLUSTERIP_STALE_SECONDS,
  ATTR_CLUSTERIP_TRANSPORT,
  ATTR_CLUSTERIP_WATCH_RESOURCE,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_SERVICE_NAME,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_RPC_GRPC_STATUS_CODE,
  ATTR_RPC_SYSTEM,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_SCHEME,
  INSTRUMENTATION_SCOPE,
} from './semconv.js';
import { endpointAttributes, errorTypeOf, type GrpcPickTrace, type HttpCallTrace, RoutingTracer } from './tracing.js';

/**
 * Options of {@link enableTelemetry}: the OpenTelemetry providers to report to (typed `unknown` so that
 * the SDK's types do not require `@opentelemetry/api`). Default: the global providers.
 *
 * @example
 * ```ts
 * const options: TelemetryOptions = { tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider }
 * ```
 */
export interface TelemetryOptions {
  /** A `TracerProvider`. Default: the global one (`trace.getTracerProvider()`). */
  readonly tracerProvider?: unknown;
  /** A `MeterProvider`. Default: the global one (`metrics.getMeterProvider()`). */
  readonly meterProvider?: unknown;
}

/**
 * A running telemetry adapter; `close()` stops it once every holder closed it.
 *
 * @example
 * ```ts
 * await using telemetry = enableTelemetry()
 * if (!telemetry.tracing) console.log('no OpenTelemetry SDK registered yet')
 * ```
 */
export interface TelemetryHandle {
  /** True while spans (or at least trace-context propagation) are being produced. */
  readonly tracing: boolean;
  /** True while metrics are being recorded (a non-no-op MeterProvider). */
  readonly metrics: boolean;
  /** Look at the providers again (an SDK registered after the mesh was created). Cheap; also runs by itself. */
  refresh(): void;
  /** Idempotent: the same promise every time. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

type Handler = (message: unknown) => void;

const MAX_SERVICES = 4096;
const REFRESH_MS = 10_000;
const UNDICI_CREATE = 'undici:request:create';

/** The providers are checked against the API's own no-op objects (no probe span is created). */
function noopTracerProviderOf(api: OtelApiModule): TracerProvider {
  return new api.ProxyTracerProvider().getDelegate();
}

class OtelAdapter {
  readonly #api: OtelApiModule;
  readonly #tracerProviderOption: TracerProvider | undefined;
  readonly #meterProviderOption: MeterProvider | undefined;
  readonly #noopTracerProvider: TracerProvider;
  readonly #noopMeterClass: unknown;
  readonly #tracer: Tracer;
  readonly #tracing: RoutingTracer;
  #meterProvider: MeterProvider | undefined;
  #metrics: MeshMetrics | undefined;
  #spans = false;
  #propagate = false;
  #hot = false;
  #cold = false;
  #closed = false;
  readonly #timer: NodeJS.Timeout;

  readonly #services = new Map<string, ServiceState>();
  readonly #routeEndpoints = new Map<string, readonly string[]>();
  readonly #httpCalls = new WeakMap<HttpRequestMessage, HttpCallTrace>();
  readonly #httpStarts = new WeakMap<HttpAttemptMessage, number>();
  readonly #grpcPicks = new WeakMap<GrpcPickMessage, { trace: GrpcPickTrace | undefined; startedAt: number }>();
  #lastAffinity: BalancerAffinityMessage | undefined;

  readonly #coldHandlers: Record<string, Handler>;
  readonly #hotHandlers: Record<string, Handler>;

  constructor(api: OtelApiModule, options: TelemetryOptions) {
    this.#api = api;
    this.#tracerProviderOption = options.tracerProvider as TracerProvider | undefined;
    this.#meterProviderOption = options.meterProvider as MeterProvider | undefined;
    this.#noopTracerProvider = noopTracerProviderOf(api);
    this.#noopMeterClass = api.createNoopMeter().constructor;
    const tracerProvider = this.#tracerProviderOption ?? api.trace.getTracerProvider();
    this.#tracer = tracerProvider.getTracer(INSTRUMENTATION_SCOPE);
    this.#tracing = new RoutingTracer(api, this.#tracer);
    this.#coldHandlers = {
      [CHANNEL_NAMES.meshRoute]: (m) => this.#onRoute(m as MeshRouteMessage),
      [CHANNEL_NAMES.grpcResolution]: (m) => this.#onResolution(m as GrpcResolutionMessage),
      [CHANNEL_NAMES.breakerState]: (m) => this.#onBreaker(m as BreakerStateMessage),
      [CHANNEL_NAMES.circuitState]: (m) => this.#onCircuit(m as CircuitStateMessage),
      [CHANNEL_NAMES.balancerPanic]: (m) => this.#onPanic(m as BalancerPanicMessage),
      [CHANNEL_NAMES.resolverUpdate]: (m) => this.#onSnapshot(m as ResolverUpdateMessage),
      [CHANNEL_NAMES.sourceList]: (m) => this.#onList(m as SourceListMessage),
      [CHANNEL_NAMES.sourceWatch]: (m) => this.#onWatch(m as SourceWatchMessage),
      [CHANNEL_NAMES.sourceFailure]: (m) => this.#onFailure(m as SourceFailureMessage),
      [CHANNEL_NAMES.sourceEvent]: (m) => this.#onSourceEvent(m as SourceEventMessage),
    };
    this.#hotHandlers = {
      [CHANNEL_NAMES.balancerAffinity]: (m) => {
        this.#lastAffinity = m as BalancerAffinityMessage;
      },
      [CHANNEL_NAMES.httpRequest]: (m) => this.#onHttpRequest(m as HttpRequestMessage),
      [CHANNEL_NAMES.httpAttempt]: (m) => this.#onHttpAttempt(m as HttpAttemptMessage),
      [CHANNEL_NAMES.httpAttemptEnd]: (m) => this.#onHttpAttemptEnd(m as HttpAttemptEndMessage),
      [CHANNEL_NAMES.httpRequestEnd]: (m) => this.#onHttpRequestEnd(m as HttpRequestEndMessage),
      [CHANNEL_NAMES.grpcPick]: (m) => this.#onGrpcPick(m as GrpcPickMessage),
      [CHANNEL_NAMES.grpcCallEnd]: (m) => this.#onGrpcCallEnd(m as GrpcCallEndMessage),
    };
    this.refresh();
    this.#timer = setInterval(() => this.refresh(), REFRESH_MS).unref();
  }

  get tracing(): boolean {
    return this.#spans || this.#propagate;
  }

  get metrics(): boolean {
    return this.#metrics !== undefined;
  }

  /** Re-evaluate which providers are live, and (un)subscribe the per-request channels accordingly. */
  refresh(): void {
    if (this.#closed) return;
    const api = this.#api;
    const tp = this.#tracerProviderOption ?? api.trace.getTracerProvider();
    const delegate = tp instanceof api.ProxyTracerProvider ? tp.getDelegate() : tp;
    this.#spans = delegate !== this.#noopTracerProvider;
    this.#propagate = api.propagation.fields().length > 0;
    const mp = this.#meterProviderOption ?? api.metrics.getMeterProvider();
    if (mp !== this.#meterProvider) {
      this.#meterProvider = mp;
      this.#metrics?.close();
      this.#metrics = undefined;
      const meter: Meter = mp.getMeter(INSTRUMENTATION_SCOPE);
      if (meter.constructor !== this.#noopMeterClass) {
        this.#metrics = new MeshMetrics(api, meter, () => this.#services.values());
      }
    }
    if (!this.#cold) {
      this.#cold = true;
      for (const [name, handler] of Object.entries(this.#coldHandlers)) diagnosticsChannel.subscribe(name, handler);
    }
    const hot = this.#spans || this.#propagate || this.#metrics !== undefined;
    if (hot !== this.#hot) {
      this.#hot = hot;
      for (const [name, handler] of Object.entries(this.#hotHandlers)) {
        if (hot) diagnosticsChannel.subscribe(name, handler);
        else diagnosticsChannel.unsubscribe(name, handler);
      }
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#cold) {
      for (const [name, handler] of Object.entries(this.#coldHandlers)) diagnosticsChannel.unsubscribe(name, handler);
    }
    if (this.#hot) {
      for (const [name, handler] of Object.entries(this.#hotHandlers)) diagnosticsChannel.unsubscribe(name, handler);
    }
    this.#cold = false;
    this.#hot = false;
    this.#metrics?.close();
    this.#metrics = undefined;
    this.#services.clear();
    this.#routeEndpoints.clear();
  }

  // ── per-Service state ─────────────────────────────────────────────────────────────────────────

  #service(label: string, namespace?: string, name?: string): ServiceState {
    let s = this.#services.get(label);
    if (s !== undefined) return s;
    if (this.#services.size >= MAX_SERVICES) this.#services.clear();
    const parsed = parseLabel(label);
    const ns = namespace ?? parsed.namespace;
    const attributes: Attributes = { [ATTR_K8S_SERVICE_NAME]: name ?? parsed.name, [ATTR_CLUSTERIP_SERVICE]: label };
    if (ns !== undefined) attributes[ATTR_K8S_NAMESPACE_NAME] = ns;
    s = { attributes, counts: undefined, ejected: new Set(), stale: false, syncedAt: undefined };
    this.#services.set(label, s);
    return s;
  }

  /** Attributes of one pick: the decision (endpoint, attempt, affinity) and why the others were skipped. */
  #pickAttributes(
    service: ServiceState,
    label: string,
    policy: string,
    attempt: number,
    ep: HttpAttemptMessage['endpoint'],
  ) {
    const last = this.#lastAffinity;
    this.#lastAffinity = undefined;
    const affinity =
      last !== undefined && last.service === label && last.endpoint === endpointKey(ep)
        ? last.hit
          ? 'hit'
          : 'miss'
        : 'none';
    const attributes: Attributes = {
      ...service.attributes,
      [ATTR_CLUSTERIP_POLICY]: policy,
      [ATTR_CLUSTERIP_ATTEMPT]: attempt,
      [ATTR_CLUSTERIP_AFFINITY]: affinity,
    };
    endpointAttributes(ep, attributes);
    const c = service.counts;
    if (c !== undefined) {
      attributes[ATTR_CLUSTERIP_SKIPPED_NOT_READY] = c.skipped.notReady;
      attributes[ATTR_CLUSTERIP_SKIPPED_TERMINATING] = c.skipped.terminating;
      attributes[ATTR_CLUSTERIP_SKIPPED_OTHER_NODE] = c.skipped.otherNode;
      attributes[ATTR_CLUSTERIP_SKIPPED_OTHER_ZONE] = c.skipped.otherZone;
    }
    attributes[ATTR_CLUSTERIP_SKIPPED_EJECTED] = service.ejected.size;
    if (attempt > 1) attributes[ATTR_CLUSTERIP_SKIPPED_TRIED] = attempt - 1;
    return { attributes, affinity };
  }

  #countPick(service: ServiceState, policy: string, affinity: string, transport: string): void {
    this.#metrics?.picks.add(1, {
      ...service.attributes,
      [ATTR_CLUSTERIP_POLICY]: policy,
      [ATTR_CLUSTERIP_AFFINITY]: affinity,
      [ATTR_CLUSTERIP_TRANSPORT]: transport,
    });
  }

  #event(name: string, attributes: Attributes): void {
    if (this.#spans) this.#tracing.event(name, attributes);
  }

  #endpointsChanged(key: string, service: ServiceState, endpoints: readonly string[]): void {
    const before = this.#routeEndpoints.get(key);
    if (before !== undefined && sameList(before, endpoints)) return;
    if (this.#routeEndpoints.size >= MAX_SERVICES) this.#routeEndpoints.clear();
    this.#routeEndpoints.set(key, endpoints);
    const old = new Set(before ?? []);
    const now = new Set(endpoints);
    let added = 0;
    let removed = 0;
    for (const e of now) if (!old.has(e)) added++;
    for (const e of old) if (!now.has(e)) removed++;
    for (const e of service.ejected) if (!now.has(e)) service.ejected.delete(e);
    this.#event('clusterip.endpoints.changed', {
      ...service.attributes,
      [ATTR_CLUSTERIP_ENDPOINTS]: endpoints.length,
      [ATTR_CLUSTERIP_ENDPOINTS_ADDED]: added,
      [ATTR_CLUSTERIP_ENDPOINTS_REMOVED]: removed,
    });
  }

  // ── cold channels (topology, discovery health) ────────────────────────────────────────────────

  #onRoute(m: MeshRouteMessage): void {
    this.refresh();
    if (m.decision === 'closed') {
      // The route is gone (idle, evicted): stop reporting its endpoints until a request re-creates it.
      this.#routeEndpoints.delete(`http ${m.route}`);
      const service = this.#services.get(m.service);
      if (service !== undefined) service.counts = undefined;
      return;
    }
    if (m.decision !== 'route') return;
    const service = this.#service(m.service, m.namespace, m.name);
    if (m.counts !== undefined) service.counts = m.counts;
    this.#endpointsChanged(`http ${m.route}`, service, m.endpoints);
  }

  #onResolution(m: GrpcResolutionMessage): void {
    this.refresh();
    const service = this.#service(m.service, m.namespace, m.name);
    service.counts = m.counts;
    this.#endpointsChanged(`grpc ${m.service}`, service, m.endpoints);
  }

  #onBreaker(m: BreakerStateMessage): void {
    const service = this.#service(m.service);
    if (m.state === 'ejected') {
      service.ejected.add(m.endpoint);
      this.#metrics?.ejections.add(1, service.attributes);
    } else service.ejected.delete(m.endpoint);
    this.#event(`clusterip.endpoint.${m.state === 'healthy' ? 'readmitted' : m.state}`, {
      ...service.attributes,
      [ATTR_NETWORK_PEER_ADDRESS]: m.endpoint,
      ...(m.ejectionTimeMs === undefined ? {} : { 'clusterip.ejection.ms': m.ejectionTimeMs }),
    });
  }

  #onCircuit(m: CircuitStateMessage): void {
    const service = this.#service(m.service);
    if (m.state === 'open') this.#metrics?.circuitOpens.add(1, service.attributes);
    this.#event(`clusterip.circuit.${m.state === 'half-open' ? 'half_open' : m.state}`, service.attributes);
  }

  #onPanic(m: BalancerPanicMessage): void {
    this.#event(m.panic ? 'clusterip.balancer.panic' : 'clusterip.balancer.panic_over', {
      ...this.#service(m.service).attributes,
      'clusterip.endpoints.healthy': m.healthy,
      [ATTR_CLUSTERIP_ENDPOINTS]: m.total,
    });
  }

  #onSnapshot(m: ResolverUpdateMessage): void {
    const s = m.snapshot;
    const info = s.service;
    if (s.status !== 'ok' || info === undefined) return;
    const label = s.port === undefined ? `${info.name}.${info.namespace}` : `${info.name}.${info.namespace}:${s.port}`;
    const service = this.#service(label, info.namespace, info.name);
    const wasStale = service.stale;
    service.stale = s.stale;
    if (s.syncedAt !== undefined) service.syncedAt = s.syncedAt;
    if (s.stale && !wasStale) {
      const age = service.syncedAt === undefined ? 0 : Math.max(0, Date.now() - service.syncedAt) / 1000;
      this.#event('clusterip.endpoints.stale', {
        ...service.attributes,
        [ATTR_CLUSTERIP_STALE_SECONDS]: age,
        ...(s.error === undefined ? {} : { [ATTR_ERROR_TYPE]: s.error.code }),
      });
    } else if (!s.stale && wasStale) this.#event('clusterip.endpoints.fresh', service.attributes);
  }

  #watchAttributes(m: SourceListMessage | SourceWatchMessage | SourceFailureMessage): Attributes {
    return { [ATTR_K8S_NAMESPACE_NAME]: m.namespace, [ATTR_CLUSTERIP_WATCH_RESOURCE]: m.resource };
  }

  #onList(m: SourceListMessage): void {
    if (!m.relist) return;
    const attributes = this.#watchAttributes(m);
    this.#metrics?.watchRelists.add(1, attributes);
    this.#event('clusterip.watch.relist', { ...attributes, 'clusterip.watch.items': m.items });
  }

  #onWatch(m: SourceWatchMessage): void {
    if (!m.reconnect) return;
    const attributes = this.#watchAttributes(m);
    this.#metrics?.watchReconnects.add(1, attributes);
    this.#event('clusterip.watch.reconnect', attributes);
  }

  #onFailure(m: SourceFailureMessage): void {
    const attributes = this.#watchAttributes(m);
    this.#metrics?.watchFailures.add(1, attributes);
    this.#event('clusterip.watch.failure', { ...attributes, [ATTR_ERROR_TYPE]: m.error.code });
  }

  #onSourceEvent(m: SourceEventMessage): void {
    if (m.triggerTime === undefined) return;
    this.#metrics?.propagation.record(Math.max(0, m.receivedAt - m.triggerTime) / 1000, {
      [ATTR_K8S_NAMESPACE_NAME]: m.namespace,
      [ATTR_CLUSTERIP_WATCH_RESOURCE]: m.resource,
    });
  }

  // ── hot channels (per request) ────────────────────────────────────────────────────────────────

  #onHttpRequest(m: HttpRequestMessage): void {
    if (!this.#spans && !this.#propagate) return;
    const service = this.#service(m.service, m.namespace, m.name);
    this.#httpCalls.set(m, this.#tracing.httpRequest(m, service.attributes));
  }

  #onHttpAttempt(m: HttpAttemptMessage): void {
    const r = m.request;
    const service = this.#service(r.service, r.namespace, r.name);
    const { attributes, affinity } = this.#pickAttributes(service, r.service, r.policy, m.attempt, m.endpoint);
    this.#countPick(service, r.policy, affinity, 'http');
    const undici = diagnosticsChannel.hasSubscribers(UNDICI_CREATE);
    if (!undici && this.#metrics !== undefined) this.#httpStarts.set(m, monotonicClock());
    const call = this.#httpCalls.get(r);
    if (call !== undefined) this.#tracing.httpAttempt(call, m, attributes, undici);
  }

  #onHttpAttemptEnd(m: HttpAttemptEndMessage): void {
    const r = m.attempt.request;
    const metrics = this.#metrics;
    if (metrics !== undefined) {
      if (m.retry)
        metrics.retries.add(1, { ...this.#service(r.service).attributes, [ATTR_CLUSTERIP_TRANSPORT]: 'http' });
      const started = this.#httpStarts.get(m.attempt);
      if (started !== undefined) {
        const attributes: Attributes = {
          [ATTR_HTTP_REQUEST_METHOD]: r.method,
          [ATTR_SERVER_ADDRESS]: r.hostname,
          [ATTR_SERVER_PORT]: r.port,
          [ATTR_URL_SCHEME]: r.scheme,
        };
        if (m.status !== undefined) attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = m.status;
        if (m.error !== undefined) attributes[ATTR_ERROR_TYPE] = errorTypeOf(m.error);
        else if (m.status !== undefined && m.status >= 400) attributes[ATTR_ERROR_TYPE] = String(m.status);
        metrics.httpDuration.record((monotonicClock() - started) / 1000, attributes);
      }
    }
    const call = this.#httpCalls.get(r);
    if (call !== undefined) this.#tracing.httpAttemptEnd(call, m);
  }

  #onHttpRequestEnd(m: HttpRequestEndMessage): void {
    if (m.stopReason === 'budget') this.#metrics?.budgetExhausted.add(1, this.#service(m.request.service).attributes);
    const call = this.#httpCalls.get(m.request);
    if (call === undefined) return;
    this.#httpCalls.delete(m.request);
    this.#tracing.httpRequestEnd(call, m);
  }

  #onGrpcPick(m: GrpcPickMessage): void {
    const service = this.#service(m.service);
    const { attributes, affinity } = this.#pickAttributes(service, m.service, m.policy, m.attempt, m.endpoint);
    this.#countPick(service, m.policy, affinity, 'grpc');
    if (m.attempt > 1) this.#metrics?.retries.add(1, { ...service.attributes, [ATTR_CLUSTERIP_TRANSPORT]: 'grpc' });
    const trace = this.#spans || this.#propagate ? this.#tracing.grpcPick(m, attributes) : undefined;
    this.#grpcPicks.set(m, { trace, startedAt: monotonicClock() });
  }

  #onGrpcCallEnd(m: GrpcCallEndMessage): void {
    const state = this.#grpcPicks.get(m.pick);
    if (state === undefined) return;
    this.#grpcPicks.delete(m.pick);
    this.#metrics?.rpcDuration.record(monotonicClock() - state.startedAt, {
      ...this.#service(m.pick.service).attributes,
      [ATTR_RPC_SYSTEM]: 'grpc',
      [ATTR_RPC_GRPC_STATUS_CODE]: m.code,
    });
    if (state.trace !== undefined) this.#tracing.grpcCallEnd(state.trace, m);
  }
}

/** `value` when it has the method `method`; undefined (and a warning) when it is set but does not. */
function providerOr(value: unknown, method: string, option: string): unknown {
  if (value === undefined || value === null) return undefined;
  if (typeof (value as Record<string, unknown>)[method] === 'function') return value;
  process.emitWarning(`clusterip: ${option} has no ${method}() method: using the global provider`, 'ClusterIPWarning');
  return undefined;
}

/** `name.namespace:port` → name and namespace (a route key `host:port` gives the host as name). */
function parseLabel(label: string): { name: string; namespace: string | undefined } {
  const colon = label.lastIndexOf(':');
  const host = colon < 0 || label.includes(']') ? label : label.slice(0, colon);
  const dot = host.indexOf('.');
  return dot < 0 ? { name: host, namespace: undefined } : { name: host.slice(0, dot), namespace: host.slice(dot + 1) };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ── shared adapters: one per (tracerProvider, meterProvider) pair, reference-counted ─────────────────

interface Entry {
  readonly adapter: OtelAdapter;
  holders: number;
}

const GLOBAL = Symbol('global providers');
const adapters = new Map<unknown, Map<unknown, Entry>>();

const OFF: TelemetryHandle = Object.freeze({
  tracing: false,
  metrics: false,
  refresh: () => {},
  close: () => Promise.resolve(),
  [Symbol.asyncDispose]: () => Promise.resolve(),
});

/**
 * Report routing decisions, discovery and health to OpenTelemetry. `Mesh` does this by itself with its
 * `tracerProvider` / `meterProvider` options; call it yourself for gRPC-only use. Meshes and callers with
 * the same providers share one adapter. Without `@opentelemetry/api` installed the handle is inert; with
 * the API but no SDK registered nothing per request is subscribed, so requests cost what they did.
 *
 * @example
 * ```ts
 * import { enableTelemetry } from '@clusterip/sdk'
 * const telemetry = enableTelemetry() // global providers
 * // ... grpc channels using the clusterip policy ...
 * await telemetry.close()
 * ```
 */
export function enableTelemetry(options: TelemetryOptions = {}): TelemetryHandle {
  const api = loadOtelApi();
  if (api === undefined) return OFF;
  // Telemetry never stops the application (conventions §10): a provider of the wrong shape is reported
  // and replaced by the global one.
  const tracerProvider = providerOr(options.tracerProvider, 'getTracer', 'tracerProvider');
  const meterProvider = providerOr(options.meterProvider, 'getMeter', 'meterProvider');
  const tk = tracerProvider ?? GLOBAL;
  const mk = meterProvider ?? GLOBAL;
  let byMeter = adapters.get(tk);
  if (byMeter === undefined) {
    byMeter = new Map();
    adapters.set(tk, byMeter);
  }
  let entry = byMeter.get(mk);
  if (entry === undefined) {
    let adapter: OtelAdapter;
    try {
      adapter = new OtelAdapter(api, { tracerProvider, meterProvider });
    } catch (error) {
      process.emitWarning(`clusterip: telemetry is off: ${String(error)}`, 'ClusterIPWarning');
      return OFF;
    }
    entry = { adapter, holders: 0 };
    byMeter.set(mk, entry);
  }
  entry.holders++;
  const held = entry;
  const meters = byMeter;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      held.holders--;
      if (held.holders > 0) return;
      held.adapter.close();
      meters.delete(mk);
      if (meters.size === 0) adapters.delete(tk);
    })();
    return closing;
  };
  return {
    get tracing() {
      return held.adapter.tracing;
    },
    get metrics() {
      return held.adapter.metrics;
    },
    refresh: () => held.adapter.refresh(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
