// ⑤ Eligible endpoints: kube-proxy's CategorizeEndpoints for one Service port (spec §6).
// Consumes the endpoints of ONE Service port (target ports already resolved) + ServiceInfo + client topology;
// produces the endpoints a balancer may use and an outcome that tells "no endpoints" from "none local".

import {
  type Endpoint,
  type EndpointConditions,
  endpointKey,
  InvalidArgumentError,
  type ServiceInfo,
  type ServicePort,
} from '@clusterip/resolver';
import { NoEndpointsError } from '../errors/no-endpoints-error.js';
import { NoLocalEndpointsError } from '../errors/no-local-endpoints-error.js';
import { describe } from '../internal/options.js';

/**
 * Where the client runs. Both fields come from the pod (downward API `spec.nodeName`, and the
 * Node's `topology.kubernetes.io/zone` label). Unknown values never match: an unknown node has no
 * local endpoints and ignores node hints; an unknown zone ignores zone hints (spec §6.4).
 */
export interface ClientTopology {
  readonly nodeName?: string;
  readonly zone?: string;
}

/** Which topology filter applied to the ready endpoints (spec §6.1). `none` = no filtering. */
export type TopologyMode = 'none' | 'PreferSameNode' | 'PreferSameZone';

/** Why the eligible set is what it is. Discriminate on `type`. */
export type EligibilityOutcome =
  | {
      /** Some endpoint is usable. */
      readonly type: 'ok';
      readonly policy: 'Cluster' | 'Local';
      /** Topology filter in force (always `none` for `Local`). */
      readonly topology: TopologyMode;
      /** True when no endpoint was ready and serving-terminating endpoints are used instead. */
      readonly terminatingFallback: boolean;
    }
  | {
      /** Nothing is ready or serving-terminating anywhere: kube-proxy REJECTs, callers fail fast. */
      readonly type: 'no-endpoints';
      readonly error: NoEndpointsError;
    }
  | {
      /** `internalTrafficPolicy: Local` and nothing usable on this node: kube-proxy DROPs. */
      readonly type: 'no-local-endpoints';
      readonly error: NoLocalEndpointsError;
    };

/**
 * Result of {@link eligibleEndpoints}: feed it to `Balancer.update()` as is.
 *
 * @example
 * ```ts
 * const eligible = eligibleEndpoints(endpoints, service, { nodeName: process.env.NODE_NAME })
 * if (eligible.outcome.type === 'ok' && eligible.outcome.terminatingFallback) log('only draining pods left')
 * balancer.update(eligible, service)
 * ```
 */
export interface EligibleEndpoints {
  /** Usable endpoints, de-duplicated by `address:port`, in input order. Empty unless `outcome.type === 'ok'`. */
  readonly endpoints: readonly Endpoint[];
  readonly outcome: EligibilityOutcome;
}

/**
 * The parts of a Service that eligibility reads (a full `ServiceInfo` fits). `headless` (default false): a
 * Service without a ClusterIP, which no proxy serves, so its traffic policy and hints do not apply.
 */
export type EligibilityService = Pick<
  ServiceInfo,
  'name' | 'namespace' | 'internalTrafficPolicy' | 'publishNotReadyAddresses'
> & { readonly headless?: boolean };

const EMPTY: readonly Endpoint[] = Object.freeze([]);

/**
 * kube-proxy's endpoint categorisation for one Service port (spec §6,
 * `kubernetes/kubernetes:pkg/proxy/topology.go` `CategorizeEndpoints`):
 *
 * - `Cluster`: ready endpoints, narrowed by topology hints only when **every** ready endpoint carries
 *   a hint of that kind and at least one matches the client (node hints first, then zone hints);
 *   when nothing is ready, serving-terminating endpoints regardless of topology.
 * - `Local`: ready endpoints on the client's node, else serving-terminating ones on that node;
 *   never endpoints of other nodes, and hints are ignored.
 * - `publishNotReadyAddresses`: every endpoint counts as ready (the EndpointSlice controller
 *   publishes them with `ready=true`; we apply the same rule for sources that do not).
 * - Headless Services are not proxied (spec §1.3, §6.5): as cluster DNS answers, every ready endpoint,
 *   whatever `internalTrafficPolicy` and the hints say. When none is ready, serving-terminating ones are
 *   used, as for a ClusterIP Service (DNS would have no answer; those pods still serve).
 *
 * Duplicate `address:port` entries are merged as kube-proxy's EndpointSliceCache does: the first
 * one wins unless a later one is local to the client. `trafficDistribution` is not read: like
 * kube-proxy we only look at the hints it makes the controller write.
 *
 * Pure and synchronous; call it on every endpoint-set or Service change. Throws InvalidArgumentError
 * (`CLUSTERIP_ERR_INVALID_ARG`) naming the endpoint when one lacks boolean `conditions.ready`, `serving`
 * or `terminating` (endpoints from a source always have them).
 *
 * @param endpoints the endpoints of ONE Service port, target ports resolved
 * @param service the Service (a `ServiceInfo`)
 * @param client the client's node and zone
 * @param port the Service port, only used to name it in error messages
 *
 * @example
 * ```ts
 * const eligible = eligibleEndpoints(set.endpoints, service, { nodeName: 'node-a', zone: 'eu-1a' }, 'http')
 * if (eligible.outcome.type !== 'ok') throw eligible.outcome.error
 * balancer.update(eligible)
 * ```
 */
export function eligibleEndpoints(
  endpoints: readonly Endpoint[],
  service: EligibilityService,
  client: ClientTopology = {},
  port?: ServicePort | string | number,
): EligibleEndpoints {
  checkEndpoints(endpoints);
  return categorize(dedupe(endpoints, client.nodeName), endpoints.length, service, client, port);
}

/**
 * The public entry takes endpoints from callers: one cheap pass (no allocation) so a hand-built endpoint
 * without `conditions` fails with its index and address instead of a TypeError deep in categorisation.
 * Source endpoints (the Mesh's and gRPC's path, `eligibleUniqueEndpoints`) are built with conditions and
 * are not checked again. A missing `conditions` is refused rather than read as ready (the EndpointSlice
 * nil rule): `Endpoint.conditions` is the value after those rules (decodeEndpointSlice applies them), and
 * the telemetry, `mesh.endpoints()` and the gRPC resolver read it from the eligible endpoints as well.
 */
function checkEndpoints(endpoints: readonly Endpoint[]): void {
  if (!Array.isArray(endpoints)) {
    throw new InvalidArgumentError('endpoints', `endpoints must be an array of Endpoint, got ${describe(endpoints)}`);
  }
  for (let i = 0; i < endpoints.length; i++) {
    const e = endpoints[i] as Partial<Endpoint> | null | undefined;
    const c = e?.conditions as Partial<EndpointConditions> | null | undefined;
    if (
      typeof c === 'object' &&
      c !== null &&
      typeof c.ready === 'boolean' &&
      typeof c.serving === 'boolean' &&
      typeof c.terminating === 'boolean'
    ) {
      continue;
    }
    throw badEndpoint(i, e, c);
  }
}

function badEndpoint(
  i: number,
  e: Partial<Endpoint> | null | undefined,
  c: Partial<EndpointConditions> | null | undefined,
): InvalidArgumentError {
  const path = `endpoints[${i}]`;
  if (typeof e !== 'object' || e === null) {
    return new InvalidArgumentError(path, `${path} must be an Endpoint object, got ${describe(e)}`);
  }
  const subject =
    typeof e.address === 'string' ? `${path} ${endpointKey({ address: e.address, port: e.port ?? 0 })}` : path;
  const fix =
    'give { ready, serving, terminating } (unset in an EndpointSlice: ready and serving true, terminating false)';
  if (typeof c !== 'object' || c === null) {
    return new InvalidArgumentError(
      `${path}.conditions`,
      `${subject}: conditions is missing, got ${describe(c)}: ${fix}`,
    );
  }
  const field = (['ready', 'serving', 'terminating'] as const).find((k) => typeof c[k] !== 'boolean')!;
  return new InvalidArgumentError(
    `${path}.conditions.${field}`,
    `${subject}: conditions.${field} must be a boolean, got ${describe(c[field])}: ${fix}`,
  );
}

/**
 * @internal {@link eligibleEndpoints} for a list that holds each `address:port` once, as a
 * `ServiceSnapshot`'s does: it skips the duplicate merge, which builds a key string and a map entry
 * per endpoint (about 4 ms for 10,000 endpoints, on every change of the Service).
 */
export function eligibleUniqueEndpoints(
  endpoints: readonly Endpoint[],
  service: EligibilityService,
  client: ClientTopology = {},
  port?: ServicePort | string | number,
): EligibleEndpoints {
  return categorize(endpoints, endpoints.length, service, client, port);
}

function categorize(
  all: readonly Endpoint[],
  total: number,
  service: EligibilityService,
  client: ClientTopology,
  port: ServicePort | string | number | undefined,
): EligibleEndpoints {
  const pnr = service.publishNotReadyAddresses;
  const isReady = (e: Endpoint) => pnr || e.conditions.ready;
  // `Serving && Terminating`: only used when nothing in scope is ready (pitfall 4).
  const isServTerm = (e: Endpoint) => !isReady(e) && e.conditions.serving && e.conditions.terminating;

  if (service.internalTrafficPolicy === 'Local' && service.headless !== true) {
    const isLocal = (e: Endpoint) => client.nodeName !== undefined && e.nodeName === client.nodeName;
    let local = all.filter((e) => isLocal(e) && isReady(e));
    let terminatingFallback = false;
    if (local.length === 0) {
      local = all.filter((e) => isLocal(e) && isServTerm(e));
      terminatingFallback = local.length > 0;
    }
    if (local.length > 0) {
      return ok(local, { type: 'ok', policy: 'Local', topology: 'none', terminatingFallback });
    }
    const usableAnywhere = all.filter((e) => isReady(e) || isServTerm(e)).length;
    const label = serviceLabel(service, port);
    if (usableAnywhere === 0) {
      return fail({ type: 'no-endpoints', error: new NoEndpointsError(label, total, why(all, isReady)) });
    }
    const hint =
      client.nodeName === undefined
        ? 'the client node name is unknown; pass client.nodeName (downward API spec.nodeName)'
        : 'internalTrafficPolicy Local never falls back to other nodes';
    const error = new NoLocalEndpointsError(label, client.nodeName, total, usableAnywhere, hint);
    return fail({ type: 'no-local-endpoints', error });
  }

  const ready = all.filter(isReady);
  if (ready.length > 0) {
    const topology = service.headless === true ? 'none' : topologyMode(ready, client);
    const chosen =
      topology === 'PreferSameNode'
        ? ready.filter((e) => e.hints!.forNodes.includes(client.nodeName!))
        : topology === 'PreferSameZone'
          ? ready.filter((e) => e.hints!.forZones.includes(client.zone!))
          : ready;
    return ok(chosen, { type: 'ok', policy: 'Cluster', topology, terminatingFallback: false });
  }
  const servTerm = all.filter(isServTerm);
  if (servTerm.length > 0) {
    return ok(servTerm, { type: 'ok', policy: 'Cluster', topology: 'none', terminatingFallback: true });
  }
  return fail({
    type: 'no-endpoints',
    error: new NoEndpointsError(serviceLabel(service, port), total, why(all, isReady)),
  });
}

/**
 * Topology mode from the ready endpoints (spec §6.1 `topologyModeFromHints`): node hints when every
 * ready endpoint has one and one matches the client's node; else zone hints likewise; else none.
 * An empty client node or zone matches nothing (pitfall 5: one unhinted ready endpoint disables it).
 */
export function topologyMode(ready: readonly Endpoint[], client: ClientTopology): TopologyMode {
  if (ready.length === 0) return 'none';
  const node = client.nodeName;
  if (node) {
    let all = true;
    let match = false;
    for (const e of ready) {
      const nodes = e.hints?.forNodes;
      if (nodes === undefined || nodes.length === 0) {
        all = false;
        break;
      }
      if (!match && nodes.includes(node)) match = true;
    }
    if (all && match) return 'PreferSameNode';
  }
  const zone = client.zone;
  if (zone) {
    let all = true;
    let match = false;
    for (const e of ready) {
      const zones = e.hints?.forZones;
      if (zones === undefined || zones.length === 0) {
        all = false;
        break;
      }
      if (!match && zones.includes(zone)) match = true;
    }
    if (all && match) return 'PreferSameZone';
  }
  return 'none';
}

/** `name.namespace[:port]`, the subject of every eligibility error message. */
export function serviceLabel(service: Pick<ServiceInfo, 'name' | 'namespace'>, port?: ServicePort | string | number) {
  const base = `${service.name}.${service.namespace}`;
  if (port === undefined) return base;
  if (typeof port === 'object') return `${base}:${port.name === '' ? port.port : port.name}`;
  return port === '' ? base : `${base}:${port}`;
}

function ok(endpoints: readonly Endpoint[], outcome: EligibilityOutcome): EligibleEndpoints {
  return Object.freeze({ endpoints: Object.freeze(endpoints), outcome: Object.freeze(outcome) });
}

function fail(outcome: EligibilityOutcome): EligibleEndpoints {
  return Object.freeze({ endpoints: EMPTY, outcome: Object.freeze(outcome) });
}

// kube-proxy's EndpointSliceCache identity: first seen wins unless a later duplicate is local (spec §5.4).
function dedupe(endpoints: readonly Endpoint[], nodeName: string | undefined): readonly Endpoint[] {
  if (endpoints.length < 2) return endpoints;
  const seen = new Map<string, number>();
  const out: Endpoint[] = [];
  for (const e of endpoints) {
    const key = endpointKey(e);
    const at = seen.get(key);
    if (at === undefined) {
      seen.set(key, out.length);
      out.push(e);
    } else if (nodeName !== undefined && e.nodeName === nodeName && out[at]!.nodeName !== nodeName) {
      out[at] = e;
    }
  }
  return out;
}

// Why nothing qualified: counts per condition, e.g. "2 not ready, 1 terminating and not serving".
function why(all: readonly Endpoint[], isReady: (e: Endpoint) => boolean): string {
  if (all.length === 0) return 'the Service port has no endpoints; check that its selector matches running pods';
  let notReady = 0;
  let terminatingNotServing = 0;
  let servingNotReady = 0;
  for (const e of all) {
    if (isReady(e)) continue;
    if (e.conditions.terminating && !e.conditions.serving) terminatingNotServing++;
    else if (e.conditions.serving && !e.conditions.terminating) servingNotReady++;
    else notReady++;
  }
  const parts: string[] = [];
  if (notReady > 0) parts.push(`${notReady} not ready`);
  if (servingNotReady > 0) parts.push(`${servingNotReady} serving but not ready (never used)`);
  if (terminatingNotServing > 0) parts.push(`${terminatingNotServing} terminating and not serving`);
  return parts.join(', ');
}
