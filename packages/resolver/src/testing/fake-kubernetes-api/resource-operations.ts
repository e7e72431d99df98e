// Fake Kubernetes API: the verbs (get, list, create, update, patch, delete, deletecollection) over the store.
// Consumes decoded requests (or programmatic calls); produces stored objects, or ApiStatusErrors the HTTP layer turns into Status.

import { ApiStatusError, badRequest, expired, failure, notFound } from './api-status.js';
import type { FieldSelector } from './field-selector.js';
import { isPlainObject, type KubeObject, type StoredObject } from './kube-object.js';
import type { LabelSelector } from './label-selector.js';
import {
  type AdmissionContext,
  admitCreate,
  admitDelete,
  admitUpdate,
  formatTime,
  type WriteMode,
} from './object-admission.js';
import { jsonPatch, mergePatch, PATCH_TYPES, strategicMergePatch } from './object-patch.js';
import { type ObjectStore, objectKey } from './object-store.js';
import { findKind, KIND_NAMES, RESOURCE_KINDS, type ResourceKind } from './resource-kinds.js';

/** Which objects a list (or deletecollection) selects. */
export interface ListQuery {
  readonly namespace?: string;
  readonly labelSelector?: LabelSelector;
  readonly fieldSelector?: FieldSelector;
  /** Page size; 0 or undefined returns everything. */
  readonly limit?: number;
  /** The `continue` token of the previous page. */
  readonly continueToken?: string;
}

/** One page of a list. */
export interface ListResult {
  readonly items: StoredObject[];
  /** The list's resourceVersion: the store revision when the list was read. */
  readonly revision: number;
  readonly continueToken?: string;
  readonly remainingItemCount?: number;
}

/** `DeleteOptions.preconditions`, plus its `gracePeriodSeconds`. */
export interface DeletePreconditions {
  readonly uid?: string;
  readonly resourceVersion?: string;
  /** Grace period of a Pod deletion (seconds); default `spec.terminationGracePeriodSeconds`; 0 removes at once. */
  readonly gracePeriodSeconds?: number;
}

const POD_KIND = findKind('Pod') as ResourceKind;

const NAMESPACE_KIND = findKind('Namespace') as ResourceKind;

function encodeContinue(revision: number, key: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: revision, start: key })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (isPlainObject(value) && typeof value.rv === 'number' && typeof value.start === 'string') {
      return { rv: value.rv, start: value.start };
    }
  } catch {
    // fall through to the 400 below
  }
  throw badRequest(`invalid continue token ${JSON.stringify(token)}`);
}

/** The API verbs, shared by the HTTP handler and the programmatic API. */
export class ResourceOperations {
  readonly #store: ObjectStore;
  readonly #ctx: AdmissionContext;

  constructor(store: ObjectStore, ctx: AdmissionContext) {
    this.#store = store;
    this.#ctx = ctx;
  }

  get(kind: ResourceKind, namespace: string | undefined, name: string): StoredObject {
    const object = this.#store.get(kind, namespace, name);
    if (object === undefined) throw notFound(kind, name);
    return object;
  }

  list(kind: ResourceKind, query: ListQuery = {}): ListResult {
    const revision = this.#store.revision;
    let items = this.#store
      .list(kind, query.namespace)
      .filter(
        (o) => (query.labelSelector?.matches(o.metadata.labels) ?? true) && (query.fieldSelector?.matches(o) ?? true),
      );
    if (query.continueToken !== undefined && query.continueToken !== '') {
      const token = decodeContinue(query.continueToken);
      if (token.rv < this.#store.compactedRevision) {
        throw expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      items = items.filter((o) => objectKey(o.metadata.namespace, o.metadata.name) > token.start);
    }
    const limit = query.limit ?? 0;
    if (limit > 0 && items.length > limit) {
      const page = items.slice(0, limit);
      const last = page[page.length - 1] as StoredObject;
      return {
        items: page,
        revision,
        continueToken: encodeContinue(revision, objectKey(last.metadata.namespace, last.metadata.name)),
        remainingItemCount: items.length - limit,
      };
    }
    return { items, revision };
  }

  create(
    kind: ResourceKind,
    namespace: string | undefined,
    body: unknown,
    mode: WriteMode,
    dryRun = false,
  ): StoredObject {
    this.#requireNamespace(kind, namespace);
    const object = admitCreate(kind, body as KubeObject, namespace, mode, this.#ctx);
    if (this.#store.get(kind, object.metadata.namespace, object.metadata.name) !== undefined) {
      admitDelete(kind, object, this.#ctx);
      throw new ApiStatusError(
        failure(
          409,
          `${kind.group === '' ? kind.plural : `${kind.plural}.${kind.group}`} "${object.metadata.name}" already exists`,
          'AlreadyExists',
          { name: object.metadata.name, ...(kind.group === '' ? {} : { group: kind.group }), kind: kind.plural },
        ),
      );
    }
    if (dryRun) {
      admitDelete(kind, object, this.#ctx);
      return { ...object, metadata: { ...object.metadata, resourceVersion: '' } };
    }
    return this.#store.put(kind, object);
  }

  update(
    kind: ResourceKind,
    namespace: string | undefined,
    name: string,
    body: unknown,
    mode: WriteMode,
    dryRun = false,
  ): StoredObject {
    const current = this.get(kind, namespace, name);
    const next = admitUpdate(kind, body as KubeObject, current, mode, this.#ctx);
    return dryRun
      ? { ...next, metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion } }
      : this.#store.put(kind, next);
  }

  /**
   * Apply a patch of `contentType`. Server-side apply (`application/apply-patch+yaml`) creates the
   * object when missing and otherwise merges the applied configuration into it (field ownership is
   * not tracked by the fake).
   */
  patch(
    kind: ResourceKind,
    namespace: string | undefined,
    name: string,
    contentType: string,
    patch: unknown,
    mode: WriteMode,
    dryRun = false,
  ): { object: StoredObject; created: boolean } {
    const current = this.#store.get(kind, namespace, name);
    if (contentType === PATCH_TYPES.apply) {
      if (!isPlainObject(patch)) throw badRequest('apply patch must be a JSON object');
      const meta = isPlainObject(patch.metadata) ? patch.metadata : {};
      if (meta.name !== undefined && meta.name !== name) {
        throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
      }
      if (current === undefined) {
        const body = { ...patch, metadata: { ...meta, name } };
        return { object: this.create(kind, namespace, body, mode, dryRun), created: true };
      }
      const merged = strategicMergePatch(current, patch) as KubeObject;
      return {
        object: this.update(kind, namespace, name, withCurrentVersion(merged, current), mode, dryRun),
        created: false,
      };
    }
    if (current === undefined) throw notFound(kind, name);
    let patched: unknown;
    switch (contentType) {
      case PATCH_TYPES.merge:
        patched = mergePatch(current, patch);
        break;
      case PATCH_TYPES.strategic:
        patched = strategicMergePatch(current, patch);
        break;
      case PATCH_TYPES.json:
        patched = jsonPatch(current, patch);
        break;
      default:
        throw new ApiStatusError(
          failure(
            415,
            `the body of the request was in an unknown format - accepted media types include: ${Object.values(PATCH_TYPES).join(', ')}`,
            'UnsupportedMediaType',
          ),
        );
    }
    if (!isPlainObject(patched)) throw badRequest('the patch did not produce an object');
    // A patch's own resourceVersion is a precondition; otherwise it applies to the current version.
    const patchedRv = isPlainObject(patched.metadata) ? patched.metadata.resourceVersion : undefined;
    const body = patchedRv === undefined ? withCurrentVersion(patched as KubeObject, current) : patched;
    return { object: this.update(kind, namespace, name, body, mode, dryRun), created: false };
  }

  /** Delete one object and, in the background, its dependents (ownerReferences) and namespace contents. */
  delete(
    kind: ResourceKind,
    namespace: string | undefined,
    name: string,
    preconditions: DeletePreconditions = {},
    dryRun = false,
  ): StoredObject {
    const current = this.get(kind, namespace, name);
    if (preconditions.uid !== undefined && preconditions.uid !== current.metadata.uid) {
      throw new ApiStatusError(
        failure(
          409,
          `Operation cannot be fulfilled on ${kind.plural} "${name}": Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${current.metadata.uid}`,
          'Conflict',
          { name, kind: kind.plural },
        ),
      );
    }
    if (
      preconditions.resourceVersion !== undefined &&
      preconditions.resourceVersion !== current.metadata.resourceVersion
    ) {
      throw new ApiStatusError(
        failure(
          409,
          `Operation cannot be fulfilled on ${kind.plural} "${name}": Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
          'Conflict',
          { name, kind: kind.plural },
        ),
      );
    }
    if (dryRun) return current;
    const graceful = this.#gracefulPod(kind, current, preconditions.gracePeriodSeconds);
    if (graceful !== undefined) return graceful;
    if (kind.kind === 'Namespace') {
      for (const k of RESOURCE_KINDS) {
        if (!k.namespaced) continue;
        for (const o of this.#store.list(k, name)) this.#removeTree(k, o);
      }
    }
    return this.#removeTree(kind, current);
  }

  deleteCollection(kind: ResourceKind, query: ListQuery, dryRun = false): StoredObject[] {
    const { items } = this.list(kind, { ...query, limit: 0 });
    if (dryRun) return items;
    return items.map((o) => this.#removeTree(kind, o));
  }

  /** `GET .../<name>/scale`: the object's `autoscaling/v1 Scale`. */
  getScale(kind: ResourceKind, namespace: string | undefined, name: string): Record<string, unknown> {
    return scaleOf(this.get(kind, namespace, name));
  }

  /**
   * `PUT` (patch `undefined`) or `PATCH` (`contentType` + `patch`) of `.../<name>/scale`: only
   * `spec.replicas` of the object changes. A resourceVersion in the written Scale is a precondition.
   */
  writeScale(
    kind: ResourceKind,
    namespace: string | undefined,
    name: string,
    body: unknown,
    contentType: string | undefined,
    dryRun = false,
  ): Record<string, unknown> {
    const current = this.get(kind, namespace, name);
    let scale: unknown = body;
    if (contentType !== undefined) {
      const base = scaleOf(current);
      switch (contentType) {
        case PATCH_TYPES.merge:
        case PATCH_TYPES.apply:
          scale = mergePatch(base, body);
          break;
        case PATCH_TYPES.strategic:
          scale = strategicMergePatch(base, body);
          break;
        case PATCH_TYPES.json:
          scale = jsonPatch(base, body);
          break;
        default:
          throw new ApiStatusError(
            failure(415, `the body of the request was in an unknown format`, 'UnsupportedMediaType'),
          );
      }
    }
    if (!isPlainObject(scale)) throw badRequest('the body of the request must be a Scale object');
    const replicas = isPlainObject(scale.spec) ? scale.spec.replicas : undefined;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw new ApiStatusError(
        failure(
          422,
          `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
          'Invalid',
          {
            name,
            group: 'autoscaling',
            kind: 'Scale',
            causes: [
              {
                reason: 'FieldValueInvalid',
                message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
                field: 'spec.replicas',
              },
            ],
          },
        ),
      );
    }
    const rv = isPlainObject(scale.metadata) ? scale.metadata.resourceVersion : undefined;
    const spec = isPlainObject(current.spec) ? current.spec : {};
    const next = {
      ...current,
      metadata: {
        ...current.metadata,
        resourceVersion:
          typeof rv === 'string' && rv !== '' && contentType === undefined ? rv : current.metadata.resourceVersion,
      },
      spec: { ...spec, replicas },
    };
    return scaleOf(this.update(kind, namespace, name, next, 'http', dryRun));
  }

  /** Programmatic create-or-replace: no preconditions, status and deletionTimestamp taken as given. */
  apply(object: KubeObject): StoredObject {
    const kind = kindOf(object);
    const namespace = kind.namespaced ? object.metadata?.namespace || 'default' : undefined;
    if (namespace !== undefined && this.#store.get(NAMESPACE_KIND, undefined, namespace) === undefined) {
      this.create(NAMESPACE_KIND, undefined, { metadata: { name: namespace } }, 'direct');
    }
    const name = object.metadata?.name;
    const current = name ? this.#store.get(kind, namespace, name) : undefined;
    if (current === undefined) return this.create(kind, namespace, object, 'direct');
    const { resourceVersion: _rv, ...meta } = object.metadata ?? {};
    return this.update(kind, namespace, current.metadata.name, { ...object, metadata: meta }, 'direct');
  }

  #requireNamespace(kind: ResourceKind, namespace: string | undefined): void {
    if (!kind.namespaced || namespace === undefined) return;
    if (this.#store.get(NAMESPACE_KIND, undefined, namespace) === undefined) throw notFound(NAMESPACE_KIND, namespace);
  }

  /**
   * The registry's graceful Pod deletion (`BeforeDelete` with the pod strategy's grace period): a
   * scheduled Pod, deleted with a grace period above 0, is only marked (`deletionTimestamp` = now +
   * grace); the kubelet removes it once its containers stopped. A second delete may shorten the
   * grace period. Returns undefined when the object is to be removed now.
   */
  #gracefulPod(
    kind: ResourceKind,
    current: StoredObject,
    gracePeriodSeconds: number | undefined,
  ): StoredObject | undefined {
    if (kind !== POD_KIND || this.#ctx.gracefulPodDeletion !== true) return undefined;
    const spec = isPlainObject(current.spec) ? current.spec : {};
    if (typeof spec.nodeName !== 'string' || spec.nodeName === '') return undefined;
    const phase = isPlainObject(current.status) ? current.status.phase : undefined;
    if (phase === 'Succeeded' || phase === 'Failed') return undefined;
    const specGrace = typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30;
    let grace = gracePeriodSeconds ?? specGrace;
    const marked = current.metadata.deletionGracePeriodSeconds;
    if (current.metadata.deletionTimestamp !== undefined && typeof marked === 'number') {
      // Already terminating: a delete can only shorten the remaining grace period.
      if (grace >= marked) return current;
    }
    grace = Math.max(0, Math.floor(grace));
    if (grace === 0) return undefined;
    const next = {
      ...current,
      metadata: {
        ...current.metadata,
        deletionTimestamp: formatTime(this.#ctx.now() + grace * 1000),
        deletionGracePeriodSeconds: grace,
      },
    } as StoredObject;
    return this.#store.put(kind, next);
  }

  #removeTree(kind: ResourceKind, object: StoredObject): StoredObject {
    const removed = this.#store.remove(kind, object.metadata.namespace, object.metadata.name) ?? object;
    admitDelete(kind, object, this.#ctx);
    // Garbage collection (background propagation): dependents of a deleted owner go too.
    const uid = object.metadata.uid;
    for (const k of RESOURCE_KINDS) {
      if (!k.namespaced) continue;
      for (const dependent of this.#store.list(k, kind.namespaced ? object.metadata.namespace : undefined)) {
        const owners = dependent.metadata.ownerReferences ?? [];
        if (!owners.some((ref) => ref.uid === uid)) continue;
        // Pods of a deleted owner terminate gracefully when the kubelet is emulated.
        if (this.#gracefulPod(k, dependent, undefined) === undefined) this.#removeTree(k, dependent);
      }
    }
    return removed;
  }
}

/** `autoscaling/v1 Scale` of a Deployment: `spec.replicas`, `status.replicas` and the selector as a string. */
function scaleOf(object: StoredObject): Record<string, unknown> {
  const spec = isPlainObject(object.spec) ? object.spec : {};
  const status = isPlainObject(object.status) ? object.status : {};
  const selector =
    isPlainObject(spec.selector) && isPlainObject(spec.selector.matchLabels) ? spec.selector.matchLabels : {};
  const { name, namespace, uid, resourceVersion, creationTimestamp } = object.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, ...(namespace === undefined ? {} : { namespace }), uid, resourceVersion, creationTimestamp },
    spec: { replicas: typeof spec.replicas === 'number' ? spec.replicas : 0 },
    status: {
      replicas: typeof status.replicas === 'number' ? status.replicas : 0,
      selector: Object.entries(selector)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(','),
    },
  };
}

function withCurrentVersion(object: KubeObject, current: StoredObject): KubeObject {
  return { ...object, metadata: { ...(object.metadata ?? {}), resourceVersion: current.metadata.resourceVersion } };
}

/** The served kind an object declares (`kind` plus matching `apiVersion`); 400 otherwise. */
export function kindOf(object: KubeObject): ResourceKind {
  const kind = typeof object?.kind === 'string' ? findKind(object.kind) : undefined;
  if (kind === undefined || kind.kind !== object.kind) {
    throw badRequest(`object kind ${JSON.stringify(object?.kind)} is not served by the fake (${KIND_NAMES})`);
  }
  if (object.apiVersion !== undefined && object.apiVersion !== kind.apiVersion) {
    throw badRequest(`${kind.kind}: apiVersion must be ${kind.apiVersion}, got ${JSON.stringify(object.apiVersion)}`);
  }
  return kind;
}
