// Local cluster: optional OpenTelemetry for the built-in images: extract W3C context from incoming
// headers/metadata and run the handler in a SERVER span. Consumes `@opentelemetry/api` if importable.

/** The part of `@opentelemetry/api` the images use. */
interface OtelApi {
  readonly ROOT_CONTEXT: unknown;
  readonly SpanKind: { readonly SERVER: number };
  readonly SpanStatusCode: { readonly ERROR: number };
  readonly propagation: { extract(context: unknown, carrier: unknown, getter?: unknown): unknown };
  readonly trace: {
    getTracer(name: string): {
      startActiveSpan<T>(
        name: string,
        options: { kind: number; attributes?: Record<string, string | number> },
        context: unknown,
        fn: (span: OtelSpan) => T,
      ): T;
    };
  };
}

interface OtelSpan {
  setAttribute(key: string, value: string | number): void;
  setStatus(status: { code: number; message?: string }): void;
  end(): void;
}

/** Tracer name of the spans the built-in images create. */
export const TRACER_NAME = 'clusterip-local-cluster';

let loading: Promise<OtelApi | undefined> | undefined;

/** `@opentelemetry/api`, or undefined when it is not installed (it is an optional peer). */
export function loadOtel(): Promise<OtelApi | undefined> {
  loading ??= import('@opentelemetry/api').then(
    (m) => m as unknown as OtelApi,
    () => undefined,
  );
  return loading;
}

/** A getter over gRPC metadata (`get(key)` returns an array of values). */
const metadataGetter = {
  keys: (carrier: { getMap(): Record<string, unknown> }) => Object.keys(carrier.getMap()),
  get: (carrier: { get(key: string): unknown[] }, key: string) => {
    const values = carrier.get(key).map(String);
    return values.length === 0 ? undefined : values;
  },
};

/**
 * Run `handler` inside a SERVER span whose parent is the context propagated in `carrier` (plain
 * HTTP headers, or gRPC Metadata with `metadata: true`). Without OTel the handler just runs.
 * `handler` reports its outcome through the `finish` callback it receives (status code, error flag).
 */
export async function withServerSpan<T>(
  name: string,
  carrier: unknown,
  attributes: Record<string, string | number>,
  options: { metadata?: boolean },
  handler: (finish: (attributes: Record<string, string | number>, error?: string) => void) => Promise<T>,
): Promise<T> {
  const otel = await loadOtel();
  if (otel === undefined) return handler(() => {});
  const parent = options.metadata
    ? otel.propagation.extract(otel.ROOT_CONTEXT, carrier, metadataGetter)
    : otel.propagation.extract(otel.ROOT_CONTEXT, carrier);
  return otel.trace
    .getTracer(TRACER_NAME)
    .startActiveSpan(name, { kind: otel.SpanKind.SERVER, attributes }, parent, async (span) => {
      let ended = false;
      const finish = (extra: Record<string, string | number>, error?: string) => {
        if (ended) return;
        ended = true;
        for (const [k, v] of Object.entries(extra)) span.setAttribute(k, v);
        if (error !== undefined) span.setStatus({ code: otel.SpanStatusCode.ERROR, message: error });
        span.end();
      };
      try {
        return await handler(finish);
      } finally {
        finish({});
      }
    });
}
