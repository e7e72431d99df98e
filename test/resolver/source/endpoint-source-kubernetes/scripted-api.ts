// Test helper: a scriptable Kubernetes-API-shaped HTTP server on loopback, for byte-level protocol faults
// (malformed lines, wrong kinds, stalls) that a faithful fake must not produce. Registers t.teardown.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SourceEvent } from '@clusterip/resolver';

export interface RecordedRequest {
  readonly kind: 'services' | 'endpointslices';
  readonly watch: boolean;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
}

type Kind = 'services' | 'endpointslices';
interface Watcher {
  readonly kind: Kind;
  readonly res: ServerResponse;
}

/** Returns true when it answered the request itself. */
export type Interceptor = (req: RecordedRequest, res: ServerResponse) => boolean;

export class ScriptedApi {
  readonly requests: RecordedRequest[] = [];
  readonly objects: Record<Kind, Map<string, Record<string, unknown>>> = {
    services: new Map(),
    endpointslices: new Map(),
  };
  rv = 100;
  intercept: Interceptor | undefined;
  url = '';
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<import('node:net').Socket>();
  readonly #waiters: { pred: (r: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }[] = [];
  readonly #server = createServer((req, res) => this.#handle(req, res));

  static async start(t: { teardown(fn: () => Promise<void> | void): void }): Promise<ScriptedApi> {
    const api = new ScriptedApi();
    api.#server.on('connection', (s) => {
      api.#sockets.add(s);
      s.on('close', () => api.#sockets.delete(s));
    });
    await new Promise<void>((resolve) => api.#server.listen(0, '127.0.0.1', resolve));
    api.url = `http://127.0.0.1:${(api.#server.address() as AddressInfo).port}`;
    t.teardown(() => api.close());
    return api;
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** Resolve on the first request (already received after `from`, or future) matching `pred`. */
  waitForRequest(pred: (r: RecordedRequest) => boolean, from = 0): Promise<RecordedRequest> {
    const seen = this.requests.slice(from).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ pred, resolve }));
  }

  count(kind: Kind, watch: boolean): number {
    return this.requests.filter((r) => r.kind === kind && r.watch === watch).length;
  }

  /** Store an object (Service or EndpointSlice) and tell open watches. */
  apply(kind: Kind, object: Record<string, unknown>): void {
    const md = object.metadata as Record<string, unknown>;
    const name = md.name as string;
    const type = this.objects[kind].has(name) ? 'MODIFIED' : 'ADDED';
    md.resourceVersion = String(++this.rv);
    this.objects[kind].set(name, object);
    this.send(kind, { type, object: { kind: kind === 'services' ? 'Service' : 'EndpointSlice', ...object } });
  }

  delete(kind: Kind, name: string): void {
    const object = this.objects[kind].get(name);
    if (!object) return;
    this.objects[kind].delete(name);
    (object.metadata as Record<string, unknown>).resourceVersion = String(++this.rv);
    this.send(kind, {
      type: 'DELETED',
      object: { kind: kind === 'services' ? 'Service' : 'EndpointSlice', ...object },
    });
  }

  bookmark(kind: Kind): void {
    this.send(kind, {
      type: 'BOOKMARK',
      object: { kind: 'Bookmark', metadata: { resourceVersion: String(++this.rv) } },
    });
  }

  send(kind: Kind, event: unknown): void {
    this.sendRaw(kind, `${JSON.stringify(event)}\n`);
  }

  sendRaw(kind: Kind, text: string): void {
    for (const w of this.#watchers) if (w.kind === kind) w.res.write(text);
  }

  /** End open watch streams cleanly. */
  endWatches(kind?: Kind): void {
    for (const w of [...this.#watchers]) {
      if (kind === undefined || w.kind === kind) {
        this.#watchers.delete(w);
        w.res.end();
        this.#notify();
      }
    }
  }

  /** Cut every open connection abruptly. */
  cutConnections(): void {
    this.#watchers.clear();
    for (const s of this.#sockets) s.destroy();
  }

  watchers(kind: Kind): number {
    return [...this.#watchers].filter((w) => w.kind === kind).length;
  }

  /** Resolve once the number of open watches of `kind` equals `n`. */
  waitWatchers(kind: Kind, n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.watchers(kind) === n) {
          this.#onWatchers.delete(check);
          resolve();
        }
      };
      this.#onWatchers.add(check);
      check();
    });
  }

  readonly #onWatchers = new Set<() => void>();
  #notify(): void {
    for (const f of [...this.#onWatchers]) f();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const kind: Kind = url.pathname.endsWith('/endpointslices') ? 'endpointslices' : 'services';
    const record: RecordedRequest = {
      kind,
      watch: url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true',
      query: url.searchParams,
      authorization: req.headers.authorization,
    };
    this.requests.push(record);
    for (const w of [...this.#waiters]) {
      if (w.pred(record)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(record);
      }
    }
    if (this.intercept?.(record, res)) return;
    if (!record.watch) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: kind === 'services' ? 'ServiceList' : 'EndpointSliceList',
          metadata: { resourceVersion: String(this.rv) },
          items: [...this.objects[kind].values()],
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w = { kind, res };
    this.#watchers.add(w);
    this.#notify();
    res.on('close', () => {
      this.#watchers.delete(w);
      this.#notify();
    });
  }
}

export function status(
  res: ServerResponse,
  code: number,
  message = 'injected',
  extra: { headers?: Record<string, string>; details?: Record<string, unknown> } = {},
): true {
  res.writeHead(code, { 'content-type': 'application/json', ...extra.headers });
  const details = extra.details === undefined ? {} : { details: extra.details };
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message, ...details }));
  return true;
}

export function service(name: string, spec: Record<string, unknown> = {}, namespace = 'prod'): Record<string, unknown> {
  return {
    metadata: { name, namespace },
    spec: {
      clusterIP: '10.96.0.10',
      selector: { app: name },
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      ...spec,
    },
  };
}

export function endpointSlice(
  name: string,
  service: string,
  addresses: string[],
  options: { port?: number; portName?: string; addressType?: string; ready?: boolean; hostnames?: boolean } = {},
): Record<string, unknown> {
  return {
    metadata: { name, namespace: 'prod', labels: { 'kubernetes.io/service-name': service } },
    addressType: options.addressType ?? 'IPv4',
    ports: [{ name: options.portName ?? 'http', port: options.port ?? 8080, protocol: 'TCP' }],
    endpoints: addresses.map((a, i) => ({
      addresses: [a],
      conditions: { ready: options.ready ?? true },
      ...(options.hostnames ? { hostname: `${service}-${i}` } : {}),
    })),
  };
}

/** Collects a watch's events; `next(pred)` resolves with the first matching event not yet consumed. */
export class EventLog {
  readonly events: SourceEvent[] = [];
  #cursor = 0;
  #waiters: { pred: (e: SourceEvent) => boolean; resolve: (e: SourceEvent) => void }[] = [];

  readonly listener = (event: SourceEvent): void => {
    this.events.push(event);
    this.#drain();
  };

  next(pred: (e: SourceEvent) => boolean = () => true): Promise<SourceEvent> {
    return new Promise((resolve) => {
      this.#waiters.push({ pred, resolve });
      this.#drain();
    });
  }

  #drain(): void {
    while (this.#waiters.length > 0 && this.#cursor < this.events.length) {
      const w = this.#waiters[0] as { pred: (e: SourceEvent) => boolean; resolve: (e: SourceEvent) => void };
      const e = this.events[this.#cursor++] as SourceEvent;
      if (w.pred(e)) {
        this.#waiters.shift();
        w.resolve(e);
      }
    }
  }
}

export const isReset = (e: SourceEvent) => e.type === 'update' && e.update.type === 'reset';
export const isUpdate = (e: SourceEvent) => e.type === 'update';
export const addressesOf = (e: SourceEvent): string[] =>
  e.type === 'update' && (e.update.type === 'reset' || e.update.type === 'add')
    ? e.update.endpoints.map((x) => x.address)
    : [];
