// ⑧ Transport (HTTP): request headers of a routed request. Consumes undici's header shapes (record, flat
// array, iterable of pairs); produces a record carrying the logical `host` the caller addressed.

/** Headers as a record, the shape undici accepts everywhere. */
export type HeaderRecord = Record<string, string | string[]>;

/**
 * Headers of `opts.headers` as a record with a `host` header: the caller's own `host` wins (any case);
 * otherwise `host` is the authority the caller used (`backend-service.production:3000`), so virtual
 * hosting keeps working when the request goes to a pod IP. A record's own enumerable headers are read,
 * as undici reads them. A record without `host` is copied, never mutated (undici's fetch reuses its
 * header object); the copy's first key is `host` (undici writes it right after the request line in any
 * case, so the order on the wire does not change).
 *
 * @example
 * ```ts
 * withHostHeader(['accept', 'text/plain'], 'web:8080') // { host: 'web:8080', accept: 'text/plain' }
 * ```
 */
export function withHostHeader(headers: unknown, host: string): HeaderRecord {
  if (headers === null || headers === undefined) return { host };
  if (isPlainRecord(headers)) {
    // Own keys, as undici reads them (`Object.keys`), in one pass, stored onto `{ host }` rather than
    // spread as `{ ...headers, host }`: on Node 20 (V8 11.3) a spread followed by another property gives
    // every copy a map of its own, and each later read of it (undici reads every header) misses the
    // inline caches; copies grown from one `{ host }` literal share their maps.
    const keys = Object.keys(headers);
    const copy: HeaderRecord = { host };
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (key.length === 4 && key.toLowerCase() === 'host') return headers as HeaderRecord;
      const value = headers[key] as string | string[];
      if (key === '__proto__')
        Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
      else copy[key] = value;
    }
    return copy;
  }
  // Arrays, Maps and other iterables: gathered into a (prototype-free, so plain) record first.
  return withHostHeader(toRecord(headers), host);
}

/**
 * Headers of any undici shape as a record: a plain record as it is, arrays, Maps and other iterables
 * gathered into a prototype-free one (repeated names become arrays).
 *
 * @example
 * ```ts
 * headerRecord(new Map([['accept', 'text/plain']])) // { accept: 'text/plain' }
 * ```
 */
export function headerRecord(headers: unknown): HeaderRecord {
  if (headers === null || headers === undefined) return {};
  return isPlainRecord(headers) ? (headers as HeaderRecord) : toRecord(headers);
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if (typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') return false;
  return true;
}

function add(record: HeaderRecord, key: unknown, value: unknown): void {
  if (value === undefined || value === null) return;
  const k = String(key);
  const v = Array.isArray(value) ? value.map(String) : String(value);
  const existing = record[k];
  if (existing === undefined) record[k] = v;
  else record[k] = [...(Array.isArray(existing) ? existing : [existing]), ...(Array.isArray(v) ? v : [v])];
}

function toRecord(headers: unknown): HeaderRecord {
  // No prototype: a `__proto__` header is a header, and no inherited key is read as an existing value.
  const record = Object.create(null) as HeaderRecord;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown[][]) add(record, pair[0], pair[1]);
      return record;
    }
    // undici's flat form: [name, value, name, value, ...]
    for (let i = 0; i + 1 < headers.length; i += 2) add(record, headers[i], headers[i + 1]);
    return record;
  }
  for (const pair of headers as Iterable<unknown>) {
    if (Array.isArray(pair)) add(record, pair[0], pair[1]);
  }
  return record;
}
