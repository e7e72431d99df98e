// Mesh: the object an application creates once — one resolver (shared discovery cache), the routes of
// the Services it talks to, and the undici dispatcher that balances every request over them.
// Consumes MeshOptions; produces `mesh.dispatcher`, `mesh.fetch()`, and resolution/debugging views.

import {
  ClosedError,
  type ClusterContext,
  createDefaultSource,
  type DetectClusterContextOptions,
  detectClusterContext,
  type Endpoint,
  type EndpointSource,
  endpointKey,
  parseServiceTarget,
  Resolver,
  type ResolverOptions,
  type ServiceInfo,
  type ServiceSnapshot,
  type SnapshotStatus,
} from '@clusterip/resolver';
import { fetch as undiciFetch } from 'undici';
import type { BalancerOptions } from '../balancer/balancer.js';
import type { ServiceBreakerState } from '../eligibility/circuit-breaker.js';
import { type EligibilityOutcome, eligibleUniqueEndpoints } from '../eligibility/eligibility.js';
import type { EndpointHealthState } from '../eligibility/outlier-detection.js';
import { otherProxy } from '../eligibility/service-proxy-name.js';
import { DestroyedError } from '../errors/destroyed-error.js';
import { enableTelemetry, type TelemetryHandle } from '../telemetry/otel-adapter.js';
import { runWithoutTracing } from '../telemetry/suppress-tracing.js';
import { MeshDispatcher } from '../transport/http/mesh-dispatcher.js';
import { detectClientContext } from './client-context.js';
import { DeferredSource } from './deferred-source.js';
import {
  balancerOptions,
  configureMesh,
  isWholeContext,
  type MeshConfig,
  type MeshOptions,
  type MeshServiceConfig,
} from './mesh-options.js';
import { RouteTable } from './route-table.js';

/** Why an endpoint is, or is not, in the eligible set (kube-proxy's rules, spec §6). */
export type EndpointEligibility =
  /** Eligible: ready (and on this node for `Local`, and matching topology hints when they apply). */
  | 'ready'
  /** Eligible: serving and terminating, used because nothing is ready. */
  | 'terminating-fallback'
  /** Not eligible: not ready, and not serving-terminating. */
  | 'not-ready'
  /** Not eligible: serving-terminating while ready endpoints exist. */
  | 'terminating'
  /** Not eligible: `internalTrafficPolicy: Local` and on another node. */
  | 'other-node'
  /** Not eligible: topology hints send this client elsewhere. */
  | 'topology';

/** One endpoint in {@link MeshEndpoints}. */
export interface MeshEndpoint {
  readonly endpoint: Endpoint;
  /** `address:port`. */
  readonly key: string;
  readonly eligible: boolean;
  readonly reason: EndpointEligibility;
  /** From the live route's balancer, when requests already go to this Service. */
  readonly health?: EndpointHealthState;
  readonly inFlight?: number;
}

/** What {@link Mesh.endpoints} reports for a target. */
export interface MeshEndpoints {
  readonly target: string;
  readonly status: SnapshotStatus;
  readonly fqdn: string;
  readonly service?: ServiceInfo;
  /** kube-proxy's verdict for the Service port; undefined when the Service was not found. */
  readonly outcome?: EligibilityOutcome;
  /**
   * Set when the Service belongs to another proxy (its `service.kubernetes.io/service-proxy-name` label,
   * see `serviceProxyName`): that proxy's name (`kube-proxy` for an unlabelled Service when the mesh has
   * a name). Requests to it pass through untouched; `endpoints` shows what kube-proxy's rules would pick.
   */
  readonly proxiedBy?: string;
  /** The Service's circuit breaker (option `circuitBreaker`), when it has one and requests already go there. */
  readonly circuit?: ServiceBreakerState;
  readonly endpoints: readonly MeshEndpoint[];
}

/**
 * The mesh: create one per process and route HTTP through `mesh.dispatcher` (or `mesh.fetch`). Requests
 * to cluster Services (`http://backend-service/…`, `http://web.shop:3000/…`, FQDNs, known ClusterIPs)
 * are balanced per request over the Service's endpoints with kube-proxy's eligibility rules, the
 * Service's session affinity, retries and outlier detection; other requests pass through untouched.
 *
 * Lifecycle: `close()` stops new requests, lets in-flight ones finish and drains every pool; `destroy()`
 * aborts them. Both are idempotent and final, and return the same promise on every call.
 *
 * @example
 * ```ts
 * import { Mesh } from '@clusterip/sdk'
 * const mesh = new Mesh({ policy: 'least-request' })
 * const res = await fetch('http://backend-service/orders', { dispatcher: mesh.dispatcher })
 * const same = await mesh.fetch('http://backend-service.production:3000/orders')
 * await mesh.close()
 * ```
 */
export class Mesh {
  /** The resolver (one discovery cache): give it to other transports (gRPC) to share watches. */
  readonly resolver: Resolver;
  /** The undici Dispatcher that routes every request; see {@link MeshDispatcher}. */
  readonly dispatcher: MeshDispatcher;
  readonly #config: MeshConfig;
  readonly #routes: RouteTable;
  readonly #ownedSource: EndpointSource | undefined;
  readonly #ownsResolver: boolean;
  /** OpenTelemetry adapter (shared by meshes with the same providers); undefined with `telemetry: false`. */
  readonly #telemetry: TelemetryHandle | undefined;
  #closing: Promise<void> | undefined;
  #destroying: Promise<void> | undefined;
  /** Aborts the start-up read of the Node's zone when the mesh closes first. */
  readonly #starting = new AbortController();

  constructor(options: MeshOptions = {}) {
    const config = configureMesh(options);
    this.#config = config;
    this.#telemetry = config.telemetry
      ? enableTelemetry({ tracerProvider: config.tracerProvider, meterProvider: config.meterProvider })
      : undefined;
    if (config.resolver !== undefined) {
      this.resolver = config.resolver;
      this.#ownsResolver = false;
    } else {
      let source = config.source;
      let context: ResolverOptions['context'] = config.context;
      // Unless the options give a whole ClusterContext, detect it; with a Kubernetes source, a node name and
      // no zone, the zone comes from the Node object (spec §6.4), for zone hints and trafficDistribution.
      const detect: DetectClusterContextOptions | undefined = isWholeContext(config.context)
        ? undefined
        : (config.context ?? {});
      if (source !== undefined) {
        untraceApiRequests(source);
        const given = source;
        if (detect !== undefined) context = () => detectClientContext(detect, given, this.#starting.signal);
      } else {
        const nodeName = nodeNameOf(config.context);
        const chosen = createDefaultSource(nodeName === undefined ? {} : { nodeName });
        const deferred = new DeferredSource(
          chosen.then((d) => {
            untraceApiRequests(d.source);
            return d.source;
          }),
        );
        this.#ownedSource = deferred;
        source = deferred;
        if (detect !== undefined) {
          // The namespace of the chosen source's configuration (the kubeconfig context's, the service
          // account's) is this client's namespace, as kubectl would use it, unless the options name one.
          context = () =>
            chosen.then(
              (d) =>
                detectClientContext(
                  detect.namespace !== undefined || d.namespace === undefined
                    ? detect
                    : { ...detect, namespace: d.namespace },
                  d.source,
                  this.#starting.signal,
                ),
              () => detectClusterContext(detect),
            );
        }
      }
      this.resolver = new Resolver({ source, ...(context === undefined ? {} : { context }) });
      this.#ownsResolver = true;
    }
    this.#routes = new RouteTable(config, this.resolver);
    this.dispatcher = new MeshDispatcher({
      routes: this.#routes,
      now: config.now,
      random: config.random,
      agentOptions: config.connect === undefined ? {} : { connect: { ...config.connect } },
      close: () => this.close(),
      destroy: (error) => this.destroy(error),
    });
  }

  /** True once `close()` or `destroy()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined || this.#destroying !== undefined;
  }

  /** True once `destroy()` was called. */
  get destroyed(): boolean {
    return this.#destroying !== undefined;
  }

  /**
   * The `serviceProxyName` option: which Services this mesh balances (the gRPC plugin follows it too).
   *
   * @example
   * ```ts
   * new Mesh({ serviceProxyName: 'clusterip' }).serviceProxyName // 'clusterip'
   * ```
   */
  get serviceProxyName(): string | false {
    return this.#config.serviceProxyName;
  }

  /**
   * `fetch` through the mesh (undici's fetch with `dispatcher: mesh.dispatcher`).
   *
   * @example
   * ```ts
   * const res = await mesh.fetch('http://backend-service/orders', { method: 'POST', body: '{}' })
   * ```
   */
  fetch(
    input: Parameters<typeof undiciFetch>[0],
    init?: Parameters<typeof undiciFetch>[1],
  ): ReturnType<typeof undiciFetch> {
    if (this.closed) return Promise.reject(new ClosedError('mesh'));
    return undiciFetch(input, { ...init, dispatcher: this.dispatcher });
  }

  /**
   * Resolve a target once (`backend-service`, `web.shop:http`, `http://web/…`); the Service's ClusterIPs
   * become routable by IP (unless the Service belongs to another proxy, see `serviceProxyName`). Rejects with ServiceNotFoundError, InvalidNameError, ClosedError, ...
   *
   * @example
   * ```ts
   * const snap = await mesh.resolve('payments.prod:4000') // learn its ClusterIP too
   * ```
   */
  async resolve(target: string): Promise<ServiceSnapshot> {
    if (this.closed) throw new ClosedError('mesh');
    const snapshot = await this.resolver.resolve(target);
    if (snapshot.service !== undefined) this.#routes.learn(snapshot.service);
    return snapshot;
  }

  /**
   * The endpoints of a target with kube-proxy's verdict for each (eligible or why not), and, when
   * requests already go there, the balancer's view (health, in-flight). For debugging.
   *
   * @example
   * ```ts
   * for (const e of (await mesh.endpoints('backend-service:80')).endpoints) console.log(e.key, e.reason, e.health)
   * ```
   */
  async endpoints(target: string): Promise<MeshEndpoints> {
    if (this.closed) throw new ClosedError('mesh');
    const parsed = parseServiceTarget(target);
    const watch = this.resolver.watch(target);
    let snapshot: ServiceSnapshot;
    try {
      snapshot = await watch.ready;
    } finally {
      await watch.close();
    }
    if (snapshot.status !== 'ok') {
      return Object.freeze({ target, status: snapshot.status, fqdn: snapshot.fqdn, endpoints: [] });
    }
    const context = await this.resolver.context();
    const service = snapshot.service;
    const client = {
      ...(context.nodeName === undefined ? {} : { nodeName: context.nodeName }),
      ...(context.zone === undefined ? {} : { zone: context.zone }),
    };
    const info = service ?? {
      name: parsed.host,
      namespace: context.namespace,
      internalTrafficPolicy: 'Cluster' as const,
      publishNotReadyAddresses: false,
      headless: false,
    };
    const eligible = eligibleUniqueEndpoints(snapshot.endpoints, info, client, snapshot.port);
    const proxiedBy = service === undefined ? undefined : otherProxy(service, this.#config.serviceProxyName);
    const keys = new Set(eligible.endpoints.map(endpointKey));
    const route =
      typeof parsed.port === 'number'
        ? this.#routes.route(`${parsed.host.replace(/\.$/, '')}:${parsed.port}`)
        : undefined;
    const status = new Map((route?.endpointStatus() ?? []).map((s) => [endpointKey(s.endpoint), s]));
    const circuit = route?.breaker?.state;
    const outcome = eligible.outcome;
    const anyReady = snapshot.endpoints.some((e) => info.publishNotReadyAddresses || e.conditions.ready);
    const endpoints = snapshot.endpoints.map((endpoint): MeshEndpoint => {
      const key = endpointKey(endpoint);
      const ok = keys.has(key);
      const c = endpoint.conditions;
      let reason: EndpointEligibility;
      if (ok) reason = outcome.type === 'ok' && outcome.terminatingFallback ? 'terminating-fallback' : 'ready';
      else if (
        info.internalTrafficPolicy === 'Local' &&
        info.headless !== true &&
        endpoint.nodeName !== client.nodeName
      )
        reason = 'other-node';
      else if (!c.ready && !info.publishNotReadyAddresses)
        reason = c.serving && c.terminating && anyReady ? 'terminating' : 'not-ready';
      else reason = 'topology';
      const s = status.get(key);
      return Object.freeze({
        endpoint,
        key,
        eligible: ok,
        reason,
        ...(s === undefined ? {} : { health: s.health, inFlight: s.inFlight }),
      });
    });
    return Object.freeze({
      target,
      status: snapshot.status,
      fqdn: snapshot.fqdn,
      ...(service === undefined ? {} : { service }),
      outcome,
      ...(proxiedBy === undefined ? {} : { proxiedBy }),
      ...(circuit === undefined ? {} : { circuit }),
      endpoints: Object.freeze(endpoints),
    });
  }

  /**
   * The resolved configuration for one Service (its overrides applied), for transports that balance
   * on their own (the gRPC plugin): policy, session affinity, affinity key extractor, outlier detection,
   * retry policy and timeouts. Frozen; the same object for the same Service.
   *
   * @example
   * ```ts
   * const c = mesh.serviceConfig({ namespace: 'shop', name: 'checkout' })
   * const balancer = createBalancer(mesh.balancerOptions({ namespace: 'shop', name: 'checkout' }, 'checkout.shop:grpc'))
   * ```
   */
  serviceConfig(service?: { readonly namespace: string; readonly name: string }): MeshServiceConfig {
    return this.#routes.serviceConfig(service);
  }

  /** `createBalancer` options for one Service port under this mesh's configuration (clock and random included). */
  balancerOptions(
    service: { readonly namespace: string; readonly name: string } | undefined,
    label: string,
  ): BalancerOptions {
    return balancerOptions(this.#routes.serviceConfig(service), label, this.#config.now, this.#config.random);
  }

  /** The cluster context (namespace, cluster domain, this client's node and zone). */
  context(): Promise<ClusterContext> {
    return this.resolver.context();
  }

  /** The telemetry providers given in the options (for the telemetry integration). */
  get telemetry(): { readonly tracerProvider: unknown; readonly meterProvider: unknown } {
    return { tracerProvider: this.#config.tracerProvider, meterProvider: this.#config.meterProvider };
  }

  /**
   * Stop routing new requests (they fail with ClosedError), let in-flight requests finish (those still
   * waiting for the cluster context or their Service's first answer too, each within `timeouts.resolveMs`),
   * drain every pool, then close the resolver and the source the mesh created. Idempotent: the same promise.
   */
  close(): Promise<void> {
    if (this.#destroying !== undefined) return this.#destroying;
    this.#starting.abort();
    this.#closing ??= (async () => {
      // Requests still waiting for discovery are in flight: they get their route (or pass through) first.
      await this.#routes.drain();
      await Promise.all([this.dispatcher.shutdown(), this.#routes.close()]);
      await this.#release();
    })();
    return this.#closing;
  }

  /**
   * Abort every request and close every connection now, then release like `close()`. Requests in flight,
   * queued, waiting for discovery or for a retry fail with `error`, or with `DestroyedError` when none is
   * given.
   * Idempotent.
   */
  destroy(error?: Error): Promise<void> {
    this.#starting.abort();
    this.#destroying ??= (async () => {
      const reason = error ?? new DestroyedError('mesh');
      await Promise.all([this.dispatcher.shutdown(reason), this.#routes.destroy(reason)]);
      await this.#closing?.catch(() => {});
      await this.#release();
    })();
    return this.#destroying;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #release(): Promise<void> {
    if (this.#ownsResolver) await this.resolver.close();
    await this.#ownedSource?.close();
    await this.#telemetry?.close();
  }
}

function nodeNameOf(context: MeshConfig['context']): string | undefined {
  const n = (context as { nodeName?: unknown } | undefined)?.nodeName;
  return typeof n === 'string' ? n : undefined;
}

/**
 * A KubernetesSource's own list/watch requests are plumbing, not the application's traffic: start them with
 * OpenTelemetry tracing suppressed, so that instrumentation-undici records no CLIENT span for them (a watch lasts
 * minutes). Duck-typed, so a second copy of `@clusterip/resolver` works too.
 */
function untraceApiRequests(source: EndpointSource): void {
  const s = source as EndpointSource & { readonly kind?: unknown; wrapRequests?: unknown };
  if (s.kind === 'kubernetes' && typeof s.wrapRequests === 'function') {
    (s.wrapRequests as (run: typeof runWithoutTracing) => void)(runWithoutTracing);
  }
}
