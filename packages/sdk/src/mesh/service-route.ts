// Mesh: one route — a host and port as requests address them — kept current from a resolver watch.
// Consumes ServiceSnapshots; produces a routing decision, a balancer fed with kube-proxy's eligible set,
// and per-endpoint pools drained as endpoints leave.

import {
  type Endpoint,
  endpointKey,
  findServicePort,
  type Resolver,
  type ServiceInfo,
  type ServiceSnapshot,
  type ServiceWatch,
  WatchFailedError,
} from '@clusterip/resolver';
import { type Balancer, createBalancer, type EndpointStatus } from '../balancer/balancer.js';
import type { BucketClockLease, BucketClocks } from '../eligibility/bucket-clock.js';
import { createServiceBreaker, type ServiceBreaker } from '../eligibility/circuit-breaker.js';
import {
  type ClientTopology,
  type EligibilityService,
  type EligibleEndpoints,
  eligibleUniqueEndpoints,
} from '../eligibility/eligibility.js';
import { otherProxy } from '../eligibility/service-proxy-name.js';
import type { PickContext, PickResult } from '../picker/picker.js';
import { EndpointPools } from '../pool/endpoint-pools.js';
import { channels } from '../telemetry/channels.js';
import { countEndpoints } from '../telemetry/endpoint-counts.js';
import type { HttpRoute, RouteDecision } from '../transport/http/http-route.js';
import { RetryBudget } from '../transport/http/retry-budget.js';
import type { HostClass } from './host-classifier.js';
import { balancerOptions, type MeshConfig, type MeshServiceConfig } from './mesh-options.js';

/** @internal What a route needs from the mesh. */
export interface RouteHost {
  readonly config: MeshConfig;
  readonly resolver: Resolver;
  readonly client: ClientTopology;
  /** Shared bucket clocks for the routes' circuit breakers. */
  readonly bucketClocks: BucketClocks;
  /** The configuration of a Service (overrides by `name.namespace`, else the defaults). */
  serviceConfig(service: { namespace: string; name: string } | undefined): MeshServiceConfig;
  /** Learn the ClusterIPs of a Service so that requests addressed to them are routed. */
  learn(service: ServiceInfo): void;
  /** A route reached a decision (used to drop "not a Service" routes into the negative cache). */
  decided(route: ServiceRoute, decision: RouteDecision): void;
}

const PASS: RouteDecision = Object.freeze({ type: 'pass' });
/** The Kubernetes `appProtocol` of a port that speaks HTTP/2 over cleartext (KEP-3726). */
const H2C = 'kubernetes.io/h2c';

/**
 * A route for `host:port`. The first request waits for the first snapshot (at most `timeouts.resolveMs`);
 * later requests read the current decision synchronously. Each new snapshot recomputes kube-proxy's
 * eligible set, updates the balancer (which also follows the Service's sessionAffinity) and drains the
 * pools of endpoints that left it.
 *
 * @example
 * ```ts
 * const route = new ServiceRoute(host, 'backend:80', 'candidate')
 * const decision = route.decision ?? (await route.wait())
 * ```
 */
export class ServiceRoute implements HttpRoute {
  readonly key: string;
  readonly hostClass: HostClass;
  /** Use counter of the route table (least recently used routes are evicted first). */
  lastUsed = 0;
  /** `lastUsed` at the route table's previous idle sweep. */
  sweptAt = -1;
  /** Requests in flight (maintained by the HTTP transport). */
  active = 0;
  readonly #host: RouteHost;
  readonly #watch: ServiceWatch;
  readonly #port: number;
  #label: string;
  #config: MeshServiceConfig;
  #budget: RetryBudget | undefined;
  #breaker: ServiceBreaker | undefined;
  #clock: BucketClockLease | undefined;
  #balancer: Balancer | undefined;
  #pools: EndpointPools | undefined;
  #decision: RouteDecision | undefined;
  #snapshot: ServiceSnapshot | undefined;
  #eligible: EligibleEndpoints | undefined;
  /** The eligibility input of the last snapshot (for the endpoint counts of `clusterip:mesh:route`). */
  #info: EligibilityService | undefined;
  #waiters: ((decision: RouteDecision) => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(host: RouteHost, key: string, hostname: string, port: number, hostClass: HostClass) {
    this.#host = host;
    this.key = key;
    this.hostClass = hostClass;
    this.#port = port;
    this.#label = key;
    this.#config = host.serviceConfig(undefined);
    this.#watch = host.resolver.watch(`${hostname}:${port}`, (s) => this.#onSnapshot(s));
    // A watch that cannot start (context detection failed) rejects `ready` without a snapshot.
    this.#watch.ready.catch((error: unknown) => {
      if (this.#snapshot === undefined && this.#closing === undefined) {
        this.#settle({ type: 'fail', error: error as Error });
      }
    });
  }

  get label(): string {
    return this.#label;
  }

  get config(): MeshServiceConfig {
    return this.#config;
  }

  get budget(): RetryBudget | undefined {
    return this.#budget;
  }

  get breaker(): ServiceBreaker | undefined {
    return this.#breaker;
  }

  get keyed(): boolean {
    return this.#config.policy === 'ring-hash' || this.#balancer?.sessionAffinity.type === 'ClientIP';
  }

  /** No request in flight and none waiting for the first answer. */
  get idle(): boolean {
    return this.active === 0 && this.#waiters.length === 0;
  }

  /** The current decision; undefined until the first snapshot. */
  get decision(): RouteDecision | undefined {
    return this.#decision;
  }

  /** The last snapshot, and the eligible set computed from it. */
  get snapshot(): ServiceSnapshot | undefined {
    return this.#snapshot;
  }

  get eligible(): EligibleEndpoints | undefined {
    return this.#eligible;
  }

  /** Balancer view of the eligible endpoints (health, in-flight, latency). */
  endpointStatus(): readonly EndpointStatus[] {
    return this.#balancer?.endpoints() ?? [];
  }

  /** The next decision, or a WatchFailedError decision after `timeouts.resolveMs` without an answer. */
  wait(): Promise<RouteDecision> {
    if (this.#decision !== undefined) return Promise.resolve(this.#decision);
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      if (this.#timer === undefined) {
        const ms = this.#host.config.resolveMs;
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          const error = new WatchFailedError(`service ${this.key}`, `no answer from discovery within ${ms} ms`);
          for (const w of this.#waiters.splice(0)) w({ type: 'fail', error });
        }, ms).unref();
      }
    });
  }

  pick(ctx?: PickContext): PickResult {
    return this.#balancer!.pick(ctx);
  }

  pool(endpoint: Endpoint, protocol: string, host: string | undefined) {
    return this.#pools!.get(endpoint, protocol, host);
  }

  /**
   * Close gracefully: the watch stops, requests on the pools finish, idle connections close. Requests
   * still waiting for the first decision fail with `error`.
   */
  close(error?: Error): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopWaiting(error);
      await this.#watch.close();
      await this.#breaker?.close();
      this.#clock?.release();
      await this.#balancer?.close();
      await this.#pools?.close();
    })();
    return this.#closing;
  }

  /** Abort every request on the pools, and every one waiting for the first decision, with `reason`. */
  async destroy(reason: Error): Promise<void> {
    void this.close(reason);
    await this.#pools?.destroy(reason);
    await this.#closing;
  }

  #stopWaiting(error: Error | undefined): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (error !== undefined) for (const w of this.#waiters.splice(0)) w({ type: 'fail', error });
  }

  #onSnapshot(s: ServiceSnapshot): void {
    if (this.#closing !== undefined) return;
    this.#snapshot = s;
    this.#settle(this.#decide(s));
  }

  #settle(decision: RouteDecision): void {
    this.#decision = decision;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#waiters.splice(0)) w(decision);
    if (channels.meshRoute.hasSubscribers) {
      const eligible = this.#eligible;
      const info = this.#info;
      const routed = decision.type === 'route' && eligible !== undefined && info !== undefined;
      channels.meshRoute.publish({
        route: this.key,
        service: this.#label,
        decision: decision.type,
        endpoints: routed ? eligible.endpoints.map(endpointKey) : [],
        ...(info === undefined || info.namespace === '' ? {} : { namespace: info.namespace, name: info.name }),
        ...(routed
          ? { counts: countEndpoints(this.#snapshot?.endpoints ?? [], eligible.endpoints, info, this.#host.client) }
          : {}),
      });
    }
    this.#host.decided(this, decision);
  }

  #decide(s: ServiceSnapshot): RouteDecision {
    const missing = this.hostClass === 'cluster' || this.#host.config.notFound === 'error';
    if (s.status === 'not-found') return missing ? { type: 'fail', error: s.error! } : PASS;
    if (s.status === 'unavailable') return this.hostClass === 'cluster' ? { type: 'fail', error: s.error! } : PASS;
    const name = s.name;
    // A DNS source answers outside names too: those are not Services, leave them alone.
    if (name.kind !== 'service' && name.kind !== 'endpoint' && name.kind !== 'pod') return PASS;
    const service = s.service;
    if (service?.type === 'ExternalName' || s.reason?.code === 'external-name') {
      this.#pools?.drainAll();
      const target = service?.externalName;
      return target === undefined ? PASS : { type: 'external', host: target };
    }
    if (service !== undefined && otherProxy(service, this.#host.config.serviceProxyName) !== undefined) {
      // Labelled for another proxy (spec §4): requests go untouched to the name or ClusterIP it serves.
      this.#pools?.drainAll();
      return PASS;
    }
    if (service !== undefined) this.#host.learn(service);
    if (s.reason?.code === 'port-not-found' && service !== undefined) {
      try {
        findServicePort(service, this.#port);
      } catch (error) {
        return { type: 'fail', error: error as Error };
      }
    }
    const namespace = 'namespace' in name ? name.namespace : undefined;
    const serviceName = service?.name ?? ('service' in name ? name.service : undefined);
    const identity =
      namespace !== undefined && serviceName !== undefined ? { namespace, name: serviceName } : undefined;
    if (this.#balancer === undefined) this.#start(identity);
    const info: EligibilityService = service ?? {
      name: serviceName ?? this.key,
      namespace: namespace ?? '',
      internalTrafficPolicy: 'Cluster',
      publishNotReadyAddresses: false,
    };
    // A snapshot holds each address:port once; nothing below builds a key per endpoint (O(changes)).
    const eligible = eligibleUniqueEndpoints(s.endpoints, info, this.#host.client, this.#port);
    this.#eligible = eligible;
    this.#info = info;
    this.#balancer!.update(eligible, service);
    this.#pools!.retain(this.#balancer!);
    // `appProtocol: kubernetes.io/h2c` (spec §4): the pods speak HTTP/2 without TLS.
    this.#pools!.h2c = service?.ports.find((p) => p.port === this.#port && p.protocol === 'TCP')?.appProtocol === H2C;
    return { type: 'route', route: this };
  }

  /** First snapshot of a Service: settle its configuration, balancer, budget and pools. */
  #start(identity: { namespace: string; name: string } | undefined): void {
    const host = this.#host;
    this.#config = host.serviceConfig(identity);
    if (identity !== undefined) this.#label = `${identity.name}.${identity.namespace}:${this.#port}`;
    const c = this.#config;
    this.#balancer = createBalancer({
      ...balancerOptions(c, this.#label, host.config.now, host.config.random),
      // An ejected endpoint's queued, unsent requests go elsewhere now rather than after their timeouts
      // (in a microtask: not from inside the balancer's done()).
      onEject: (endpoint) => queueMicrotask(() => this.#pools?.requeue(endpoint)),
    });
    const budget = c.retry?.budget;
    this.#budget = budget === undefined ? undefined : new RetryBudget(budget, host.config.now);
    if (c.circuitBreaker !== undefined) {
      const service = this.#label;
      const { rollingWindowMs, rollingBuckets } = c.circuitBreaker;
      // opossum's bucket length: every route with the same one shares a timer (bucket-clock.ts).
      this.#clock = host.bucketClocks.acquire(Math.floor(rollingWindowMs / rollingBuckets));
      this.#breaker = createServiceBreaker({
        ...c.circuitBreaker,
        service,
        rotateBucketController: this.#clock.controller,
        // The HTTP transport settles each request with its verdict: it rejects only what counts.
        isFailure: () => true,
        onStateChange: (state) => {
          if (channels.circuitState.hasSubscribers) channels.circuitState.publish({ service, route: this.key, state });
        },
      });
    }
    const p = host.config.pool;
    this.#pools = new EndpointPools({
      connections: p.connections,
      keepAliveTimeoutMs: p.keepAliveTimeoutMs,
      pipelining: p.pipelining,
      connectTimeoutMs: c.timeouts.connectMs,
      headersTimeoutMs: c.timeouts.headersMs,
      bodyTimeoutMs: c.timeouts.bodyMs,
      connect: host.config.connect,
      allowH2: p.allowH2,
      maxConcurrentStreams: p.maxConcurrentStreams,
      pingIntervalMs: p.pingIntervalMs,
      pingTimeoutMs: p.pingTimeoutMs,
      ...(p.factory === undefined ? {} : { factory: p.factory }),
    });
  }
}
