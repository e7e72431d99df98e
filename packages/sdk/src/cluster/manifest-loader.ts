// Local cluster: manifests → objects. Reads files and directories, splits multi-document YAML/JSON,
// checks each document's shape and orders them Namespaces, Services, then the rest (workloads).

import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { InvalidArgumentError, isClusterIPError } from '@clusterip/resolver';
import type { KubeObject } from '@clusterip/resolver/testing';
import { parseAllDocuments } from 'yaml';
import { InvalidManifestError } from '../errors/invalid-manifest-error.js';

/** One object of a manifest, with where it came from (for messages). */
export interface ManifestObject {
  readonly object: KubeObject;
  readonly file: string;
  /** 1-based document index in the file. */
  readonly document: number;
}

/** What the local cluster serves, by kind, with the apiVersion it must carry. */
export const SERVED_KINDS: Readonly<Record<string, string>> = Object.freeze({
  Namespace: 'v1',
  Node: 'v1',
  Pod: 'v1',
  Service: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Deployment: 'apps/v1',
});

/**
 * Kubernetes kinds a manifest may carry that the local cluster does not serve: skipped with a
 * warning (RBAC and configuration make no difference to pods on loopback). Anything else is a typo
 * or a custom resource, which is an error.
 */
const SKIPPED_KINDS = new Set([
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'Ingress',
  'IngressClass',
  'NetworkPolicy',
  'PodDisruptionBudget',
  'HorizontalPodAutoscaler',
  'PersistentVolumeClaim',
  'PersistentVolume',
  'StorageClass',
  'LimitRange',
  'ResourceQuota',
  'PriorityClass',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'Job',
  'CronJob',
  'Endpoints',
  'CustomResourceDefinition',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

function order(kind: string | undefined): number {
  if (kind === 'Namespace') return 0;
  if (kind === 'Node') return 1;
  if (kind === 'Service') return 2;
  return 3;
}

/** Stable sort: Namespaces, Nodes, Services, then everything else in the order given. */
export function orderForApply<T extends { readonly object: KubeObject }>(items: readonly T[]): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => order(a.item.object.kind) - order(b.item.object.kind) || a.i - b.i)
    .map((e) => e.item);
}

function closest(kind: string): string | undefined {
  const lower = kind.toLowerCase();
  return Object.keys(SERVED_KINDS).find((k) => {
    const l = k.toLowerCase();
    return l.startsWith(lower.slice(0, 4)) || lower.startsWith(l.slice(0, 4));
  });
}

/**
 * Check one parsed document. Returns the object, or undefined when it is to be skipped (a warning
 * is pushed). Throws InvalidManifestError for what cannot be applied.
 */
function checkDocument(value: unknown, file: string, document: number, warnings: string[]): KubeObject[] {
  if (value === null || value === undefined) return [];
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidManifestError(
      file,
      document,
      `must be a mapping (a Kubernetes object), got ${Array.isArray(value) ? 'a list' : typeof value}`,
    );
  }
  const object = value as KubeObject;
  const kind = object.kind;
  if (typeof kind !== 'string' || kind === '') {
    throw new InvalidManifestError(file, document, "missing field 'kind': every object needs kind and apiVersion");
  }
  if (kind === 'List' || kind.endsWith('List')) {
    const items = object.items;
    if (!Array.isArray(items))
      throw new InvalidManifestError(file, document, "a List needs an 'items' array", { kind });
    return items.flatMap((item) => checkDocument(item, file, document, warnings));
  }
  const meta = object.metadata;
  const name = meta !== null && typeof meta === 'object' && typeof meta.name === 'string' ? meta.name : undefined;
  const context = { kind, name };
  if (typeof object.apiVersion !== 'string' || object.apiVersion === '') {
    throw new InvalidManifestError(file, document, "missing field 'apiVersion'", context);
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new InvalidManifestError(file, document, "missing field 'metadata' (with metadata.name)", context);
  }
  if (name === undefined || name === '') {
    if (typeof meta.generateName !== 'string' || meta.generateName === '') {
      throw new InvalidManifestError(file, document, "missing field 'metadata.name'", context);
    }
  }
  const served = SERVED_KINDS[kind];
  if (served === undefined) {
    if (SKIPPED_KINDS.has(kind)) {
      warnings.push(
        `${file}: document ${document} (${kind}${name === undefined ? '' : ` ${name}`}): skipped: the local cluster does not serve ${kind}`,
      );
      return [];
    }
    const hint = closest(kind);
    throw new InvalidManifestError(
      file,
      document,
      `unknown kind ${JSON.stringify(kind)}: the local cluster serves ${Object.keys(SERVED_KINDS).join(', ')}${hint === undefined ? '' : ` (did you mean ${hint}?)`}`,
      context,
    );
  }
  if (object.apiVersion !== served) {
    throw new InvalidManifestError(
      file,
      document,
      `apiVersion ${JSON.stringify(object.apiVersion)} is not served for ${kind}: use ${served}`,
      context,
    );
  }
  return [object];
}

/**
 * Parse manifest text (one or more YAML documents; JSON is YAML too). `file` names the source in
 * errors and warnings.
 *
 * @throws InvalidManifestError (`CLUSTERIP_ERR_INVALID_MANIFEST`) naming the file and document.
 */
export function parseManifests(text: string, file: string, warnings: string[]): ManifestObject[] {
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [documents];
  const out: ManifestObject[] = [];
  list.forEach((doc, i) => {
    const document = i + 1;
    const error = doc.errors[0];
    if (error !== undefined) {
      const line = error.linePos?.[0];
      throw new InvalidManifestError(
        file,
        document,
        `invalid YAML${line === undefined ? '' : ` at line ${line.line}, column ${line.col}`}: ${(error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
        {},
        { cause: error },
      );
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (cause) {
      throw new InvalidManifestError(
        file,
        document,
        `invalid YAML: ${cause instanceof Error ? cause.message : String(cause)}`,
        {},
        { cause },
      );
    }
    for (const object of checkDocument(value, file, document, warnings)) out.push({ object, file, document });
  });
  return out;
}

async function expand(path: string): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (cause) {
    throw new InvalidArgumentError(
      'manifests',
      `manifests: ${path}: cannot read: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`,
      { cause },
    );
  }
  if (!info.isDirectory()) return [path];
  // Like `kubectl apply -f <dir>`: the directory's own manifest files, by name, not recursive.
  const names = (await readdir(path)).filter((n) => EXTENSIONS.has(extname(n).toLowerCase())).sort();
  return names.map((n) => join(path, n));
}

/**
 * Read every manifest of `paths` (files, or directories whose `*.yaml|*.yml|*.json` files are read
 * in name order), in the order given.
 *
 * @throws InvalidArgumentError for an unreadable path, InvalidManifestError for a bad document.
 */
export async function loadManifestFiles(paths: readonly string[], warnings: string[]): Promise<ManifestObject[]> {
  const out: ManifestObject[] = [];
  for (const path of paths) {
    for (const file of await expand(path)) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (cause) {
        if (isClusterIPError(cause)) throw cause;
        throw new InvalidArgumentError(
          'manifests',
          `manifests: ${file}: cannot read: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`,
          { cause },
        );
      }
      out.push(...parseManifests(text, file, warnings));
    }
  }
  return out;
}
