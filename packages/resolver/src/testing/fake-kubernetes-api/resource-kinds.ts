// Fake Kubernetes API: the registry of resource kinds the fake serves and where each lives in the URL space.
// Consumes nothing; produces `ResourceKind` descriptors used by routing, discovery, storage and tables.

/** The kinds the fake serves. */
export type KindName = 'Namespace' | 'Node' | 'Pod' | 'Service' | 'EndpointSlice' | 'Deployment';

/** Where a kind lives in the API and how discovery describes it. */
export interface ResourceKind {
  readonly kind: KindName;
  /** API group; `''` is the core group served under `/api/v1`. */
  readonly group: '' | 'discovery.k8s.io' | 'apps';
  readonly version: 'v1';
  /** `v1` or `discovery.k8s.io/v1`: the `apiVersion` of objects of this kind. */
  readonly apiVersion: string;
  /** Resource name in URLs (`services`). */
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** Has a `/status` subresource whose writes touch only `.status`. */
  readonly hasStatus: boolean;
  /** Has a `/scale` subresource (an `autoscaling/v1 Scale` over `spec.replicas`). */
  readonly hasScale: boolean;
  /** Field selector labels the real API server accepts for this kind beyond metadata.name/namespace. */
  readonly fieldLabels: readonly string[];
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

/** Verbs every kind supports (discovery `verbs`). */
export const RESOURCE_VERBS: readonly string[] = VERBS;

function kind(spec: Omit<ResourceKind, 'apiVersion' | 'version' | 'hasScale'> & { hasScale?: boolean }): ResourceKind {
  return Object.freeze({
    ...spec,
    hasScale: spec.hasScale ?? false,
    version: 'v1' as const,
    apiVersion: spec.group === '' ? 'v1' : `${spec.group}/v1`,
  });
}

/** Every kind served, in discovery order. */
export const RESOURCE_KINDS: readonly ResourceKind[] = Object.freeze([
  kind({
    kind: 'Namespace',
    group: '',
    plural: 'namespaces',
    singular: 'namespace',
    namespaced: false,
    shortNames: ['ns'],
    categories: [],
    hasStatus: true,
    fieldLabels: ['status.phase'],
  }),
  kind({
    kind: 'Node',
    group: '',
    plural: 'nodes',
    singular: 'node',
    namespaced: false,
    shortNames: ['no'],
    categories: [],
    hasStatus: true,
    fieldLabels: ['spec.unschedulable'],
  }),
  kind({
    kind: 'Pod',
    group: '',
    plural: 'pods',
    singular: 'pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    hasStatus: true,
    fieldLabels: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  }),
  kind({
    kind: 'Service',
    group: '',
    plural: 'services',
    singular: 'service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    hasStatus: true,
    fieldLabels: ['spec.clusterIP', 'spec.type'],
  }),
  kind({
    kind: 'EndpointSlice',
    group: 'discovery.k8s.io',
    plural: 'endpointslices',
    singular: 'endpointslice',
    namespaced: true,
    shortNames: [],
    categories: [],
    hasStatus: false,
    fieldLabels: [],
  }),
  // Workloads: served so that `kubectl apply/get/scale/rollout` work against a local cluster whose
  // controller (outside the fake) runs the pods. There is no ReplicaSet kind: pods are owned by the
  // Deployment directly (see LocalCluster in @clusterip/sdk/cluster).
  kind({
    kind: 'Deployment',
    group: 'apps',
    plural: 'deployments',
    singular: 'deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    hasStatus: true,
    hasScale: true,
    fieldLabels: [],
  }),
]);

/** Names of the served kinds, for messages: `Namespace, Node, Pod, Service, EndpointSlice, Deployment`. */
export const KIND_NAMES: string = RESOURCE_KINDS.map((k) => k.kind).join(', ');

/** The kind called `name` (case-insensitive kind, plural, singular or short name), or undefined. */
export function findKind(name: string): ResourceKind | undefined {
  const lower = name.toLowerCase();
  return RESOURCE_KINDS.find(
    (k) => k.kind.toLowerCase() === lower || k.plural === lower || k.singular === lower || k.shortNames.includes(lower),
  );
}

/** The kind served at `group`/`plural`, or undefined. */
export function kindByResource(group: string, plural: string): ResourceKind | undefined {
  return RESOURCE_KINDS.find((k) => k.group === group && k.plural === plural);
}

/** `services` or `endpointslices.discovery.k8s.io`: how Status messages name a resource. */
export function qualifiedResource(kind: ResourceKind): string {
  return kind.group === '' ? kind.plural : `${kind.plural}.${kind.group}`;
}
