// Telemetry (leaf): the optional `@opentelemetry/api` peer, loaded on first use. Consumes nothing; produces
// the API module, or undefined when it is not installed (then telemetry is simply off).

import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';

/** The `@opentelemetry/api` module. */
export type OtelApiModule = typeof OtelApi;

let loaded: OtelApiModule | null | undefined;

/**
 * The `@opentelemetry/api` module the application resolves from this package, or undefined when it is not
 * installed. Loaded synchronously once, on the first call (nothing is loaded by importing the SDK). The
 * API's CommonJS entry is used: every copy of the API shares its globals (`Symbol.for('opentelemetry.js.api.1')`),
 * so this sees the providers the application registered through its own ESM import.
 *
 * @example
 * ```ts
 * const api = loadOtelApi()
 * if (api !== undefined) api.trace.getTracer('x')
 * ```
 */
export function loadOtelApi(): OtelApiModule | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as OtelApiModule;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}
