// Example (telemetry): the OpenTelemetry Node SDK set up before the app loads — console exporters so the
// example runs offline. Consumes OTEL_SERVICE_NAME-style settings; produces the global providers Mesh uses.

import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { metrics, NodeSDK, tracing } from '@opentelemetry/sdk-node';

/**
 * The started SDK: `Mesh` picks up its global tracer and meter providers by default.
 *
 * @example
 * ```ts
 * import { sdk } from './telemetry.js' // first import of the app
 * // … at exit
 * await sdk.shutdown() // flushes spans and metrics
 * ```
 */
export const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME ?? 'frontend',
  // Offline: print spans as they end. In production use an OTLP exporter instead, e.g.
  // `traceExporter: new OTLPTraceExporter()` from @opentelemetry/exporter-trace-otlp-http.
  spanProcessors: [new tracing.SimpleSpanProcessor(new tracing.ConsoleSpanExporter())],
  // Metrics are exported at shutdown here (the interval is longer than the example runs).
  metricReaders: [
    new metrics.PeriodicExportingMetricReader({
      exporter: new metrics.ConsoleMetricExporter(),
      exportIntervalMillis: 60_000,
    }),
  ],
  instrumentations: [
    // CLIENT spans for undici/fetch requests; the mesh adds its routing span and attributes around them
    // and does not create a second CLIENT span. The SDK starts its own Kubernetes API list/watch requests
    // with tracing suppressed, so they never show up here.
    new UndiciInstrumentation(),
  ],
});
sdk.start();
