// ⑥ Picker: affinity keys. Consumes a transport-agnostic view of one request (headers, gRPC metadata,
// client address); produces the `PickContext.affinityKey` string. The pickers only map key → endpoint.

import { InvalidArgumentError } from '@clusterip/resolver';
import { asRecord, describe, rejectUnknownKeys } from '../internal/options.js';

/**
 * Where {@link affinityKeyFrom} looks for the key. Give at least one source; when several are given they
 * are tried in this fixed order and the first one present wins: `header`, `cookie`, `metadata`, `clientIp`.
 *
 * @example
 * ```ts
 * const options: AffinityKeyOptions = { cookie: 'session', clientIp: true } // cookie, else client address
 * ```
 */
export interface AffinityKeyOptions {
  /** HTTP header name (case-insensitive), e.g. `x-user-id`. */
  readonly header?: string;
  /** Cookie name (case-sensitive, RFC 6265), read from the `Cookie` request header, e.g. `session`. */
  readonly cookie?: string;
  /** gRPC metadata key (case-insensitive; text keys only, not `-bin`), e.g. `x-user-id`. */
  readonly metadata?: string;
  /**
   * Use the client's address (`clientAddress` of the request view) as the key: kube-proxy's ClientIP
   * rule applied to the callers of a proxy or gateway. An IPv4-mapped IPv6 address (`::ffff:10.0.0.9`)
   * gives the same key as the plain IPv4 one.
   */
  readonly clientIp?: boolean;
}

/** A header list: a record as Node's `IncomingMessage.headers`, or name/value pairs (`Headers`, a `Map`). */
export type AffinityHeaders =
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | Iterable<readonly [string, string]>;

/**
 * The little an affinity key needs to know about a request; transports build it from their own objects
 * (undici dispatch options, an `IncomingMessage`, grpc-js `Metadata`).
 *
 * @example
 * ```ts
 * const view: AffinityRequest = {
 *   headers: req.headers,
 *   clientAddress: req.socket.remoteAddress,
 * }
 * const grpcView: AffinityRequest = { metadata: (key) => metadata.get(key) }
 * ```
 */
export interface AffinityRequest {
  readonly headers?: AffinityHeaders;
  /** All values of one metadata key, e.g. `(key) => metadata.get(key)` with grpc-js. Non-strings are skipped. */
  readonly metadata?: (key: string) => readonly unknown[];
  /** The client's IP address, e.g. `socket.remoteAddress`. */
  readonly clientAddress?: string;
}

/** Computes the affinity key of one request, or undefined when no configured source is present. */
export type AffinityKeyFunction = (request: AffinityRequest) => string | undefined;

/** RFC 9110 `token`: header field names and (RFC 6265) cookie names. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** gRPC metadata key characters (after lower-casing), per the gRPC over HTTP/2 spec. */
const METADATA_KEY = /^[0-9a-z_.-]+$/;
/** HTTP optional whitespace around a field value or a cookie pair. */
const OWS = /^[ \t]+|[ \t]+$/g;

interface Sources {
  readonly header: string | undefined;
  readonly cookie: string | undefined;
  readonly metadata: string | undefined;
  readonly clientIp: boolean;
}

/**
 * Build a function that computes a request's affinity key from a header, a cookie, gRPC metadata and/or
 * the client address (conventions §6: keys are computed here, the ring-hash picker and ClientIP affinity
 * only map key → endpoint). Options are validated now (`CLUSTERIP_ERR_INVALID_ARG` naming the option);
 * the returned function is pure, synchronous and never throws for a well-formed view. It returns
 * undefined when no source is present, and the balancer then uses its default (the process key for
 * ClientIP affinity, a random endpoint for `ring-hash`).
 *
 * Details: empty values count as absent (an empty value is skipped, and with none left the next source
 * is tried); header values are trimmed of surrounding whitespace; with several values for a header the
 * first one wins; every `Cookie` field is searched (HTTP/2 may split cookies over several fields, RFC
 * 9113 §8.2.3) and the first cookie of that name wins (RFC 6265 §5.4 sends the most specific path
 * first); a double-quoted cookie
 * value is unquoted and otherwise used as sent (no URL decoding, RFC 6265 defines none). A `Headers`
 * object joins repeated fields with `, `: that joined value is then the first (and only) value.
 *
 * @example
 * ```ts
 * const keyOf = affinityKeyFrom({ cookie: 'session', header: 'x-user-id' })
 * keyOf({ headers: { cookie: 'theme=dark; session=abc123' } }) // 'abc123'
 * keyOf({ headers: { 'X-User-Id': 'u-42' } })                  // 'u-42' (header is tried first)
 * keyOf({ headers: {} })                                      // undefined
 * const r = balancer.pick({ affinityKey: keyOf({ headers: req.headers }) })
 * ```
 */
export function affinityKeyFrom(options: AffinityKeyOptions): AffinityKeyFunction {
  const sources = configure(options);
  return (request) => affinityKey(sources, request);
}

function configure(options: AffinityKeyOptions): Sources {
  const o = asRecord('options', options);
  rejectUnknownKeys('', o, ['header', 'cookie', 'metadata', 'clientIp']);
  const header = name('header', o.header, TOKEN, 'an HTTP header name (RFC 9110 token), e.g. "x-user-id"');
  const cookie = name('cookie', o.cookie, TOKEN, 'a cookie name (RFC 6265 token), e.g. "session"');
  let metadata = name('metadata', o.metadata, TOKEN, 'a gRPC metadata key, e.g. "x-user-id"');
  if (metadata !== undefined) {
    metadata = metadata.toLowerCase();
    if (!METADATA_KEY.test(metadata)) {
      throw new InvalidArgumentError(
        'metadata',
        `metadata must be a gRPC metadata key (0-9 a-z _ . -), got ${describe(o.metadata)}`,
      );
    }
    if (metadata.endsWith('-bin')) {
      throw new InvalidArgumentError(
        'metadata',
        `metadata must name a text key, got ${describe(o.metadata)}: binary (-bin) values cannot be affinity keys`,
      );
    }
  }
  if (o.clientIp !== undefined && typeof o.clientIp !== 'boolean') {
    throw new InvalidArgumentError('clientIp', `clientIp must be a boolean, got ${describe(o.clientIp)}`);
  }
  const clientIp = o.clientIp === true;
  if (header === undefined && cookie === undefined && metadata === undefined && !clientIp) {
    throw new InvalidArgumentError(
      'options',
      'options must name at least one key source: header, cookie, metadata or clientIp: true',
    );
  }
  return Object.freeze({ header: header?.toLowerCase(), cookie, metadata, clientIp });
}

function name(path: string, value: unknown, syntax: RegExp, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !syntax.test(value)) {
    throw new InvalidArgumentError(path, `${path} must be ${what}, got ${describe(value)}`);
  }
  return value;
}

function affinityKey(sources: Sources, request: AffinityRequest): string | undefined {
  const r = asRecord('request', request) as AffinityRequest;
  const headers = r.headers;
  if (headers !== undefined && (headers === null || typeof headers !== 'object')) {
    throw new InvalidArgumentError('request.headers', `request.headers must be an object, got ${describe(headers)}`);
  }
  if (sources.header !== undefined && headers !== undefined) {
    const value = firstHeader(headers, sources.header);
    if (value !== undefined) return value;
  }
  if (sources.cookie !== undefined && headers !== undefined) {
    const value = findCookie(headers, sources.cookie);
    if (value !== undefined) return value;
  }
  if (sources.metadata !== undefined && r.metadata !== undefined) {
    if (typeof r.metadata !== 'function') {
      throw new InvalidArgumentError(
        'request.metadata',
        `request.metadata must be a function (key) => values, got ${describe(r.metadata)}`,
      );
    }
    const values = r.metadata(sources.metadata);
    if (Array.isArray(values)) {
      for (const v of values) {
        if (typeof v === 'string' && v !== '') return v;
      }
    }
  }
  if (sources.clientIp && typeof r.clientAddress === 'string' && r.clientAddress !== '') {
    const a = r.clientAddress;
    // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d: one client, one key.
    return a.length > 7 && a.slice(0, 7).toLowerCase() === '::ffff:' && a.includes('.') ? a.slice(7) : a;
  }
  return undefined;
}

/** Calls `visit` with each value of header `lower` in order until it returns true. */
function eachHeader(headers: AffinityHeaders, lower: string, visit: (value: string) => boolean): void {
  if (isIterable(headers)) {
    for (const pair of headers) {
      if (!Array.isArray(pair)) continue;
      const [k, v] = pair as readonly unknown[];
      if (typeof k === 'string' && typeof v === 'string' && k.toLowerCase() === lower && visit(v)) return;
    }
    return;
  }
  const record = headers as Readonly<Record<string, unknown>>;
  // Fast path: Node and undici already lower-case names; otherwise compare every name.
  const direct = record[lower];
  if (direct !== undefined) {
    if (visitValue(direct, visit)) return;
  }
  for (const k of Object.keys(record)) {
    if (k !== lower && k.toLowerCase() === lower && visitValue(record[k], visit)) return;
  }
}

function visitValue(value: unknown, visit: (value: string) => boolean): boolean {
  if (typeof value === 'string') return visit(value);
  if (Array.isArray(value)) {
    for (const v of value) if (typeof v === 'string' && visit(v)) return true;
  }
  return false;
}

function isIterable(headers: AffinityHeaders): headers is Iterable<readonly [string, string]> {
  return typeof (headers as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

/** The first non-empty value of a header, trimmed; undefined when there is none (the next source is tried). */
function firstHeader(headers: AffinityHeaders, lower: string): string | undefined {
  let found: string | undefined;
  eachHeader(headers, lower, (v) => {
    const trimmed = v.replace(OWS, '');
    if (trimmed !== '') found = trimmed;
    return found !== undefined;
  });
  return found;
}

/** The value of the first cookie called `name` in any `Cookie` field (RFC 6265 §4.2.1 / §5.4). */
function findCookie(headers: AffinityHeaders, name: string): string | undefined {
  let found: string | undefined;
  eachHeader(headers, 'cookie', (field) => {
    found = cookieValue(field, name);
    return found !== undefined;
  });
  return found;
}

/**
 * Parse one `Cookie` field: `name=value` pairs separated by `;` (user agents send `; `; we also accept
 * other whitespace). A pair without `=` is ignored, as RFC 6265 §5.2 does for Set-Cookie.
 */
function cookieValue(field: string, name: string): string | undefined {
  let start = 0;
  while (start <= field.length) {
    let end = field.indexOf(';', start);
    if (end === -1) end = field.length;
    const eq = field.indexOf('=', start);
    if (eq !== -1 && eq < end && field.slice(start, eq).replace(OWS, '') === name) {
      let value = field.slice(eq + 1, end).replace(OWS, '');
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (value !== '') return value;
    }
    start = end + 1;
  }
  return undefined;
}
