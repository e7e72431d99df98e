// Local cluster: the Deployment controller (kube-controller-manager's, without ReplicaSets). Consumes
// Deployments and their Pods; produces Pods (create/delete, RollingUpdate or Recreate) and Deployment status.

import type { FakeKubernetesApi, KubeObject } from '@clusterip/resolver/testing';
import { ObjectQueue } from './object-queue.js';

/** What the controller needs from its cluster. */
export interface DeploymentControllerHost {
  readonly api: FakeKubernetesApi;
  /** Deployment state changed: waiters may check again. */
  changed(): void;
}

/** Where a Deployment stands, computed from its pods. */
export interface DeploymentState {
  readonly uid: string;
  readonly generation: number;
  readonly observedGeneration: number;
  readonly replicas: number;
  /** Pods not terminating. */
  readonly active: number;
  readonly ready: number;
  /** Active pods of the current template. */
  readonly updated: number;
  readonly updatedReady: number;
  readonly terminating: number;
}

const HASH_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const REVISION = 'deployment.kubernetes.io/revision';

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Canonical JSON (sorted keys), so equal templates hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `pod-template-hash`: FNV-1a of the template, written with the "safe" alphabet as Kubernetes does. */
export function templateHash(template: unknown): string {
  let hash = 0x811c9dc5;
  for (const ch of canonical(template)) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  let out = '';
  let n = hash;
  do {
    out += HASH_CHARS[n % HASH_CHARS.length];
    n = Math.floor(n / HASH_CHARS.length);
  } while (n > 0);
  return out;
}

/** `intstr.GetScaledValueFromIntOrPercent`: `25%` of 4 → 1 (surge rounds up, unavailable down). */
export function scaled(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const m = typeof value === 'string' ? /^(\d+)%$/.exec(value) : null;
  if (m === null) return 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

function isReady(pod: KubeObject): boolean {
  return list(record(pod.status).conditions).some((c) => record(c).type === 'Ready' && record(c).status === 'True');
}

function timeNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Reconciles every Deployment after any change to it or to a Pod of its namespace (coalesced per
 * event-loop turn). RollingUpdate follows the deployment controller's arithmetic: at most
 * `replicas + maxSurge` pods, at least `replicas - maxUnavailable` available; unavailable old pods
 * go first. Pods are owned by the Deployment itself (there is no ReplicaSet kind), named
 * `<deployment>-<pod-template-hash>-<5 chars>` and labelled `pod-template-hash`.
 */
export class DeploymentController {
  readonly #host: DeploymentControllerHost;
  readonly #queue = new ObjectQueue((namespace, name) => this.#reconcile(namespace, name));
  #closed = false;

  constructor(host: DeploymentControllerHost) {
    this.#host = host;
  }

  /** A Deployment changed. */
  enqueue(namespace: string, name: string): void {
    if (this.#closed) return;
    this.#queue.add(namespace, name);
  }

  /** A Pod of `namespace` changed: every Deployment of the namespace may care. */
  enqueueNamespace(namespace: string): void {
    if (this.#closed) return;
    for (const d of this.#host.api.list('Deployment', { namespace })) {
      this.enqueue(namespace, String(d.metadata?.name));
    }
  }

  close(): void {
    this.#closed = true;
    this.#queue.close();
  }

  /** The Deployment's state, or undefined when it does not exist. */
  state(namespace: string, name: string): DeploymentState | undefined {
    const d = this.#host.api.get('Deployment', namespace, name);
    if (d === undefined) return undefined;
    const { current, old, terminating } = this.#pods(d);
    const status = record(d.status);
    return {
      uid: String(d.metadata?.uid),
      generation: Number(d.metadata?.generation ?? 1),
      observedGeneration: Number(status.observedGeneration ?? 0),
      replicas: Number(record(d.spec).replicas ?? 1),
      active: current.length + old.length,
      ready: [...current, ...old].filter(isReady).length,
      updated: current.length,
      updatedReady: current.filter(isReady).length,
      terminating: terminating.length,
    };
  }

  #pods(d: KubeObject): { hash: string; current: KubeObject[]; old: KubeObject[]; terminating: KubeObject[] } {
    const uid = d.metadata?.uid;
    const hash = templateHash(record(d.spec).template);
    const owned = this.#host.api
      .list('Pod', { namespace: String(d.metadata?.namespace) })
      .filter((p) => (p.metadata?.ownerReferences ?? []).some((ref) => ref.uid === uid));
    const terminating = owned.filter((p) => p.metadata?.deletionTimestamp !== undefined);
    const active = owned.filter(
      (p) =>
        p.metadata?.deletionTimestamp === undefined &&
        !['Succeeded', 'Failed'].includes(String(record(p.status).phase)),
    );
    const current = active.filter((p) => p.metadata?.labels?.['pod-template-hash'] === hash);
    const old = active.filter((p) => p.metadata?.labels?.['pod-template-hash'] !== hash);
    return { hash, current, old, terminating };
  }

  #reconcile(namespace: string, name: string): void {
    if (this.#closed) return;
    const api = this.#host.api;
    const d = api.get('Deployment', namespace, name);
    if (d === undefined) {
      this.#host.changed();
      return;
    }
    const spec = record(d.spec);
    const replicas = Number(spec.replicas ?? 1);
    const strategy = record(spec.strategy);
    const { hash, current, old } = this.#pods(d);
    const create = (n: number) => {
      for (let i = 0; i < n; i++) this.#createPod(d, hash);
    };
    // Oldest and least ready go first, as the controller's ActivePods ordering does.
    const byDeletionPreference = (pods: KubeObject[]) =>
      [...pods].sort(
        (a, b) =>
          Number(isReady(a)) - Number(isReady(b)) ||
          (String(b.metadata?.creationTimestamp) < String(a.metadata?.creationTimestamp) ? -1 : 1),
      );
    const remove = (pods: KubeObject[], n: number) => {
      for (const p of byDeletionPreference(pods).slice(0, Math.max(0, n))) {
        api.delete('Pod', namespace, String(p.metadata?.name));
      }
    };
    if (old.length === 0) {
      // Steady state: scale the current template to `replicas`.
      if (current.length < replicas) create(replicas - current.length);
      else if (current.length > replicas) remove(current, current.length - replicas);
    } else if (strategy.type === 'Recreate') {
      remove(old, old.length);
      // New pods only once every old one is gone (terminating ones included).
      const { terminating } = this.#pods(d);
      if (terminating.length === 0 && current.length < replicas) create(replicas - current.length);
    } else {
      const rolling = record(strategy.rollingUpdate);
      const surge = scaled(rolling.maxSurge ?? '25%', replicas, true);
      let unavailable = scaled(rolling.maxUnavailable ?? '25%', replicas, false);
      if (surge === 0 && unavailable === 0) unavailable = 1;
      // Scale up the new template within the surge budget.
      const total = current.length + old.length;
      const up = Math.min(replicas - current.length, replicas + surge - total);
      if (up > 0) create(up);
      // Scale down old pods: unavailable ones first (they cost nothing), then ready ones down to the floor.
      const oldNotReady = old.filter((p) => !isReady(p));
      const available = [...current, ...old].filter(isReady).length;
      const floor = replicas - unavailable;
      const totalAfterUp = total + Math.max(0, up);
      const cleanup = Math.min(oldNotReady.length, Math.max(0, totalAfterUp - (replicas - unavailable)));
      remove(oldNotReady, cleanup);
      const oldReady = old.filter(isReady);
      remove(oldReady, Math.min(oldReady.length, available - floor));
      // Too many new ones (scaled down mid-rollout): trim them.
      if (current.length > replicas) remove(current, current.length - replicas);
    }
    this.#writeStatus(d);
    this.#host.changed();
  }

  #createPod(d: KubeObject, hash: string): void {
    const meta = d.metadata ?? {};
    const template = record(record(d.spec).template);
    const templateMeta = record(template.metadata);
    this.#host.api.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${String(meta.name)}-${hash}-`,
        namespace: meta.namespace,
        labels: { ...(record(templateMeta.labels) as Record<string, string>), 'pod-template-hash': hash },
        ...(Object.keys(record(templateMeta.annotations)).length > 0
          ? { annotations: record(templateMeta.annotations) as Record<string, string> }
          : {}),
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: meta.name,
            uid: meta.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: record(template.spec),
    });
  }

  /** Status fields `kubectl get deploy` and `kubectl rollout status` read; written only when they change. */
  #writeStatus(d: KubeObject): void {
    const api = this.#host.api;
    const fresh = api.get('Deployment', String(d.metadata?.namespace), String(d.metadata?.name));
    if (fresh === undefined) return;
    const { current, old } = this.#pods(fresh);
    const spec = record(fresh.spec);
    const replicas = Number(spec.replicas ?? 1);
    const active = [...current, ...old];
    const ready = active.filter(isReady).length;
    const rolling = record(record(spec.strategy).rollingUpdate);
    const maxUnavailable = scaled(rolling.maxUnavailable ?? '25%', replicas, false);
    const complete = old.length === 0 && current.length === replicas && current.filter(isReady).length === replicas;
    const previous = record(fresh.status);
    const previousConditions = list(previous.conditions).map(record);
    const at = timeNow();
    const condition = (type: string, status: boolean, reason: string, message: string) => {
      const text = status ? 'True' : 'False';
      const old = previousConditions.find((c) => c.type === type);
      const same = old !== undefined && old.status === text && old.reason === reason;
      return {
        type,
        status: text,
        lastUpdateTime: same ? old.lastUpdateTime : at,
        lastTransitionTime: old !== undefined && old.status === text ? old.lastTransitionTime : at,
        reason,
        message,
      };
    };
    const name = String(fresh.metadata?.name);
    const status: Record<string, unknown> = {
      observedGeneration: fresh.metadata?.generation ?? 1,
      ...(active.length > 0 ? { replicas: active.length } : {}),
      ...(current.length > 0 ? { updatedReplicas: current.length } : {}),
      ...(ready > 0 ? { readyReplicas: ready, availableReplicas: ready } : {}),
      ...(replicas - ready > 0 ? { unavailableReplicas: replicas - ready } : {}),
      conditions: [
        ready >= replicas - maxUnavailable
          ? condition('Available', true, 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
          : condition(
              'Available',
              false,
              'MinimumReplicasUnavailable',
              'Deployment does not have minimum availability.',
            ),
        complete
          ? condition(
              'Progressing',
              true,
              'NewReplicaSetAvailable',
              `ReplicaSet "${name}" has successfully progressed.`,
            )
          : condition('Progressing', true, 'ReplicaSetUpdated', `ReplicaSet "${name}" is progressing.`),
      ],
    };
    const strip = (s: Record<string, unknown>) =>
      JSON.stringify({
        ...s,
        conditions: list(s.conditions).map((c) => ({ ...record(c), lastUpdateTime: 0, lastTransitionTime: 0 })),
      });
    const annotations = { ...(fresh.metadata?.annotations ?? {}) };
    const revisionChanged = annotations[REVISION] === undefined;
    if (revisionChanged) annotations[REVISION] = '1';
    if (!revisionChanged && strip(status) === strip(previous)) return;
    api.apply({ ...fresh, metadata: { ...fresh.metadata, annotations }, status });
  }
}
