// Fake Kubernetes API: the PATCH flavours: JSON merge patch (RFC 7386), strategic merge patch as kubectl
// client-side apply sends it, and JSON patch (RFC 6902). Consumes the stored object and a patch; produces the patched object.

import { ApiStatusError, badRequest, failure } from './api-status.js';
import { cloneJson, isPlainObject, jsonEqual } from './kube-object.js';

/** The `Content-Type`s a PATCH may carry. */
export const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** RFC 7386: objects merge recursively, `null` deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return cloneJson(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? cloneJson(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

// patchMergeKey of the list fields of the kinds served (k8s.io/api types.go struct tags). Lists not
// named here are atomic: a patch replaces them whole (EndpointSlice endpoints and ports are atomic).
const MERGE_KEYS: Readonly<Record<string, string>> = {
  'metadata.ownerReferences': 'uid',
  'spec.ports': 'port',
  'spec.containers': 'name',
  'spec.initContainers': 'name',
  'spec.ephemeralContainers': 'name',
  'spec.containers.ports': 'containerPort',
  'spec.initContainers.ports': 'containerPort',
  'spec.containers.env': 'name',
  'spec.initContainers.env': 'name',
  'spec.containers.volumeMounts': 'mountPath',
  'spec.initContainers.volumeMounts': 'mountPath',
  'spec.volumes': 'name',
  'spec.imagePullSecrets': 'name',
  'spec.hostAliases': 'ip',
  'spec.podIPs': 'ip',
  'status.conditions': 'type',
  'status.podIPs': 'ip',
  'status.addresses': 'type',
  // Deployment pod templates (apps/v1 DeploymentSpec.template is a PodTemplateSpec).
  'spec.template.spec.containers': 'name',
  'spec.template.spec.initContainers': 'name',
  'spec.template.spec.containers.ports': 'containerPort',
  'spec.template.spec.initContainers.ports': 'containerPort',
  'spec.template.spec.containers.env': 'name',
  'spec.template.spec.initContainers.env': 'name',
  'spec.template.spec.containers.volumeMounts': 'mountPath',
  'spec.template.spec.volumes': 'name',
  'spec.template.spec.imagePullSecrets': 'name',
};

// Lists of scalars with patchStrategy "merge": a patch adds its values to the stored ones.
const MERGED_PRIMITIVE_LISTS = new Set(['metadata.finalizers']);

function withoutDirectives(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value
      .filter((item) => !(isPlainObject(item) && item.$patch !== undefined && Object.keys(item).length === 1))
      .map(withoutDirectives);
  }
  if (!isPlainObject(value)) return value;
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key.startsWith('$')) continue;
    result[key] = withoutDirectives(item);
  }
  return result;
}

function mergeList(original: unknown[], patch: unknown[], mergeKey: string, path: string): unknown[] {
  if (patch.some((item) => isPlainObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isPlainObject(item) && item.$patch === 'replace')).map(withoutDirectives);
  }
  const result = cloneJson(original);
  for (const item of patch) {
    if (!isPlainObject(item)) {
      result.push(item);
      continue;
    }
    const key = item[mergeKey];
    const index = result.findIndex((existing) => isPlainObject(existing) && jsonEqual(existing[mergeKey], key));
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = strategicMergePatch(result[index], item, path);
    else result.push(strategicMergePatch({}, item, path));
  }
  return result;
}

function reorder(list: unknown[], order: unknown[], mergeKey: string | undefined): unknown[] {
  const position = (item: unknown) => {
    const probe = mergeKey !== undefined && isPlainObject(item) ? item[mergeKey] : item;
    const i = order.findIndex((o) => jsonEqual(mergeKey !== undefined && isPlainObject(o) ? o[mergeKey] : o, probe));
    return i < 0 ? order.length : i;
  };
  return list
    .map((item, i) => ({ item, i, p: position(item) }))
    .sort((a, b) => a.p - b.p || a.i - b.i)
    .map((e) => e.item);
}

/**
 * Strategic merge patch, with the directives kubectl's three-way patches use: `null` deletes a
 * field, lists with a merge key merge by that key, `$patch: delete|replace`,
 * `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>` and `$retainKeys`.
 */
export function strategicMergePatch(original: unknown, patch: unknown, path = ''): unknown {
  if (!isPlainObject(patch)) return cloneJson(patch);
  if (patch.$patch === 'replace') return withoutDirectives(patch);
  const result: Record<string, unknown> = isPlainObject(original) ? cloneJson(original) : {};
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.map(String));
    for (const key of Object.keys(result)) if (!keep.has(key)) delete result[key];
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        result[field] = current.filter((v) => !value.some((d) => jsonEqual(d, v)));
      }
      continue;
    }
    const childPath = path === '' ? key : `${path}.${key}`;
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      const mergeKey = MERGE_KEYS[childPath];
      const current = result[key];
      if (mergeKey !== undefined) {
        result[key] = mergeList(Array.isArray(current) ? current : [], value, mergeKey, childPath);
      } else if (MERGED_PRIMITIVE_LISTS.has(childPath) && Array.isArray(current)) {
        result[key] = [...current, ...value.filter((v) => !current.some((c) => jsonEqual(c, v)))];
      } else {
        result[key] = withoutDirectives(value);
      }
    } else if (isPlainObject(value)) {
      if (value.$patch === 'delete') delete result[key];
      else result[key] = strategicMergePatch(result[key], value, childPath);
    } else {
      result[key] = value;
    }
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith('$setElementOrder/') || !Array.isArray(order)) continue;
    const field = key.slice('$setElementOrder/'.length);
    const current = result[field];
    const childPath = path === '' ? field : `${path}.${field}`;
    if (Array.isArray(current)) result[field] = reorder(current, order, MERGE_KEYS[childPath]);
  }
  return result;
}

function invalidPatch(message: string): ApiStatusError {
  return new ApiStatusError(failure(422, message, 'Invalid'));
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw invalidPatch(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, tokens: string[], pointer: string): { parent: unknown; last: string } {
  let current = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(current)) current = current[Number(token)];
    else if (isPlainObject(current)) current = current[token];
    else current = undefined;
    if (current === undefined) throw invalidPatch(`doc is missing path: ${JSON.stringify(pointer)}`);
  }
  return { parent: current, last: tokens[tokens.length - 1] ?? '' };
}

function getAt(doc: unknown, pointer: string): unknown {
  let current = doc;
  for (const token of decodePointer(pointer)) {
    if (Array.isArray(current)) current = current[Number(token)];
    else if (isPlainObject(current)) current = current[token];
    else current = undefined;
    if (current === undefined) throw invalidPatch(`doc is missing path: ${JSON.stringify(pointer)}`);
  }
  return current;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = decodePointer(pointer);
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length)
      throw invalidPatch(`doc is missing path: ${JSON.stringify(pointer)}`);
    return parent.splice(index, 1)[0];
  }
  if (isPlainObject(parent) && Object.hasOwn(parent, last)) {
    const value = parent[last];
    delete parent[last];
    return value;
  }
  throw invalidPatch(`doc is missing path: ${JSON.stringify(pointer)}`);
}

function addAt(doc: unknown, pointer: string, value: unknown, replace: boolean): unknown {
  const tokens = decodePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length - (replace ? 1 : 0)) {
      throw invalidPatch(`index out of range for path ${JSON.stringify(pointer)}`);
    }
    parent.splice(index, replace ? 1 : 0, value);
  } else if (isPlainObject(parent)) {
    if (replace && !Object.hasOwn(parent, last)) throw invalidPatch(`doc is missing key: ${JSON.stringify(pointer)}`);
    parent[last] = value;
  } else {
    throw invalidPatch(`doc is missing path: ${JSON.stringify(pointer)}`);
  }
  return doc;
}

/** RFC 6902 JSON patch: add, remove, replace, move, copy, test. */
export function jsonPatch(original: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('json patch must be a JSON array of operations');
  let doc = cloneJson(original);
  for (const op of operations) {
    if (!isPlainObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw badRequest(`invalid json patch operation ${JSON.stringify(op)}`);
    }
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, cloneJson(op.value), false);
        break;
      case 'replace':
        doc = addAt(doc, op.path, cloneJson(op.value), true);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw badRequest(`json patch ${op.op} needs "from"`);
        const value = op.op === 'move' ? removeAt(doc, op.from) : cloneJson(getAt(doc, op.from));
        doc = addAt(doc, op.path, value, false);
        break;
      }
      case 'test':
        if (!jsonEqual(getAt(doc, op.path), op.value)) throw invalidPatch(`testing value ${op.path} failed`);
        break;
      default:
        throw badRequest(`unknown json patch operation ${JSON.stringify(op.op)}`);
    }
  }
  return doc;
}
