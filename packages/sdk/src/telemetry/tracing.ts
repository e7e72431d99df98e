// Telemetry (leaf): spans and trace-context propagation for routing decisions. Consumes the transports'
// channel messages (through the adapter); produces an INTERNAL span (or attributes on the caller's CLIENT
// span) per request, one CLIENT span per HTTP attempt when instrumentation-undici is absent, and events.

import type { Endpoint } from '@clusterip/resolver';
import type { Attributes, Context, Span, TextMapGetter, TextMapSetter, Tracer } from '@opentelemetry/api';
import type {
  GrpcCallEndMessage,
  GrpcMetadataLike,
  GrpcPickMessage,
  HttpAttemptEndMessage,
  HttpAttemptMessage,
  HttpRequestEndMessage,
  HttpRequestMessage,
} from './channels.js';
import type { OtelApiModule } from './otel-api.js';
import {
  ATTR_CLUSTERIP_ATTEMPT,
  ATTR_CLUSTERIP_ATTEMPTS,
  ATTR_CLUSTERIP_ENDPOINT_NODE,
  ATTR_CLUSTERIP_ENDPOINT_POD,
  ATTR_CLUSTERIP_ENDPOINT_ZONE,
  ATTR_CLUSTERIP_RETRY,
  ATTR_CLUSTERIP_STOP_REASON,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_RPC_GRPC_STATUS_CODE,
  ATTR_RPC_SYSTEM,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
  ATTR_URL_SCHEME,
} from './semconv.js';

/** Per-request tracing state (kept by the adapter in a WeakMap keyed by the request message). */
export interface HttpCallTrace {
  /** The span carrying the routing decision: ours (INTERNAL) or the caller's CLIENT span. */
  readonly span: Span;
  readonly own: boolean;
  /** Context with `span` active: parent of every attempt. */
  readonly context: Context;
  attemptSpan: Span | undefined;
}

/** Per-pick tracing state of a gRPC call attempt. */
export interface GrpcPickTrace {
  readonly span: Span;
  readonly own: boolean;
}

const headerSetter: TextMapSetter<HttpAttemptMessage> = {
  set: (carrier, key, value) => carrier.setHeader(key, value),
};

const metadataSetter: TextMapSetter<GrpcMetadataLike> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const metadataGetter: TextMapGetter<GrpcMetadataLike> = {
  get: (carrier, key) => {
    const values = carrier.get(key);
    if (values.length === 0) return undefined;
    const first = values[0];
    return typeof first === 'string' ? first : undefined;
  },
  keys: () => [],
};

/**
 * Attributes of the endpoint a pick chose: address, port and, when known, pod, node and zone.
 *
 * @example
 * ```ts
 * span.setAttributes(endpointAttributes(pick.endpoint, {}))
 * ```
 */
export function endpointAttributes(endpoint: Endpoint, into: Attributes): Attributes {
  into[ATTR_NETWORK_PEER_ADDRESS] = endpoint.address;
  into[ATTR_NETWORK_PEER_PORT] = endpoint.port;
  const ref = endpoint.targetRef;
  if (ref !== undefined && ref.kind === 'Pod') into[ATTR_CLUSTERIP_ENDPOINT_POD] = ref.name;
  if (endpoint.nodeName !== undefined) into[ATTR_CLUSTERIP_ENDPOINT_NODE] = endpoint.nodeName;
  if (endpoint.zone !== undefined) into[ATTR_CLUSTERIP_ENDPOINT_ZONE] = endpoint.zone;
  return into;
}

/**
 * Spans of routed requests. Never creates a second CLIENT span next to an instrumentation's: HTTP attempt
 * spans are made only when instrumentation-undici is absent, and gRPC picks annotate the instrumentation's
 * span when it is the active one.
 *
 * @example
 * ```ts
 * const tracing = new RoutingTracer(api, tracerProvider.getTracer('@clusterip/sdk'))
 * const call = tracing.httpRequest(message, serviceAttributes)
 * ```
 */
export class RoutingTracer {
  readonly #api: OtelApiModule;
  readonly #tracer: Tracer;
  /** Metadata objects whose trace headers we set (a re-pick of the same call may set them again). */
  readonly #injected = new WeakSet<object>();

  constructor(api: OtelApiModule, tracer: Tracer) {
    this.#api = api;
    this.#tracer = tracer;
  }

  #isClient(span: Span | undefined): span is Span {
    return span !== undefined && (span as { kind?: unknown }).kind === this.#api.SpanKind.CLIENT && span.isRecording();
  }

  // ── HTTP ────────────────────────────────────────────────────────────────────────────────────────

  /** A request starts: annotate the caller's CLIENT span, or open an INTERNAL span for the logical request. */
  httpRequest(msg: HttpRequestMessage, service: Attributes): HttpCallTrace {
    const api = this.#api;
    const active = api.context.active();
    const current = api.trace.getSpan(active);
    const attributes: Attributes = {
      ...service,
      [ATTR_SERVER_ADDRESS]: msg.hostname,
      [ATTR_SERVER_PORT]: msg.port,
      [ATTR_HTTP_REQUEST_METHOD]: msg.method,
    };
    if (this.#isClient(current)) {
      current.setAttributes(attributes);
      return { span: current, own: false, context: active, attemptSpan: undefined };
    }
    const span = this.#tracer.startSpan(
      `clusterip route ${msg.service}`,
      { kind: api.SpanKind.INTERNAL, attributes },
      active,
    );
    return { span, own: true, context: api.trace.setSpan(active, span), attemptSpan: undefined };
  }

  /**
   * An attempt is dispatched: a `clusterip.pick` event (and the latest decision as attributes) on the
   * request's span; without instrumentation-undici a CLIENT span for the attempt and trace headers.
   */
  httpAttempt(call: HttpCallTrace, msg: HttpAttemptMessage, pick: Attributes, undiciInstrumented: boolean): void {
    const api = this.#api;
    call.span.addEvent('clusterip.pick', pick);
    call.span.setAttributes(pick);
    let context = call.context;
    if (!undiciInstrumented) {
      const r = msg.request;
      const attributes: Attributes = {
        [ATTR_HTTP_REQUEST_METHOD]: r.method,
        [ATTR_SERVER_ADDRESS]: r.hostname,
        [ATTR_SERVER_PORT]: r.port,
        [ATTR_URL_SCHEME]: r.scheme,
        [ATTR_URL_FULL]: `${r.scheme}://${r.hostname}:${r.port}${redactQuery(r.path)}`,
        [ATTR_CLUSTERIP_ATTEMPT]: msg.attempt,
      };
      endpointAttributes(msg.endpoint, attributes);
      if (msg.attempt > 1) attributes[ATTR_HTTP_REQUEST_RESEND_COUNT] = msg.attempt - 1;
      const span = this.#tracer.startSpan(r.method, { kind: api.SpanKind.CLIENT, attributes }, context);
      call.attemptSpan = span;
      context = api.trace.setSpan(context, span);
      // The caller's own traceparent wins; otherwise every attempt carries its own span's context.
      if (!r.traceparent) api.propagation.inject(context, msg, headerSetter);
    } else {
      // instrumentation-undici makes (and propagates) the CLIENT span when undici builds the Request, in
      // the context active at dispatch: make that the request's span so the attempt is its child.
      msg.wrap ??= (dispatch) => api.context.with(context, dispatch);
    }
  }

  httpAttemptEnd(call: HttpCallTrace, msg: HttpAttemptEndMessage): void {
    const api = this.#api;
    const span = call.attemptSpan;
    call.attemptSpan = undefined;
    const errorType = msg.error === undefined ? undefined : errorTypeOf(msg.error);
    if (span !== undefined) {
      if (msg.status !== undefined) {
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, msg.status);
        if (msg.status >= 400) {
          span.setAttribute(ATTR_ERROR_TYPE, String(msg.status));
          span.setStatus({ code: api.SpanStatusCode.ERROR });
        }
      }
      if (errorType !== undefined) {
        span.setAttribute(ATTR_ERROR_TYPE, errorType);
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: msg.error!.message });
      }
      span.end();
    }
    if (msg.retry || errorType !== undefined) {
      const attributes: Attributes = {
        [ATTR_CLUSTERIP_ATTEMPT]: msg.attempt.attempt,
        [ATTR_CLUSTERIP_RETRY]: msg.retry,
      };
      if (msg.status !== undefined) attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = msg.status;
      if (errorType !== undefined) attributes[ATTR_ERROR_TYPE] = errorType;
      call.span.addEvent('clusterip.attempt.failed', attributes);
    }
  }

  httpRequestEnd(call: HttpCallTrace, msg: HttpRequestEndMessage): void {
    const api = this.#api;
    call.attemptSpan?.end();
    call.attemptSpan = undefined;
    const span = call.span;
    span.setAttribute(ATTR_CLUSTERIP_ATTEMPTS, msg.attempts);
    if (msg.stopReason !== undefined) span.setAttribute(ATTR_CLUSTERIP_STOP_REASON, msg.stopReason);
    if (!call.own) return;
    if (msg.status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, msg.status);
    if (msg.error !== undefined) {
      span.setAttribute(ATTR_ERROR_TYPE, errorTypeOf(msg.error));
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: msg.error.message });
    }
    span.end();
  }

  // ── gRPC ────────────────────────────────────────────────────────────────────────────────────────

  /**
   * A gRPC pick: when the call carries trace headers already (instrumentation-grpc injects them before the
   * pick), annotate its span if it is the active one, else open an INTERNAL span under it; when it carries
   * none, annotate an active CLIENT span or open an INTERNAL span under the active context, and inject.
   */
  grpcPick(msg: GrpcPickMessage, pick: Attributes): GrpcPickTrace {
    const api = this.#api;
    const md = msg.metadata;
    const active = api.context.active();
    const current = api.trace.getSpan(active);
    let carried = false;
    if (!this.#injected.has(md)) {
      for (const field of api.propagation.fields()) {
        if (md.get(field).length > 0) {
          carried = true;
          break;
        }
      }
    }
    const attributes: Attributes = { ...pick, [ATTR_RPC_SYSTEM]: 'grpc' };
    if (carried) {
      const parent = api.propagation.extract(api.ROOT_CONTEXT, md, metadataGetter);
      const remote = api.trace.getSpanContext(parent);
      if (current?.isRecording() && current.spanContext().spanId === remote?.spanId) {
        current.addEvent('clusterip.pick', attributes);
        current.setAttributes(attributes);
        return { span: current, own: false };
      }
      const span = this.#tracer.startSpan(
        `clusterip pick ${msg.service}`,
        { kind: api.SpanKind.INTERNAL, attributes },
        parent,
      );
      return { span, own: true };
    }
    let result: GrpcPickTrace;
    let context: Context;
    if (this.#isClient(current)) {
      current.addEvent('clusterip.pick', attributes);
      current.setAttributes(attributes);
      result = { span: current, own: false };
      context = active;
    } else {
      const span = this.#tracer.startSpan(
        `clusterip pick ${msg.service}`,
        { kind: api.SpanKind.INTERNAL, attributes },
        active,
      );
      result = { span, own: true };
      context = api.trace.setSpan(active, span);
    }
    api.propagation.inject(context, md, metadataSetter);
    this.#injected.add(md);
    return result;
  }

  grpcCallEnd(pick: GrpcPickTrace, msg: GrpcCallEndMessage): void {
    if (!pick.own) return;
    const span = pick.span;
    span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, msg.code);
    if (msg.code !== 0) span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: msg.details });
    span.end();
  }

  // ── topology events ─────────────────────────────────────────────────────────────────────────────

  /**
   * A discovery or health event outside any request (endpoint-set change, relist, reconnect, staleness,
   * ejection): a short INTERNAL span carrying one event, so that it shows next to the traces it explains.
   */
  event(name: string, attributes: Attributes): void {
    const api = this.#api;
    const span = this.#tracer.startSpan(name, { kind: api.SpanKind.INTERNAL, attributes, root: true });
    span.addEvent(name, attributes);
    span.end();
  }
}

/**
 * `error.type`: the error's code (undici `UND_ERR_*`, `ECONNREFUSED`, `CLUSTERIP_ERR_*`), else its name.
 *
 * @example
 * ```ts
 * errorTypeOf(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })) // 'ECONNREFUSED'
 * ```
 */
export function errorTypeOf(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : error.name || 'Error';
}

/**
 * Query values redacted in `url.full` (each value → `REDACTED`): the keys OpenTelemetry's HTTP conventions
 * list (`AWSAccessKeyId`, `Signature`, `sig`, `X-Goog-Signature`: signed URLs of S3, Azure, GCS), and the
 * S3 SigV4 presigned ones they leave out (`X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`).
 * Keys match exactly, as written; a percent-encoded key is not recognised.
 */
const SENSITIVE_QUERY =
  /([?&](?:AWSAccessKeyId|Signature|sig|X-Goog-Signature|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&#]*/g;

/** `path` (with its query) as `url.full` may carry it. */
export function redactQuery(path: string): string {
  return path.includes('?') ? path.replace(SENSITIVE_QUERY, '$1REDACTED') : path;
}
