// ⑧ Transport (gRPC): the `clusterip` LB policy for grpc-js over the SDK's balancing core.
// Consumes resolver results (eligible endpoints in an attribute) and subchannel states; produces grpc-js
// pickers that choose per RPC with the Balancer and feed every call's status back through done().

import { type Endpoint, endpointKey, type ServiceInfo } from '@clusterip/resolver';
import type * as Grpc from '@grpc/grpc-js';
import type { ChannelOptions, experimental } from '@grpc/grpc-js';
import { type Balancer, createBalancer } from '../../balancer/balancer.js';
import type { EligibleEndpoints } from '../../eligibility/eligibility.js';
import { NoEndpointsError } from '../../errors/no-endpoints-error.js';
import type { MeshServiceConfig } from '../../mesh/mesh-options.js';
import type { AffinityKeyFunction } from '../../picker/affinity-key.js';
import type { BalancerPolicy, PickResult as CorePickResult } from '../../picker/picker.js';
import { channels, type GrpcPickMessage } from '../../telemetry/channels.js';
import { HealthChecks } from './grpc-health-check.js';
import type { Resolution } from './grpc-resolver.js';
import { balancerOptionsOf, type ClusterIPPolicyConfig, LB_POLICY_NAME, policyConfig } from './grpc-service-config.js';
import { plainEligible, plainEndpoint } from './plain-addresses.js';

type GrpcModule = typeof Grpc;
type ChannelControlHelper = experimental.ChannelControlHelper;
type GrpcEndpoint = experimental.Endpoint;
type GrpcPicker = experimental.Picker;
type GrpcPickArgs = experimental.PickArgs;
type GrpcPickResult = experimental.PickResult;
type LeafLoadBalancer = experimental.LeafLoadBalancer;
type StatusOr<T> = experimental.StatusOr<T>;
type SubchannelInterface = experimental.SubchannelInterface;
type TypedLoadBalancingConfig = experimental.TypedLoadBalancingConfig;

const UNAVAILABLE = 14;

/** Messages already warned about (bounded: a config is usually fixed per channel). */
const warned = new Set<string>();

function warnInvalidConfig(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  if (warned.has(message) || warned.size >= 100) return;
  warned.add(message);
  process.emitWarning(
    `clusterip: grpc.service_config: ${message}: grpc-js skips this ${LB_POLICY_NAME} entry and balances with the next one, or pick_first (one pod per channel); build the config with serviceConfig()`,
    'ClusterIPWarning',
  );
}

/** One eligible endpoint and its grpc-js leaf (a pick_first over the endpoint's single address). */
interface Child {
  endpoint: Endpoint;
  leaf: LeafLoadBalancer;
  /** The subchannel the leaf created last (health checks run on its connection). */
  subchannel: SubchannelInterface | undefined;
}

/**
 * Build the LB policy classes against one copy of grpc-js (the peer dependency the app uses, or another
 * copy in tests). Only the public `experimental` API is used.
 */
export function createLoadBalancerClasses(grpc: GrpcModule, attributeKey: string) {
  const { LeafLoadBalancer, QueuePicker, UnavailablePicker, PickResultType, createChildChannelControlHelper } =
    grpc.experimental;
  const State = grpc.connectivityState;

  class ClusterIPLoadBalancingConfig implements TypedLoadBalancingConfig {
    readonly config: ClusterIPPolicyConfig;
    /** Identity of the options: a balancer is rebuilt only when they change. */
    readonly key: string;

    constructor(config: ClusterIPPolicyConfig) {
      this.config = config;
      this.key = JSON.stringify(config);
    }

    getLoadBalancerName(): string {
      return LB_POLICY_NAME;
    }

    toJsonObject(): object {
      return { [LB_POLICY_NAME]: this.config };
    }

    /**
     * grpc-js parses a `loadBalancingConfig` entry through this. It drops an entry that throws, logging it
     * only at `GRPC_VERBOSITY=DEBUG`, and falls back to the next entry or pick_first: a typo in a
     * hand-written config would silently turn per-call balancing off. So a throw is also a process
     * warning, once per message.
     */
    static createFromJson(obj: unknown): ClusterIPLoadBalancingConfig {
      try {
        return new ClusterIPLoadBalancingConfig(policyConfig(obj ?? {}, LB_POLICY_NAME));
      } catch (error) {
        warnInvalidConfig(error);
        throw error;
      }
    }
  }

  /** Wraps one Balancer generation; a new instance is published on every state change (grpc-js re-picks queued calls). */
  class ClusterIPPicker implements GrpcPicker {
    readonly #balancer: Balancer;
    readonly #leaves: ReadonlyMap<Endpoint, GrpcPicker>;
    readonly #affinityMetadata: string | undefined;
    readonly #affinityKeyOf: AffinityKeyFunction | undefined;
    readonly #telemetry: PickTelemetry;

    constructor(
      balancer: Balancer,
      leaves: ReadonlyMap<Endpoint, GrpcPicker>,
      affinityMetadata: string | undefined,
      affinityKeyOf: AffinityKeyFunction | undefined,
      telemetry: PickTelemetry,
    ) {
      this.#balancer = balancer;
      this.#leaves = leaves;
      this.#affinityMetadata = affinityMetadata;
      this.#affinityKeyOf = affinityKeyOf;
      this.#telemetry = telemetry;
    }

    pick(args: GrpcPickArgs): GrpcPickResult {
      let affinityKey: string | undefined;
      if (this.#affinityMetadata !== undefined) {
        for (const v of args.metadata.get(this.#affinityMetadata)) {
          if (typeof v === 'string' && v !== '') {
            affinityKey = v;
            break;
          }
        }
      } else if (this.#affinityKeyOf !== undefined) affinityKey = meshAffinityKey(this.#affinityKeyOf, args.metadata);
      const r = this.#balancer.pick(affinityKey === undefined ? undefined : { affinityKey });
      return toGrpcResult(r, this.#leaves, args, this.#telemetry);
    }
  }

  function toGrpcResult(
    r: CorePickResult,
    leaves: ReadonlyMap<Endpoint, GrpcPicker>,
    args: GrpcPickArgs,
    telemetry: PickTelemetry,
  ) {
    switch (r.type) {
      case 'pick': {
        const leaf = leaves.get(r.endpoint);
        const inner = leaf?.pick(args);
        if (inner === undefined || inner.pickResultType !== PickResultType.COMPLETE) {
          // The leaf left READY between the state update and this pick: release the pick and let the call
          // wait for the next picker (published by that very state change).
          r.done({ type: 'cancelled' });
          return inner ?? queueResult;
        }
        const innerEnded = inner.onCallEnded;
        const tel = channels.grpcPick.hasSubscribers ? publishPick(telemetry, r.endpoint, args.metadata) : undefined;
        return {
          pickResultType: PickResultType.COMPLETE,
          subchannel: inner.subchannel,
          status: null,
          onCallStarted: inner.onCallStarted,
          // The status feeds least-request / peak-EWMA load and outlier ejection (classify(): UNAVAILABLE
          // and DEADLINE_EXCEEDED fail, CANCELLED is ignored). grpc-js calls this once per started call. A call that ends between
          // pick and start (cancelled while call credentials are generated) never reports: its in-flight
          // count stays, a known limit of the grpc-js picker API.
          onCallEnded: (code: Grpc.status, details: string, metadata: Grpc.Metadata) => {
            r.done({ type: 'grpc', code });
            if (tel !== undefined && channels.grpcCallEnd.hasSubscribers) {
              channels.grpcCallEnd.publish({ pick: tel, code, details });
            }
            innerEnded?.(code, details, metadata);
          },
        } satisfies GrpcPickResult;
      }
      case 'queue':
        return queueResult;
      case 'drop':
        // internalTrafficPolicy Local with nothing on this node: kube-proxy DROPs; DROP also fails
        // wait-for-ready calls, and grpc-js never retries it.
        return {
          pickResultType: PickResultType.DROP,
          subchannel: null,
          status: statusOf(r.error.message),
          onCallStarted: null,
          onCallEnded: null,
        } satisfies GrpcPickResult;
      default:
        // No endpoints (kube-proxy REJECT), nothing eligible, closed: UNAVAILABLE with the explanation.
        // Wait-for-ready calls queue until a later picker.
        return {
          pickResultType: PickResultType.TRANSIENT_FAILURE,
          subchannel: null,
          status: statusOf(r.error.message),
          onCallStarted: null,
          onCallEnded: null,
        } satisfies GrpcPickResult;
    }
  }

  const queueResult: GrpcPickResult = Object.freeze({
    pickResultType: PickResultType.QUEUE,
    subchannel: null,
    status: null,
    onCallStarted: null,
    onCallEnded: null,
  });

  function statusOf(details: string): Grpc.StatusObject {
    return { code: UNAVAILABLE, details, metadata: new grpc.Metadata() };
  }

  class ClusterIPLoadBalancer implements experimental.LoadBalancer {
    readonly #helper: ChannelControlHelper;
    readonly #childHelper: ChannelControlHelper;
    readonly #children = new Map<string, Child>();
    #balancer: Balancer | undefined;
    #configKey = '';
    #meshConfig: MeshServiceConfig | undefined;
    #affinityMetadata: string | undefined;
    #affinityKeyOf: AffinityKeyFunction | undefined;
    #telemetry: PickTelemetry = { service: 'grpc', policy: 'random' };
    #resolution: Resolution | undefined;
    #serviceInfo: Pick<ServiceInfo, 'sessionAffinity'> | undefined;
    #state: Grpc.connectivityState = State.IDLE;
    #lastError = '';
    #updatesPaused = false;
    #destroyed = false;
    /** Health Watch streams, when the config enables `healthCheck`. */
    #health: HealthChecks | undefined;

    constructor(helper: ChannelControlHelper) {
      this.#helper = helper;
      this.#childHelper = createChildChannelControlHelper(helper, {
        updateState: (_state, _picker, errorMessage) => {
          if (errorMessage) this.#lastError = errorMessage;
          this.#publish();
        },
      });
    }

    updateAddressList(
      endpointList: StatusOr<GrpcEndpoint[]>,
      lbConfig: TypedLoadBalancingConfig,
      options: ChannelOptions,
      resolutionNote: string,
    ): boolean {
      if (!(lbConfig instanceof ClusterIPLoadBalancingConfig)) return false;
      if (this.#destroyed) return true;
      const pushed = options[attributeKey] as Resolution | undefined;
      // The mesh's options for this Service fill what the service config leaves unset. Errors carry no
      // resolution: the last mesh options stay.
      const meshConfig = pushed === undefined ? this.#meshConfig : pushed.mesh?.serviceConfig?.(pushed.identity);
      if (lbConfig.key !== this.#configKey || meshConfig !== this.#meshConfig || this.#balancer === undefined) {
        // New options: a new balancer (load, health and affinity start over, as with a new Service port).
        void this.#balancer?.close();
        const service = pushed?.service ?? 'grpc';
        const base = meshConfig === undefined ? undefined : pushed?.mesh?.balancerOptions?.(pushed.identity, service);
        const options = balancerOptionsOf(lbConfig.config, service, base);
        this.#balancer = createBalancer(options);
        this.#telemetry = { service, policy: options.policy ?? 'random' };
        this.#configKey = lbConfig.key;
        this.#meshConfig = meshConfig;
        this.#affinityMetadata = lbConfig.config.affinityKey?.metadata;
        this.#affinityKeyOf = lbConfig.config.affinityKey === undefined ? meshConfig?.affinityKey : undefined;
        // Health checking restarts with the options (new streams; verdicts start pending again).
        this.#health?.close();
        const hc = lbConfig.config.healthCheck;
        this.#health =
          hc === undefined
            ? undefined
            : new HealthChecks(
                grpc,
                hc,
                () => this.#telemetry.service,
                () => this.#publish(),
              );
      }
      if (!endpointList.ok) {
        // Resolution failed (source unavailable, nothing known): keep a working list, as round_robin does.
        if (this.#children.size === 0 && this.#resolution === undefined) {
          this.#setState(
            State.TRANSIENT_FAILURE,
            new UnavailablePicker(endpointList.error),
            endpointList.error.details,
          );
        }
        return true;
      }
      const resolution = (options[attributeKey] as Resolution | undefined) ?? plainResolution(endpointList.value);
      this.#resolution = resolution;
      if (resolution.serviceInfo !== undefined) this.#serviceInfo = resolution.serviceInfo;

      const eligible = resolution.failure === undefined ? resolution.eligible.endpoints : [];
      const wanted = new Map<string, Endpoint>();
      for (const e of eligible) wanted.set(endpointKey(e), e);
      // Endpoints that left (removed, terminating while others are ready, ejected by eligibility): their
      // leaf is destroyed, which unrefs the subchannel; grpc-js closes its HTTP/2 session gracefully, so
      // calls in flight (streams included) finish and no new call is picked there.
      for (const [key, child] of this.#children) {
        if (!wanted.has(key)) {
          this.#children.delete(key);
          this.#health?.stop(key);
          child.leaf.destroy();
        }
      }
      this.#updatesPaused = true;
      for (const [key, endpoint] of wanted) {
        const child = this.#children.get(key);
        if (child !== undefined) {
          child.endpoint = endpoint;
          continue;
        }
        const grpcEndpoint: GrpcEndpoint = { addresses: [{ host: endpoint.address, port: endpoint.port }] };
        const created: Child = { endpoint, leaf: undefined as unknown as LeafLoadBalancer, subchannel: undefined };
        // Remember the leaf's subchannel: the health Watch runs on its connection (public API: getChannel()).
        const helper = createChildChannelControlHelper(this.#childHelper, {
          createSubchannel: (address, args) => {
            const subchannel = this.#childHelper.createSubchannel(address, args);
            created.subchannel = subchannel;
            return subchannel;
          },
        });
        created.leaf = new LeafLoadBalancer(grpcEndpoint, helper, options, resolutionNote);
        this.#children.set(key, created);
        created.leaf.startConnecting();
      }
      this.#updatesPaused = false;
      this.#publish();
      return true;
    }

    exitIdle(): void {
      for (const child of this.#children.values()) child.leaf.exitIdle();
    }

    resetBackoff(): void {
      // Leaves own their backoff; nothing to reset here.
    }

    destroy(): void {
      this.#destroyed = true;
      this.#health?.close();
      this.#health = undefined;
      for (const child of this.#children.values()) child.leaf.destroy();
      this.#children.clear();
      void this.#balancer?.close();
      this.#balancer = undefined;
    }

    getTypeName(): string {
      return LB_POLICY_NAME;
    }

    /**
     * Aggregate the leaves and publish a picker: READY when one eligible endpoint is connected (the balancer
     * chooses among the connected ones only), CONNECTING while some connect, TRANSIENT_FAILURE when all
     * failed or Kubernetes says there is nothing to use.
     */
    #publish(): void {
      if (this.#updatesPaused || this.#destroyed) return;
      const balancer = this.#balancer;
      const resolution = this.#resolution;
      if (balancer === undefined || resolution === undefined) return;

      if (resolution.failure !== undefined || resolution.eligible.outcome.type !== 'ok') {
        const eligible: EligibleEndpoints =
          resolution.failure === undefined
            ? resolution.eligible
            : { endpoints: [], outcome: { type: 'no-endpoints', error: resolution.failure as never } };
        balancer.update(eligible, this.#serviceInfo);
        const picker = new ClusterIPPicker(balancer, new Map(), undefined, undefined, this.#telemetry);
        const message = resolution.failure?.message ?? errorOf(resolution.eligible);
        this.#setState(State.TRANSIENT_FAILURE, picker, message);
        return;
      }

      const ready: Endpoint[] = [];
      // Every eligible endpoint stays in the balancer, connected or not: a reconnect (a GOAWAY at the
      // server's max connection age, a blip) must not cost it its affinity bindings, ejection or load.
      const members: Endpoint[] = [];
      const unreachable: string[] = [];
      const leaves = new Map<Endpoint, GrpcPicker>();
      const health = this.#health;
      const notServing: string[] = [];
      let connecting = 0;
      for (const [key, child] of this.#children) {
        members.push(child.endpoint);
        const state = child.leaf.getConnectivityState();
        if (state === State.READY) {
          if (health !== undefined && child.subchannel !== undefined) {
            // gRFC A17: a new connection is not used before its first health answer; a not-serving endpoint
            // stays in the balancer's set (so the panic rule can count it) but out of rotation.
            const verdict = health.verdict(key, child.subchannel);
            if (verdict === 'pending') {
              unreachable.push(key);
              connecting++;
              continue;
            }
            if (verdict === 'not-serving') notServing.push(key);
          }
          ready.push(child.endpoint);
          leaves.set(child.endpoint, child.leaf.getPicker());
          continue;
        }
        // Disconnected: its Watch ends with the connection; a new one starts when it is READY again.
        unreachable.push(key);
        health?.stop(key);
        if (state === State.CONNECTING) connecting++;
        else if (state === State.IDLE) {
          // Keep every eligible endpoint connected (as round_robin does): per-RPC balancing needs them all.
          child.leaf.exitIdle();
          connecting++;
        }
      }
      if (ready.length > 0) {
        balancer.setUnreachable(unreachable);
        balancer.setNotServing(notServing);
        balancer.update(members, this.#serviceInfo);
        const picker = new ClusterIPPicker(
          balancer,
          leaves,
          this.#affinityMetadata,
          this.#affinityKeyOf,
          this.#telemetry,
        );
        if (notServing.length === ready.length && !balancer.panic) {
          // Every connected endpoint reports not serving and panic mode is off: picks fail UNAVAILABLE with
          // the balancer's explanation (wait-for-ready calls wait for a SERVING answer).
          const message = `${resolution.service}: no eligible endpoints: all ${ready.length} connected endpoints report not serving (health check)`;
          this.#setState(State.TRANSIENT_FAILURE, picker, message);
        } else this.#setState(State.READY, picker, null);
      } else if (connecting > 0 || this.#children.size === 0) {
        this.#setState(State.CONNECTING, new QueuePicker(this), null);
      } else {
        const message = `${resolution.service}: no connection established to any of ${this.#children.size} endpoints: last error: ${this.#lastError}`;
        this.#setState(State.TRANSIENT_FAILURE, new UnavailablePicker({ details: message }), message);
      }
    }

    #setState(state: Grpc.connectivityState, picker: GrpcPicker, errorMessage: string | null): void {
      // Going from READY to anything else asks for re-resolution, as grpc-js policies do; our resolver
      // pushes every change anyway, so this only matters under another resolver.
      if (this.#state === State.READY && state !== State.READY) this.#helper.requestReresolution();
      this.#state = state;
      this.#helper.updateState(state, picker, errorMessage);
    }
  }

  return { ClusterIPLoadBalancer, ClusterIPLoadBalancingConfig };
}

/**
 * The mesh's affinity key extractor applied to one call: `metadata` extractors read the call metadata,
 * `header` / `cookie` extractors read it as the HTTP/2 headers it is (text values only). A throwing
 * user extractor gives no key (default affinity), as for HTTP.
 */
function meshAffinityKey(keyOf: AffinityKeyFunction, metadata: Grpc.Metadata): string | undefined {
  try {
    return keyOf({
      metadata: (key) => metadata.get(key),
      headers: {
        *[Symbol.iterator](): Iterator<readonly [string, string]> {
          for (const [name, value] of Object.entries(metadata.getMap())) {
            if (typeof value === 'string') yield [name, value];
          }
        },
      },
    });
  } catch {
    return undefined;
  }
}

/** Under another resolver (`ipv4:`, `dns:`), every address is one ready endpoint. */
function plainResolution(list: readonly GrpcEndpoint[]): Resolution {
  const endpoints: Endpoint[] = [];
  for (const e of list) {
    const a = e.addresses[0];
    if (a === undefined || !('host' in a)) continue;
    endpoints.push(plainEndpoint(a.host, a.port));
  }
  if (endpoints.length === 0) {
    const error = new NoEndpointsError('grpc', 0, 'the name resolver returned no addresses');
    return { service: 'grpc', eligible: { endpoints, outcome: { type: 'no-endpoints', error } } };
  }
  return { service: 'grpc', eligible: plainEligible(endpoints) };
}

function errorOf(eligible: EligibleEndpoints): string {
  return eligible.outcome.type === 'ok' ? '' : eligible.outcome.error.message;
}

/** What `clusterip:grpc:pick` messages of one balancer say about it. */
interface PickTelemetry {
  readonly service: string;
  readonly policy: BalancerPolicy;
}

/** Publish a pick (only called when `clusterip:grpc:pick` has subscribers). */
function publishPick(telemetry: PickTelemetry, endpoint: Endpoint, metadata: Grpc.Metadata): GrpcPickMessage {
  // grpc-js numbers retries and hedges in this header (absent on the first attempt).
  const previous = Number(metadata.get('grpc-previous-rpc-attempts')[0] ?? 0);
  const message: GrpcPickMessage = {
    service: telemetry.service,
    policy: telemetry.policy,
    endpoint,
    attempt: Number.isInteger(previous) && previous > 0 ? previous + 1 : 1,
    metadata: metadata as unknown as GrpcPickMessage['metadata'],
  };
  channels.grpcPick.publish(message);
  return message;
}
