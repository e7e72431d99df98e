// Telemetry (leaf): runs the SDK's own plumbing requests (Kubernetes API list/watch) with OpenTelemetry
// tracing suppressed. Consumes the optional `@opentelemetry/api`; produces a `RunRequest` wrapper.

import { loadOtelApi } from './otel-api.js';

/**
 * The context key `@opentelemetry/core`'s `suppressTracing()` sets (its `SUPPRESS_TRACING_KEY`). Context keys
 * are `Symbol.for(description)`, so the API alone builds the same key, and instrumentations that check
 * `isTracingSuppressed()` (instrumentation-undici, http) honour it without the SDK depending on core.
 */
const SUPPRESS_TRACING_DESCRIPTION = 'OpenTelemetry SDK Context Key SUPPRESS_TRACING';

/**
 * Run `start` (the synchronous start of an HTTP request) in the active OpenTelemetry context with tracing
 * suppressed, so that instrumentations create no span for it: a Kubernetes watch lasts minutes and belongs
 * to no user trace. Without `@opentelemetry/api` installed, runs `start` as is. Passed to
 * `KubernetesSource.wrapRequests()` by `Mesh`.
 *
 * @example
 * ```ts
 * source.wrapRequests(runWithoutTracing)
 * ```
 */
export function runWithoutTracing<T>(start: () => T): T {
  const api = loadOtelApi();
  if (api === undefined) return start();
  const key = api.createContextKey(SUPPRESS_TRACING_DESCRIPTION);
  return api.context.with(api.context.active().setValue(key, true), start);
}
