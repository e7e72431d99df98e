// ⑧ Transport (HTTP): request headers of a routed request. Consumes undici's header shapes (record, flat
// array, iterable of pairs); produces a record carrying the logical `host` the caller addressed.

/** Headers as a record, the shape undici accepts everywhere. */
export type HeaderRecord = Record<string, string | string[]>;

/**
 * Headers of `opts.headers` as a record with a `host` header: the caller's own `host` wins (any case);
 * otherwise `host` is the authority the caller used (`backend-service.production:3000`), so virtual
 * hosting keeps working when the request goes to a pod IP; it comes first, the other headers follow in
 * the caller's order. A record without `host` is copied, never mutated (undici's fetch reuses its
 * header object).
 *
 * @example
 * ```ts
 * withHostHeader(['accept', 'text/plain'], 'web:8080') // { host: 'web:8080', accept: 'text/plain' }
 * ```
 */
export function withHostHeader(headers: unknown, host: string): HeaderRecord {
  if (headers === null || headers === undefined) return { host };
  if (isPlainRecord(headers)) {
    // One pass, storing onto `{ host }` (host first, as RFC 9112 asks of clients) rather than spreading
    // `{ ...headers, host }`: on Node 20 (V8 11.3) an object spread followed by another property gets a
    // map of its own every time, so every later read of the copy (undici reads each header) would miss
    // the inline caches.
    const copy: HeaderRecord = { host };
    for (const key in headers) {
      if (key.length === 4 && key.toLowerCase() === 'host') return headers as HeaderRecord;
      const value = headers[key] as string | string[];
      if (key === '__proto__')
        Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
      else copy[key] = value;
    }
    return copy;
  }
  const record = toRecord(headers);
  for (const key in record) {
    if (key.length === 4 && key.toLowerCase() === 'host') return record;
  }
  return { host, ...record };
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
  const record: HeaderRecord = {};
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
