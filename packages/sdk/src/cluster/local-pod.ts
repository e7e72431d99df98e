// Local cluster: the view of one pod that LocalCluster hands out (a snapshot, never live).
// Consumes nothing; produces the LocalPod type.

/**
 * A pod of the local cluster, as seen at the moment `pods()` was called.
 *
 * @example
 * ```ts
 * const [pod] = cluster.pods({ namespace: 'shop', labels: { app: 'web' } })
 * console.log(pod.name, pod.ip, pod.ready)
 * ```
 */
export interface LocalPod {
  readonly name: string;
  readonly namespace: string;
  /** Its own loopback address (127.0.0.x); its containers listen there. */
  readonly ip: string;
  readonly node: string;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Image of the first container. */
  readonly image: string;
  readonly ready: boolean;
  readonly terminating: boolean;
  readonly restarts: number;
  readonly ports: readonly { name?: string; containerPort: number; protocol: string }[];
}

/**
 * Which pods `LocalCluster.pods()` returns: all when empty.
 *
 * @example
 * ```ts
 * cluster.pods({ namespace: 'shop', labels: { app: 'web' } })
 * ```
 */
export interface LocalPodFilter {
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
}
