// Fake Kubernetes API: the request log entry tests assert on (what a client asked for, secrets removed).
// Consumes an incoming HTTP request and its response; produces a `RequestRecord`.

import type { IncomingMessage, ServerResponse } from 'node:http';

/** One request as the fake received it. `Authorization` and `Cookie` headers are never recorded. */
export interface RequestRecord {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Pathname without the query string, e.g. `/api/v1/namespaces/default/services`. */
  readonly path: string;
  /** Query parameters (the last value wins when a key repeats). */
  readonly query: Readonly<Record<string, string>>;
  /** Lower-case header names; `authorization` and `cookie` are left out. */
  readonly headers: Readonly<Record<string, string>>;
  /** True for a list request with `watch=1|true` (or a `/watch/` legacy path). */
  readonly watch: boolean;
  /** True when the request carried an `Authorization` header (its value is not kept). */
  readonly authenticated: boolean;
  /** Server clock (`now()`) when the request arrived. */
  readonly time: number;
  /**
   * HTTP status code of the response, so tests can tell accepted requests from rejected ones:
   * `200` once a list is answered or a watch stream has opened, `401` for a missing or wrong token,
   * `410` for an expired resourceVersion, the injected code of `failNext()`, and so on.
   * `undefined` while no response head was sent (the request is still being handled, stalled or
   * slowed) and for requests that never got one (`disconnectNext()`, a socket destroyed by `close()`).
   * The record is read-only; this field is the one that changes after the request was logged.
   *
   * @example
   * ```ts
   * api.requests.filter((r) => r.status === 401).length // requests refused for their token
   * ```
   */
  readonly status: number | undefined;
}

const SECRET_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** True for `1`, `t`, `true` (any case), like Go's strconv.ParseBool. */
export function queryFlag(value: string | undefined): boolean {
  return value !== undefined && /^(1|t|true)$/i.test(value);
}

/**
 * Build the record of `req` (the pathname is taken after any `/watch/` legacy prefix is noted).
 * With `res`, `status` follows the response: live while it is open, fixed when it closes (the
 * response is not referenced any longer after that, so the bounded log keeps no sockets alive).
 */
export function recordRequest(req: IncomingMessage, time: number, res?: ServerResponse): RequestRecord {
  const url = new URL(req.url ?? '/', 'http://fake.invalid');
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (SECRET_HEADERS.has(k) || v === undefined) continue;
    headers[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  const legacyWatch = /^\/apis?\/(?:[^/]+\/)?v1\/watch\//.test(url.pathname);
  let live: ServerResponse | undefined = res;
  let final: number | undefined;
  res?.once('close', () => {
    final = res.headersSent ? res.statusCode : undefined;
    live = undefined;
  });
  return Object.freeze({
    method: (req.method ?? 'GET').toUpperCase(),
    path: url.pathname,
    query: Object.freeze(query),
    headers: Object.freeze(headers),
    watch: legacyWatch || queryFlag(query.watch),
    authenticated: req.headers.authorization !== undefined,
    time,
    // An enumerable getter: JSON.stringify and object spread see the current value.
    get status(): number | undefined {
      if (live === undefined) return final;
      return live.headersSent ? live.statusCode : undefined;
    },
  });
}
