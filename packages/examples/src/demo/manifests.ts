// Demo (setup): the demo's manifests — the same YAML a user applies to a real cluster — read from
// packages/examples/manifests/. Consumes *.yaml files; produces objects in apply order.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '@clusterip/resolver';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from './kube-client.js';

/**
 * The folder of the demo's manifests (dist/demo/ → ../../manifests).
 *
 * @example
 * ```ts
 * const objects = await readManifests(MANIFESTS_DIR)
 * ```
 */
export const MANIFESTS_DIR = fileURLToPath(new URL('../../manifests/', import.meta.url));

/**
 * The namespace the manifests use.
 *
 * @example
 * ```ts
 * await kube.apply(object, DEMO_NAMESPACE)
 * ```
 */
export const DEMO_NAMESPACE = 'clusterip-demo';

/** What exists before what uses it: namespaces, identities and RBAC, Services, then workloads. */
const ORDER = ['Namespace', 'ServiceAccount', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'Service'];

function rank(kind: string): number {
  const i = ORDER.indexOf(kind);
  return i === -1 ? ORDER.length : i;
}

/**
 * Every object of every `*.yaml`/`*.yml` file of `dir` (multi-document), sorted for applying. A document
 * without apiVersion, kind or metadata.name throws InvalidArgumentError naming the file and document.
 *
 * @example
 * ```ts
 * for (const object of await readManifests(MANIFESTS_DIR)) await kube.apply(object, DEMO_NAMESPACE)
 * ```
 */
export async function readManifests(dir: string = MANIFESTS_DIR): Promise<KubeObject[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch (error) {
    throw new InvalidArgumentError(
      'manifests',
      `manifests ${dir}: cannot read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  const objects: KubeObject[] = [];
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8');
    parseAllDocuments(text).forEach((doc, index) => {
      const where = `manifest ${file} document ${index + 1}`;
      if (doc.errors.length > 0) {
        throw new InvalidArgumentError('manifests', `${where}: not valid YAML: ${doc.errors[0]?.message ?? ''}`);
      }
      const value = doc.toJS() as unknown;
      if (value === null || value === undefined) return;
      const o = value as Partial<KubeObject>;
      if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
        throw new InvalidArgumentError(
          'manifests',
          `${where}: apiVersion, kind and metadata.name are required, got ${JSON.stringify(value).slice(0, 80)}`,
        );
      }
      objects.push(o as KubeObject);
    });
  }
  // Stable sort: files keep their order within a rank.
  return objects
    .map((o, i) => ({ o, i }))
    .sort((a, b) => rank(a.o.kind) - rank(b.o.kind) || a.i - b.i)
    .map((x) => x.o);
}
