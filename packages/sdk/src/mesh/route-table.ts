// Mesh: the table of routes — which request origins are cluster Services, learned ClusterIPs, and a
// negative cache for names that are not Services. Consumes parsed origins; produces routing decisions.

import {
  ClosedError,
  type ClusterContext,
  type ClusterIPError,
  type Resolver,
  type ServiceInfo,
} from '@clusterip/resolver';
import { BucketClocks } from '../eligibility/bucket-clock.js';
import type { ClientTopology } from '../eligibility/eligibility.js';
import { otherProxy } from '../eligibility/service-proxy-name.js';
import { channels } from '../telemetry/channels.js';
import type { ParsedOrigin, RouteDecision, RouteLookup } from '../transport/http/http-route.js';
import { classifyHost } from './host-classifier.js';
import type { MeshConfig, MeshServiceConfig } from './mesh-options.js';
import { type RouteHost, ServiceRoute } from './service-route.js';

const PASS: RouteDecision = Object.freeze({ type: 'pass' });
/** ClusterIPs remembered: a bound, as for every map (oldest forgotten first). */
const MAX_CLUSTER_IPS = 65_536;

/**
 * Routes by `host:port`. A lookup is synchronous once the route has a decision (the request path's
 * fast case: two map reads); the first request of a host waits for the cluster context and the first
 * snapshot.
 *
 * Which hosts are looked up (see `classifyHost`): short names and names under the cluster domain. A
 * short name that is not a Service passes through and is remembered for `negativeCacheTtlMs`, so an
 * external host costs one discovery lookup per TTL, not one per request. IP literals are routed when
 * they are the ClusterIP of a Service this mesh has resolved (by name, through a request or
 * `mesh.resolve()`); the mesh does not list every Service of the cluster.
 *
 * @example
 * ```ts
 * const table = new RouteTable(config, resolver)
 * const d = table.lookup(parseOrigin('http://backend:80')!)
 * ```
 */
export class RouteTable implements RouteLookup, RouteHost {
  readonly config: MeshConfig;
  readonly resolver: Resolver;
  client: ClientTopology = {};
  readonly bucketClocks = new BucketClocks();
  readonly #routes = new Map<string, ServiceRoute>();
  readonly #negative = new Map<string, number>();
  readonly #clusterIPs = new Map<string, { readonly namespace: string; readonly name: string }>();
  #context: ClusterContext | undefined;
  #contextPromise: Promise<ClusterContext | Error> | undefined;
  #uses = 0;
  #sweeper: NodeJS.Timeout | undefined;
  #closed: ClusterIPError | undefined;
  /** Lookups still waiting for the cluster context or a route's first answer: requests in flight. */
  readonly #pending = new Set<Promise<RouteDecision>>();
  /** Ends a lookup waiting for the cluster context with an error (`destroy()` must not wait for it). */
  readonly #contextWaiters = new Set<(error: Error) => void>();

  constructor(config: MeshConfig, resolver: Resolver) {
    this.config = config;
    this.resolver = resolver;
  }

  /** Number of live routes. */
  get size(): number {
    return this.#routes.size;
  }

  lookup(origin: ParsedOrigin): RouteDecision | Promise<RouteDecision> {
    if (this.#closed !== undefined) return { type: 'fail', error: this.#closed };
    return this.#lookup(origin);
  }

  #lookup(origin: ParsedOrigin): RouteDecision | Promise<RouteDecision> {
    const route = this.#routes.get(origin.key);
    if (route !== undefined) {
      route.lastUsed = ++this.#uses;
      return route.decision ?? this.#track(route.wait());
    }
    const context = this.#context;
    if (context === undefined) return this.#track(this.#withContext(origin));
    const until = this.#negative.get(origin.key);
    if (until !== undefined) {
      if (until > this.config.now()) return PASS;
      this.#negative.delete(origin.key);
    }
    const cls = classifyHost(origin.hostname, context.clusterDomain);
    if (cls === 'outside') return PASS;
    let target = origin.hostname;
    if (cls === 'ip') {
      const service = this.#clusterIPs.get(origin.hostname);
      if (service === undefined) return PASS;
      target = `${service.name}.${service.namespace}`;
    }
    let created: ServiceRoute;
    try {
      created = new ServiceRoute(this, origin.key, target, origin.port, cls === 'ip' ? 'cluster' : cls);
    } catch (error) {
      // Not a valid Service name (InvalidNameError): a short name may still be an outside host.
      return cls === 'candidate' ? PASS : { type: 'fail', error: error as Error };
    }
    created.lastUsed = ++this.#uses;
    this.#routes.set(origin.key, created);
    this.#evict(created);
    this.#startSweeping();
    return created.decision ?? this.#track(created.wait());
  }

  /** Keep `lookup` in {@link #pending} until it settles (a first request's path only). */
  #track(lookup: Promise<RouteDecision>): Promise<RouteDecision> {
    this.#pending.add(lookup);
    const forget = () => this.#pending.delete(lookup);
    lookup.then(forget, forget);
    return lookup;
  }

  /** Find a live route by key (`host:port`). */
  route(key: string): ServiceRoute | undefined {
    return this.#routes.get(key);
  }

  serviceConfig(service: { namespace: string; name: string } | undefined): MeshServiceConfig {
    if (service === undefined) return this.config.defaults;
    return this.config.services.get(`${service.name}.${service.namespace}`) ?? this.config.defaults;
  }

  learn(service: ServiceInfo): void {
    // A ClusterIP another proxy serves stays with it: requests to it pass through.
    if (otherProxy(service, this.config.serviceProxyName) !== undefined) return;
    for (const ip of service.clusterIPs) {
      const known = this.#clusterIPs.get(ip);
      if (known !== undefined && known.name === service.name && known.namespace === service.namespace) continue;
      if (this.#clusterIPs.size >= MAX_CLUSTER_IPS) {
        const oldest = this.#clusterIPs.keys().next().value;
        if (oldest !== undefined) this.#clusterIPs.delete(oldest);
      }
      this.#clusterIPs.set(ip.toLowerCase(), { namespace: service.namespace, name: service.name });
    }
  }

  decided(route: ServiceRoute, decision: RouteDecision): void {
    if (decision.type !== 'pass' || route.hostClass !== 'candidate') return;
    if (this.#routes.get(route.key) !== route) return;
    // A Service that passes through (labelled for another proxy) keeps its route and watch: a change of
    // label takes effect at once, as for names under the cluster domain.
    if (route.snapshot?.service !== undefined) return;
    // Not a Service: forget the route (and its watch); remember the answer for a while.
    this.#retire(route);
    const ttl = this.config.negativeCacheTtlMs;
    if (ttl > 0 && route.snapshot?.status !== 'unavailable') {
      if (this.#negative.size >= this.config.maxServices) this.#negative.clear();
      this.#negative.set(route.key, this.config.now() + ttl);
    }
  }

  /**
   * Refuse new lookups (ClosedError) and wait until the requests that were waiting for the cluster context
   * or a route's first answer have their decision (each wait is bounded by `resolveMs`; `destroy()` ends
   * them at once). The transport dispatches each as its decision arrives, before this resolves: the
   * caller's reactions were attached first.
   */
  async drain(): Promise<void> {
    this.#closed ??= new ClosedError('mesh');
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /**
   * Close every route gracefully, after {@link drain}: requests on them finish; later lookups fail with
   * ClosedError.
   */
  async close(): Promise<void> {
    await this.drain();
    this.#stopSweeping();
    const routes = [...this.#routes.values()];
    this.#routes.clear();
    await Promise.all(routes.map((r) => r.close(this.#closed)));
  }

  /**
   * Abort every routed request with `reason`, and every one waiting for the cluster context or a first
   * answer; later lookups fail with ClosedError.
   */
  async destroy(reason: Error): Promise<void> {
    this.#closed ??= new ClosedError('mesh');
    for (const abandon of this.#contextWaiters) abandon(reason);
    this.#contextWaiters.clear();
    this.#stopSweeping();
    const routes = [...this.#routes.values()];
    this.#routes.clear();
    await Promise.all(routes.map((r) => r.destroy(reason)));
  }

  #withContext(origin: ParsedOrigin): Promise<RouteDecision> {
    this.#contextPromise ??= this.resolver.context().then(
      (context) => {
        this.#context = context;
        this.client = {
          ...(context.nodeName === undefined ? {} : { nodeName: context.nodeName }),
          ...(context.zone === undefined ? {} : { zone: context.zone }),
        };
        return context;
      },
      (error: unknown) => {
        this.#contextPromise = undefined; // try again with the next request
        return error instanceof Error ? error : new Error(String(error));
      },
    );
    const detected = this.#contextPromise;
    return new Promise<RouteDecision>((resolve) => {
      // destroy() ends the wait at once, whatever the context function does.
      const abandon = (error: Error) => resolve({ type: 'fail', error });
      this.#contextWaiters.add(abandon);
      void detected.then((context) => {
        if (!this.#contextWaiters.delete(abandon)) return; // destroyed meanwhile: already failed
        if (context instanceof Error) return resolve({ type: 'fail', error: context });
        // Closing gracefully still routes it: it was in flight when close() came.
        try {
          resolve(this.#lookup(origin));
        } catch (error) {
          resolve({ type: 'fail', error: error instanceof Error ? error : new Error(String(error)) });
        }
      });
    });
  }

  /**
   * Over `maxServices`: retire the least recently used route, an idle one if there is any (a busy route's
   * requests would finish where they are, but its retries would have nowhere to go). Never `created`, the
   * route just made for a request, nor one whose requests still wait for its first answer: the table stays
   * over the bound until they have it (at most `resolveMs`), and the next new route evicts again, as many
   * routes as it takes to be back within the bound.
   */
  #evict(created: ServiceRoute): void {
    while (this.#routes.size > this.config.maxServices) {
      let victim: ServiceRoute | undefined;
      let idle: ServiceRoute | undefined;
      for (const r of this.#routes.values()) {
        if (r === created || r.decision === undefined) continue;
        if (victim === undefined || r.lastUsed < victim.lastUsed) victim = r;
        if (r.idle && (idle === undefined || r.lastUsed < idle.lastUsed)) idle = r;
      }
      victim = idle ?? victim;
      if (victim === undefined) return;
      this.#retire(victim);
    }
  }

  /**
   * Idle routes: every `routeIdleTimeoutMs` (unref'd timer, running only while routes exist), a route
   * with no request since the previous sweep, none in flight and none waiting for its first answer is
   * closed. A route therefore goes after between one and two idle periods, without a clock read per
   * request (the sweep compares use counters).
   */
  #startSweeping(): void {
    const ms = this.config.routeIdleTimeoutMs;
    if (ms === 0 || this.#sweeper !== undefined || this.#closed !== undefined) return;
    this.#sweeper = setInterval(() => this.#sweep(), ms).unref();
  }

  #stopSweeping(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #sweep(): void {
    for (const route of [...this.#routes.values()]) {
      if (route.lastUsed === route.sweptAt && route.idle) this.#retire(route);
      else route.sweptAt = route.lastUsed;
    }
    if (this.#routes.size === 0) this.#stopSweeping();
  }

  #retire(route: ServiceRoute): void {
    this.#routes.delete(route.key);
    void route.close();
    if (channels.meshRoute.hasSubscribers) {
      channels.meshRoute.publish({ route: route.key, service: route.label, decision: 'closed', endpoints: [] });
    }
  }
}
