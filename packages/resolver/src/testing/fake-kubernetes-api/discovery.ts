// Fake Kubernetes API: discovery documents (/api, /apis, group versions, aggregated v2), /version and the
// minimal /openapi/v3 kubectl needs. Consumes the kind registry; produces the JSON bodies kubectl reads.

import { RESOURCE_KINDS, RESOURCE_VERBS, type ResourceKind } from './resource-kinds.js';

const STATUS_VERBS = ['get', 'patch', 'update'];
/** The `/scale` subresource answers with `autoscaling/v1 Scale` (kubectl's scale client reads this from discovery). */
const SCALE_KIND = { group: 'autoscaling', version: 'v1', kind: 'Scale' } as const;

/** `/version`: the dispatcher `kubectl` picks `kubectl.1.<minor>` from `minor`. */
export function versionInfo(gitVersion: string): Record<string, string> {
  const m = /^v?(\d+)\.(\d+)/.exec(gitVersion);
  return {
    major: m?.[1] ?? '1',
    minor: m?.[2] ?? '33',
    gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.24.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** `/api`: the legacy core group versions. */
export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groups(): string[] {
  return [...new Set(RESOURCE_KINDS.map((k) => k.group).filter((g) => g !== ''))];
}

/** `/apis/<group>` entry. */
export function apiGroup(group: string): Record<string, unknown> {
  const version = { groupVersion: `${group}/v1`, version: 'v1' };
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: [version], preferredVersion: version };
}

/** `/apis`: the named groups (legacy, non-aggregated form). */
export function apiGroupList(): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups().map((g) => {
      const { kind: _k, apiVersion: _a, ...rest } = apiGroup(g);
      return rest;
    }),
  };
}

/** `/api/v1` or `/apis/<group>/v1`: the resources of one group version. */
export function apiResourceList(group: string): Record<string, unknown> | undefined {
  const kinds = RESOURCE_KINDS.filter((k) => k.group === group);
  if (kinds.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const k of kinds) {
    resources.push({
      name: k.plural,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: RESOURCE_VERBS,
      ...(k.shortNames.length > 0 ? { shortNames: k.shortNames } : {}),
      ...(k.categories.length > 0 ? { categories: k.categories } : {}),
    });
    if (k.hasStatus) {
      resources.push({
        name: `${k.plural}/status`,
        singularName: '',
        namespaced: k.namespaced,
        kind: k.kind,
        verbs: STATUS_VERBS,
      });
    }
    if (k.hasScale) {
      resources.push({
        name: `${k.plural}/scale`,
        singularName: '',
        namespaced: k.namespaced,
        group: SCALE_KIND.group,
        version: SCALE_KIND.version,
        kind: SCALE_KIND.kind,
        verbs: STATUS_VERBS,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? 'v1' : `${group}/v1`, resources };
}

function discoveryResource(k: ResourceKind): Record<string, unknown> {
  const responseKind = { group: k.group, version: 'v1', kind: k.kind };
  return {
    resource: k.plural,
    responseKind,
    scope: k.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: k.singular,
    verbs: RESOURCE_VERBS,
    ...(k.shortNames.length > 0 ? { shortNames: k.shortNames } : {}),
    ...(k.categories.length > 0 ? { categories: k.categories } : {}),
    ...(k.hasStatus || k.hasScale
      ? {
          subresources: [
            ...(k.hasStatus ? [{ subresource: 'status', responseKind, verbs: STATUS_VERBS }] : []),
            ...(k.hasScale ? [{ subresource: 'scale', responseKind: SCALE_KIND, verbs: STATUS_VERBS }] : []),
          ],
        }
      : {}),
  };
}

/** Media type of aggregated discovery (`apidiscovery.k8s.io/v2`). */
export const AGGREGATED_DISCOVERY_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** Aggregated discovery for `/api` (core group) or `/apis` (named groups). */
export function aggregatedDiscovery(core: boolean): Record<string, unknown> {
  const names = core ? [''] : groups();
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: names.map((group) => ({
      metadata: group === '' ? {} : { name: group },
      versions: [
        {
          version: 'v1',
          resources: RESOURCE_KINDS.filter((k) => k.group === group).map(discoveryResource),
          freshness: 'Current',
        },
      ],
    })),
  };
}

function openApiPath(group: string): string {
  return group === '' ? 'api/v1' : `apis/${group}/v1`;
}

/** `/openapi/v3`: one entry per group version, each linking to its document. */
export function openApiV3Root(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const group of ['', ...groups()]) {
    const path = openApiPath(group);
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=fake-${group === '' ? 'core' : group}` };
  }
  return { paths };
}

/**
 * `/openapi/v3/api/v1` etc. Deliberately minimal: only the create operations with their
 * `x-kubernetes-group-version-kind` and the `fieldValidation` parameter. That tells kubectl the
 * server validates fields itself (so `kubectl apply` needs no client-side schema); strategic merge
 * patches then fall back to kubectl's built-in type information, exactly as with a server whose
 * schemas kubectl cannot use.
 */
export function openApiV3Document(group: string): Record<string, unknown> | undefined {
  const kinds = RESOURCE_KINDS.filter((k) => k.group === group);
  if (kinds.length === 0) return undefined;
  const prefix = `/${openApiPath(group)}`;
  const paths: Record<string, unknown> = {};
  const gvks = kinds.map((k) => ({ kind: k, gvk: { group: k.group, version: 'v1', kind: k.kind } }));
  // kubectl checks Namespace support through the Secret operation (QueryParamVerifierV3).
  const extra = group === '' ? [{ kind: undefined, gvk: { group: '', version: 'v1', kind: 'Secret' } }] : [];
  const parameters = ['dryRun', 'fieldManager', 'fieldValidation'].map((name) => ({
    name,
    in: 'query',
    schema: { type: 'string', uniqueItems: true },
  }));
  for (const { kind, gvk } of [...gvks, ...extra]) {
    const plural = kind?.plural ?? 'secrets';
    const collection =
      kind?.namespaced === false ? `${prefix}/${plural}` : `${prefix}/namespaces/{namespace}/${plural}`;
    const operation = (verb: string, action: string) => ({
      operationId: `${verb}${gvk.kind}`,
      parameters,
      responses: { '200': { description: 'OK' } },
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
    });
    paths[collection] = { post: operation('create', 'post') };
    paths[`${collection}/{name}`] = { put: operation('replace', 'put'), patch: operation('patch', 'patch') };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.33.1' }, paths, components: { schemas: {} } };
}
