// ⑤ Eligible endpoints: the one outcome classifier. Transport adapters (HTTP, gRPC) describe how a call
// ended as a `CallOutcome`; `classify()` turns it into success / failure / ignore for breakers, load and metrics.

/**
 * How one call to one endpoint ended, as a transport adapter reports it through `PickResult.done()`.
 * Both the HTTP dispatcher and the gRPC plugin can produce every variant; adapters that already know
 * the verdict may pass `success` / `failure` directly.
 *
 * `latencyMs` (time from sending to the end of the response headers, or to the error) is optional:
 * when absent the balancer measures from `pick()` to `done()` with its own clock.
 *
 * @example
 * ```ts
 * r.done({ type: 'http', status: res.statusCode, latencyMs: 12 })
 * r.done({ type: 'error', error }) // e.g. ECONNREFUSED: counts against the endpoint
 * r.done({ type: 'cancelled' })    // the caller aborted: releases load, judges nothing
 * ```
 */
export type CallOutcome =
  | { readonly type: 'success'; readonly latencyMs?: number }
  | { readonly type: 'failure'; readonly reason?: FailureReason; readonly latencyMs?: number }
  /** An HTTP response arrived with this status. */
  | { readonly type: 'http'; readonly status: number; readonly latencyMs?: number }
  /** A gRPC call ended with this status code (numeric, as `@grpc/grpc-js` `status`). */
  | { readonly type: 'grpc'; readonly code: number; readonly latencyMs?: number }
  /** The call failed below HTTP/gRPC (connect, reset, timeout). `error.code` is inspected. */
  | { readonly type: 'error'; readonly error: unknown; readonly latencyMs?: number }
  /** The caller gave up (abort, deadline set by the caller); says nothing about the endpoint. */
  | { readonly type: 'cancelled'; readonly latencyMs?: number };

/** Why a call counted as an endpoint failure. */
export type FailureReason = 'connect' | 'reset' | 'timeout' | 'http-5xx' | 'grpc-unavailable' | 'other';

/** The verdict: `ignore` outcomes release load but feed neither ejection nor latency. */
export type OutcomeClass = 'success' | 'failure' | 'ignore';

/** gRPC status codes we look at (values from the gRPC spec, same in every language). */
const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

// Node/undici error codes that mean "this endpoint did not serve the call". Anything else with an
// `error` outcome is also a failure (the adapter only reports transport errors there), except aborts.
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  // Http2ConnectError: the connection closed before it became HTTP/2; nothing was sent on it.
  'CLUSTERIP_ERR_HTTP2_CONNECT',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ERR_HTTP2_STREAM_ERROR']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const ABORT_CODES = new Set(['ABORT_ERR', 'UND_ERR_ABORTED', 'ERR_CANCELED']);
/** An HTTP/2 stream the endpoint closed unprocessed (StreamRefusedError): a connection rotation, not ill health. */
const STREAM_REFUSED = 'CLUSTERIP_ERR_STREAM_REFUSED';

/**
 * Classify a call outcome (the single classifier shared by outlier detection, retries and metrics):
 * HTTP 5xx, gRPC `UNAVAILABLE` and `DEADLINE_EXCEEDED`, connect errors, resets and transport timeouts are
 * failures (a deadline that expires on a call the endpoint took is gRPC's headers timeout: a pod that hangs
 * must be ejectable, as in Envoy, which maps it to 504, and grpc's outlier detection, which counts every
 * status but OK);
 * other HTTP statuses and gRPC codes are successes (the endpoint answered); cancellations, and HTTP/2
 * streams the endpoint refused unprocessed (a GOAWAY as it rotates or closes a connection), are ignored.
 *
 * @example
 * ```ts
 * classify({ type: 'http', status: 503 })            // 'failure'
 * classify({ type: 'grpc', code: 5 })                // 'success' (NOT_FOUND is an answer)
 * classify({ type: 'error', error: { code: 'ECONNREFUSED' } }) // 'failure'
 * ```
 */
export function classify(outcome: CallOutcome): OutcomeClass {
  switch (outcome.type) {
    case 'success':
      return 'success';
    case 'failure':
      return 'failure';
    case 'http':
      return outcome.status >= 500 && outcome.status <= 599 ? 'failure' : 'success';
    case 'grpc':
      if (outcome.code === GRPC_UNAVAILABLE || outcome.code === GRPC_DEADLINE_EXCEEDED) return 'failure';
      return outcome.code === GRPC_CANCELLED ? 'ignore' : 'success';
    case 'error':
      return isAbort(outcome.error) || errorCode(outcome.error) === STREAM_REFUSED ? 'ignore' : 'failure';
    case 'cancelled':
      return 'ignore';
    default:
      return 'ignore';
  }
}

/**
 * The failure reason of an outcome that {@link classify} calls a failure, for metrics labels;
 * `undefined` for successes and ignored outcomes.
 *
 * @example
 * ```ts
 * failureReason({ type: 'error', error: { code: 'ECONNRESET' } }) // 'reset'
 * ```
 */
export function failureReason(outcome: CallOutcome): FailureReason | undefined {
  if (classify(outcome) !== 'failure') return undefined;
  switch (outcome.type) {
    case 'failure':
      return outcome.reason ?? 'other';
    case 'http':
      return 'http-5xx';
    case 'grpc':
      return outcome.code === GRPC_DEADLINE_EXCEEDED ? 'timeout' : 'grpc-unavailable';
    case 'error': {
      const code = errorCode(outcome.error);
      if (code === undefined) return 'other';
      if (CONNECT_CODES.has(code)) return 'connect';
      if (RESET_CODES.has(code)) return 'reset';
      if (TIMEOUT_CODES.has(code)) return 'timeout';
      return 'other';
    }
    default:
      return 'other';
  }
}

/**
 * True when an error code means no byte of the request reached the endpoint, or none was processed: a
 * connect failure, the endpoint's pool closed (removed endpoint) before the request was written, or an
 * HTTP/2 stream refused unprocessed. Such a call may be sent to another endpoint whatever its method. The
 * one list of connect codes serves this and `failureReason`.
 *
 * @example
 * ```ts
 * failedBeforeWrite('ECONNREFUSED') // true
 * failedBeforeWrite('ECONNRESET')   // false: the request may have been processed
 * ```
 */
export function failedBeforeWrite(code: string): boolean {
  return CONNECT_CODES.has(code) || code === 'UND_ERR_CLOSED' || code === STREAM_REFUSED;
}

function isAbort(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined && ABORT_CODES.has(code)) return true;
  return (error as { name?: unknown } | null | undefined)?.name === 'AbortError';
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
