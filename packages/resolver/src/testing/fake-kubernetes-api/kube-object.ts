// Fake Kubernetes API: the JSON object shapes the fake stores and serves (Services, EndpointSlices, Pods, ...).
// Consumes nothing; produces the `KubeObject` type and small helpers to read and copy objects.

/** `metadata` of a Kubernetes object, as much of `ObjectMeta` as the fake understands. */
export interface KubeObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<Record<string, unknown>>;
  finalizers?: string[];
  [key: string]: unknown;
}

/**
 * Any Kubernetes object as JSON. The fake keeps objects as plain JSON values: what you `apply` is
 * what `kubectl get -o json` shows, plus the fields the API server would add (uid, resourceVersion,
 * creationTimestamp, generation, Service defaults).
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: KubeObjectMeta;
  [key: string]: unknown;
}

/** An object as stored: kind, apiVersion and metadata are always present. */
export interface StoredObject extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeObjectMeta & { name: string; uid: string; resourceVersion: string; creationTimestamp: string };
}

/** A JSON value (what `JSON.parse` returns). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** True for a non-null, non-array object. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep copy of a JSON-compatible value (objects handed out must never alias the store). */
export function cloneJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Deep-equality of two JSON values, ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ak = Object.keys(a).filter((k) => a[k] !== undefined);
    const bk = Object.keys(b).filter((k) => b[k] !== undefined);
    return ak.length === bk.length && ak.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Read a dotted path (`status.podIP`) from an object; undefined when any step is missing. */
export function readPath(object: unknown, path: string): unknown {
  let current: unknown = object;
  for (const step of path.split('.')) {
    if (!isPlainObject(current)) return undefined;
    current = current[step];
  }
  return current;
}
