// Fake Kubernetes API: server-side printing, the `meta.k8s.io/v1 Table` kubectl asks for with `as=Table`.
// Consumes stored objects; produces Table responses with the real printers' columns (pkg/printers/internalversion).

import { isPlainObject, type StoredObject } from './kube-object.js';
import type { ResourceKind } from './resource-kinds.js';

interface Column {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date';
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

const NAME: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
};
const AGE: Column = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
};

function column(name: string, description: string, priority = 0, type: Column['type'] = 'string'): Column {
  return { name, type, format: '', description, priority };
}

/** `duration.HumanDuration` from apimachinery: `45s`, `3m20s`, `5h`, `2d3h`, `3y`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function record(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function listWithMore(items: string[], total: number, max: number): string {
  const shown = items.slice(0, max).join(',');
  if (total > max) return `${shown} + ${total - max} more...`;
  return shown === '' ? '<unset>' : shown;
}

function servicePorts(spec: Record<string, unknown>): string {
  const ports = list(spec.ports).map((p) => {
    const port = record(p);
    const node = typeof port.nodePort === 'number' && port.nodePort > 0 ? `:${port.nodePort}` : '';
    return `${String(port.port)}${node}/${String(port.protocol ?? 'TCP')}`;
  });
  return ports.length === 0 ? '<none>' : ports.join(',');
}

function serviceExternalIp(object: StoredObject): string {
  const spec = record(object.spec);
  const external = list(spec.externalIPs).map(String);
  switch (spec.type) {
    case 'ExternalName':
      return String(spec.externalName ?? '<none>');
    case 'LoadBalancer': {
      const ingress = list(record(record(object.status).loadBalancer).ingress).map((i) =>
        String(record(i).ip ?? record(i).hostname ?? ''),
      );
      const all = [...ingress, ...external].filter((s) => s !== '');
      return all.length === 0 ? '<pending>' : all.join(',');
    }
    default:
      return external.length === 0 ? '<none>' : external.join(',');
  }
}

function selectorText(selector: unknown): string {
  const entries = Object.entries(record(selector));
  return entries.length === 0
    ? '<none>'
    : entries
        .map(([k, v]) => `${k}=${String(v)}`)
        .sort()
        .join(',');
}

function podCells(object: StoredObject): unknown[] {
  const spec = record(object.spec);
  const status = record(object.status);
  const statuses = list(status.containerStatuses).map(record);
  const total = list(spec.containers).length;
  const ready = statuses.filter((s) => s.ready === true).length;
  const restarts = statuses.reduce((n, s) => n + (typeof s.restartCount === 'number' ? s.restartCount : 0), 0);
  let reason = String(status.reason ?? status.phase ?? 'Pending');
  for (const s of statuses) {
    const waiting = record(record(s.state).waiting).reason;
    if (typeof waiting === 'string' && waiting !== '') reason = waiting;
  }
  if (object.metadata.deletionTimestamp !== undefined) reason = 'Terminating';
  const gates = list(spec.readinessGates).length;
  return [
    object.metadata.name,
    `${ready}/${total}`,
    reason,
    restarts,
    null,
    String(status.podIP ?? '<none>'),
    String(spec.nodeName ?? '<none>'),
    String(status.nominatedNodeName ?? '<none>'),
    gates === 0 ? '<none>' : `0/${gates}`,
  ];
}

function nodeStatus(object: StoredObject): string {
  const ready = list(record(object.status).conditions)
    .map(record)
    .find((c) => c.type === 'Ready');
  let text =
    ready === undefined
      ? 'Unknown'
      : ready.status === 'True'
        ? 'Ready'
        : ready.status === 'False'
          ? 'NotReady'
          : 'Unknown';
  if (record(object.spec).unschedulable === true) text += ',SchedulingDisabled';
  return text;
}

function nodeRoles(object: StoredObject): string {
  const roles = Object.keys(object.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter((r) => r !== '');
  return roles.length === 0 ? '<none>' : roles.sort().join(',');
}

function deploymentCells(object: StoredObject): unknown[] {
  const spec = record(object.spec);
  const status = record(object.status);
  const count = (v: unknown) => (typeof v === 'number' ? v : 0);
  const template = record(record(spec.template).spec);
  const containers = list(template.containers).map(record);
  const matchLabels = record(record(spec.selector).matchLabels);
  const selector = Object.entries(matchLabels)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
  return [
    object.metadata.name,
    `${count(status.readyReplicas)}/${count(spec.replicas)}`,
    count(status.updatedReplicas),
    count(status.availableReplicas),
    null,
    containers.map((c) => String(c.name ?? '')).join(','),
    containers.map((c) => String(c.image ?? '')).join(','),
    selector === '' ? '<none>' : selector,
  ];
}

interface Printer {
  readonly columns: readonly Column[];
  /** Cells in column order; the Age cell is filled in by `toTable` (null placeholder). */
  cells(object: StoredObject): unknown[];
}

const PRINTERS: Readonly<Record<string, Printer>> = {
  Service: {
    columns: [
      NAME,
      column('Type', 'The type of service.'),
      column('Cluster-IP', 'The cluster IP of the service.'),
      column('External-IP', 'The external IP of the service.'),
      column('Port(s)', 'The ports of the service.'),
      AGE,
      column('Selector', 'Route service traffic to pods with label keys and values matching this selector.', 1),
    ],
    cells: (o) => {
      const spec = record(o.spec);
      return [
        o.metadata.name,
        spec.type,
        String(spec.clusterIP ?? '<none>'),
        serviceExternalIp(o),
        servicePorts(spec),
        null,
        selectorText(spec.selector),
      ];
    },
  },
  EndpointSlice: {
    columns: [
      NAME,
      column('AddressType', 'The IP protocol for this slice.'),
      column('Ports', 'The ports for this slice.'),
      column('Endpoints', 'The endpoints for this slice.'),
      AGE,
    ],
    cells: (o) => {
      const ports = list(o.ports).map(record);
      const portText = ports.map((p) =>
        typeof p.port === 'number' ? String(p.port) : typeof p.name === 'string' ? p.name : '*',
      );
      const addresses = list(o.endpoints).flatMap((e) => list(record(e).addresses).map(String));
      return [
        o.metadata.name,
        o.addressType,
        listWithMore(portText, portText.length, 3),
        listWithMore(addresses, addresses.length, 3),
        null,
      ];
    },
  },
  Pod: {
    columns: [
      NAME,
      column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
      column('Status', 'The aggregate status of the containers in this pod.'),
      column('Restarts', 'The number of times the containers in this pod have been restarted.', 0, 'string'),
      AGE,
      column('IP', 'The IP address assigned to the pod', 1),
      column('Node', 'The name of the node the pod is assigned to', 1),
      column('Nominated Node', 'The name of the node the pod is nominated to', 1),
      column('Readiness Gates', 'The readiness gates of the pod', 1),
    ],
    cells: (o) => {
      const cells = podCells(o);
      cells[3] = String(cells[3]);
      return cells;
    },
  },
  // pkg/printers/internalversion printDeployment: NAME READY UP-TO-DATE AVAILABLE AGE (+ wide columns).
  Deployment: {
    columns: [
      NAME,
      column('Ready', 'Number of the pod with ready state'),
      column(
        'Up-to-date',
        'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
        0,
        'integer',
      ),
      column(
        'Available',
        'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
        0,
        'integer',
      ),
      AGE,
      column('Containers', 'Names of each container in the template.', 1),
      column('Images', 'Images referenced by each container in the template.', 1),
      column(
        'Selector',
        'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
        1,
      ),
    ],
    cells: deploymentCells,
  },
  Namespace: {
    columns: [NAME, column('Status', 'The status of the namespace'), AGE],
    cells: (o) => [o.metadata.name, String(record(o.status).phase ?? 'Active'), null],
  },
  Node: {
    columns: [
      NAME,
      column('Status', 'The status of the node'),
      column('Roles', 'The roles of the node'),
      AGE,
      column('Version', 'Kubelet Version reported by the node.'),
    ],
    cells: (o) => [
      o.metadata.name,
      nodeStatus(o),
      nodeRoles(o),
      null,
      String(record(record(record(o.status).nodeInfo)).kubeletVersion ?? ''),
    ],
  },
};

/** What a Table row's `object` holds (`includeObject` query parameter). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(object: StoredObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return object;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
}

/** A `meta.k8s.io/v1 Table` for `objects`, as the real server prints them at time `now`. */
export function toTable(
  kind: ResourceKind,
  objects: readonly StoredObject[],
  options: {
    now: number;
    resourceVersion?: string;
    continueToken?: string;
    include: IncludeObject;
    noHeaders?: boolean;
  },
): Record<string, unknown> {
  const printer = PRINTERS[kind.kind] as Printer;
  const ageIndex = printer.columns.indexOf(AGE);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {
      ...(options.resourceVersion === undefined ? {} : { resourceVersion: options.resourceVersion }),
      ...(options.continueToken === undefined ? {} : { continue: options.continueToken }),
    },
    ...(options.noHeaders ? {} : { columnDefinitions: printer.columns }),
    rows: objects.map((object) => {
      const cells = printer.cells(object);
      cells[ageIndex] = humanDuration(options.now - Date.parse(object.metadata.creationTimestamp));
      const row = rowObject(object, options.include);
      return { cells, ...(row === undefined ? {} : { object: row }) };
    }),
  };
}
