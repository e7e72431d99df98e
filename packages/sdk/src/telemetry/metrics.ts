// Telemetry (leaf): the SDK's OpenTelemetry instruments. Consumes a Meter and the adapter's per-Service
// state; produces counters, histograms and observable gauges with low-cardinality attributes only.

import type { Attributes, Counter, Histogram, Meter, ObservableResult } from '@opentelemetry/api';
import type { EndpointCounts } from './channels.js';
import type { OtelApiModule } from './otel-api.js';
import {
  ATTR_CLUSTERIP_ENDPOINT_STATE,
  METRIC_CLUSTERIP_CIRCUIT_OPENS,
  METRIC_CLUSTERIP_EJECTIONS,
  METRIC_CLUSTERIP_ENDPOINTS,
  METRIC_CLUSTERIP_PICKS,
  METRIC_CLUSTERIP_PROPAGATION_DELAY,
  METRIC_CLUSTERIP_RETRIES,
  METRIC_CLUSTERIP_RETRY_BUDGET_EXHAUSTED,
  METRIC_CLUSTERIP_STALENESS,
  METRIC_CLUSTERIP_WATCH_FAILURES,
  METRIC_CLUSTERIP_WATCH_RECONNECTS,
  METRIC_CLUSTERIP_WATCH_RELISTS,
  METRIC_HTTP_CLIENT_REQUEST_DURATION,
  METRIC_RPC_CLIENT_DURATION,
} from './semconv.js';

/** What the adapter knows about one Service port (shared by tracing attributes and gauges). */
export interface ServiceState {
  /** `k8s.namespace.name` / `k8s.service.name` (and nothing per pod). */
  readonly attributes: Attributes;
  counts: EndpointCounts | undefined;
  /** Endpoints (`address:port`) ejected by outlier detection now. */
  readonly ejected: Set<string>;
  /** From the resolver's snapshots: stale flag and last sync (`Date.now()` clock). */
  stale: boolean;
  syncedAt: number | undefined;
}

const STATES = ['ready', 'serving', 'terminating', 'ejected'] as const;

/**
 * The instruments. Attributes are per Service (namespace, name), policy, affinity result, transport,
 * method and status: never a pod IP or name, so series stay bounded by the number of Services.
 *
 * @example
 * ```ts
 * const m = new MeshMetrics(api, meterProvider.getMeter('@clusterip/sdk'), () => services.values())
 * m.picks.add(1, { 'k8s.service.name': 'web', 'clusterip.affinity': 'none' })
 * ```
 */
export class MeshMetrics {
  readonly picks: Counter;
  readonly retries: Counter;
  readonly budgetExhausted: Counter;
  readonly ejections: Counter;
  readonly circuitOpens: Counter;
  readonly watchReconnects: Counter;
  readonly watchRelists: Counter;
  readonly watchFailures: Counter;
  readonly propagation: Histogram;
  readonly httpDuration: Histogram;
  readonly rpcDuration: Histogram;
  readonly #observe: (result: ObservableResult) => void;
  readonly #observeStaleness: (result: ObservableResult) => void;
  readonly #gauges: { removeCallback(cb: (r: ObservableResult) => void): void }[];

  constructor(api: OtelApiModule, meter: Meter, services: () => Iterable<ServiceState>) {
    const int = api.ValueType.INT;
    this.picks = meter.createCounter(METRIC_CLUSTERIP_PICKS, {
      description: 'Endpoint picks, by Service, policy, affinity result (hit, miss, none) and transport',
      unit: '{pick}',
      valueType: int,
    });
    this.retries = meter.createCounter(METRIC_CLUSTERIP_RETRIES, {
      description: 'Requests sent again to another endpoint after a failed attempt',
      unit: '{retry}',
      valueType: int,
    });
    this.budgetExhausted = meter.createCounter(METRIC_CLUSTERIP_RETRY_BUDGET_EXHAUSTED, {
      description: 'Requests that failed without a retry because the Service retry budget was spent',
      unit: '{request}',
      valueType: int,
    });
    this.ejections = meter.createCounter(METRIC_CLUSTERIP_EJECTIONS, {
      description: 'Endpoints ejected by outlier detection',
      unit: '{ejection}',
      valueType: int,
    });
    this.circuitOpens = meter.createCounter(METRIC_CLUSTERIP_CIRCUIT_OPENS, {
      description: 'Times a Service circuit breaker opened (a failed half-open trial reopens it)',
      unit: '{open}',
      valueType: int,
    });
    this.watchReconnects = meter.createCounter(METRIC_CLUSTERIP_WATCH_RECONNECTS, {
      description: 'Kubernetes watches re-established from the last resourceVersion (no relist)',
      unit: '{reconnect}',
      valueType: int,
    });
    this.watchRelists = meter.createCounter(METRIC_CLUSTERIP_WATCH_RELISTS, {
      description: 'Kubernetes lists after the first one (410 Gone, malformed stream, recovery)',
      unit: '{list}',
      valueType: int,
    });
    this.watchFailures = meter.createCounter(METRIC_CLUSTERIP_WATCH_FAILURES, {
      description: 'Failed Kubernetes list or watch requests (retried with backoff; endpoints served stale)',
      unit: '{failure}',
      valueType: int,
    });
    this.propagation = meter.createHistogram(METRIC_CLUSTERIP_PROPAGATION_DELAY, {
      description:
        'Time from an EndpointSlice change (endpoints.kubernetes.io/last-change-trigger-time) to this client reading it',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] },
    });
    this.httpDuration = meter.createHistogram(METRIC_HTTP_CLIENT_REQUEST_DURATION, {
      description: 'Duration of HTTP client requests (per attempt; recorded only without instrumentation-undici)',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] },
    });
    this.rpcDuration = meter.createHistogram(METRIC_RPC_CLIENT_DURATION, {
      description: 'Duration of gRPC client call attempts, pick to status (instrumentation-grpc records none)',
      unit: 'ms',
      advice: { explicitBucketBoundaries: [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000] },
    });
    const endpoints = meter.createObservableGauge(METRIC_CLUSTERIP_ENDPOINTS, {
      description:
        'Endpoints of each Service port by state (ready, serving, terminating: overlapping conditions; ejected)',
      unit: '{endpoint}',
      valueType: int,
    });
    const staleness = meter.createObservableGauge(METRIC_CLUSTERIP_STALENESS, {
      description: 'Age of the endpoint set served while discovery cannot reach its backend (0 when fresh)',
      unit: 's',
    });
    this.#observe = (result) => {
      for (const s of services()) {
        const c = s.counts;
        if (c === undefined) continue;
        for (const state of STATES) {
          const value = state === 'ejected' ? s.ejected.size : c[state];
          result.observe(value, { ...s.attributes, [ATTR_CLUSTERIP_ENDPOINT_STATE]: state });
        }
      }
    };
    this.#observeStaleness = (result) => {
      const now = Date.now();
      for (const s of services()) {
        if (s.syncedAt === undefined) continue;
        result.observe(s.stale ? Math.max(0, now - s.syncedAt) / 1000 : 0, s.attributes);
      }
    };
    endpoints.addCallback(this.#observe);
    staleness.addCallback(this.#observeStaleness);
    this.#gauges = [endpoints, staleness];
  }

  /** Detach the gauge callbacks (the meter keeps the instruments, which then report nothing). */
  close(): void {
    const [endpoints, staleness] = this.#gauges;
    endpoints?.removeCallback(this.#observe);
    staleness?.removeCallback(this.#observeStaleness);
  }
}
