// Example (deployment): reads the manifests of this folder and compares the Role with the API requests a
// client really made (FakeKubernetesApi's request log). Consumes YAML and request records; produces permissions.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as written in a manifest. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** The part of a FakeKubernetesApi request record the check reads. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly watch: boolean;
}

/** A permission as RBAC grants it: `<verb> <group>/<resource>` (`list /services`, `watch discovery.k8s.io/endpointslices`). */
export type Permission = string;

/** The manifests' folder: the YAML stays in src (it is not compiled). */
export const MANIFESTS_DIR = fileURLToPath(new URL('../../src/kubernetes-manifests/', import.meta.url));

/**
 * Every object of every `*.yaml` file in `dir` (multi-document files included).
 *
 * @example
 * ```ts
 * const role = readManifests().find((m) => m.kind === 'Role')
 * ```
 */
export function readManifests(dir: string = MANIFESTS_DIR): Manifest[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, f), 'utf8'))
        .map((d) => d.toJS() as Manifest | null)
        .filter((m): m is Manifest => m !== null),
    );
}

/**
 * The permissions a Role (or ClusterRole) grants, one per verb × apiGroup × resource.
 *
 * @example
 * ```ts
 * grantedPermissions(role) // Set { 'list /services', 'watch /services', ... }
 * ```
 */
export function grantedPermissions(role: Manifest): Set<Permission> {
  const granted = new Set<Permission>();
  const rules = (role.rules ?? []) as { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[];
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs ?? []) granted.add(`${verb} ${group}/${resource}`);
      }
    }
  }
  return granted;
}

const VERBS: Readonly<Record<string, string>> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/**
 * The RBAC permission each resource request needs (the API server's request-info rules): `GET` of a
 * collection is `list` (or `watch` with `watch=true`), of one object `get`; other methods map to their verbs.
 * Non-resource paths (`/version`, `/api`, `/apis`: discovery, open to every authenticated user) are
 * returned apart.
 *
 * @example
 * ```ts
 * const { used } = usedPermissions(api.requests)
 * ```
 */
export function usedPermissions(requests: readonly ApiRequest[]): { used: Set<Permission>; nonResource: Set<string> } {
  const used = new Set<Permission>();
  const nonResource = new Set<string>();
  for (const r of requests) {
    // /api/v1/[namespaces/<ns>/]<resource>[/<name>] and /apis/<group>/<version>/[namespaces/<ns>/]<resource>[/<name>]
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/watch)?(?:\/namespaces\/[^/]+)?\/([^/]+)(?:\/([^/]+))?$/.exec(
      r.path,
    );
    if (m === null) {
      nonResource.add(`${r.method.toLowerCase()} ${r.path}`);
      continue;
    }
    const [, group = '', resource, name] = m;
    let verb: string;
    if (r.method === 'GET') verb = r.watch ? 'watch' : name === undefined ? 'list' : 'get';
    else verb = VERBS[r.method] ?? r.method.toLowerCase();
    if (verb === 'delete' && name === undefined) verb = 'deletecollection';
    used.add(`${verb} ${group}/${resource}`);
  }
  return { used, nonResource };
}
