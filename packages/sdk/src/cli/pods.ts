// CLI: the few Pod facts `doctor` needs (labels, readiness, termination, declared container ports),
// read through KubeApiReader. Consumes Pod JSON; produces `PodFacts`.

import type { Protocol } from '@clusterip/resolver';
import type { ClusterConnection } from './connect.js';

/** A container port as declared in a pod spec. */
export interface DeclaredPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol: Protocol;
}

/** What doctor reads from a Pod. */
export interface PodFacts {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly phase: string;
  readonly ready: boolean;
  readonly terminating: boolean;
  readonly ip?: string;
  /** Ports of `containers` and of sidecars (`initContainers` with `restartPolicy: Always`), spec §4.1. */
  readonly ports: readonly DeclaredPort[];
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * Decode one Pod object (tolerant: missing fields become empty).
 *
 * @example
 * ```ts
 * podFacts(podObject).ports // [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]
 * ```
 */
export function podFacts(raw: unknown): PodFacts {
  const pod = obj(raw);
  const meta = obj(pod.metadata);
  const spec = obj(pod.spec);
  const status = obj(pod.status);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(meta.labels))) if (typeof v === 'string') labels[k] = v;
  const sidecars = arr(spec.initContainers).filter((c) => obj(c).restartPolicy === 'Always');
  const ports: DeclaredPort[] = [];
  for (const c of [...arr(spec.containers), ...sidecars]) {
    for (const p of arr(obj(c).ports)) {
      const port = obj(p);
      if (typeof port.containerPort !== 'number') continue;
      const protocol = port.protocol === 'UDP' || port.protocol === 'SCTP' ? port.protocol : 'TCP';
      ports.push({
        ...(typeof port.name === 'string' && port.name !== '' ? { name: port.name } : {}),
        containerPort: port.containerPort,
        protocol,
      });
    }
  }
  const ready = arr(status.conditions).some((c) => obj(c).type === 'Ready' && obj(c).status === 'True');
  return {
    name: typeof meta.name === 'string' ? meta.name : '',
    labels,
    phase: typeof status.phase === 'string' ? status.phase : 'Unknown',
    ready,
    terminating: typeof meta.deletionTimestamp === 'string',
    ...(typeof status.podIP === 'string' && status.podIP !== '' ? { ip: status.podIP } : {}),
    ports,
  };
}

/**
 * Every Pod of `namespace` (doctor compares labels of all pods, not only the selected ones).
 *
 * @example
 * ```ts
 * const pods = await listPods(conn, 'shop')
 * ```
 */
export async function listPods(conn: ClusterConnection, namespace: string): Promise<PodFacts[]> {
  const list = (await conn.reader.get(`/api/v1/namespaces/${namespace}/pods`)) as { items?: unknown[] } | undefined;
  return (list?.items ?? []).map(podFacts).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * True when every `key=value` of the selector is a label of the pod.
 *
 * @example
 * ```ts
 * selects({ app: 'web' }, { app: 'web', tier: 'front' }) // true
 * ```
 */
export function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
