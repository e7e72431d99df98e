// Test helper: an OpenTelemetry SDK 2.12 with in-memory exporters — tracer and meter providers given to
// the code under test (not registered globally), spans read back, metrics collected on demand.
import { type Attributes, context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { ExecutionContext } from 'ava';

class TestMetricReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

let globalsSet = false;

/**
 * Register, once per process, what an application's OTel setup registers globally besides providers: an
 * AsyncLocalStorage context manager and the W3C trace-context propagator.
 */
export function installOtelGlobals(): void {
  if (globalsSet) return;
  globalsSet = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/** An in-memory OTel SDK of one test. */
export interface TestOtel {
  readonly tracerProvider: BasicTracerProvider;
  readonly meterProvider: MeterProvider;
  readonly exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  /** Collect every metric now (cumulative). */
  metrics(): Promise<MetricData[]>;
  /** One metric's data points (empty when not recorded). */
  points(name: string): Promise<DataPoint<unknown>[]>;
}

export function createTestOtel(t: ExecutionContext): TestOtel {
  installOtelGlobals();
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new TestMetricReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  t.teardown(async () => {
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  });
  const metrics = async () => {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  };
  return {
    tracerProvider,
    meterProvider,
    exporter,
    spans: () => exporter.getFinishedSpans(),
    metrics,
    points: async (name) => (await metrics()).find((m) => m.descriptor.name === name)?.dataPoints ?? [],
  };
}

/** Sum of a counter's points whose attributes include `match`. */
export function sumOf(points: DataPoint<unknown>[], match: Attributes = {}): number {
  let sum = 0;
  for (const p of points) {
    if (Object.entries(match).every(([k, v]) => p.attributes[k] === v)) sum += p.value as number;
  }
  return sum;
}

/** Total count of a histogram's points whose attributes include `match`. */
export function countOf(points: DataPoint<unknown>[], match: Attributes = {}): number {
  let n = 0;
  for (const p of points) {
    if (Object.entries(match).every(([k, v]) => p.attributes[k] === v)) n += (p.value as Histogram).count;
  }
  return n;
}
