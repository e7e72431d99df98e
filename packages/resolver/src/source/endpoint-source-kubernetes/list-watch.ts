// ③ Endpoint source (Kubernetes): a reflector (list → watch from the list's resourceVersion), as client-go's.
// Consumes a KubeApiClient and one collection + selector; produces full-state replacements, per-object
// upserts/deletes, and failure/recovery notifications, retrying forever with jittered backoff.

import { WatchFailedError } from '../../errors/watch-failed-error.js';
import { Backoff, type BackoffConfig } from '../../internal/backoff.js';
import { type Timers, unrefTimer } from '../../internal/timers.js';
import { resolverChannels, type SourceLoopMessage } from '../../telemetry/channels.js';
import { type KubeApiClient, KubeApiError, retryAfterMs } from './kube-api-client.js';

export type { Timers } from '../../internal/timers.js';

/** Receives what a {@link ListWatch} observes. Called synchronously from its loop, never after `stop()`. */
export interface ListWatchHandlers<T> {
  /** A (re)list completed: `items` is the complete current state. `recovered` after a failure. */
  onList(items: T[], recovered: boolean): void;
  onUpsert(item: T): void;
  onDelete(item: T): void;
  /** A request failed; the loop retries after a backoff delay. Called on every failed attempt. */
  onFailure(error: WatchFailedError): void;
  /** A watch was re-established from the last resourceVersion after failures (no relist needed). */
  onRecover(): void;
}

/** Settings of one {@link ListWatch}. */
export interface ListWatchOptions<T> {
  readonly client: KubeApiClient;
  /** Collection path, e.g. `/apis/discovery.k8s.io/v1/namespaces/prod/endpointslices`. */
  readonly path: string;
  /** `labelSelector` / `fieldSelector` query parameters. */
  readonly selector: Readonly<Record<string, string>>;
  /** Expected `kind` of the list (`ServiceList`) and of watched objects (`Service`). */
  readonly listKind: string;
  readonly itemKind: string;
  /** Validate one object; throws (a typed error) when it is unusable. */
  readonly decode: (raw: unknown) => T;
  /** Client-side double check of the selector; objects failing it are ignored. */
  readonly accept?: (item: T) => boolean;
  /** Subject of `WatchFailedError`s, e.g. `endpointslices prod/web`. */
  readonly subject: string;
  readonly backoff: BackoffConfig;
  /** The watch asks for `timeoutSeconds` = this × (1 + random()) (client-go: 300). */
  readonly minWatchTimeoutSeconds: number;
  readonly requestTimeoutMs: number;
  readonly now: () => number;
  readonly random: () => number;
  readonly timers: Timers;
  readonly handlers: ListWatchHandlers<T>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A watch that ended cleanly this fast without an object event is treated like a failure for pacing: a
 * server or proxy that closes every watch at once, with or without a bookmark, must not be hammered.
 */
const SHORT_WATCH_MS = 1000;

/**
 * List-then-watch loop over one collection with a selector:
 * - lists, remembers the list's `resourceVersion` (opaque), watches from it with
 *   `allowWatchBookmarks=true` and a jittered `timeoutSeconds`;
 * - BOOKMARK events only advance the resourceVersion;
 * - a clean end of the stream re-watches from the last resourceVersion without relisting;
 * - 410 Gone (HTTP status, or an ERROR event with code 410) discards the resourceVersion and relists;
 * - a malformed line, an object of the wrong kind or with missing fields, or an oversized event is
 *   reported as a failure and followed by a relist (state may have been missed);
 * - other failures are reported and retried with jittered exponential backoff, re-watching from
 *   the last resourceVersion when there is one; a `Retry-After` the server sent (429 from API Priority
 *   and Fairness, 503) lengthens that delay, up to the backoff's `maxMs`.
 *
 * @example
 * ```ts
 * const lw = new ListWatch({ client, path, selector, listKind: 'ServiceList', itemKind: 'Service', decode, ... })
 * lw.start()
 * await lw.stop()
 * ```
 */
export class ListWatch<T> {
  readonly #o: ListWatchOptions<T>;
  readonly #backoff: Backoff;
  readonly #abort = new AbortController();
  #rv: string | undefined;
  #failing = false;
  #stopped = false;
  #running: Promise<void> | undefined;
  #sleepTimer: unknown;
  #wake: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  /** ADDED, MODIFIED and DELETED events of the current watch (bookmarks do not count). */
  #watchEvents = 0;
  /** Lists so far, and whether a list happened since the last watch opened (for `clusterip:source:*`). */
  #lists = 0;
  #listedSinceWatch = false;
  #loop: SourceLoopMessage | undefined;

  constructor(options: ListWatchOptions<T>) {
    this.#o = options;
    this.#backoff = new Backoff(options.backoff, options.now, options.random);
  }

  /** Identity fields of this loop's channel messages (built on first use). */
  #loopFields(): SourceLoopMessage {
    if (this.#loop !== undefined) return this.#loop;
    const m = /\/namespaces\/([^/]+)\/([^/]+)$/.exec(this.#o.path);
    this.#loop = { resource: m?.[2] ?? this.#o.path, namespace: m?.[1] ?? '', subject: this.#o.subject };
    return this.#loop;
  }

  /** Last resourceVersion seen (list, event or bookmark); undefined before the first list. */
  get resourceVersion(): string | undefined {
    return this.#rv;
  }

  /** Start the loop (idempotent). */
  start(): void {
    if (this.#stopped || this.#running !== undefined) return;
    this.#running = this.#run();
  }

  /** Stop the loop and abort the open request. Idempotent; no handler call happens after it resolves. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopped = true;
      this.#abort.abort();
      if (this.#sleepTimer !== undefined) this.#o.timers.clearTimeout(this.#sleepTimer);
      this.#wake?.();
      await this.#running;
    })();
    return this.#stopping;
  }

  async #run(): Promise<void> {
    const o = this.#o;
    let goneInARow = 0;
    while (!this.#stopped) {
      let delayMs = 0;
      try {
        if (this.#rv === undefined) await this.#list();
        const started = o.now();
        this.#watchEvents = 0;
        await this.#watch();
        if (this.#stopped) return;
        goneInARow = 0;
        if (this.#watchEvents === 0 && o.now() - started < SHORT_WATCH_MS) delayMs = this.#backoff.next();
      } catch (err) {
        if (this.#stopped) return;
        const e =
          err instanceof KubeApiError ? err : new KubeApiError('network', String(err), undefined, { cause: err });
        if (e.kind === 'gone') {
          // Expired resourceVersion: relist right away, once; repeated 410s back off.
          this.#rv = undefined;
          goneInARow++;
          if (goneInARow > 1) delayMs = this.#backoff.next();
        } else {
          goneInARow = 0;
          if (e.kind === 'malformed' || e.kind === 'too-large') this.#rv = undefined;
          this.#failing = true;
          const error = new WatchFailedError(o.subject, e.message, { cause: e });
          if (resolverChannels.sourceFailure.hasSubscribers) {
            resolverChannels.sourceFailure.publish({ ...this.#loopFields(), error });
          }
          o.handlers.onFailure(error);
          // The server knows its load better than our backoff does; a proxy's huge value must not stall us.
          delayMs = Math.max(this.#backoff.next(), Math.min(e.retryAfterMs ?? 0, o.backoff.maxMs));
        }
      }
      if (delayMs > 0) await this.#sleep(delayMs);
    }
  }

  async #list(): Promise<void> {
    const o = this.#o;
    const body = await o.client.list(o.path, o.selector, this.#abort.signal);
    if (this.#stopped) return;
    if (!isObject(body)) throw malformed(`GET ${o.path}: response is not an object`);
    if (body.kind !== undefined && body.kind !== o.listKind) {
      throw malformed(`GET ${o.path}: expected kind ${o.listKind}, got ${JSON.stringify(body.kind).slice(0, 60)}`);
    }
    const md = body.metadata;
    const rv = isObject(md) ? md.resourceVersion : undefined;
    if (typeof rv !== 'string' || rv === '') throw malformed(`GET ${o.path}: list has no metadata.resourceVersion`);
    const rawItems = body.items ?? [];
    if (!Array.isArray(rawItems)) throw malformed(`GET ${o.path}: items is not an array`);
    const items: T[] = [];
    for (const raw of rawItems) {
      const item = this.#decode(raw);
      if (o.accept === undefined || o.accept(item)) items.push(item);
    }
    this.#rv = rv;
    const recovered = this.#failing;
    this.#failing = false;
    const relist = this.#lists++ > 0;
    this.#listedSinceWatch = true;
    if (resolverChannels.sourceList.hasSubscribers) {
      resolverChannels.sourceList.publish({ ...this.#loopFields(), items: items.length, relist, recovered });
    }
    o.handlers.onList(items, recovered);
  }

  #watch(): Promise<void> {
    const o = this.#o;
    const timeoutSeconds = Math.floor(o.minWatchTimeoutSeconds * (1 + o.random()));
    const query = {
      ...o.selector,
      watch: '1',
      resourceVersion: this.#rv as string,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    };
    // The stream may be silent between bookmarks: allow the whole server-side timeout plus slack.
    const idleMs = timeoutSeconds * 1000 + o.requestTimeoutMs;
    return o.client.watch(o.path, query, this.#abort.signal, idleMs, {
      onOpen: () => {
        if (this.#stopped) return;
        const reconnect = !this.#listedSinceWatch;
        this.#listedSinceWatch = false;
        if (resolverChannels.sourceWatch.hasSubscribers) {
          resolverChannels.sourceWatch.publish({ ...this.#loopFields(), reconnect, recovered: this.#failing });
        }
        if (this.#failing) {
          this.#failing = false;
          o.handlers.onRecover();
        }
      },
      onEvent: (event) => {
        if (!this.#stopped) this.#onEvent(event);
      },
    });
  }

  #onEvent(event: unknown): void {
    const o = this.#o;
    if (!isObject(event) || typeof event.type !== 'string') throw malformed(`watch ${o.path}: event without type`);
    const object = event.object;
    if (!isObject(object)) throw malformed(`watch ${o.path}: ${event.type} event without object`);
    switch (event.type) {
      case 'BOOKMARK': {
        const rv = isObject(object.metadata) ? object.metadata.resourceVersion : undefined;
        if (typeof rv !== 'string' || rv === '') throw malformed(`watch ${o.path}: BOOKMARK without resourceVersion`);
        this.#rv = rv;
        return;
      }
      case 'ERROR': {
        const code = object.code;
        const text = typeof object.message === 'string' ? object.message.slice(0, 200) : '';
        if (code === 410) throw new KubeApiError('gone', `watch ${o.path}: ${text || 'resource version expired'}`, 410);
        const details = isObject(object.details) ? object.details : {};
        throw new KubeApiError(
          'status',
          `watch ${o.path}: ERROR event ${typeof code === 'number' ? code : ''} ${text}`.trim(),
          typeof code === 'number' ? code : undefined,
          { retryAfterMs: retryAfterMs(details.retryAfterSeconds) },
        );
      }
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        if (object.kind !== undefined && object.kind !== o.itemKind) {
          throw malformed(
            `watch ${o.path}: expected kind ${o.itemKind}, got ${JSON.stringify(object.kind).slice(0, 60)}`,
          );
        }
        const item = this.#decode(object);
        this.#watchEvents++;
        const rv = isObject(object.metadata) ? object.metadata.resourceVersion : undefined;
        if (typeof rv === 'string' && rv !== '') this.#rv = rv;
        if (o.accept !== undefined && !o.accept(item)) return;
        if (resolverChannels.sourceEvent.hasSubscribers) this.#publishEvent(event.type, object);
        if (event.type === 'DELETED') o.handlers.onDelete(item);
        else o.handlers.onUpsert(item);
        return;
      }
      default:
        throw malformed(`watch ${o.path}: unknown event type ${JSON.stringify(event.type).slice(0, 40)}`);
    }
  }

  #publishEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Json): void {
    const md = isObject(object.metadata) ? object.metadata : {};
    const annotations = isObject(md.annotations) ? md.annotations : {};
    const trigger = annotations['endpoints.kubernetes.io/last-change-trigger-time'];
    const triggerTime = typeof trigger === 'string' ? Date.parse(trigger) : Number.NaN;
    resolverChannels.sourceEvent.publish({
      ...this.#loopFields(),
      type,
      name: typeof md.name === 'string' ? md.name : '',
      ...(Number.isNaN(triggerTime) ? {} : { triggerTime }),
      receivedAt: Date.now(),
    });
  }

  #decode(raw: unknown): T {
    try {
      return this.#o.decode(raw);
    } catch (err) {
      throw new KubeApiError('malformed', `${this.#o.path}: ${(err as Error).message}`, undefined, { cause: err });
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stopped) return resolve();
      this.#wake = () => {
        this.#wake = undefined;
        this.#sleepTimer = undefined;
        resolve();
      };
      this.#sleepTimer = unrefTimer(this.#o.timers.setTimeout(() => this.#wake?.(), ms));
    });
  }
}

function malformed(message: string): KubeApiError {
  return new KubeApiError('malformed', message);
}
