// ⑧ Transport (gRPC): the `kubernetes:` scheme name resolver for grpc-js, backed by @clusterip/resolver.
// Consumes a target and a shared Resolver watch; pushes every endpoint-set change to the channel, with the
// full endpoint data (conditions, zone, node) and the Service riding along as a resolver attribute.

import { lookup } from 'node:dns/promises';
import {
  type ClusterIPError,
  type Endpoint,
  endpointKey,
  findServicePort,
  InvalidNameError,
  parseServiceTarget,
  type Resolver,
  type ServiceInfo,
  type ServiceSnapshot,
  type ServiceTarget,
  type ServiceWatch,
} from '@clusterip/resolver';
import type { ChannelOptions, experimental, StatusObject } from '@grpc/grpc-js';
import type { BalancerOptions } from '../../balancer/balancer.js';
import { type EligibleEndpoints, eligibleEndpoints, eligibleUniqueEndpoints } from '../../eligibility/eligibility.js';
import { otherProxy } from '../../eligibility/service-proxy-name.js';
import { NoEndpointsError } from '../../errors/no-endpoints-error.js';
import type { MeshServiceConfig } from '../../mesh/mesh-options.js';
import { channels } from '../../telemetry/channels.js';
import { countEndpoints } from '../../telemetry/endpoint-counts.js';
import { plainEligible, plainEndpoint } from './plain-addresses.js';

/** gRPC status codes used here (same numbers in every gRPC implementation). */
const UNAVAILABLE = 14;

/** The scheme registered with grpc-js. */
export const SCHEME = 'kubernetes';

/**
 * What the resolver hands the `clusterip` LB policy for one resolution, under {@link ResolutionAttribute}.
 * grpc-js spreads resolver attributes into the LB's channel options; the key starts with grpc-js's
 * `SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX`, so it is stripped before subchannels are created and a fresh
 * object on every resolution does not make the subchannel pool reconnect (research/apis.md §2.2).
 */
export interface Resolution {
  /** Label of the Service port for messages, e.g. `web.shop:grpc`. */
  readonly service: string;
  /** The Service, when the source knows it (drives `sessionAffinity: { type: 'Service' }`). */
  readonly serviceInfo?: ServiceInfo;
  /** kube-proxy's eligible endpoints for this client (node / zone from the cluster context). */
  readonly eligible: EligibleEndpoints;
  /** Set when the Service does not exist (authoritative): picks fail with it. */
  readonly failure?: ClusterIPError;
  /** The mesh of the channel (per-channel option, else the one given to `register()`), if any. */
  readonly mesh?: GrpcMesh;
  /** The Service (`namespace`, `name`) when the source knows it: selects the mesh's per-Service options. */
  readonly identity?: { readonly namespace: string; readonly name: string };
}

/**
 * Structural type of what `register()` and the per-channel option accept: anything with a Resolver (a
 * `Mesh` fits). With a `Mesh`, the `clusterip` policy also takes the options the channel's service config
 * leaves unset (policy, sessionAffinity, affinityKey, outlierDetection) from `mesh.serviceConfig()`.
 */
export interface GrpcMesh {
  readonly resolver: Resolver;
  /** Which Services are balanced, by their service-proxy-name label (see `MeshOptions.serviceProxyName`). Default `''`. */
  readonly serviceProxyName?: string | false;
  /** The mesh's resolved options for one Service (its overrides applied); see `Mesh.serviceConfig`. */
  serviceConfig?(service?: { readonly namespace: string; readonly name: string }): MeshServiceConfig;
  /** `createBalancer` options for one Service under the mesh's options; see `Mesh.balancerOptions`. */
  balancerOptions?(
    service: { readonly namespace: string; readonly name: string } | undefined,
    label: string,
  ): BalancerOptions;
}

/** Where a channel's resolver gets its discovery cache from. */
export interface ResolverDeps {
  /** Attribute key carrying the {@link Resolution} (prefix from grpc-js + `.clusterip.resolution`). */
  readonly attributeKey: string;
  /** Channel option naming a per-channel mesh (prefix from grpc-js + `.clusterip.mesh`). */
  readonly meshOptionKey: string;
  /** The process-wide mesh (from `register(mesh)`, or the lazily created default). */
  readonly processResolver: () => Promise<Resolver>;
  /** The mesh given to `register()`, if any (its per-Service options feed the LB policy). */
  readonly processMesh?: () => GrpcMesh | undefined;
  /** Whether a channel without `grpc.service_config` gets the `clusterip` policy by default. */
  readonly defaultServiceConfig: () => unknown;
}

type GrpcUri = experimental.GrpcUri;
type ResolverListener = experimental.ResolverListener;
type GrpcEndpoint = experimental.Endpoint;

/**
 * Parse a gRPC target URI of the `kubernetes` scheme. grpc-js splits `kubernetes:///web.prod:grpc` into
 * authority `''` and path `web.prod:grpc`, and `kubernetes://prod/web:grpc` into authority `prod` and
 * path `web:grpc`. Names follow the same search rules as HTTP targets; the port is a Service port number
 * or name (none: the Service's only port). Throws InvalidNameError (`CLUSTERIP_ERR_INVALID_NAME`).
 *
 * @example
 * ```ts
 * parseGrpcTarget({ scheme: 'kubernetes', authority: 'prod', path: 'web:grpc' }) // host web, namespace prod, port grpc
 * ```
 */
export function parseGrpcTarget(uri: GrpcUri): ServiceTarget {
  if (uri.path === '' || uri.path.includes('/')) {
    throw new InvalidNameError(
      'target',
      uriText(uri),
      'must look like kubernetes:///<name>[:<port>] or kubernetes://<namespace>/<name>[:<port>]',
    );
  }
  // `kubernetes:web` (no authority) means `kubernetes:///web`, as grpc-js's `dns:web` means `dns:///web`.
  const target = parseServiceTarget(`${uri.scheme ?? SCHEME}://${uri.authority ?? ''}/${uri.path}`);
  if (target.ipVersion !== 0) {
    throw new InvalidNameError(
      'target',
      uriText(uri),
      'names an IP address; use the ipv4: or ipv6: scheme of grpc-js for fixed addresses',
    );
  }
  return target;
}

/**
 * The `:authority` a channel uses by default: the name as typed, with the namespace appended for the
 * `kubernetes://<namespace>/<name>` form, and the port only when it is a number (a port name is not a
 * valid authority port).
 */
export function defaultAuthority(target: ServiceTarget): string {
  const host = target.namespace === undefined ? target.host : `${target.host}.${target.namespace}`;
  return typeof target.port === 'number' ? `${host}:${target.port}` : host;
}

/** Build the grpc-js Resolver class for the `kubernetes` scheme. */
export function createResolverClass(deps: ResolverDeps) {
  return class ClusterIPGrpcResolver {
    static getDefaultAuthority(uri: GrpcUri): string {
      // Throwing here surfaces a malformed target at channel construction, synchronously.
      return defaultAuthority(parseGrpcTarget(uri));
    }

    readonly #uri: GrpcUri;
    readonly #listener: ResolverListener;
    readonly #options: ChannelOptions;
    #target: ServiceTarget | undefined;
    #targetError: ClusterIPError | undefined;
    #watch: ServiceWatch | undefined;
    /** Incremented by destroy(): callbacks of an older generation are dropped (grpc-js Resolver contract). */
    #generation = 0;
    #starting = false;
    #lastPushKey = '';
    /** While the Service is an ExternalName: its target, looked up with the system resolver. */
    #external: ExternalTarget | undefined;

    constructor(uri: GrpcUri, listener: ResolverListener, options: ChannelOptions) {
      this.#uri = uri;
      this.#listener = listener;
      this.#options = options;
      try {
        this.#target = parseGrpcTarget(uri);
      } catch (error) {
        this.#targetError = error as ClusterIPError;
      }
    }

    /** Start the watch if it is not running; the watch itself pushes every change, so nothing else to do. */
    updateResolution(): void {
      // grpc-js asks again when connections fail: an ExternalName's addresses may have moved.
      if (this.#external !== undefined) this.#lookUpExternal(this.#external, false);
      if (this.#watch !== undefined || this.#starting) return;
      const generation = this.#generation;
      this.#starting = true;
      // Never call the listener synchronously from updateResolution (grpc-js contract): everything below
      // runs after at least one microtask.
      void this.#start(generation);
    }

    destroy(): void {
      this.#generation++;
      this.#starting = false;
      this.#lastPushKey = '';
      this.#external = undefined;
      const watch = this.#watch;
      this.#watch = undefined;
      void watch?.close();
    }

    async #start(generation: number): Promise<void> {
      await Promise.resolve();
      if (generation !== this.#generation) return;
      const target = this.#target;
      if (target === undefined) {
        this.#starting = false;
        this.#pushError(this.#targetError?.message ?? 'invalid target');
        return;
      }
      let resolver: Resolver;
      try {
        resolver = await this.#resolver();
      } catch (error) {
        if (generation !== this.#generation) return;
        this.#starting = false;
        this.#pushError(`${uriText(this.#uri)}: ${(error as Error).message}`);
        return;
      }
      if (generation !== this.#generation) return;
      let topology: { nodeName?: string; zone?: string } = {};
      try {
        const context = await resolver.context();
        topology = {
          ...(context.nodeName === undefined ? {} : { nodeName: context.nodeName }),
          ...(context.zone === undefined ? {} : { zone: context.zone }),
        };
      } catch {
        // The watch reports the same failure as a snapshot error; eligibility then has no topology.
      }
      if (generation !== this.#generation) return;
      try {
        this.#watch = resolver.watch(target.input, (snapshot) => {
          if (generation === this.#generation) this.#onSnapshot(snapshot, target, topology);
        });
        this.#watch.ready.catch((error: unknown) => {
          if (generation === this.#generation && this.#watch?.current === undefined) {
            this.#pushError(`${uriText(this.#uri)}: ${(error as Error).message}`);
          }
        });
      } catch (error) {
        this.#pushError(`${uriText(this.#uri)}: ${(error as Error).message}`);
      } finally {
        this.#starting = false;
      }
    }

    #resolver(): Promise<Resolver> {
      const mesh = this.#options[deps.meshOptionKey] as GrpcMesh | undefined;
      if (mesh !== undefined) return Promise.resolve(mesh.resolver);
      return deps.processResolver();
    }

    #onSnapshot(snapshot: ServiceSnapshot, target: ServiceTarget, topology: { nodeName?: string; zone?: string }) {
      const label = serviceLabel(snapshot, target);
      if (snapshot.status === 'unavailable') {
        // The source cannot answer and nothing was known before: grpc-js keeps a working list on errors.
        this.#pushError(`${label}: ${snapshot.error?.message ?? 'endpoint source unavailable'}`);
        return;
      }
      const service = snapshot.service ?? syntheticService(target.namespace, target.host);
      if (snapshot.status === 'not-found') {
        const failure = snapshot.error;
        const eligible = eligibleEndpoints([], service, topology, target.port);
        this.#push([], { service: label, eligible, ...(failure === undefined ? {} : { failure }) }, failure?.message);
        return;
      }
      const known = snapshot.service;
      if (known?.type === 'ExternalName' && known.externalName !== undefined) {
        this.#toExternal(known, known.externalName, target, label);
        return;
      }
      this.#external = undefined;
      const mesh = (this.#options[deps.meshOptionKey] as GrpcMesh | undefined) ?? deps.processMesh?.();
      const proxy = known === undefined ? undefined : otherProxy(known, mesh?.serviceProxyName ?? '');
      if (proxy !== undefined) {
        this.#pushClusterIPs(known!, target, label, proxy);
        return;
      }
      // `ok`, possibly stale: a stale snapshot carries the last good set, so an API outage never empties
      // the channel's list (pushing it again is a no-op below).
      let eligible = eligibleUniqueEndpoints(snapshot.endpoints, service, topology, target.port);
      if (eligible.outcome.type === 'no-endpoints' && snapshot.endpoints.length === 0 && snapshot.reason) {
        // The source knows why the set is empty (unknown port name, no slices yet): say that instead.
        const error = new NoEndpointsError(label, 0, snapshot.reason.message);
        eligible = { endpoints: [], outcome: { type: 'no-endpoints', error } };
      }
      const note = eligible.outcome.type === 'ok' ? '' : eligible.outcome.error.message;
      if (channels.grpcResolution.hasSubscribers) {
        channels.grpcResolution.publish({
          service: label,
          ...(known === undefined ? {} : { namespace: known.namespace, name: known.name }),
          endpoints: eligible.endpoints.map(endpointKey),
          counts: countEndpoints(snapshot.endpoints, eligible.endpoints, service, topology),
        });
      }
      this.#push(
        eligible.endpoints,
        {
          service: label,
          serviceInfo: service,
          eligible,
          ...(mesh === undefined ? {} : { mesh }),
          ...(known === undefined ? {} : { identity: { namespace: known.namespace, name: known.name } }),
        },
        note,
      );
    }

    /**
     * A Service labelled for another proxy (spec §4): the channel connects to its ClusterIPs and that proxy
     * balances, as for a pod without this plugin. No affinity or mesh options of ours apply.
     */
    #pushClusterIPs(service: ServiceInfo, target: ServiceTarget, label: string, proxy: string): void {
      const port = this.#portOf(service, target, label, true);
      if (port === undefined) return;
      if (service.clusterIPs.length === 0) {
        this.#pushError(`${label}: labelled for proxy ${JSON.stringify(proxy)} but has no ClusterIP to send to`);
        return;
      }
      const endpoints = service.clusterIPs.map((address) => plainEndpoint(address, port));
      this.#pushPlain(endpoints, service, label, `labelled for proxy ${JSON.stringify(proxy)}: via its ClusterIP`);
    }

    /**
     * An ExternalName Service (spec §1.4): a pod's DNS answers its name with a CNAME to `host`, so the
     * channel connects to the addresses of `host` (system resolver, as grpc-js's `dns:` scheme), at the
     * target's port; the authority stays the Service name, as behind a CNAME.
     */
    #toExternal(service: ServiceInfo, host: string, target: ServiceTarget, label: string): void {
      const port = this.#portOf(service, target, label, false);
      if (port === undefined) return;
      const current = this.#external;
      if (current !== undefined && current.host === host && current.port === port) return;
      const external: ExternalTarget = { host, port, label, service, lookedUpAt: undefined, busy: false };
      this.#external = external;
      this.#lookUpExternal(external, true);
    }

    #lookUpExternal(external: ExternalTarget, force: boolean): void {
      if (external.busy) return;
      const last = external.lookedUpAt;
      if (!force && last !== undefined && performance.now() - last < EXTERNAL_LOOKUP_INTERVAL_MS) return;
      external.busy = true;
      const generation = this.#generation;
      const current = () => generation === this.#generation && this.#external === external;
      lookup(external.host, { all: true, verbatim: true }).then(
        (addresses) => {
          external.busy = false;
          if (!current()) return;
          external.lookedUpAt = performance.now();
          const endpoints = addresses.map((a) => plainEndpoint(a.address, external.port));
          this.#pushPlain(endpoints, external.service, external.label, `ExternalName: ${external.host}`);
        },
        (error: Error) => {
          external.busy = false;
          if (current()) this.#pushError(`${external.label}: ExternalName ${external.host}: ${error.message}`);
        },
      );
    }

    /**
     * The port to connect to: the target's number as is for an ExternalName (a CNAME has no ports), else
     * the Service port it names; a target without a port takes the Service's first port.
     */
    #portOf(service: ServiceInfo, target: ServiceTarget, label: string, servicePortsOnly: boolean): number | undefined {
      try {
        if (typeof target.port === 'number' && !servicePortsOnly) return target.port;
        if (target.port !== undefined) return findServicePort(service, target.port).port;
        // No port in the target: the Service's only port, as for a balanced Service.
        if (service.ports.length === 1) return service.ports[0]!.port;
        this.#pushError(
          `${label}: the Service has ${service.ports.length} ports: name one in the target, e.g. kubernetes:///${service.name}:443`,
        );
      } catch (error) {
        this.#pushError(`${label}: ${(error as Error).message}`);
      }
      return undefined;
    }

    /** Push addresses that something else balances (a proxy's ClusterIP, an external name). */
    #pushPlain(endpoints: Endpoint[], service: ServiceInfo, label: string, note: string): void {
      const info = syntheticService(service.namespace, service.name);
      this.#push(endpoints, { service: label, serviceInfo: info, eligible: plainEligible(endpoints) }, note);
    }

    #push(endpoints: readonly Endpoint[], resolution: Resolution, note = ''): void {
      // Skip exact repeats (a stale snapshot of an unchanged set, a resync): same endpoints, same data.
      const key = pushKey(endpoints, resolution);
      if (key === this.#lastPushKey) return;
      this.#lastPushKey = key;
      const list: GrpcEndpoint[] = endpoints.map((e) => ({ addresses: [{ host: e.address, port: e.port }] }));
      const serviceConfig =
        this.#options['grpc.service_config'] === undefined
          ? { ok: true as const, value: deps.defaultServiceConfig() as never }
          : null;
      this.#listener({ ok: true, value: list }, { [deps.attributeKey]: resolution }, serviceConfig, note);
    }

    #pushError(details: string): void {
      this.#lastPushKey = '';
      // No `metadata` key: grpc-js's UnavailablePicker spreads this over its own defaults (a fresh Metadata).
      const error = { code: UNAVAILABLE, details } as StatusObject;
      this.#listener({ ok: false, error }, {}, null, details);
    }
  };
}

/** Least time between two lookups of an ExternalName's target (grpc-js's `dns:` default). */
const EXTERNAL_LOOKUP_INTERVAL_MS = 30_000;

/** An ExternalName Service's target while the channel follows it. */
interface ExternalTarget {
  readonly host: string;
  readonly port: number;
  readonly label: string;
  readonly service: ServiceInfo;
  /** `performance.now()` of the last answer; undefined before the first. */
  lookedUpAt: number | undefined;
  /** A lookup is running. */
  busy: boolean;
}

/**
 * The target as the user wrote it. grpc-js leaves `authority` undefined when the target has no `//…/`
 * part (`kubernetes://prod` parses as path `//prod`), so `://` is added only with an authority; else
 * messages echoed `kubernetes://///prod`.
 */
function uriText(uri: GrpcUri): string {
  const scheme = uri.scheme ?? SCHEME;
  return uri.authority === undefined ? `${scheme}:${uri.path}` : `${scheme}://${uri.authority}/${uri.path}`;
}

function serviceLabel(snapshot: ServiceSnapshot, target: ServiceTarget): string {
  const name =
    snapshot.service === undefined
      ? target.namespace === undefined
        ? target.host
        : `${target.host}.${target.namespace}`
      : `${snapshot.service.name}.${snapshot.service.namespace}`;
  return target.port === undefined ? name : `${name}:${target.port}`;
}

/** Eligibility input when the source knows no Service (DNS, static): plain Cluster semantics. */
function syntheticService(namespace: string | undefined, name: string): ServiceInfo {
  return {
    namespace: namespace ?? '',
    name,
    type: 'ClusterIP',
    clusterIPs: [],
    headless: false,
    ipFamilies: [],
    ports: [],
    sessionAffinity: { type: 'None' },
    internalTrafficPolicy: 'Cluster',
    publishNotReadyAddresses: false,
    labels: {},
    annotations: {},
  };
}

function pushKey(endpoints: readonly Endpoint[], r: Resolution): string {
  const parts: string[] = [r.eligible.outcome.type, r.failure?.message ?? ''];
  const a = r.serviceInfo?.sessionAffinity;
  parts.push(a === undefined ? '' : a.type === 'ClientIP' ? `ClientIP/${a.timeoutSeconds}` : a.type);
  for (const e of endpoints) {
    const c = e.conditions;
    parts.push(`${endpointKey(e)}/${c.ready ? 1 : 0}${c.serving ? 1 : 0}${c.terminating ? 1 : 0}/${e.zone ?? ''}`);
  }
  return parts.join('|');
}
