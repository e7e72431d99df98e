// ①→④ composed: target → search candidates → shared source watches → `ServiceSnapshot`s.
// Consumes an `EndpointSource` and a `ClusterContext`; produces snapshots, once or as a watch.

import {
  type ClusterContext,
  type DetectClusterContextOptions,
  detectClusterContext,
  isClusterContext,
  validateClusterContextOptions,
} from '../context/cluster-context.js';
import { type Endpoint, READY } from '../endpoint/endpoint.js';
import { ClosedError } from '../errors/closed-error.js';
import { ClusterIPError } from '../errors/clusterip-error.js';
import type { DnsUnavailableError } from '../errors/dns-unavailable-error.js';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { ServiceNotFoundError } from '../errors/service-not-found-error.js';
import { WatchFailedError } from '../errors/watch-failed-error.js';
import type { ClusterName } from '../name/cluster-name.js';
import { interpretClusterName } from '../name/interpret-cluster-name.js';
import { type ResolverMode, searchCandidates, triesAsIsFirst } from '../name/search-candidates.js';
import { parseServiceTarget, type ServiceTarget } from '../name/service-target.js';
import type { EndpointSource } from '../source/endpoint-source.js';
import { resolverChannels } from '../telemetry/channels.js';
import { NameWatch } from './name-watch.js';
import type { ServiceSnapshot } from './service-snapshot.js';

/** Options of {@link Resolver}. */
export interface ResolverOptions {
  /** Where endpoints come from. The resolver does not close a source it was given. */
  readonly source: EndpointSource;
  /**
   * Cluster context, or options to detect it (default: `detectClusterContext()` on first use), or a
   * function called once on first use that produces it (e.g. after a source named the namespace).
   */
  readonly context?: ClusterContext | DetectClusterContextOptions | (() => Promise<ClusterContext>);
  /** Search-list rules; default `glibc`. */
  readonly mode?: ResolverMode;
  /** How long an unused source watch stays open for reuse; default 30000. */
  readonly idleTimeoutMs?: number;
  /** Clock in ms; default `Date.now`. */
  readonly now?: () => number;
}

/** Receives every new snapshot of a {@link ServiceWatch}. */
export type SnapshotListener = (snapshot: ServiceSnapshot) => void;

const OPTION_KEYS = new Set(['source', 'context', 'mode', 'idleTimeoutMs', 'now']);

/**
 * Resolves Service names the way a pod would (search list, ndots, glibc or musl rules) against an
 * endpoint source, and keeps watched endpoint sets current. Watches of the same (name, port) are
 * shared: many callers cost one source watch.
 *
 * @example
 * ```ts
 * const resolver = new Resolver({ source: new DnsSource() })
 * const snap = await resolver.resolve('backend-service:http')
 * const watch = resolver.watch('backend-service:http', (s) => console.log(s.endpoints.length))
 * await watch.close()
 * await resolver.close()
 * ```
 */
export class Resolver {
  readonly #source: EndpointSource;
  readonly #mode: ResolverMode;
  readonly #idleTimeoutMs: number;
  readonly #now: () => number;
  readonly #contextInput: ResolverOptions['context'];
  #context: Promise<ClusterContext> | undefined;
  readonly #names = new Map<string, NameWatch>();
  readonly #watches = new Set<ServiceWatch>();
  #closing: Promise<void> | undefined;

  constructor(options: ResolverOptions) {
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError('options', 'resolver options must be an object with a source');
    }
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.has(key))
        throw new InvalidArgumentError(key, `unexpected option ${JSON.stringify(key)} of Resolver`);
    }
    const source = options.source;
    if (source === null || typeof source !== 'object' || typeof source.watch !== 'function') {
      throw new InvalidArgumentError('source', 'source must be an EndpointSource (DnsSource, KubernetesSource, ...)');
    }
    const mode = options.mode ?? 'glibc';
    if (mode !== 'glibc' && mode !== 'musl') {
      throw new InvalidArgumentError('mode', `mode must be 'glibc' or 'musl', got ${JSON.stringify(mode)}`);
    }
    const idle = options.idleTimeoutMs ?? 30_000;
    if (!Number.isFinite(idle) || idle < 0) {
      throw new InvalidArgumentError(
        'idleTimeoutMs',
        `idleTimeoutMs must be a non-negative number, got ${String(idle)}`,
      );
    }
    const context = options.context;
    if (context !== undefined && typeof context !== 'function' && !isClusterContext(context)) {
      validateClusterContextOptions(context, 'context');
    }
    this.#source = source;
    this.#mode = mode;
    this.#idleTimeoutMs = idle;
    this.#now = options.now ?? Date.now;
    this.#contextInput = options.context;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** The cluster context in use (detected on first call). */
  context(): Promise<ClusterContext> {
    if (this.#context === undefined) {
      const input = this.#contextInput;
      this.#context =
        typeof input === 'function'
          ? Promise.resolve().then(input)
          : input !== undefined && isClusterContext(input)
            ? Promise.resolve(input)
            : detectClusterContext((input ?? {}) as DetectClusterContextOptions);
    }
    return this.#context;
  }

  /**
   * Resolve a target once. Resolves with an `ok` snapshot (possibly `stale`), or rejects with a
   * ServiceNotFoundError, a source error (DnsUnavailableError, WatchFailedError), an
   * InvalidNameError for a malformed target, or ClosedError.
   */
  async resolve(target: string): Promise<ServiceSnapshot> {
    const watch = this.watch(target);
    try {
      const snapshot = await watch.ready;
      if (snapshot.status !== 'ok' && snapshot.error !== undefined) throw snapshot.error;
      return snapshot;
    } finally {
      await watch.close();
    }
  }

  /**
   * Watch a target: `listener` (and the async iterator) receive a snapshot now and on every change,
   * including `not-found` and `unavailable` states. A Service deleted and created again, or one
   * created later under an earlier search candidate, is picked up.
   * Throws InvalidNameError synchronously for a malformed target.
   */
  watch(target: string, listener?: SnapshotListener): ServiceWatch {
    if (this.#closing !== undefined) throw new ClosedError('resolver');
    const parsed = parseServiceTarget(target);
    const watch = new ServiceWatch(this, parsed, listener);
    this.#watches.add(watch);
    return watch;
  }

  /** Close every watch and every source watch. The source itself is not closed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#watches].map((w) => w.close()));
      const names = [...this.#names.values()];
      this.#names.clear();
      await Promise.all(names.map((n) => n.close()));
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal */
  _candidates(target: ServiceTarget, context: ClusterContext): string[] {
    if (target.namespace !== undefined) {
      return [`${target.host}.${target.namespace}.svc.${context.clusterDomain}.`];
    }
    return searchCandidates(target.host, {
      search: context.dns.search,
      ndots: context.dns.ndots,
      mode: this.#mode,
    }).map((c) => c.toLowerCase());
  }

  /** @internal */
  get _mode(): ResolverMode {
    return this.#mode;
  }

  /** @internal */
  get _sourceKind(): string {
    return this.#source.kind;
  }

  /** @internal Acquire a shared name watch (caller must `unref()` it). */
  _acquire(fqdn: string, name: ClusterName, port: number | string | undefined): NameWatch {
    const key = `${fqdn}|${port ?? ''}`;
    let entry = this.#names.get(key);
    if (entry === undefined) {
      entry = new NameWatch(
        this.#source,
        key,
        { fqdn, name, ...(port === undefined ? {} : { port }) },
        {
          now: this.#now,
          idleTimeoutMs: this.#idleTimeoutMs,
          onIdle: (w) => {
            if (this.#names.get(w.key) === w && w.idle) {
              this.#names.delete(w.key);
              void w.close();
            }
          },
        },
      );
      this.#names.set(key, entry);
    }
    entry.ref();
    return entry;
  }

  /** @internal */
  _forget(watch: ServiceWatch): void {
    this.#watches.delete(watch);
  }
}

/**
 * A live view of one target. `current` is the latest snapshot; `ready` resolves with the first.
 * Iterate with `for await (const snapshot of watch)`; slow consumers see the latest snapshot,
 * intermediate ones may be skipped.
 */
export class ServiceWatch implements AsyncIterable<ServiceSnapshot> {
  readonly #resolver: Resolver;
  readonly #target: ServiceTarget;
  readonly #listener: SnapshotListener | undefined;
  /** Candidate watches held, in search order. */
  #held: { entry: NameWatch; unsubscribe: () => void }[] = [];
  #candidates: { fqdn: string; name: ClusterName }[] | undefined;
  #asIsFirst = false;
  #current: ServiceSnapshot | undefined;
  #lastKey = '';
  #version = 0;
  #closing: Promise<void> | undefined;
  #readyResolve!: (s: ServiceSnapshot) => void;
  #readyReject!: (e: unknown) => void;
  readonly #waiters: ((r: IteratorResult<ServiceSnapshot>) => void)[] = [];
  #unread = false;

  /** Resolves with the first snapshot; rejects with ClosedError if closed before it. */
  readonly ready: Promise<ServiceSnapshot>;

  /** @internal Use `Resolver.watch()`. */
  constructor(resolver: Resolver, target: ServiceTarget, listener: SnapshotListener | undefined) {
    this.#resolver = resolver;
    this.#target = target;
    this.#listener = listener;
    this.ready = new Promise((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    this.ready.catch(() => {});
    void this.#start();
  }

  /** The latest snapshot, or undefined before the first. */
  get current(): ServiceSnapshot | undefined {
    return this.#current;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Stop watching. Idempotent; no listener call happens after it returns. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#readyReject(new ClosedError('watch'));
      this.#release(0);
      for (const w of this.#waiters.splice(0)) w({ done: true, value: undefined });
      this.#resolver._forget(this);
      this.#closing = Promise.resolve();
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<ServiceSnapshot> {
    return {
      next: () => {
        if (this.#closing !== undefined) return Promise.resolve({ done: true, value: undefined });
        if (this.#unread && this.#current !== undefined) {
          this.#unread = false;
          return Promise.resolve({ done: false, value: this.#current });
        }
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  async #start(): Promise<void> {
    let context: ClusterContext;
    try {
      context = await this.#resolver.context();
    } catch (error) {
      this.#readyReject(error);
      return;
    }
    if (this.#closing !== undefined) return;
    const target = this.#target;
    if (target.ipVersion !== 0) {
      this.#emitAddress(target);
      return;
    }
    try {
      this.#candidates = this.#resolver
        ._candidates(target, context)
        .map((fqdn) => ({ fqdn, name: interpretClusterName(fqdn, context.clusterDomain) }));
      // glibc tries the name as-is first when it has at least ndots dots (a root search domain can put
      // the same name first otherwise; that is not an as-is-first attempt).
      this.#asIsFirst =
        target.namespace === undefined && !target.host.endsWith('.') && triesAsIsFirst(target.host, context.dns.ndots);
    } catch (error) {
      this.#readyReject(error);
      void this.close();
      return;
    }
    this.#evaluate();
  }

  /**
   * Walk the candidates in order with the rules of a pod's resolver; hold watches up to the decision.
   * glibc: NXDOMAIN, NODATA and SERVFAIL go on to the next candidate; when none answers, the error is
   * the as-is attempt's if the name was tried as-is first, else NODATA, else SERVFAIL, else NXDOMAIN.
   * musl: only NXDOMAIN goes on. Any other failure stops the search in both.
   */
  #evaluate(): void {
    if (this.#closing !== undefined || this.#candidates === undefined) return;
    const candidates = this.#candidates;
    const glibc = this.#resolver._mode === 'glibc';
    let servfail: ClusterIPError | undefined;
    let nodata: number | undefined; // the first candidate that answered NODATA
    for (let i = 0; i < candidates.length; i++) {
      let entry: NameWatch;
      try {
        entry = this.#hold(i, candidates[i]!);
      } catch (error) {
        // The source refused the watch (closed, or a custom source that throws): fail, never hang.
        this.#release(i);
        this.#emitFailure('unavailable', i, sourceError(error, candidates[i]!.fqdn));
        return;
      }
      const state = entry.state;
      if (state.phase === 'pending') return; // wait: a change of this entry re-evaluates
      if (state.phase === 'found') {
        this.#release(i + 1);
        this.#emitFrom(entry, i);
        return;
      }
      if (state.phase === 'not-found') {
        if (state.reason === 'nodata') {
          if (!glibc) {
            this.#release(i + 1);
            this.#emitFailure('not-found', i, this.#notFound(i, i));
            return;
          }
          nodata ??= i;
        }
        continue;
      }
      if (glibc && isServfail(state.error)) {
        servfail ??= state.error;
        continue;
      }
      this.#release(i + 1);
      this.#emitFailure('unavailable', i, state.error);
      return;
    }
    const last = candidates.length - 1;
    const first = this.#held[0]?.entry.state;
    const asIsFirst = this.#asIsFirst && candidates.length > 1;
    if (asIsFirst && first?.phase === 'unavailable') this.#emitFailure('unavailable', last, first.error);
    else if (asIsFirst && first?.phase === 'not-found') {
      this.#emitFailure('not-found', last, this.#notFound(last, first.reason === 'nodata' ? 0 : undefined));
    } else if (nodata !== undefined) this.#emitFailure('not-found', last, this.#notFound(last, nodata));
    else if (servfail !== undefined) this.#emitFailure('unavailable', last, servfail);
    else this.#emitFailure('not-found', last, this.#notFound(last, undefined));
  }

  /**
   * The error when the search ends at candidate `index` without an answer; `nodataAt` is the candidate
   * whose NODATA decided it (glibc/musl rules), if any. Its detail is the error's, unless that name is a
   * namespace or the cluster domain (`<ns>.svc.<zone>`, what a one-label name meets as its second
   * candidate): nobody means those, so the first candidate naming a Service (`<name>.<ns>.svc.<zone>`)
   * says what is true instead, e.g. `no service web in namespace prod`. The same when all were NXDOMAIN.
   */
  #notFound(index: number, nodataAt: number | undefined): ServiceNotFoundError {
    const candidates = this.#candidates!;
    const tried = candidates.slice(0, index + 1).map((c) => c.fqdn);
    const nodata = nodataAt === undefined ? undefined : this.#held[nodataAt]?.entry.state;
    const nodataText =
      nodataAt === undefined || nodata?.phase !== 'not-found'
        ? undefined
        : nodataDetail(nodata, candidates[nodataAt]!.fqdn);
    let detail = nodataAt !== undefined && candidates[nodataAt]!.name.kind !== 'no-data' ? nodataText : undefined;
    if (detail === undefined) {
      const named = candidates.findIndex((c, i) => i <= index && c.name.kind === 'service');
      const state = named === -1 ? undefined : this.#held[named]?.entry.state;
      if (state?.phase === 'not-found') detail = state.detail;
    }
    return new ServiceNotFoundError(this.#target.input, tried, detail ?? nodataText);
  }

  #hold(index: number, candidate: { fqdn: string; name: ClusterName }): NameWatch {
    const held = this.#held[index];
    if (held !== undefined) return held.entry;
    const entry = this.#resolver._acquire(candidate.fqdn, candidate.name, this.#target.port);
    const unsubscribe = entry.subscribe(() => this.#evaluate());
    this.#held[index] = { entry, unsubscribe };
    return entry;
  }

  #release(from: number): void {
    for (const held of this.#held.splice(from)) {
      held.unsubscribe();
      held.entry.unref();
    }
  }

  #emitFrom(entry: NameWatch, index: number): void {
    const state = entry.state;
    if (state.phase !== 'found') return;
    const key = `${entry.key}#${entry.version}`;
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    const service = entry.service;
    this.#emit({
      status: 'ok',
      target: this.#target.input,
      fqdn: entry.query.fqdn,
      name: entry.query.name,
      ...(this.#target.port === undefined ? {} : { port: this.#target.port }),
      ...(service === undefined ? {} : { service }),
      endpoints: state.set.endpoints,
      stale: state.stale,
      ...(state.error === undefined ? {} : { error: state.error }),
      ...(state.reason === undefined ? {} : { reason: state.reason }),
      syncedAt: state.syncedAt,
      tried: this.#candidates!.slice(0, index + 1).map((c) => c.fqdn),
      source: this.#resolver._sourceKind,
      version: 0,
    });
  }

  #emitFailure(status: 'not-found' | 'unavailable', index: number, error: ClusterIPError): void {
    const candidate = this.#candidates![index]!;
    const key = `${status}:${index}:${error.message}`;
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    this.#emit({
      status,
      target: this.#target.input,
      fqdn: candidate.fqdn,
      name: candidate.name,
      ...(this.#target.port === undefined ? {} : { port: this.#target.port }),
      endpoints: [],
      stale: false,
      error,
      tried: this.#candidates!.slice(0, index + 1).map((c) => c.fqdn),
      source: this.#resolver._sourceKind,
      version: 0,
    });
  }

  #emitAddress(target: ServiceTarget): void {
    if (typeof target.port !== 'number') {
      const error = new InvalidArgumentError(
        'target',
        `target ${JSON.stringify(target.input)}: an IP address needs a port number, e.g. ${target.ipVersion === 6 ? `[${target.host}]` : target.host}:80`,
      );
      this.#readyReject(error);
      void this.close();
      return;
    }
    const endpoint: Endpoint = {
      address: target.host,
      port: target.port,
      protocol: 'TCP',
      addressType: target.ipVersion === 6 ? 'IPv6' : 'IPv4',
      conditions: READY,
    };
    this.#emit({
      status: 'ok',
      target: target.input,
      fqdn: target.host,
      name: { kind: 'outside', fqdn: target.host },
      port: target.port,
      endpoints: [endpoint],
      stale: false,
      tried: [],
      source: 'address',
      version: 0,
    });
  }

  #emit(snapshot: ServiceSnapshot): void {
    if (this.#closing !== undefined) return;
    const frozen = Object.freeze({ ...snapshot, version: ++this.#version });
    this.#current = frozen;
    this.#readyResolve(frozen);
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter({ done: false, value: frozen });
    else this.#unread = true;
    if (resolverChannels.resolverUpdate.hasSubscribers) resolverChannels.resolverUpdate.publish({ snapshot: frozen });
    for (const w of this.#waiters.splice(0)) w({ done: false, value: frozen });
    if (this.#listener !== undefined) {
      try {
        this.#listener(frozen);
      } catch (error) {
        // A throwing listener must not break the watch's state machine; surface it without crashing.
        process.emitWarning(`clusterip: snapshot listener threw: ${String(error)}`, 'ClusterIPWarning');
      }
    }
  }
}

/** What a source's `watch()` threw, as a ClusterIPError (a custom source may throw anything). */
function sourceError(error: unknown, fqdn: string): ClusterIPError {
  if (error instanceof ClusterIPError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new WatchFailedError(fqdn, `the endpoint source threw: ${detail}`, { cause: error });
}

/** Why a name answered NODATA: the source's detail, else a generic one. */
function nodataDetail(state: { readonly detail?: string }, fqdn: string): string {
  return state.detail ?? `${fqdn} exists but has no address records`;
}

// glibc continues the search list after SERVFAIL and stops on every other failure (spec §2.3).
function isServfail(error: ClusterIPError): boolean {
  return error.code === 'CLUSTERIP_ERR_DNS_UNAVAILABLE' && (error as DnsUnavailableError).reason === 'servfail';
}
