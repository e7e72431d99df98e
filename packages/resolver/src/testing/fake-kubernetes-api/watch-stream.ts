// Fake Kubernetes API: one open watch: a chunked HTTP response of newline-delimited JSON watch events.
// Consumes store changes (already in revision order); produces ADDED/MODIFIED/DELETED/BOOKMARK/ERROR lines.

import type { ServerResponse } from 'node:http';
import type { ApiStatus } from './api-status.js';
import { tooOldResourceVersion } from './api-status.js';
import type { FieldSelector } from './field-selector.js';
import { cloneJson, type StoredObject } from './kube-object.js';
import type { LabelSelector } from './label-selector.js';
import type { StoreEvent } from './object-store.js';
import { type IncludeObject, toTable } from './object-table.js';
import type { ResourceKind } from './resource-kinds.js';

/** What one watch asked for (decoded from the query string). */
export interface WatchParams {
  readonly kind: ResourceKind;
  /** Namespace scope; undefined watches all namespaces. */
  readonly namespace?: string;
  readonly labelSelector: LabelSelector;
  readonly fieldSelector: FieldSelector;
  readonly allowBookmarks: boolean;
  /** Answer with one-row Tables (kubectl `get --watch`) instead of objects. */
  readonly table?: { readonly include: IncludeObject };
  /** Ends the watch cleanly after this long (a bookmark goes out first when allowed). */
  readonly timeoutMs: number;
  readonly bookmarkIntervalMs: number;
  /** When more than this many bytes wait unsent, the watcher has fallen behind: ERROR 410 and end. */
  readonly maxBufferBytes: number;
}

/** The public view of an open watch (see `FakeKubernetesApi.watches`). */
export interface WatchInfo {
  /** Kind watched, e.g. `EndpointSlice`. */
  readonly kind: string;
  /** Namespace watched; undefined for all namespaces. */
  readonly namespace: string | undefined;
  /** Request path and query as sent. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Events written so far (BOOKMARK and ERROR included). */
  readonly eventsSent: number;
}

/** How a watch ended. */
export type WatchEnd = 'timeout' | 'dropped' | 'expired' | 'destroyed' | 'client' | 'closed';

/** One open watch response. Owned by the server's watch registry. */
export class WatchStream {
  readonly params: WatchParams;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly #res: ServerResponse;
  readonly #now: () => number;
  readonly #revision: () => number;
  readonly #onEnd: (stream: WatchStream, how: WatchEnd) => void;
  #timeout: NodeJS.Timeout | undefined;
  #bookmarks: NodeJS.Timeout | undefined;
  #ended = false;
  #sent = 0;
  #headersSent = false;

  constructor(
    res: ServerResponse,
    params: WatchParams,
    request: { path: string; query: Readonly<Record<string, string>> },
    deps: { now: () => number; revision: () => number; onEnd: (stream: WatchStream, how: WatchEnd) => void },
  ) {
    this.#res = res;
    this.params = params;
    this.path = request.path;
    this.query = request.query;
    this.#now = deps.now;
    this.#revision = deps.revision;
    this.#onEnd = deps.onEnd;
    res.on('close', () => this.#finish('client'));
  }

  get ended(): boolean {
    return this.#ended;
  }

  get info(): WatchInfo {
    return {
      kind: this.params.kind.kind,
      namespace: this.params.namespace,
      path: this.path,
      query: this.query,
      eventsSent: this.#sent,
    };
  }

  /** Send headers and the replayed/initial events, then arm the timeout and bookmark timers. */
  start(initial: readonly StoreEvent[], initialEventsEnd: boolean): void {
    this.#res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-cache, private',
      'transfer-encoding': 'chunked',
    });
    this.#res.flushHeaders();
    for (const event of initial) this.deliver(event);
    if (initialEventsEnd) this.bookmark({ 'k8s.io/initial-events-end': 'true' });
    if (this.#ended) return;
    this.#timeout = setTimeout(() => {
      if (this.params.allowBookmarks) this.bookmark();
      this.#close('timeout');
    }, this.params.timeoutMs);
    this.#timeout.unref();
    if (this.params.allowBookmarks && this.params.bookmarkIntervalMs > 0) {
      this.#bookmarks = setInterval(() => this.bookmark(), this.params.bookmarkIntervalMs);
      this.#bookmarks.unref();
    }
  }

  #matches(object: StoredObject | undefined): boolean {
    if (object === undefined) return false;
    const p = this.params;
    if (p.namespace !== undefined && p.kind.namespaced && object.metadata.namespace !== p.namespace) return false;
    return p.labelSelector.matches(object.metadata.labels) && p.fieldSelector.matches(object);
  }

  /**
   * Deliver one store change, translated for this watcher's selectors like the watch cache does:
   * an object that starts matching is ADDED, one that stops matching is DELETED.
   */
  deliver(event: StoreEvent): void {
    if (this.#ended || event.kind !== this.params.kind) return;
    const now = this.#matches(event.object);
    if (event.type === 'DELETED') {
      if (this.#matches(event.previous ?? event.object)) this.#writeObject('DELETED', event.object);
      return;
    }
    const before = event.type === 'MODIFIED' && this.#matches(event.previous);
    if (now && before) this.#writeObject('MODIFIED', event.object);
    else if (now) this.#writeObject('ADDED', event.object);
    else if (before && event.previous !== undefined) {
      // The watch cache sends the content the watcher knew (it still matches the selector), stamped with
      // the change's resourceVersion: apiserver cacher `convertToWatchEvent`. A client that checks the
      // selector on the object, as a per-Service slice watch does, would drop a DELETED with the new labels.
      const last = cloneJson(event.previous);
      last.metadata.resourceVersion = event.object.metadata.resourceVersion;
      this.#writeObject('DELETED', last);
    }
  }

  /** Send a BOOKMARK at the current revision (only when the client allowed bookmarks). */
  bookmark(annotations?: Record<string, string>): void {
    if (this.#ended || !this.params.allowBookmarks) return;
    this.#write({
      type: 'BOOKMARK',
      object: {
        kind: this.params.kind.kind,
        apiVersion: this.params.kind.apiVersion,
        metadata: { resourceVersion: String(this.#revision()), ...(annotations ? { annotations } : {}) },
      },
    });
  }

  /** Send an ERROR event with `status`, then end the stream. */
  error(status: ApiStatus, how: WatchEnd = 'expired'): void {
    if (this.#ended) return;
    this.#write({ type: 'ERROR', object: status });
    this.#close(how);
  }

  /** End the response cleanly (the client sees the stream finish). */
  end(how: WatchEnd = 'dropped'): void {
    this.#close(how);
  }

  /** Destroy the socket mid-stream (the client sees a reset / premature close). */
  destroy(): void {
    if (this.#ended) return;
    this.#finish('destroyed');
    this.#res.destroy();
    this.#res.socket?.destroy();
  }

  #writeObject(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: StoredObject): void {
    const table = this.params.table;
    const body = table
      ? toTable(this.params.kind, [object], {
          now: this.#now(),
          include: table.include,
          resourceVersion: object.metadata.resourceVersion,
          noHeaders: this.#headersSent,
        })
      : object;
    this.#headersSent = true;
    this.#write({ type, object: body });
    if (!this.#ended && this.#res.writableLength > this.params.maxBufferBytes) {
      // The watch cache terminates a watcher whose buffer is full; we say why with a 410.
      this.error(tooOldResourceVersion(object.metadata.resourceVersion, this.#revision()));
    }
  }

  #write(event: unknown): void {
    this.#sent++;
    this.#res.write(`${JSON.stringify(event)}\n`);
  }

  #close(how: WatchEnd): void {
    if (this.#ended) return;
    this.#finish(how);
    this.#res.end();
  }

  #finish(how: WatchEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#timeout);
    clearInterval(this.#bookmarks);
    this.#onEnd(this, how);
  }
}
