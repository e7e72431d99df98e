// Fake Kubernetes API: the etcd stand-in: objects by kind, one global revision counter, bounded event history.
// Consumes committed writes; produces resourceVersions, ordered change events and history replay for watches.

import { cloneJson, isPlainObject, type StoredObject } from './kube-object.js';
import type { KindName, ResourceKind } from './resource-kinds.js';

/** The change types a watch reports for stored objects. */
export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One committed change. `object` is the new state (for DELETED: the last state, with a new resourceVersion). */
export interface StoreEvent {
  readonly revision: number;
  readonly type: ChangeType;
  readonly kind: ResourceKind;
  readonly object: StoredObject;
  /** The state before this change (MODIFIED and DELETED only). */
  readonly previous?: StoredObject;
}

/** Receives every committed change, in revision order, never re-entrantly. */
export type StoreListener = (event: StoreEvent) => void;

function deepFreeze<T>(value: T): T {
  if (Array.isArray(value)) {
    for (const item of value) deepFreeze(item);
    Object.freeze(value);
  } else if (isPlainObject(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/** Storage key of an object: `namespace/name`, or `name` for cluster-scoped kinds. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/**
 * In-memory storage with etcd's revision model: every write bumps one global counter and stamps the
 * object's `metadata.resourceVersion` with it (as a string), and the change is kept in a bounded
 * history so that watches can resume from any revision not yet compacted.
 *
 * Listeners are called synchronously after each commit, in order. A listener that writes (the
 * EndpointSlice controller does) gets its change queued behind the one being delivered, so every
 * listener sees changes in revision order.
 */
export class ObjectStore {
  #revision: number;
  /** Changes with revision <= this are no longer in history. */
  #compacted: number;
  readonly #historySize: number;
  readonly #history: StoreEvent[] = [];
  readonly #objects = new Map<KindName, Map<string, StoredObject>>();
  readonly #listeners = new Set<StoreListener>();
  readonly #queue: StoreEvent[] = [];
  #dispatching = false;

  constructor(initialRevision: number, historySize: number) {
    this.#revision = initialRevision;
    this.#compacted = initialRevision;
    this.#historySize = historySize;
  }

  /** The latest committed revision. */
  get revision(): number {
    return this.#revision;
  }

  /** The newest revision whose changes are no longer kept; a watch from an older one gets 410. */
  get compactedRevision(): number {
    return this.#compacted;
  }

  get(kind: ResourceKind, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.#objects.get(kind.kind)?.get(objectKey(kind.namespaced ? namespace : undefined, name));
  }

  /** Objects of `kind` (in `namespace` when given), sorted by namespace then name like etcd keys. */
  list(kind: ResourceKind, namespace?: string): StoredObject[] {
    const all = [...(this.#objects.get(kind.kind)?.values() ?? [])];
    const selected = namespace && kind.namespaced ? all.filter((o) => o.metadata.namespace === namespace) : all;
    return selected.sort((a, b) =>
      objectKey(a.metadata.namespace, a.metadata.name) < objectKey(b.metadata.namespace, b.metadata.name) ? -1 : 1,
    );
  }

  /**
   * Store `object` (already admitted: name, uid, timestamps set) with a fresh resourceVersion and
   * publish the change. Returns the frozen stored object.
   */
  put(kind: ResourceKind, object: StoredObject): StoredObject {
    const key = objectKey(kind.namespaced ? object.metadata.namespace : undefined, object.metadata.name);
    let byKey = this.#objects.get(kind.kind);
    if (byKey === undefined) {
      byKey = new Map();
      this.#objects.set(kind.kind, byKey);
    }
    const previous = byKey.get(key);
    const revision = ++this.#revision;
    const copy = cloneJson(object);
    copy.metadata.resourceVersion = String(revision);
    const stored = deepFreeze(copy);
    byKey.set(key, stored);
    this.#publish({
      revision,
      type: previous ? 'MODIFIED' : 'ADDED',
      kind,
      object: stored,
      ...(previous ? { previous } : {}),
    });
    return stored;
  }

  /** Remove an object; the DELETED change carries its last state stamped with the new revision. */
  remove(kind: ResourceKind, namespace: string | undefined, name: string): StoredObject | undefined {
    const key = objectKey(kind.namespaced ? namespace : undefined, name);
    const byKey = this.#objects.get(kind.kind);
    const previous = byKey?.get(key);
    if (byKey === undefined || previous === undefined) return undefined;
    byKey.delete(key);
    const revision = ++this.#revision;
    const last = cloneJson(previous);
    last.metadata.resourceVersion = String(revision);
    const frozen = deepFreeze(last);
    this.#publish({ revision, type: 'DELETED', kind, object: frozen, previous });
    return frozen;
  }

  /**
   * Changes after `revision`, oldest first, or `undefined` when some of them were compacted away
   * (the caller answers 410 Gone).
   */
  changesSince(revision: number): StoreEvent[] | undefined {
    if (revision < this.#compacted) return undefined;
    return this.#history.filter((e) => e.revision > revision);
  }

  /** Forget all history: a watch from any revision before now gets 410 Expired. */
  compact(): void {
    this.#history.length = 0;
    this.#compacted = this.#revision;
  }

  /** Subscribe to committed changes; returns the unsubscribe function. */
  subscribe(listener: StoreListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #publish(event: StoreEvent): void {
    this.#history.push(event);
    if (this.#history.length > this.#historySize) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historySize);
      this.#compacted = dropped[dropped.length - 1]?.revision ?? this.#compacted;
    }
    this.#queue.push(event);
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        for (const listener of [...this.#listeners]) listener(next);
      }
    } finally {
      this.#dispatching = false;
    }
  }
}
