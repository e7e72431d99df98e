// ③ Endpoint source (Kubernetes): EndpointSlice objects → the merged, de-duplicated endpoints of one
// Service port, with kube-proxy's EndpointSliceCache rules (spec §5.4). Consumes untrusted slice JSON;
// produces Endpoint[] (batch) or add/remove diffs per changed slice (incremental, for the watch).

import type {
  AddressType,
  Endpoint,
  EndpointConditions,
  EndpointHints,
  EndpointTargetRef,
  Protocol,
} from '../../endpoint/endpoint.js';
import { endpointEqual, joinHostPort } from '../../endpoint/endpoint.js';
import { InvalidArgumentError } from '../../errors/invalid-argument-error.js';
import { describe } from '../../service/normalize-service.js';

/** Label linking a slice to its Service (`kubernetes.io/service-name`, discovery/v1 well-known labels). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const CONDITIONS: Record<string, EndpointConditions> = {};
for (const ready of [true, false]) {
  for (const serving of [true, false]) {
    for (const terminating of [true, false]) {
      CONDITIONS[`${ready}${serving}${terminating}`] = Object.freeze({ ready, serving, terminating });
    }
  }
}

/** A slice port after validation; `name`/`port` keep the API's nil so the merge can ignore them. */
export interface DecodedSlicePort {
  readonly name: string | null;
  readonly port: number | null;
  readonly protocol: string;
}

/** An endpoint of a slice after validation and nil-condition defaulting, not yet bound to a port. */
export interface DecodedSliceEndpoint {
  /** `addresses[0]`; undefined when the list is empty (kube-proxy skips such endpoints). */
  readonly address: string | undefined;
  readonly conditions: EndpointConditions;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly hostname?: string;
  readonly hints?: EndpointHints;
  readonly targetRef?: EndpointTargetRef;
}

/** An EndpointSlice after validation (`decodeEndpointSlice`). */
export interface DecodedSlice {
  readonly name: string;
  readonly namespace: string;
  /** Value of the `kubernetes.io/service-name` label, if any. */
  readonly serviceName: string | undefined;
  readonly resourceVersion: string | undefined;
  readonly addressType: string;
  readonly ports: readonly DecodedSlicePort[];
  readonly endpoints: readonly DecodedSliceEndpoint[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(path: string, what: string, value: unknown, slice?: string): InvalidArgumentError {
  const subject = slice === undefined ? path : `endpointslice ${slice}: ${path}`;
  return new InvalidArgumentError(path, `${subject} ${what}, got ${describe(value)}`);
}

function optString(v: unknown, path: string, slice: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(path, 'must be a string', v, slice);
  return v;
}

function optBool(v: unknown, path: string, slice: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw bad(path, 'must be a boolean', v, slice);
  return v;
}

function hintNames(v: unknown, path: string, slice: string): readonly string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(path, 'must be an array', v, slice);
  return Object.freeze(
    v.map((h, i) => {
      if (!isObject(h) || typeof h.name !== 'string') throw bad(`${path}[${i}].name`, 'must be a string', h, slice);
      return h.name;
    }),
  );
}

/**
 * Validate an EndpointSlice object (`discovery.k8s.io/v1`) and apply the nil rules of spec §5.1:
 * `ready` and `serving` default to true, `terminating` to false. Throws {@link InvalidArgumentError}
 * naming the field path when a required field is missing or a field has the wrong type.
 *
 * @example
 * ```ts
 * const slice = decodeEndpointSlice(json) // { name, addressType, ports, endpoints, ... }
 * ```
 */
export function decodeEndpointSlice(object: unknown): DecodedSlice {
  if (!isObject(object)) throw bad('endpointSlice', 'must be an object', object);
  if (object.kind !== undefined && object.kind !== 'EndpointSlice') {
    throw bad('endpointSlice.kind', 'must be "EndpointSlice"', object.kind);
  }
  const md = object.metadata;
  if (!isObject(md)) throw bad('endpointSlice.metadata', 'must be an object', md);
  const name = md.name;
  if (typeof name !== 'string' || name === '')
    throw bad('endpointSlice.metadata.name', 'must be a non-empty string', name);
  const namespace = optString(md.namespace, 'metadata.namespace', name) ?? 'default';
  const labels = md.labels;
  if (labels !== undefined && labels !== null && !isObject(labels))
    throw bad('metadata.labels', 'must be an object', labels, name);
  const serviceName = labels
    ? optString(labels[SERVICE_NAME_LABEL], `metadata.labels["${SERVICE_NAME_LABEL}"]`, name)
    : undefined;
  const addressType = object.addressType;
  if (typeof addressType !== 'string' || addressType === '')
    throw bad('addressType', 'must be IPv4, IPv6 or FQDN', addressType, name);

  const rawPorts = object.ports ?? [];
  if (!Array.isArray(rawPorts)) throw bad('ports', 'must be an array', rawPorts, name);
  const ports: DecodedSlicePort[] = rawPorts.map((p, i) => {
    if (!isObject(p)) throw bad(`ports[${i}]`, 'must be an object', p, name);
    const portName = p.name === undefined || p.name === null ? null : p.name;
    if (portName !== null && typeof portName !== 'string')
      throw bad(`ports[${i}].name`, 'must be a string', portName, name);
    const port = p.port === undefined || p.port === null ? null : p.port;
    if (port !== null && (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535)) {
      throw bad(`ports[${i}].port`, 'must be an integer from 1 to 65535', port, name);
    }
    const protocol = p.protocol ?? 'TCP';
    if (typeof protocol !== 'string') throw bad(`ports[${i}].protocol`, 'must be TCP, UDP or SCTP', protocol, name);
    return { name: portName, port, protocol };
  });

  const rawEndpoints = object.endpoints ?? [];
  if (!Array.isArray(rawEndpoints)) throw bad('endpoints', 'must be an array', rawEndpoints, name);
  const endpoints: DecodedSliceEndpoint[] = new Array(rawEndpoints.length);
  for (let i = 0; i < rawEndpoints.length; i++) {
    const e = rawEndpoints[i];
    const path = `endpoints[${i}]`;
    if (!isObject(e)) throw bad(path, 'must be an object', e, name);
    const addresses = e.addresses;
    if (!Array.isArray(addresses)) throw bad(`${path}.addresses`, 'must be an array of IP strings', addresses, name);
    const address = addresses[0];
    if (address !== undefined && typeof address !== 'string')
      throw bad(`${path}.addresses[0]`, 'must be a string', address, name);
    const c = e.conditions;
    if (c !== undefined && c !== null && !isObject(c)) throw bad(`${path}.conditions`, 'must be an object', c, name);
    const ready = (c ? optBool(c.ready, `${path}.conditions.ready`, name) : undefined) ?? true;
    const serving = (c ? optBool(c.serving, `${path}.conditions.serving`, name) : undefined) ?? true;
    const terminating = (c ? optBool(c.terminating, `${path}.conditions.terminating`, name) : undefined) ?? false;
    const nodeName = optString(e.nodeName, `${path}.nodeName`, name);
    const zone = optString(e.zone, `${path}.zone`, name);
    const hostname = optString(e.hostname, `${path}.hostname`, name);
    let hints: EndpointHints | undefined;
    if (e.hints !== undefined && e.hints !== null) {
      if (!isObject(e.hints)) throw bad(`${path}.hints`, 'must be an object', e.hints, name);
      hints = Object.freeze({
        forZones: hintNames(e.hints.forZones, `${path}.hints.forZones`, name),
        forNodes: hintNames(e.hints.forNodes, `${path}.hints.forNodes`, name),
      });
    }
    let targetRef: EndpointTargetRef | undefined;
    if (e.targetRef !== undefined && e.targetRef !== null) {
      const r = e.targetRef;
      if (!isObject(r)) throw bad(`${path}.targetRef`, 'must be an object', r, name);
      const refNamespace = optString(r.namespace, `${path}.targetRef.namespace`, name);
      const uid = optString(r.uid, `${path}.targetRef.uid`, name);
      targetRef = Object.freeze({
        kind: optString(r.kind, `${path}.targetRef.kind`, name) ?? '',
        name: optString(r.name, `${path}.targetRef.name`, name) ?? '',
        ...(refNamespace === undefined ? {} : { namespace: refNamespace }),
        ...(uid === undefined ? {} : { uid }),
      });
    }
    endpoints[i] = {
      address,
      conditions: CONDITIONS[`${ready}${serving}${terminating}`] as EndpointConditions,
      ...(nodeName === undefined ? {} : { nodeName }),
      ...(zone === undefined ? {} : { zone }),
      ...(hostname === undefined ? {} : { hostname }),
      ...(hints === undefined ? {} : { hints }),
      ...(targetRef === undefined ? {} : { targetRef }),
    };
  }
  return {
    name,
    namespace,
    serviceName,
    resourceVersion: optString(md.resourceVersion, 'metadata.resourceVersion', name),
    addressType,
    ports,
    endpoints,
  };
}

/** Which endpoints of a set of slices to produce: one Service port, optionally one family. */
export interface SliceSelector {
  /** Service port name (`''` for the single unnamed port). */
  readonly portName: string;
  /** Service port protocol. */
  readonly protocol: Protocol;
  /** Keep only this family; both IPv4 and IPv6 when undefined (dual-stack). */
  readonly addressType?: AddressType | undefined;
  /** The client's node: an endpoint on it wins a duplicate-key collision (kube-proxy `isLocal`). */
  readonly nodeName?: string | undefined;
  /** Extra filter (e.g. the hostname of a per-endpoint DNS name). */
  readonly filter?: ((endpoint: Endpoint) => boolean) | undefined;
  /**
   * Address-only selection, for a headless Service without ports (its slices have `ports: []`):
   * every endpoint of every IPv4/IPv6 slice, whatever the slice's ports, with port `0` ("addresses
   * only: the caller supplies the port"), as cluster DNS still answers A/AAAA records for it (spec
   * §1.3). `portName` and `protocol` are then not used for matching. Default false.
   */
  readonly addressOnly?: boolean | undefined;
}

/**
 * The endpoints one slice contributes to one Service port, keyed by `address:port`, in slice order
 * (first wins inside the slice too, unless a later one is local). Undefined when the slice does not
 * carry the port at all.
 */
export function sliceContribution(slice: DecodedSlice, selector: SliceSelector): Map<string, Endpoint> | undefined {
  const family = slice.addressType;
  if (family !== 'IPv4' && family !== 'IPv6') return undefined; // FQDN (deprecated) and unknown: ignored.
  if (selector.addressType !== undefined && selector.addressType !== family) return undefined;
  let port: number | undefined;
  let protocol: Protocol = selector.protocol;
  if (selector.addressOnly === true) {
    port = 0; // whatever the slice's ports (`[]` for a portless headless Service)
  } else {
    for (const p of slice.ports) {
      // kube-proxy ignores ports with a nil name or a nil/0 port (spec §5.1).
      if (p.name === null || p.port === null || p.port === 0) continue;
      if (p.name.toLowerCase() === selector.portName.toLowerCase() && p.protocol === selector.protocol) {
        port = p.port;
        protocol = p.protocol as Protocol;
        break;
      }
    }
  }
  if (port === undefined) return undefined;
  const out = new Map<string, Endpoint>();
  const v6 = family === 'IPv6';
  for (const e of slice.endpoints) {
    const address = e.address;
    if (address === undefined || address.includes(':') !== v6) continue; // empty or wrong family
    const endpoint: Endpoint = {
      address,
      port,
      protocol,
      addressType: family,
      conditions: e.conditions,
      ...(e.nodeName === undefined ? {} : { nodeName: e.nodeName }),
      ...(e.zone === undefined ? {} : { zone: e.zone }),
      ...(e.hostname === undefined ? {} : { hostname: e.hostname }),
      ...(e.hints === undefined ? {} : { hints: e.hints }),
      ...(e.targetRef === undefined ? {} : { targetRef: e.targetRef }),
    };
    if (selector.filter !== undefined && !selector.filter(endpoint)) continue;
    const key = joinHostPort(address, port);
    const prev = out.get(key);
    if (prev === undefined || (!isLocal(prev, selector) && isLocal(endpoint, selector))) out.set(key, endpoint);
  }
  return out;
}

function isLocal(endpoint: Endpoint, selector: SliceSelector): boolean {
  return selector.nodeName !== undefined && endpoint.nodeName === selector.nodeName;
}

/** Options of {@link mergeEndpointSlices}. */
export interface MergeEndpointSlicesOptions {
  /** Service port name to collect (`''` for an unnamed port). */
  readonly portName: string;
  /** Service port protocol. Default `TCP`. */
  readonly protocol?: Protocol;
  /** Keep only this family. Default: both (dual-stack Services have one slice group per family). */
  readonly addressType?: AddressType;
  /** Client node name: a local endpoint wins when the same `address:port` is in two slices. */
  readonly nodeName?: string;
}

const MERGE_KEYS = new Set(['portName', 'protocol', 'addressType', 'nodeName']);

function validateMergeOptions(options: MergeEndpointSlicesOptions): SliceSelector {
  if (!isObject(options))
    throw new InvalidArgumentError('options', `options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!MERGE_KEYS.has(key))
      throw new InvalidArgumentError(`options.${key}`, `options: unexpected option ${JSON.stringify(key)}`);
  }
  if (typeof options.portName !== 'string') {
    throw new InvalidArgumentError(
      'options.portName',
      `options.portName must be a string, got ${describe(options.portName)}`,
    );
  }
  const protocol = options.protocol ?? 'TCP';
  if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') {
    throw new InvalidArgumentError(
      'options.protocol',
      `options.protocol must be TCP, UDP or SCTP, got ${describe(protocol)}`,
    );
  }
  const at = options.addressType;
  if (at !== undefined && at !== 'IPv4' && at !== 'IPv6') {
    throw new InvalidArgumentError(
      'options.addressType',
      `options.addressType must be IPv4 or IPv6, got ${describe(at)}`,
    );
  }
  if (options.nodeName !== undefined && typeof options.nodeName !== 'string') {
    throw new InvalidArgumentError(
      'options.nodeName',
      `options.nodeName must be a string, got ${describe(options.nodeName)}`,
    );
  }
  return { portName: options.portName, protocol, addressType: at, nodeName: options.nodeName };
}

/**
 * Merge the EndpointSlices of one Service into the endpoints of one Service port, exactly as
 * kube-proxy's EndpointSliceCache does (spec §5.4):
 * - the target port comes from each slice's port with the same name and protocol (not from the
 *   Service's `targetPort`); slice ports with a nil name or a nil/0 port are ignored;
 * - each endpoint uses `addresses[0]` only; empty address lists and addresses of the wrong family
 *   are skipped; FQDN slices are ignored;
 * - nil conditions: `ready` and `serving` true, `terminating` false;
 * - the same `address:port` in several slices is kept once: the first one (in array order) wins,
 *   unless a later one is on `nodeName`;
 * - the result is sorted by `address:port` string.
 *
 * Throws {@link InvalidArgumentError} for invalid options or a malformed slice.
 *
 * @example
 * ```ts
 * const endpoints = mergeEndpointSlices(sliceList.items, { portName: 'http' })
 * endpoints[0] // { address: '10.0.0.1', port: 8080, protocol: 'TCP', conditions: { ready: true, ... }, ... }
 * ```
 */
export function mergeEndpointSlices(slices: readonly unknown[], options: MergeEndpointSlicesOptions): Endpoint[] {
  const selector = validateMergeOptions(options);
  if (!Array.isArray(slices))
    throw new InvalidArgumentError('slices', `slices must be an array, got ${describe(slices)}`);
  const merged = new Map<string, Endpoint>();
  for (const raw of slices) {
    const contribution = sliceContribution(decodeEndpointSlice(raw), selector);
    if (contribution === undefined) continue;
    for (const [key, endpoint] of contribution) {
      const prev = merged.get(key);
      if (prev === undefined || (!isLocal(prev, selector) && isLocal(endpoint, selector))) merged.set(key, endpoint);
    }
  }
  return [...merged.keys()].sort().map((k) => merged.get(k) as Endpoint);
}

/** Endpoint changes caused by one slice event, ready to emit as `add` then `remove`. */
export interface SliceDiff {
  readonly added: Endpoint[];
  readonly removed: string[];
}

interface Contribution {
  readonly slice: string;
  readonly endpoint: Endpoint;
}

/**
 * Incremental merge state of one Service port (one watch view): per-slice contributions and the
 * winning endpoint per key. Applying one changed slice costs O(size of that slice), independent of
 * the number of endpoints of the Service. Collisions are resolved as in {@link mergeEndpointSlices}
 * with slices ordered by name, so an incremental result always equals a fresh merge.
 *
 * @example
 * ```ts
 * const cache = new EndpointSliceCache({ portName: 'http', protocol: 'TCP' })
 * cache.reset(slices)
 * const { added, removed } = cache.update(changedSlice)
 * ```
 */
export class EndpointSliceCache {
  readonly #selector: SliceSelector;
  readonly #bySlice = new Map<string, Map<string, Endpoint>>();
  readonly #byKey = new Map<string, Contribution | Contribution[]>();
  readonly #winners = new Map<string, Endpoint>();
  #ready = 0;
  #sorted: readonly Endpoint[] | undefined;

  constructor(selector: SliceSelector) {
    this.#selector = selector;
  }

  /** Number of slices that carry the selected port (even with zero endpoints). */
  get slicesWithPort(): number {
    return this.#bySlice.size;
  }

  /** Number of merged endpoints. */
  get size(): number {
    return this.#winners.size;
  }

  /** Number of merged endpoints whose `ready` condition is true. */
  get readyCount(): number {
    return this.#ready;
  }

  /** The merged endpoints sorted by `address:port` (frozen, cached until the next change). */
  get endpoints(): readonly Endpoint[] {
    if (this.#sorted === undefined) {
      const keys = [...this.#winners.keys()].sort();
      this.#sorted = Object.freeze(keys.map((k) => this.#winners.get(k) as Endpoint));
    }
    return this.#sorted;
  }

  /** Replace everything with `slices` (after a list or relist). */
  reset(slices: Iterable<DecodedSlice>): void {
    this.#bySlice.clear();
    this.#byKey.clear();
    this.#winners.clear();
    this.#ready = 0;
    this.#sorted = undefined;
    for (const slice of slices) this.update(slice);
  }

  /** Apply an added or modified slice; returns what changed in the merged set. */
  update(slice: DecodedSlice): SliceDiff {
    const next = sliceContribution(slice, this.#selector);
    const prev = this.#bySlice.get(slice.name);
    if (next === undefined) this.#bySlice.delete(slice.name);
    else this.#bySlice.set(slice.name, next);
    return this.#change(slice.name, prev, next);
  }

  /** Apply a deleted slice (by name); returns what changed in the merged set. */
  delete(sliceName: string): SliceDiff {
    const prev = this.#bySlice.get(sliceName);
    this.#bySlice.delete(sliceName);
    return this.#change(sliceName, prev, undefined);
  }

  #change(name: string, prev: Map<string, Endpoint> | undefined, next: Map<string, Endpoint> | undefined): SliceDiff {
    const added: Endpoint[] = [];
    const removed: string[] = [];
    if (prev !== undefined) {
      for (const key of prev.keys()) {
        if (next?.has(key)) continue;
        this.#removeContribution(key, name);
        this.#settle(key, added, removed);
      }
    }
    if (next !== undefined) {
      for (const [key, endpoint] of next) {
        this.#setContribution(key, name, endpoint);
        this.#settle(key, added, removed);
      }
    }
    if (added.length > 0 || removed.length > 0) this.#sorted = undefined;
    return { added, removed };
  }

  #setContribution(key: string, slice: string, endpoint: Endpoint): void {
    const cur = this.#byKey.get(key);
    const entry: Contribution = { slice, endpoint };
    if (cur === undefined) this.#byKey.set(key, entry);
    else if (Array.isArray(cur)) {
      const i = cur.findIndex((c) => c.slice === slice);
      if (i >= 0) cur[i] = entry;
      else cur.push(entry);
    } else if (cur.slice === slice) this.#byKey.set(key, entry);
    else this.#byKey.set(key, [cur, entry]);
  }

  #removeContribution(key: string, slice: string): void {
    const cur = this.#byKey.get(key);
    if (cur === undefined) return;
    if (!Array.isArray(cur)) {
      if (cur.slice === slice) this.#byKey.delete(key);
      return;
    }
    const rest = cur.filter((c) => c.slice !== slice);
    if (rest.length === 0) this.#byKey.delete(key);
    else this.#byKey.set(key, rest.length === 1 ? (rest[0] as Contribution) : rest);
  }

  /** Recompute the winner of `key` and record the visible change. */
  #settle(key: string, added: Endpoint[], removed: string[]): void {
    const cur = this.#byKey.get(key);
    const before = this.#winners.get(key);
    let winner: Endpoint | undefined;
    if (cur === undefined) winner = undefined;
    else if (!Array.isArray(cur)) winner = cur.endpoint;
    else {
      // Local first, then the smallest slice name: what a fresh merge over name-sorted slices gives.
      let best: Contribution | undefined;
      for (const c of cur) {
        if (best === undefined) best = c;
        else {
          const cl = isLocal(c.endpoint, this.#selector);
          const bl = isLocal(best.endpoint, this.#selector);
          if ((cl && !bl) || (cl === bl && c.slice < best.slice)) best = c;
        }
      }
      winner = best?.endpoint;
    }
    if (winner === before) return;
    if (before?.conditions.ready) this.#ready--;
    if (winner === undefined) {
      this.#winners.delete(key);
      removed.push(key);
      return;
    }
    if (winner.conditions.ready) this.#ready++;
    this.#winners.set(key, winner);
    if (before === undefined || !endpointEqual(before, winner)) added.push(winner);
    else this.#sorted = undefined; // same data, new object: keep the cached list coherent
  }
}
