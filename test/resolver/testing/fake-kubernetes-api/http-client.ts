// Test support: a tiny HTTP client for the fake API (one connection per request, no keep-alive)
// and an NDJSON watch reader. Consumes URLs; produces parsed responses and watch events.

import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ApiResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  readonly body: any;
  readonly text: string;
}

export interface RequestOptions {
  readonly method?: string;
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  readonly contentType?: string;
  readonly ca?: string;
}

function open(url: string, options: RequestOptions, onResponse: (res: IncomingMessage) => void) {
  const u = new URL(url);
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = { accept: 'application/json', ...(options.headers ?? {}) };
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = send(
    u,
    { method: options.method ?? 'GET', headers, agent: false, ...(options.ca ? { ca: options.ca } : {}) },
    onResponse,
  );
  req.end(body);
  return req;
}

/** One request, whole response read and JSON-parsed when possible. */
export function call(url: string, options: RequestOptions = {}): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = open(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
      });
    });
    req.on('error', reject);
  });
}

export interface WatchEvent {
  readonly type: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  readonly object: any;
}

/** An open watch response. `next()` yields events, then `'end'` (clean finish) or `'error'` (reset). */
export interface TestWatch {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  next(): Promise<WatchEvent | 'end' | 'error'>;
  /** Every event until the stream finishes, and how it finished. */
  rest(): Promise<{ events: WatchEvent[]; end: 'end' | 'error' }>;
  close(): void;
}

export function watch(url: string, options: RequestOptions = {}): Promise<TestWatch> {
  return new Promise((resolve, reject) => {
    const queue: Array<WatchEvent | 'end' | 'error'> = [];
    const waiters: Array<(v: WatchEvent | 'end' | 'error') => void> = [];
    let finished = false;
    const push = (item: WatchEvent | 'end' | 'error') => {
      if (finished) return;
      if (item === 'end' || item === 'error') finished = true;
      const w = waiters.shift();
      if (w) w(item);
      else queue.push(item);
    };
    const req = open(url, options, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
          const line = buffer.slice(0, i);
          buffer = buffer.slice(i + 1);
          if (line.trim() !== '') push(JSON.parse(line) as WatchEvent);
        }
      });
      res.on('end', () => push('end'));
      res.on('error', () => push('error'));
      res.on('aborted', () => push('error'));
      const next = () => {
        const item = queue.shift();
        if (item !== undefined) return Promise.resolve(item);
        if (finished) return Promise.resolve<'end'>('end');
        return new Promise<WatchEvent | 'end' | 'error'>((r) => waiters.push(r));
      };
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        next,
        async rest() {
          const events: WatchEvent[] = [];
          for (;;) {
            const item = await next();
            if (item === 'end' || item === 'error') return { events, end: item };
            events.push(item);
          }
        },
        close: () => {
          req.destroy();
          push('error');
        },
      });
    });
    req.on('error', (error) => {
      push('error');
      reject(error);
    });
  });
}
