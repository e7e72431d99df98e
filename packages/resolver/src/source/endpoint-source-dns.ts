// ③ Endpoint source (DNS): watched endpoint sets from cluster DNS, re-resolved on TTL expiry.
// Consumes absolute `SourceQuery`s; produces `SourceEvent`s (reset/add/remove/not-found, service, stale).

import { promises as dnsPromises } from 'node:dns';
import { type Endpoint, endpointEqual, endpointKey } from '../endpoint/endpoint.js';
import { ClosedError } from '../errors/closed-error.js';
import { DnsUnavailableError } from '../errors/dns-unavailable-error.js';
import { Backoff } from '../internal/backoff.js';
import { unrefTimer } from '../internal/timers.js';
import type { ServiceInfo } from '../service/service-info.js';
import { callListener } from './call-listener.js';
import { type DnsOutcome, lookupSoaMinimum, resolveQuery } from './dns/dns-lookup.js';
import { type DnsSourceConfig, type DnsSourceOptions, resolveDnsSourceOptions } from './dns/dns-source-options.js';
import type { EndpointSource, SourceListener, SourceQuery, SourceWatch } from './endpoint-source.js';
import type { NotFoundReason, SourceEvent } from './endpoint-update.js';

/** Zones whose SOA minimum is remembered (negative-answer re-check period). */
const SOA_CACHE_LIMIT = 64;

/** SOA minimum (seconds) of the zone holding a name, or undefined when unknown. */
type SoaMinimum = (resolver: dnsPromises.Resolver, fqdn: string) => Promise<number | undefined>;

interface Subscriber {
  readonly listener: SourceListener;
  open: boolean;
  /** Set until the replay of the current state (for a late joiner) has been delivered. */
  replayPending: boolean;
}

/** What the loop last learned; `endpoints` is kept through failures (served stale). */
interface LoopState {
  endpoints: ReadonlyMap<string, Endpoint> | undefined;
  notFound: { readonly reason: NotFoundReason; readonly detail: string } | undefined;
  service: ServiceInfo | undefined;
  /** The last failure, while failing; cleared by the next answer. */
  stale: DnsUnavailableError | undefined;
}

function deliver(sub: Subscriber, event: SourceEvent): void {
  if (sub.open) callListener(sub.listener, event, 'dns');
}

/**
 * One resolution loop per (fqdn, port), shared by every watch of that query (ref-counted).
 * Resolves, emits the difference to the last answer, sleeps for the TTL (or the negative TTL, or a
 * backoff after a failure), repeats. Closed when its last watcher leaves.
 */
class DnsQueryLoop {
  readonly #soaMinimum: SoaMinimum;
  readonly #config: DnsSourceConfig;
  readonly #query: SourceQuery;
  readonly #onIdle: () => void;
  readonly #resolver: dnsPromises.Resolver;
  readonly #subscribers = new Set<Subscriber>();
  readonly #state: LoopState = { endpoints: undefined, notFound: undefined, service: undefined, stale: undefined };
  readonly #backoff: Backoff;
  #timer: unknown;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(soaMinimum: SoaMinimum, config: DnsSourceConfig, query: SourceQuery, onIdle: () => void) {
    this.#soaMinimum = soaMinimum;
    this.#config = config;
    this.#backoff = new Backoff(config.backoff, config.now, config.random);
    this.#query = query;
    this.#onIdle = onIdle;
    // One c-ares channel per loop, so closing the loop cancels exactly its in-flight queries.
    this.#resolver = new dnsPromises.Resolver({ timeout: config.timeoutMs, tries: config.tries });
    this.#resolver.setServers([...config.servers]);
    this.#running = this.#run();
  }

  get #known(): boolean {
    return this.#state.endpoints !== undefined || this.#state.notFound !== undefined || this.#state.stale !== undefined;
  }

  add(listener: SourceListener): Subscriber {
    const sub: Subscriber = { listener, open: true, replayPending: this.#known };
    this.#subscribers.add(sub);
    // A late joiner gets the current state, asynchronously (never from inside watch()); events
    // emitted meanwhile are skipped for it because the replay already reflects them.
    if (sub.replayPending) queueMicrotask(() => this.#replay(sub));
    return sub;
  }

  /** Detach a subscriber; the last one out stops the loop. Resolves once no query is in flight. */
  remove(sub: Subscriber): Promise<void> {
    sub.open = false;
    this.#subscribers.delete(sub);
    if (this.#subscribers.size > 0) return Promise.resolve();
    this.#onIdle();
    return this.close();
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const sub of this.#subscribers) sub.open = false;
      this.#subscribers.clear();
      if (this.#timer !== undefined) this.#config.timers.clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#resolver.cancel();
    }
    return this.#running ?? Promise.resolve();
  }

  #replay(sub: Subscriber): void {
    if (!sub.open || !sub.replayPending) return;
    sub.replayPending = false;
    const s = this.#state;
    if (s.service !== undefined) deliver(sub, { type: 'service', service: s.service });
    if (s.endpoints !== undefined) {
      deliver(sub, { type: 'update', update: { type: 'reset', endpoints: Object.freeze([...s.endpoints.values()]) } });
    } else if (s.notFound !== undefined) {
      deliver(sub, { type: 'update', update: { type: 'not-found', ...s.notFound } });
    }
    if (s.stale !== undefined) deliver(sub, { type: 'stale', error: s.stale });
  }

  #emit(event: SourceEvent): void {
    for (const sub of [...this.#subscribers]) if (!sub.replayPending) deliver(sub, event);
  }

  async #run(): Promise<void> {
    this.#timer = undefined;
    const outcome = await resolveQuery(this.#resolver, this.#query);
    if (this.#closed) return;
    let delayMs: number;
    switch (outcome.type) {
      case 'endpoints':
        this.#applyEndpoints(outcome);
        this.#backoff.reset();
        delayMs = this.#ttlDelay(outcome.ttlSeconds);
        break;
      case 'not-found':
        this.#applyNotFound(outcome.reason, outcome.detail);
        this.#backoff.reset();
        // Shapes cluster DNS never answers (decided without a query) cannot change: no re-check.
        if (this.#query.name.kind === 'no-data' || this.#query.name.kind === 'invalid') return;
        delayMs = await this.#negativeDelay();
        if (this.#closed) return;
        break;
      case 'failure': {
        const error = new DnsUnavailableError(this.#query.fqdn, this.#config.servers, outcome.reason, outcome.detail, {
          cause: outcome.cause,
        });
        this.#state.stale = error;
        this.#emit({ type: 'stale', error });
        delayMs = this.#backoff.next();
        break;
      }
    }
    this.#timer = unrefTimer(
      this.#config.timers.setTimeout(() => {
        this.#running = this.#run();
      }, delayMs),
    );
  }

  #applyEndpoints(outcome: Extract<DnsOutcome, { type: 'endpoints' }>): void {
    const s = this.#state;
    const recovering = s.stale !== undefined;
    s.stale = undefined;
    // A CNAME answer is an ExternalName Service; addresses are not, whatever the name answered before
    // (a Service moved into the cluster from an ExternalName): what was known of it no longer holds.
    const service = outcome.service;
    if (service === undefined ? s.service !== undefined : !sameService(s.service, service)) {
      s.service = service;
      this.#emit({ type: 'service', service });
    }
    const next = new Map<string, Endpoint>();
    for (const e of outcome.endpoints) next.set(endpointKey(e), e);
    const prev = s.endpoints;
    s.endpoints = next;
    s.notFound = undefined;
    // First answer, after not-found, or after failures: a reset (the source contract).
    if (prev === undefined || recovering) {
      this.#emit({ type: 'update', update: { type: 'reset', endpoints: outcome.endpoints } });
      return;
    }
    const added: Endpoint[] = [];
    for (const [key, e] of next) {
      const old = prev.get(key);
      if (old === undefined || !endpointEqual(old, e)) added.push(e);
    }
    const removed: string[] = [];
    for (const key of prev.keys()) if (!next.has(key)) removed.push(key);
    // Add before remove: the set never shrinks to nothing during a replacement.
    if (added.length > 0) this.#emit({ type: 'update', update: { type: 'add', endpoints: Object.freeze(added) } });
    if (removed.length > 0) this.#emit({ type: 'update', update: { type: 'remove', keys: Object.freeze(removed) } });
  }

  #applyNotFound(reason: NotFoundReason, detail: string): void {
    const s = this.#state;
    const recovering = s.stale !== undefined;
    s.stale = undefined;
    s.endpoints = undefined;
    if (!recovering && s.notFound?.reason === reason) return;
    s.notFound = { reason, detail };
    this.#emit({ type: 'update', update: { type: 'not-found', reason, detail } });
  }

  #ttlDelay(ttlSeconds: number | undefined): number {
    const { minTtlMs, maxTtlMs, negativeTtlMs } = this.#config;
    const ms = ttlSeconds === undefined ? negativeTtlMs : ttlSeconds * 1000;
    return Math.min(maxTtlMs, Math.max(minTtlMs, ms));
  }

  async #negativeDelay(): Promise<number> {
    const minimum = await this.#soaMinimum(this.#resolver, this.#query.fqdn);
    return this.#ttlDelay(minimum);
  }
}

function sameService(a: ServiceInfo | undefined, b: ServiceInfo): boolean {
  return a !== undefined && a.type === b.type && a.externalName === b.externalName;
}

/**
 * An {@link EndpointSource} backed by DNS, for pods that may not read the Kubernetes API. Queries go
 * through `node:dns` (c-ares) straight to the configured servers; names are always absolute, so no
 * search list is applied here (the `Resolver` expands it).
 *
 * What each query kind yields:
 * - Service name: A + AAAA. A ClusterIP Service gives its virtual IP, a headless one its ready pod
 *   IPs. Numeric port → that port on each address. Named port → SRV `_<port>._tcp.<service>`
 *   (ClusterIP: the Service port on the ClusterIP; headless: each pod's target port, with
 *   `hostname` and `weight`). No port → the Service's only port when the bare-name SRV (a CoreDNS
 *   extension) lists exactly one port, otherwise port `0`, meaning "addresses only: the caller
 *   supplies the port".
 * - ExternalName Service (a CNAME on the Service name): a `service` event with
 *   `type: 'ExternalName'` and `externalName`, then a `reset` with no endpoints.
 * - Endpoint, pod and outside names: A + AAAA (CNAMEs followed); `srv` names: SRV and its targets.
 * - NXDOMAIN / NODATA → `not-found`; SERVFAIL, refused, timeout, malformed → `stale` with a
 *   {@link DnsUnavailableError}; the last answer stays in force and is never replaced by an empty
 *   set because of a transport error. The first answer after failures is a `reset`.
 *
 * Answers are re-resolved when their TTL expires (clamped to `[minTtlMs, maxTtlMs]`), negative
 * answers after the zone's SOA minimum (else `negativeTtlMs`), failures with backoff. Watches of
 * the same fqdn and port share one loop. With servers from resolv.conf, its `options timeout:N`
 * and `attempts:N` are the defaults of `timeoutMs` and `tries`. `close()` and
 * `[Symbol.asyncDispose]()` stop every loop (the same promise; idempotent).
 *
 * @example
 * ```ts
 * const source = new DnsSource({ servers: ['10.96.0.10:53'] })
 * const watch = source.watch(
 *   { fqdn: 'web.prod.svc.cluster.local.', name: { kind: 'service', namespace: 'prod', service: 'web' }, port: 'http' },
 *   (event) => console.log(event),
 * )
 * await watch.close()
 * await source.close()
 * ```
 */
export class DnsSource implements EndpointSource {
  readonly kind = 'dns';
  readonly #config: DnsSourceConfig;
  readonly #loops = new Map<string, DnsQueryLoop>();
  readonly #soaCache = new Map<string, { minimumSeconds: number; expiresAt: number }>();
  #closing: Promise<void> | undefined;

  constructor(options: DnsSourceOptions = {}) {
    this.#config = resolveDnsSourceOptions(options);
  }

  /** The servers asked, normalized to `host:port`. */
  get servers(): readonly string[] {
    return this.#config.servers;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Watch one absolute name. The first event arrives asynchronously. Throws `ClosedError` after
   * `close()`.
   */
  watch(query: SourceQuery, listener: SourceListener): SourceWatch {
    if (this.#closing !== undefined) throw new ClosedError('dns source');
    const fqdn = query.fqdn.endsWith('.') ? query.fqdn.toLowerCase() : `${query.fqdn.toLowerCase()}.`;
    const normalized: SourceQuery =
      query.port === undefined ? { fqdn, name: query.name } : { fqdn, name: query.name, port: query.port };
    const key = `${fqdn}|${typeof query.port}|${query.port ?? ''}`;
    let loop = this.#loops.get(key);
    if (loop === undefined) {
      const created: DnsQueryLoop = new DnsQueryLoop(this.#soaMinimum, this.#config, normalized, () => {
        if (this.#loops.get(key) === created) this.#loops.delete(key);
      });
      loop = created;
      this.#loops.set(key, loop);
    }
    const owner = loop;
    const sub = owner.add(listener);
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= owner.remove(sub);
      return closing;
    };
    const watch = { close, [Symbol.asyncDispose]: close };
    return watch;
  }

  /** Stop every loop and cancel in-flight queries. Idempotent: returns the same promise. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const loops = [...this.#loops.values()];
      this.#loops.clear();
      await Promise.all(loops.map((l) => l.close()));
    })();
    return this.#closing;
  }

  /**
   * Same as `close()` (the same promise), for `await using source = new DnsSource()`.
   *
   * @example
   * ```ts
   * await using source = new DnsSource({ servers: ['10.96.0.10:53'] })
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** SOA minimum (seconds) of the zone holding `fqdn`, cached per zone for `maxTtlMs`. */
  readonly #soaMinimum: SoaMinimum = async (resolver, fqdn) => {
    const now = this.#config.now();
    const labels = fqdn.replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length; i++) {
      const hit = this.#soaCache.get(labels.slice(i).join('.'));
      if (hit !== undefined && hit.expiresAt > now) return hit.minimumSeconds;
    }
    const found = await lookupSoaMinimum(resolver, fqdn);
    if (found === undefined) return undefined;
    if (this.#soaCache.size >= SOA_CACHE_LIMIT) {
      const oldest = this.#soaCache.keys().next().value;
      if (oldest !== undefined) this.#soaCache.delete(oldest);
    }
    this.#soaCache.set(found.zone, { minimumSeconds: found.minimumSeconds, expiresAt: now + this.#config.maxTtlMs });
    return found.minimumSeconds;
  };
}

export type { DnsSourceOptions } from './dns/dns-source-options.js';
