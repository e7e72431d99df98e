// ③ Endpoint source (Kubernetes): watches Services and their EndpointSlices through the API server.
// Consumes SourceQuery (one absolute cluster name + port); produces SourceEvents (service, reset/add/
// remove/not-found, stale) from one shared, ref-counted list+watch pair per Service, or per namespace
// once it has namespaceWatchServices watched Services (namespace-watch.ts).

import type { Endpoint, Protocol } from '../../endpoint/endpoint.js';
import { endpointDnsLabel } from '../../endpoint/endpoint.js';
import { ClosedError } from '../../errors/closed-error.js';
import { InvalidArgumentError } from '../../errors/invalid-argument-error.js';
import { PortNotFoundError } from '../../errors/port-not-found-error.js';
import { WatchFailedError } from '../../errors/watch-failed-error.js';
import { Backoff, type BackoffConfig } from '../../internal/backoff.js';
import { unrefTimer } from '../../internal/timers.js';
import { isDns1123Label } from '../../name/validate-names.js';
import { findServicePort, findSrvPort } from '../../service/find-service-port.js';
import type { ServiceInfo } from '../../service/service-info.js';
import { callListener } from '../call-listener.js';
import type { EndpointSource, SourceListener, SourceQuery, SourceWatch } from '../endpoint-source.js';
import type { EndpointUpdate, SourceEvent } from '../endpoint-update.js';
import {
  type InClusterOptions,
  inClusterConfig,
  type KubeconfigOptions,
  type KubernetesSourceConfig,
  type KubernetesSourceOptions,
  kubeconfigOptions,
  type RunRequest,
  resolveKubernetesSourceOptions,
} from './config.js';
import {
  type DecodedSlice,
  EndpointSliceCache,
  SERVICE_NAME_LABEL,
  type SliceSelector,
} from './endpoint-slice-merge.js';
import { KubeApiClient } from './kube-api-client.js';
import { NamespaceWatch, type NamespaceWatchMember, type WatchedCollection } from './namespace-watch.js';
import { createWatchPair, type WatchPair } from './watch-pair.js';

/**
 * When a namespace whose shared pair did not work tries it again: after 1 min, doubling per failure up to
 * 30 min, never reset (a namespace whose lists work but whose watch is refused would otherwise churn).
 */
const RETRY_SHARED: BackoffConfig = Object.freeze({
  initialMs: 60_000,
  maxMs: 30 * 60_000,
  factor: 2,
  jitter: 0,
  resetAfterMs: Number.POSITIVE_INFINITY,
});

/**
 * Why a Service's endpoint set is empty or unusable, carried on `reset` updates (`reason.code`):
 * - `no-endpoint-slices`: the Service has no EndpointSlice (its selector matches no pod, or it has
 *   no selector and nobody created slices for it);
 * - `port-not-in-slices`: slices list endpoints but none carries the requested port (typically a
 *   named `targetPort` that no pod declares as a container port with that protocol);
 * - `no-endpoints`: slices exist but list no endpoint (every pod gone: the controller's placeholder
 *   slice has no ports either);
 * - `no-ready-endpoints`: endpoints exist but none is ready (they are still in the reset, with
 *   their conditions, for the serving-terminating fallback);
 * - `port-not-found`: the Service has no such port (kube-proxy would refuse the connection); a
 *   headless Service without ports asked for a port also answers this (asked without a port, it
 *   gives its addresses on port 0);
 * - `external-name`: an ExternalName Service has no endpoints; resolve its CNAME target instead.
 */
export type KubernetesEmptyReasonCode =
  | 'no-endpoint-slices'
  | 'port-not-in-slices'
  | 'no-endpoints'
  | 'no-ready-endpoints'
  | 'port-not-found'
  | 'external-name';

type Reason = { readonly code: KubernetesEmptyReasonCode; readonly message: string };

/** What one watch view selects from a Service. */
interface ViewSpec {
  readonly kind: 'service' | 'endpoint' | 'srv';
  readonly port: number | string | undefined;
  /** srv: the protocol label of the name (upper-cased). */
  readonly protocol: string | undefined;
  /** endpoint: the hostname label to match (lower-cased). */
  readonly hostname: string | undefined;
}

/** One `watch()` call. */
class Subscription implements SourceWatch {
  closed = false;
  readonly #listener: SourceListener;
  readonly #onClose: (sub: Subscription) => void;
  #closing: Promise<void> | undefined;
  view: View | undefined;

  constructor(listener: SourceListener, onClose: (sub: Subscription) => void) {
    this.#listener = listener;
    this.#onClose = onClose;
  }

  deliver(event: SourceEvent): void {
    if (!this.closed) callListener(this.#listener, event, 'kubernetes');
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.closed) return;
      this.closed = true;
      this.#onClose(this);
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

type Target =
  | { readonly type: 'not-found'; readonly detail: string }
  | { readonly type: 'empty'; readonly reason: Reason }
  | {
      readonly type: 'port';
      readonly selector: SliceSelector;
      readonly key: string;
      readonly targetPort: number | string;
    };

/** One (port, hostname) selection of a Service, shared by the subscriptions that ask the same. */
class View {
  readonly spec: ViewSpec;
  readonly subs = new Set<Subscription>();
  #cache: EndpointSliceCache | undefined;
  #cacheKey: string | undefined;
  #last: 'none' | 'not-found' | 'reset' = 'none';
  #lastDetail: string | undefined;

  constructor(spec: ViewSpec) {
    this.spec = spec;
  }

  #emit(event: SourceEvent, only?: Subscription): void {
    if (only !== undefined) only.deliver(event);
    else for (const s of this.subs) s.deliver(event);
  }

  #target(w: ServiceWatch): Target {
    const svc = w.service;
    const subject = `${w.name}.${w.namespace}`;
    if (svc === null || svc === undefined) return { type: 'not-found', detail: `service ${subject} not found` };
    const spec = this.spec;
    if (svc.type === 'ExternalName') {
      if (spec.kind !== 'service') {
        return {
          type: 'not-found',
          detail: `service ${subject} is an ExternalName service: it has no ${spec.kind} names`,
        };
      }
      return {
        type: 'empty',
        reason: {
          code: 'external-name',
          message: `service ${subject}: type ExternalName (alias of ${svc.externalName}): it has no endpoints, resolve ${svc.externalName} with DNS`,
        },
      };
    }
    let port: { name: string; protocol: Protocol; targetPort: number | string };
    let addressOnly = false;
    if (spec.kind === 'srv') {
      const [wanted, protocol] = [spec.port as string, spec.protocol as string];
      const found = findSrvPort(svc, wanted, protocol);
      if (found === undefined) {
        return {
          type: 'not-found',
          detail: `service ${subject} has no port named ${wanted.toLowerCase()} with protocol ${protocol}`,
        };
      }
      port = found;
    } else if (svc.ports.length === 0 && spec.port === undefined) {
      // A headless Service may have no ports (its slices have `ports: []`); cluster DNS still
      // answers its A/AAAA records (spec §1.3), so a query without a port gets the addresses, on
      // port 0 = "addresses only", as DnsSource answers a portless name.
      port = { name: '', protocol: 'TCP', targetPort: 0 };
      addressOnly = true;
    } else {
      try {
        port = findServicePort(svc, spec.port);
      } catch (err) {
        if (!(err instanceof PortNotFoundError)) throw err;
        return { type: 'empty', reason: { code: 'port-not-found', message: err.message } };
      }
    }
    const hostname = spec.hostname;
    const selector: SliceSelector = {
      portName: port.name,
      protocol: port.protocol,
      nodeName: w.source.config.nodeName,
      filter: hostname === undefined ? undefined : (e: Endpoint) => endpointDnsLabel(e) === hostname,
      addressOnly,
    };
    const key = addressOnly ? 'address-only' : `${port.name}/${port.protocol}`;
    return { type: 'port', selector, key, targetPort: port.targetPort };
  }

  #reason(w: ServiceWatch, cache: EndpointSliceCache, t: Target & { type: 'port' }): Reason | undefined {
    const subject = `${w.name}.${w.namespace}`;
    const portLabel = t.selector.addressOnly
      ? '(no ports, addresses only)'
      : t.selector.portName
        ? JSON.stringify(t.selector.portName)
        : `${w.service?.ports[0]?.port ?? ''}`;
    if (w.slices.size === 0) {
      const selectorLess = w.service?.selector === undefined;
      return {
        code: 'no-endpoint-slices',
        message: selectorLess
          ? `service ${subject}: no endpoints: the service has no selector and no EndpointSlice labelled ${SERVICE_NAME_LABEL}=${w.name} exists (create one, or give the service a selector)`
          : `service ${subject}: no endpoints: its selector matches no running pod (no EndpointSlice exists)`,
      };
    }
    if (cache.slicesWithPort === 0 && t.selector.addressOnly) {
      return {
        code: 'no-endpoints',
        message: `service ${subject}: ${portLabel}: no IPv4 or IPv6 EndpointSlice lists an endpoint (${w.slices.size} slices)`,
      };
    }
    if (cache.slicesWithPort === 0) {
      // Slices take their ports from the pods: with no pod, the controller's slice (its placeholder) has
      // neither ports nor endpoints. That is a Service without endpoints, not a port the pods lack.
      let listed = false;
      for (const slice of w.slices.values()) if (slice.endpoints.length > 0) listed = true;
      if (!listed) {
        return {
          code: 'no-endpoints',
          message: `service ${subject}: port ${portLabel}: no endpoints: its EndpointSlices list none (no running pod matches its selector)`,
        };
      }
      const named = typeof t.targetPort === 'string';
      return {
        code: 'port-not-in-slices',
        message: named
          ? `service ${subject}: port ${portLabel}: no pod declares a container port named ${JSON.stringify(t.targetPort)} with protocol ${t.selector.protocol} (the service's targetPort), so no endpoint has this port`
          : `service ${subject}: port ${portLabel}: no EndpointSlice of the service carries this port (${w.slices.size} slices)`,
      };
    }
    if (cache.size === 0) {
      return {
        code: 'no-endpoints',
        message: `service ${subject}: port ${portLabel}: the EndpointSlices list no endpoints`,
      };
    }
    if (cache.readyCount === 0) {
      return {
        code: 'no-ready-endpoints',
        message: `service ${subject}: port ${portLabel}: none of the ${cache.size} endpoints is ready`,
      };
    }
    return undefined;
  }

  /**
   * Recompute the whole view. `force` emits even when nothing visible changed (after a relist or a
   * recovery, where the contract demands a reset); `only` replays to one new subscription.
   */
  full(w: ServiceWatch, force: boolean, only?: Subscription): void {
    const t = this.#target(w);
    if (t.type === 'not-found') {
      this.#cache = undefined;
      this.#cacheKey = undefined;
      if (only === undefined && !force && this.#last === 'not-found' && this.#lastDetail === t.detail) return;
      this.#last = 'not-found';
      this.#lastDetail = t.detail;
      this.#emit({ type: 'update', update: { type: 'not-found', reason: 'nxdomain', detail: t.detail } }, only);
      return;
    }
    if (t.type === 'empty') {
      this.#cache = undefined;
      this.#cacheKey = undefined;
      if (only === undefined && !force && this.#last === 'reset' && this.#lastDetail === t.reason.code) return;
      this.#last = 'reset';
      this.#lastDetail = t.reason.code;
      this.#emit({ type: 'update', update: { type: 'reset', endpoints: [], reason: t.reason } }, only);
      return;
    }
    let rebuilt = false;
    if (this.#cache === undefined || this.#cacheKey !== t.key) {
      this.#cache = new EndpointSliceCache(t.selector);
      this.#cacheKey = t.key;
      this.#cache.reset(w.slices.values());
      rebuilt = true;
    } else if (force && only === undefined) {
      this.#cache.reset(w.slices.values());
      rebuilt = true;
    }
    this.#publish(w, this.#cache, t, force || rebuilt, only);
  }

  /** Apply one slice change incrementally (O(slice size)). */
  slice(w: ServiceWatch, name: string, slice: DecodedSlice | undefined): void {
    const cache = this.#cache;
    if (cache === undefined) return; // no port selected (service missing, ExternalName, bad port)
    const diff = slice === undefined ? cache.delete(name) : cache.update(slice);
    if (diff.added.length === 0 && diff.removed.length === 0 && this.#last !== 'reset') return;
    const t = this.#target(w);
    if (t.type !== 'port') return;
    const reason = this.#reason(w, cache, t);
    if (this.spec.hostname !== undefined) {
      if ((cache.size === 0) !== (this.#last === 'not-found') || this.#last === 'none') {
        this.#publish(w, cache, t, true);
        return;
      }
    } else if (this.#last !== 'reset' || (reason?.code ?? '') !== (this.#lastDetail ?? '')) {
      this.#publish(w, cache, t, true);
      return;
    }
    // Add before remove: the set grows then shrinks, never dipping below its final size.
    if (diff.added.length > 0) this.#emit({ type: 'update', update: { type: 'add', endpoints: diff.added } });
    if (diff.removed.length > 0) this.#emit({ type: 'update', update: { type: 'remove', keys: diff.removed } });
  }

  #publish(
    w: ServiceWatch,
    cache: EndpointSliceCache,
    t: Target & { type: 'port' },
    force: boolean,
    only?: Subscription,
  ) {
    if (this.spec.hostname !== undefined && cache.size === 0) {
      const detail = `no endpoint named ${this.spec.hostname} in service ${w.name}.${w.namespace}`;
      if (only === undefined && !force && this.#last === 'not-found') return;
      this.#last = 'not-found';
      this.#lastDetail = detail;
      this.#emit({ type: 'update', update: { type: 'not-found', reason: 'nxdomain', detail } }, only);
      return;
    }
    const reason = this.spec.hostname === undefined ? this.#reason(w, cache, t) : undefined;
    const code = reason?.code ?? '';
    if (only === undefined && !force && this.#last === 'reset' && this.#lastDetail === code) return;
    this.#last = 'reset';
    this.#lastDetail = code;
    const update: EndpointUpdate =
      reason === undefined
        ? { type: 'reset', endpoints: cache.endpoints }
        : { type: 'reset', endpoints: cache.endpoints, reason };
    this.#emit({ type: 'update', update }, only);
  }
}

/**
 * One watched Service with its views. Fed by its own list+watch pair (the Service by name, its
 * EndpointSlices by label), or by its namespace's shared pair once the namespace has enough watched
 * Services (see `namespaceWatchServices`).
 */
class ServiceWatch implements NamespaceWatchMember {
  readonly source: KubernetesSource;
  readonly namespace: string;
  readonly name: string;
  /** undefined until the first list; null when the Service does not exist. */
  service: ServiceInfo | null | undefined;
  readonly slices = new Map<string, DecodedSlice>();
  #slicesListed = false;
  readonly views = new Map<string, View>();
  #subs = 0;
  #failing = { services: false, slices: false };
  #stale: WatchFailedError | undefined;
  #idleTimer: unknown;
  readonly #client: KubeApiClient;
  /** Its own pair, while it runs one. */
  #own: WatchPair | undefined;
  #ownStopped: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(source: KubernetesSource, client: KubeApiClient, namespace: string, name: string) {
    this.source = source;
    this.namespace = namespace;
    this.name = name;
    this.#client = client;
  }

  get feedingItself(): boolean {
    return this.#own !== undefined;
  }

  /** Start its own pair (a Service not fed, or not yet, by a namespace-wide pair). */
  start(): void {
    if (this.#own !== undefined || this.#stopping !== undefined) return;
    this.#own = createWatchPair(this.source.config, this.#client, this.namespace, this.name, {
      services: {
        onList: (items) => this.servicesListed(items[0] ?? null),
        onUpsert: (svc) => this.serviceUpserted(svc),
        onDelete: () => this.serviceDeleted(),
        onFailure: (err) => this.failed('services', err),
        onRecover: () => this.recovered('services'),
      },
      slices: {
        onList: (items) => this.slicesListed(items),
        onUpsert: (slice) => this.sliceUpserted(slice),
        onDelete: (slice) => this.sliceDeleted(slice),
        onFailure: (err) => this.failed('slices', err),
        onRecover: () => this.recovered('slices'),
      },
    });
    this.#own.services.start();
    this.#own.slices.start();
  }

  // ── feed: what a list+watch pair reports about this Service ───────────────────────────────────

  servicesListed(service: ServiceInfo | null): void {
    this.#failing.services = false;
    this.service = service;
    this.#changed(true, true);
  }

  serviceUpserted(service: ServiceInfo): void {
    this.service = service;
    this.#changed(false, true);
  }

  serviceDeleted(): void {
    this.service = null;
    this.#changed(false, false);
  }

  slicesListed(slices: Iterable<DecodedSlice>): void {
    this.#failing.slices = false;
    this.#replaceSlices(slices);
    this.#changed(true, false);
  }

  sliceUpserted(slice: DecodedSlice): void {
    this.slices.set(slice.name, slice);
    this.#sliceChanged(slice.name, slice);
  }

  sliceDeleted(slice: DecodedSlice): void {
    if (!this.slices.delete(slice.name)) return;
    this.#sliceChanged(slice.name, undefined);
  }

  /**
   * Switch to the namespace-wide pair: its state replaces this one's in one step (a single `reset` per
   * view, as after a relist), and the own pair stops (no call from it after this).
   */
  handOver(service: ServiceInfo | null, slices: Iterable<DecodedSlice>): void {
    const own = this.#own;
    if (own !== undefined) {
      this.#own = undefined;
      this.#ownStopped = Promise.all([own.services.stop(), own.slices.stop()]).then(() => undefined);
    }
    this.#failing = { services: false, slices: false };
    this.service = service;
    this.#replaceSlices(slices);
    this.#changed(true, true);
  }

  #replaceSlices(slices: Iterable<DecodedSlice>): void {
    this.slices.clear();
    for (const s of slices) this.slices.set(s.name, s);
    this.#slicesListed = true;
  }

  get synced(): boolean {
    return this.service !== undefined && this.#slicesListed;
  }

  get idle(): boolean {
    return this.#subs === 0;
  }

  subscribe(spec: ViewSpec, sub: Subscription): void {
    this.#subs++;
    if (this.#idleTimer !== undefined) {
      this.source.config.timers.clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
    const key = `${spec.kind}|${String(spec.port)}|${typeof spec.port}|${spec.protocol ?? ''}|${spec.hostname ?? ''}`;
    let view = this.views.get(key);
    const fresh = view === undefined;
    if (view === undefined) {
      view = new View(spec);
      this.views.set(key, view);
    }
    view.subs.add(sub);
    sub.view = view;
    const v = view;
    // Replay what is known, asynchronously (never from inside watch()).
    queueMicrotask(() => {
      if (sub.closed) return;
      if (this.synced) {
        if (this.service) sub.deliver({ type: 'service', service: this.service });
        v.full(this, fresh, sub);
        if (this.#stale !== undefined) sub.deliver({ type: 'stale', error: this.#stale });
      } else if (this.#stale !== undefined) {
        sub.deliver({ type: 'stale', error: this.#stale });
      }
    });
  }

  unsubscribe(sub: Subscription): void {
    const view = sub.view;
    if (view === undefined || !view.subs.delete(sub)) return;
    sub.view = undefined;
    if (view.subs.size === 0) {
      for (const [k, v] of this.views) if (v === view) this.views.delete(k);
    }
    this.#subs--;
    if (this.#subs === 0) {
      this.#idleTimer = unrefTimer(
        this.source.config.timers.setTimeout(() => {
          this.#idleTimer = undefined;
          if (this.#subs === 0) this.source.evict(this);
        }, this.source.config.idleTimeoutMs),
      );
    }
  }

  /** Stop its own pair, if any (leaving a namespace-wide pair is the source's part). Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#idleTimer !== undefined) this.source.config.timers.clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      const own = this.#own;
      this.#own = undefined;
      await Promise.all([own?.services.stop(), own?.slices.stop(), this.#ownStopped]);
    })();
    return this.#stopping;
  }

  #allSubs(): Subscription[] {
    const out: Subscription[] = [];
    for (const v of this.views.values()) for (const s of v.subs) out.push(s);
    return out;
  }

  /** The Service or the whole slice set changed. `relist`: a list replaced the state. */
  #changed(relist: boolean, serviceEvent: boolean): void {
    if (!this.synced) return;
    const recovered = this.#stale !== undefined && !this.#failing.services && !this.#failing.slices;
    if (recovered) this.#stale = undefined;
    if ((serviceEvent || relist) && this.service) {
      const event: SourceEvent = { type: 'service', service: this.service };
      for (const s of this.#allSubs()) s.deliver(event);
    }
    for (const v of this.views.values()) v.full(this, relist || recovered);
    this.#restale();
  }

  #sliceChanged(name: string, slice: DecodedSlice | undefined): void {
    if (!this.synced) return;
    for (const v of this.views.values()) v.slice(this, name, slice);
    this.#restale();
  }

  /** Updates clear a listener's stale state; while a watch still fails, say so again. */
  #restale(): void {
    if (this.#stale === undefined) return;
    const event: SourceEvent = { type: 'stale', error: this.#stale };
    for (const s of this.#allSubs()) s.deliver(event);
  }

  failed(which: WatchedCollection, error: WatchFailedError): void {
    this.#failing[which] = true;
    if (this.#stale !== undefined) return; // once per outage
    this.#stale = error;
    const event: SourceEvent = { type: 'stale', error };
    for (const s of this.#allSubs()) s.deliver(event);
  }

  recovered(which: WatchedCollection): void {
    this.#failing[which] = false;
    if (this.#stale === undefined || this.#failing.services || this.#failing.slices) return;
    this.#stale = undefined;
    if (!this.synced) return;
    // The watch resumed from its resourceVersion: state is current, but the contract wants a reset.
    for (const v of this.views.values()) v.full(this, true);
  }
}

/**
 * Endpoint source backed by the Kubernetes API: for each Service asked about, one shared list+watch
 * of the Service (`fieldSelector=metadata.name=<svc>`) and one of its EndpointSlices
 * (`labelSelector=kubernetes.io/service-name=<svc>`), merged with kube-proxy's rules. Once
 * `namespaceWatchServices` Services of one namespace are watched (default 16), one namespace-wide pair
 * (all its Services, all its EndpointSlices) feeds them all instead; each Service switches over once
 * that pair has listed both, with one `reset`.
 *
 * Behaviour:
 * - names: `service` → the endpoints (pods, also for ClusterIP Services) of the requested port;
 *   `endpoint` → those whose hostname (else dashed IP, as CoreDNS) equals the first label; `srv` → the named port;
 *   `pod`, `no-data`, `invalid`, `outside` → `not-found` (NXDOMAIN / NODATA);
 * - a missing Service → `not-found` (`nxdomain`), then a `reset` if it appears; ExternalName → a
 *   `service` event and an empty `reset` with reason `external-name`; a missing port → an empty
 *   `reset` with reason `port-not-found` (the name exists, connections would be refused), except
 *   for SRV names, which are `not-found`;
 * - a headless Service without ports (its slices have `ports: []`): a query without a port gets
 *   address-only endpoints, port `0` = "addresses only: the caller supplies the port" (cluster DNS
 *   answers A/AAAA for it, and DnsSource answers the same way); a query with a port gets an empty
 *   `reset` with reason `port-not-found`;
 * - empty or unusable sets carry a `reason` (see {@link KubernetesEmptyReasonCode});
 * - API outages: the last state stays, listeners get `stale` with a `WatchFailedError`, retries use
 *   jittered exponential backoff, and the first update after recovery is a `reset`;
 * - a Service's watches close `idleTimeoutMs` after its last `watch()` closed.
 *
 * @example
 * ```ts
 * const source = KubernetesSource.inCluster()
 * const w = source.watch({ fqdn: 'web.prod.svc.cluster.local.', name: { kind: 'service', namespace: 'prod', service: 'web' }, port: 'http' },
 *   (event) => console.log(event))
 * await w.close()
 * await source.close()
 * ```
 */
export class KubernetesSource implements EndpointSource {
  readonly kind = 'kubernetes';
  /** Validated, frozen configuration (no secrets are ever printed from it). */
  readonly config: KubernetesSourceConfig;
  /** Namespace known from the environment (in-cluster namespace file, kubeconfig context), if any. */
  readonly namespace: string | undefined;
  readonly #client: KubeApiClient;
  readonly #watches = new Map<string, ServiceWatch>();
  /** Watched Services per namespace (the count `namespaceWatchServices` is compared with). */
  readonly #perNamespace = new Map<string, number>();
  readonly #namespaceWatches = new Map<string, NamespaceWatch>();
  /**
   * Namespaces where a namespace-wide pair did not work (forbidden, undecodable, oversized): how often,
   * and the timer that tries it again; per-Service pairs only while that timer runs.
   */
  readonly #fellBack = new Map<string, { readonly backoff: Backoff; retry: unknown }>();
  readonly #stopping = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;

  /**
   * @param options - see {@link KubernetesSourceOptions}; validated here, unknown keys rejected with
   *   {@link InvalidArgumentError}.
   */
  constructor(options: KubernetesSourceOptions, namespace?: string) {
    this.config = resolveKubernetesSourceOptions(options);
    this.namespace = namespace;
    this.#client = new KubeApiClient(this.config.client);
  }

  /**
   * A source for code running in a pod: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`,
   * the service-account token (re-read every minute and after a 401) and CA bundle. Paths and the
   * environment can be overridden. Throws {@link InvalidArgumentError} outside a cluster.
   *
   * @example
   * ```ts
   * const source = KubernetesSource.inCluster({ nodeName: process.env.NODE_NAME })
   * ```
   */
  static inCluster(options?: InClusterOptions): KubernetesSource {
    const { options: resolved, namespace } = inClusterConfig(options);
    return new KubernetesSource(resolved, namespace);
  }

  /**
   * A source configured from a kubeconfig file (default `$KUBECONFIG` or `~/.kube/config`) and
   * context (default `current-context`). Supports tokens, token files, client certificates and CA
   * data/files; exec-plugin and auth-provider (OIDC) users through the optional peer
   * `@kubernetes/client-node` (without it: an {@link InvalidArgumentError} that says how to install it).
   *
   * @example
   * ```ts
   * const source = await KubernetesSource.fromKubeconfig({ context: 'kind-dev' })
   * ```
   */
  static async fromKubeconfig(options?: KubeconfigOptions): Promise<KubernetesSource> {
    const { options: resolved, namespace } = await kubeconfigOptions(options);
    return new KubernetesSource(resolved, namespace);
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Wrap the start of every later API request in `runRequest`, in addition to the `runRequest` option: for
   * whoever uses a source it did not create. The SDK's `Mesh` calls it to start the source's list/watch
   * requests with OpenTelemetry tracing suppressed. Adding the same function again does nothing; wrappers
   * cannot be removed.
   *
   * @example
   * ```ts
   * source.wrapRequests((start) => context.with(suppressTracing(context.active()), start))
   * ```
   */
  wrapRequests(runRequest: RunRequest): void {
    if (typeof runRequest !== 'function') {
      throw new InvalidArgumentError(
        'runRequest',
        `kubernetes source: runRequest must be a function, got ${typeof runRequest}`,
      );
    }
    this.#client.wrapRequests(runRequest);
  }

  /** Number of Services currently watched (including idle ones awaiting their timeout). */
  get watchedServices(): number {
    return this.#watches.size;
  }

  /** Namespaces whose Services are watched by one namespace-wide pair (see `namespaceWatchServices`). */
  get namespaceWatches(): readonly string[] {
    return [...this.#namespaceWatches.keys()];
  }

  watch(query: SourceQuery, listener: SourceListener): SourceWatch {
    if (this.#closing !== undefined) throw new ClosedError('kubernetes source');
    if (typeof listener !== 'function') {
      throw new InvalidArgumentError(
        'listener',
        `kubernetes source: listener must be a function, got ${typeof listener}`,
      );
    }
    const name = query?.name;
    if (typeof name !== 'object' || name === null) {
      throw new InvalidArgumentError('query.name', 'kubernetes source: query.name must be a ClusterName');
    }
    const port = query.port;
    if (
      port !== undefined &&
      !(typeof port === 'string' && port !== '') &&
      !(typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65_535)
    ) {
      throw new InvalidArgumentError(
        'query.port',
        `kubernetes source: query.port must be a port number or name, got ${String(port)}`,
      );
    }
    let sw: ServiceWatch | undefined;
    const sub = new Subscription(listener, (s) => sw?.unsubscribe(s));
    let spec: ViewSpec;
    switch (name.kind) {
      case 'service':
        spec = { kind: 'service', port, protocol: undefined, hostname: undefined };
        break;
      case 'endpoint':
        spec = { kind: 'endpoint', port, protocol: undefined, hostname: name.hostname.toLowerCase() };
        break;
      case 'srv':
        spec = { kind: 'srv', port: name.port, protocol: name.protocol.toUpperCase(), hostname: undefined };
        break;
      default: {
        const update: EndpointUpdate =
          name.kind === 'no-data'
            ? {
                // Cluster DNS answers NODATA here while the namespace exists (NXDOMAIN otherwise, spec §1.8);
                // the source does not look namespaces up, so it answers NODATA and says what the name is.
                type: 'not-found',
                reason: 'nodata',
                detail:
                  name.namespace === undefined
                    ? `${name.fqdn} is a cluster DNS domain, not a service: it has no addresses`
                    : `${name.fqdn} names namespace ${name.namespace}, not a service: it has no addresses`,
              }
            : name.kind === 'outside'
              ? { type: 'not-found', reason: 'nxdomain', detail: 'outside the cluster domain' }
              : name.kind === 'pod'
                ? {
                    type: 'not-found',
                    reason: 'nxdomain',
                    detail: 'pod records are not served from the kubernetes API',
                  }
                : name.kind === 'invalid'
                  ? { type: 'not-found', reason: 'nxdomain', detail: name.reason }
                  : { type: 'not-found', reason: 'nxdomain', detail: 'unsupported name' };
        queueMicrotask(() => sub.deliver({ type: 'update', update }));
        return sub;
      }
    }
    // No Service or namespace can have a name that is not a DNS-1123 label, so cluster DNS answers
    // NXDOMAIN; asking the API would only earn a 400 on the selector and look like an outage.
    const invalid = invalidLabel('namespace', name.namespace) ?? invalidLabel('service name', name.service);
    if (invalid !== undefined) {
      const update: EndpointUpdate = { type: 'not-found', reason: 'nxdomain', detail: invalid };
      queueMicrotask(() => sub.deliver({ type: 'update', update }));
      return sub;
    }
    const key = `${name.namespace}/${name.service}`;
    sw = this.#watches.get(key);
    if (sw === undefined) {
      if (this.#watches.size >= this.config.maxServices) this.#evictOneIdle();
      if (this.#watches.size >= this.config.maxServices) {
        const error = new WatchFailedError(
          `services ${key}`,
          `too many services watched (maxServices ${this.config.maxServices}): raise maxServices or close unused watches`,
        );
        sw = undefined;
        queueMicrotask(() => sub.deliver({ type: 'stale', error }));
        return sub;
      }
      sw = new ServiceWatch(this, this.#client, name.namespace, name.service);
      this.#watches.set(key, sw);
      this.#feed(sw);
    }
    sw.subscribe(spec, sub);
    return sub;
  }

  /**
   * Feed a new ServiceWatch: from its namespace's shared pair when there is one (at once, or once it has
   * listed); else from its own pair, and when its namespace now has `namespaceWatchServices` watched
   * Services, start the shared pair, which takes every one of them over once it has listed.
   */
  #feed(sw: ServiceWatch): void {
    const ns = sw.namespace;
    const count = (this.#perNamespace.get(ns) ?? 0) + 1;
    this.#perNamespace.set(ns, count);
    const shared = this.#namespaceWatches.get(ns);
    if (shared !== undefined) {
      shared.join(sw);
      return;
    }
    if (count < this.config.namespaceWatchServices || this.#fellBack.get(ns)?.retry !== undefined) {
      sw.start();
      return;
    }
    this.#share(ns);
  }

  /** Start the namespace-wide pair of `ns` and make every watched Service of `ns` a member. */
  #share(ns: string): void {
    const created = new NamespaceWatch(this.config, this.#client, ns, () => {
      // Not workable here (forbidden, undecodable or oversized data): every Service of the namespace gets
      // its own pair until the next try.
      if (this.#namespaceWatches.get(ns) !== created) return;
      this.#namespaceWatches.delete(ns);
      this.#fallBack(ns);
      this.#track(created.stop());
      for (const other of this.#watches.values()) if (other.namespace === ns) other.start();
    });
    this.#namespaceWatches.set(ns, created);
    for (const other of this.#watches.values()) if (other.namespace === ns) created.join(other);
    created.start();
  }

  /**
   * Per-Service pairs for `ns` for a while: 1 min after the first failure, doubling per failure up to
   * 30 min (RBAC fixed later is picked up; a lasting refusal costs one request per try).
   */
  #fallBack(ns: string): void {
    const entry = this.#fellBack.get(ns) ?? {
      backoff: new Backoff(RETRY_SHARED, this.config.now, this.config.random),
      retry: undefined as unknown,
    };
    this.#fellBack.set(ns, entry);
    entry.retry = unrefTimer(
      this.config.timers.setTimeout(() => {
        entry.retry = undefined;
        // Enough Services now: try again over them; else the next one to join past the threshold does.
        if (this.#closing !== undefined || this.#namespaceWatches.has(ns)) return;
        if ((this.#perNamespace.get(ns) ?? 0) >= this.config.namespaceWatchServices) this.#share(ns);
      }, entry.backoff.next()),
    );
  }

  /** @internal Called by an idle ServiceWatch whose timeout expired. */
  evict(sw: ServiceWatch): void {
    const key = `${sw.namespace}/${sw.name}`;
    if (this.#watches.get(key) !== sw) {
      this.#track(sw.stop());
      return;
    }
    this.#watches.delete(key);
    const ns = sw.namespace;
    const count = (this.#perNamespace.get(ns) ?? 1) - 1;
    if (count > 0) this.#perNamespace.set(ns, count);
    else this.#perNamespace.delete(ns);
    const shared = this.#namespaceWatches.get(ns);
    shared?.leave(sw);
    // The shared pair goes with the namespace's last Service; a later one starts with its own pair again.
    if (shared !== undefined && shared.size === 0) {
      this.#namespaceWatches.delete(ns);
      this.#track(shared.stop());
    }
    this.#track(sw.stop());
  }

  #track(stopped: Promise<void>): void {
    this.#stopping.add(stopped);
    void stopped.then(() => this.#stopping.delete(stopped));
  }

  #evictOneIdle(): void {
    for (const sw of this.#watches.values()) {
      if (sw.idle) {
        this.evict(sw);
        return;
      }
    }
  }

  /** Stop every watch and close the API connections. Idempotent; returns the same promise. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const watches = [...this.#watches.values()];
      const shared = [...this.#namespaceWatches.values()];
      this.#watches.clear();
      this.#namespaceWatches.clear();
      this.#perNamespace.clear();
      for (const entry of this.#fellBack.values()) {
        if (entry.retry !== undefined) this.config.timers.clearTimeout(entry.retry);
        entry.retry = undefined;
      }
      for (const sw of watches) for (const v of sw.views.values()) for (const s of v.subs) s.closed = true;
      await Promise.all([...watches.map((sw) => sw.stop()), ...shared.map((n) => n.stop()), ...this.#stopping]);
      await this.#client.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function invalidLabel(kind: string, value: string): string | undefined {
  return isDns1123Label(value)
    ? undefined
    : `${kind} ${JSON.stringify(value)} is not a valid DNS-1123 label, so no such object exists`;
}
