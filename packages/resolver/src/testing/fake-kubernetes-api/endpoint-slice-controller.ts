// Fake Kubernetes API: emulates kube-controller-manager's EndpointSlice controller (spec §4.1, §5).
// Consumes Service, Pod and Node changes from the store; produces the Service's EndpointSlices.

import { isPlainObject, jsonEqual, type KubeObject, type StoredObject } from './kube-object.js';
import type { ObjectStore, StoreEvent } from './object-store.js';
import { findKind, type ResourceKind } from './resource-kinds.js';
import type { ResourceOperations } from './resource-operations.js';

/** `endpointslice.kubernetes.io/managed-by` value of controller-made slices. */
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
const LABEL_HEADLESS = 'service.kubernetes.io/headless';
const LABEL_ZONE = 'topology.kubernetes.io/zone';

const SERVICE = findKind('Service') as ResourceKind;
const POD = findKind('Pod') as ResourceKind;
const NODE = findKind('Node') as ResourceKind;
const SLICE = findKind('EndpointSlice') as ResourceKind;

type AddressType = 'IPv4' | 'IPv6';

interface SlicePort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

interface Group {
  readonly addressType: AddressType;
  readonly ports: SlicePort[];
  /** Desired endpoints by pod uid. */
  readonly endpoints: Map<string, Record<string, unknown>>;
}

function record(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function selectorOf(service: KubeObject): Record<string, string> | undefined {
  const spec = record(service.spec);
  if (spec.type === 'ExternalName') return undefined;
  const selector = spec.selector;
  // An empty selector is stored as nil (protobuf), which the controller treats as "not managed".
  if (!isPlainObject(selector) || Object.keys(selector).length === 0) return undefined;
  return selector as Record<string, string>;
}

function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function familyOf(ip: string): AddressType {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}

function podIps(pod: KubeObject): string[] {
  const status = record(pod.status);
  const ips = list(status.podIPs)
    .map((entry) => record(entry).ip)
    .filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  if (ips.length > 0) return ips;
  return typeof status.podIP === 'string' && status.podIP !== '' ? [status.podIP] : [];
}

/** `ShouldPodBeInEndpoints(pod, includeTerminating=true)`. */
function shouldPublish(pod: KubeObject): boolean {
  const phase = record(pod.status).phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  return podIps(pod).length > 0;
}

function podReady(pod: KubeObject): boolean {
  return list(record(pod.status).conditions).some((c) => record(c).type === 'Ready' && record(c).status === 'True');
}

/** `FindPort`: the pod's port for a Service port, or undefined when a named port has no match. */
function findPort(pod: KubeObject, servicePort: Record<string, unknown>): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  if (typeof target !== 'string') return undefined;
  if (/^\d+$/.test(target)) return Number(target);
  const spec = record(pod.spec);
  const sidecars = list(spec.initContainers).filter((c) => record(c).restartPolicy === 'Always');
  for (const container of [...list(spec.containers), ...sidecars]) {
    for (const port of list(record(container).ports)) {
      const p = record(port);
      if (
        p.name === target &&
        (p.protocol ?? 'TCP') === (servicePort.protocol ?? 'TCP') &&
        typeof p.containerPort === 'number'
      ) {
        return p.containerPort;
      }
    }
  }
  return undefined;
}

/** Emulates the EndpointSlice controller; reacts synchronously to store changes. */
export class EndpointSliceController {
  readonly #store: ObjectStore;
  readonly #operations: ResourceOperations;
  readonly #maxEndpointsPerSlice: number;
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(
    store: ObjectStore,
    operations: ResourceOperations,
    options: { maxEndpointsPerSlice: number; random: () => number },
  ) {
    this.#store = store;
    this.#operations = operations;
    this.#maxEndpointsPerSlice = options.maxEndpointsPerSlice;
    this.#unsubscribe = store.subscribe((event) => this.#onChange(event));
  }

  /** Stop reacting to changes. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
  }

  #onChange(event: StoreEvent): void {
    if (this.#closed) return;
    switch (event.kind.kind) {
      case 'Service':
        if (event.type !== 'DELETED') this.#reconcile(event.object);
        // On DELETED, garbage collection removes the owned slices (ownerReferences).
        break;
      case 'Pod': {
        const namespace = event.object.metadata.namespace;
        for (const service of this.#store.list(SERVICE, namespace)) {
          const selector = selectorOf(service);
          if (selector === undefined) continue;
          if (
            selects(selector, event.object.metadata.labels) ||
            (event.previous !== undefined && selects(selector, event.previous.metadata.labels))
          ) {
            this.#reconcile(service);
          }
        }
        break;
      }
      case 'Node':
        for (const service of this.#store.list(SERVICE)) this.#reconcile(service);
        break;
      default:
        break;
    }
  }

  #reconcile(service: StoredObject): void {
    const namespace = service.metadata.namespace ?? 'default';
    const name = service.metadata.name;
    const existing = this.#store
      .list(SLICE, namespace)
      .filter(
        (s) =>
          s.metadata.labels?.[LABEL_SERVICE_NAME] === name && s.metadata.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME,
      );
    const selector = selectorOf(service);
    if (selector === undefined) {
      for (const slice of existing) this.#operations.delete(SLICE, namespace, slice.metadata.name);
      return;
    }
    const groups = this.#desired(service, selector);
    const labels = this.#labels(service);
    const ownerReferences = [
      {
        apiVersion: 'v1',
        kind: 'Service',
        name,
        uid: service.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ];
    const placed = new Set<string>();
    const keep: Array<{ slice: StoredObject; group: Group; endpoints: Array<Record<string, unknown>> }> = [];
    const remove: StoredObject[] = [];
    for (const slice of existing) {
      const group = groups.get(groupKey(slice.addressType as AddressType, list(slice.ports) as SlicePort[]));
      if (group === undefined || slice.addressType !== group.addressType) {
        remove.push(slice);
        continue;
      }
      const endpoints: Array<Record<string, unknown>> = [];
      for (const ep of list(slice.endpoints)) {
        const uid = String(record(record(ep).targetRef).uid ?? '');
        const desired = group.endpoints.get(uid);
        if (desired === undefined || placed.has(`${group.addressType}/${uid}`)) continue;
        placed.add(`${group.addressType}/${uid}`);
        endpoints.push(desired);
      }
      keep.push({ slice, group, endpoints });
    }
    const creates: Array<{ group: Group; endpoints: Array<Record<string, unknown>> }> = [];
    for (const group of groups.values()) {
      const pending = [...group.endpoints.entries()]
        .filter(([uid]) => !placed.has(`${group.addressType}/${uid}`))
        .map(([, ep]) => ep);
      // Fill existing slices of the group first, then open new ones (reconciler.go getSliceToFill).
      for (const entry of keep) {
        if (entry.group !== group) continue;
        while (pending.length > 0 && entry.endpoints.length < this.#maxEndpointsPerSlice) {
          entry.endpoints.push(pending.shift() as Record<string, unknown>);
        }
      }
      while (pending.length > 0) creates.push({ group, endpoints: pending.splice(0, this.#maxEndpointsPerSlice) });
    }
    const nonEmpty = keep.filter((k) => k.endpoints.length > 0);
    for (const entry of keep) if (entry.endpoints.length === 0) remove.push(entry.slice);
    // A Service with no endpoints keeps one empty placeholder slice.
    let placeholder: StoredObject | undefined;
    if (nonEmpty.length === 0 && creates.length === 0) {
      const family = (list(record(service.spec).ipFamilies)[0] as AddressType | undefined) ?? 'IPv4';
      placeholder = remove.find(
        (s) => list(s.endpoints).length === 0 && s.addressType === family && list(s.ports).length === 0,
      );
      const body = { addressType: family, endpoints: [], ports: null };
      if (placeholder === undefined) this.#create(namespace, name, labels, ownerReferences, body);
      else this.#updateIfChanged(placeholder, labels, ownerReferences, body);
    }
    // Like the reconciler, turn "create one, delete another" into an update of the slice that
    // would be deleted (same address type), so a placeholder becomes the first real slice.
    const removals = remove.filter((slice) => slice !== placeholder);
    for (let i = 0; i < removals.length && creates.length > 0; ) {
      const reuse = removals[i] as StoredObject;
      const create = creates[creates.length - 1] as (typeof creates)[number];
      if (reuse.addressType === create.group.addressType) {
        creates.pop();
        removals.splice(i, 1);
        nonEmpty.push({ slice: reuse, group: create.group, endpoints: create.endpoints });
      } else {
        i++;
      }
    }
    for (const slice of removals) this.#operations.delete(SLICE, namespace, slice.metadata.name);
    for (const entry of nonEmpty) {
      this.#updateIfChanged(entry.slice, labels, ownerReferences, {
        addressType: entry.group.addressType,
        endpoints: entry.endpoints,
        ports: entry.group.ports,
      });
    }
    for (const entry of creates) {
      this.#create(namespace, name, labels, ownerReferences, {
        addressType: entry.group.addressType,
        endpoints: entry.endpoints,
        ports: entry.group.ports,
      });
    }
  }

  #desired(service: StoredObject, selector: Record<string, string>): Map<string, Group> {
    const spec = record(service.spec);
    const namespace = service.metadata.namespace;
    const families = list(spec.ipFamilies).filter((f): f is AddressType => f === 'IPv4' || f === 'IPv6');
    const publishNotReady = spec.publishNotReadyAddresses === true;
    const annotations = service.metadata.annotations ?? {};
    const topologyAuto =
      annotations['service.kubernetes.io/topology-mode'] !== undefined ||
      annotations['service.kubernetes.io/topology-aware-hints'] !== undefined;
    const distribution = topologyAuto ? undefined : spec.trafficDistribution;
    const servicePorts = list(spec.ports).map(record);
    const groups = new Map<string, Group>();
    const pods = this.#store
      .list(POD, namespace)
      .filter((p) => selects(selector, p.metadata.labels) && shouldPublish(p));
    for (const pod of pods) {
      const ports: SlicePort[] = [];
      for (const sp of servicePorts) {
        const port = findPort(pod, sp);
        if (port === undefined) continue;
        ports.push({
          name: typeof sp.name === 'string' ? sp.name : '',
          port,
          protocol: typeof sp.protocol === 'string' ? sp.protocol : 'TCP',
          ...(typeof sp.appProtocol === 'string' ? { appProtocol: sp.appProtocol } : {}),
        });
      }
      ports.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const podSpec = record(pod.spec);
      const nodeName = typeof podSpec.nodeName === 'string' && podSpec.nodeName !== '' ? podSpec.nodeName : undefined;
      const zone =
        nodeName === undefined ? undefined : this.#store.get(NODE, undefined, nodeName)?.metadata.labels?.[LABEL_ZONE];
      const serving = publishNotReady || podReady(pod);
      const terminating = pod.metadata.deletionTimestamp !== undefined;
      const ready = publishNotReady || (serving && !terminating);
      const hostname =
        typeof podSpec.hostname === 'string' && podSpec.hostname !== '' && podSpec.subdomain === service.metadata.name
          ? podSpec.hostname
          : undefined;
      for (const family of families) {
        const ip = podIps(pod).find((candidate) => familyOf(candidate) === family);
        if (ip === undefined) continue;
        let hints: Record<string, unknown> | undefined;
        if (ready && (distribution === 'PreferClose' || distribution === 'PreferSameZone') && zone) {
          hints = { forZones: [{ name: zone }] };
        } else if (ready && distribution === 'PreferSameNode' && nodeName !== undefined) {
          hints = { ...(zone ? { forZones: [{ name: zone }] } : {}), forNodes: [{ name: nodeName }] };
        }
        const endpoint: Record<string, unknown> = {
          addresses: [ip],
          conditions: { ready, serving, terminating },
          ...(hostname === undefined ? {} : { hostname }),
          targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
          ...(nodeName === undefined ? {} : { nodeName }),
          ...(zone ? { zone } : {}),
          ...(hints === undefined ? {} : { hints }),
        };
        const key = groupKey(family, ports);
        let group = groups.get(key);
        if (group === undefined) {
          group = { addressType: family, ports, endpoints: new Map() };
          groups.set(key, group);
        }
        group.endpoints.set(pod.metadata.uid, endpoint);
      }
    }
    return groups;
  }

  #labels(service: StoredObject): Record<string, string> {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(service.metadata.labels ?? {})) {
      if (k !== LABEL_SERVICE_NAME && k !== LABEL_MANAGED_BY && k !== LABEL_HEADLESS) labels[k] = v;
    }
    if (record(service.spec).clusterIP === 'None') labels[LABEL_HEADLESS] = '';
    labels[LABEL_SERVICE_NAME] = service.metadata.name;
    labels[LABEL_MANAGED_BY] = CONTROLLER_NAME;
    return labels;
  }

  #create(
    namespace: string,
    service: string,
    labels: Record<string, string>,
    ownerReferences: Array<Record<string, unknown>>,
    body: Record<string, unknown>,
  ): void {
    this.#operations.create(
      SLICE,
      namespace,
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { generateName: `${service}-`, namespace, labels, ownerReferences },
        ...body,
      },
      'direct',
    );
  }

  #updateIfChanged(
    slice: StoredObject,
    labels: Record<string, string>,
    ownerReferences: Array<Record<string, unknown>>,
    body: Record<string, unknown>,
  ): void {
    const same =
      jsonEqual(slice.metadata.labels ?? {}, labels) &&
      jsonEqual(slice.metadata.ownerReferences ?? [], ownerReferences) &&
      jsonEqual(slice.endpoints ?? [], body.endpoints ?? []) &&
      jsonEqual(slice.ports ?? null, body.ports ?? null) &&
      slice.addressType === body.addressType;
    if (same) return;
    const { endpoints: _e, ports: _p, addressType: _a, ...rest } = slice;
    this.#operations.update(
      SLICE,
      slice.metadata.namespace,
      slice.metadata.name,
      { ...rest, metadata: { ...slice.metadata, labels, ownerReferences }, ...body },
      'direct',
    );
  }
}

function groupKey(addressType: AddressType, ports: readonly SlicePort[]): string {
  const normalised = [...ports]
    .map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', appProtocol: p.appProtocol ?? '' }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${addressType}|${JSON.stringify(normalised)}`;
}
