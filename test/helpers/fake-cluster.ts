// Test helper: an emulated cluster for transport tests — FakeKubernetesApi running the EndpointSlice
// controller, a KubernetesSource and a Resolver against it, and pods managed as Kubernetes objects.
// The servers behind the pods are the test's business: bind them on the pod's IP and give their
// ports to `addPod` (named container ports, so every pod may listen on its own port 0 port).

import { type ClusterContext, detectClusterContext, KubernetesSource, Resolver } from '@clusterip/resolver';
import type { FakeKubernetesApi, KubeObject } from '@clusterip/resolver/testing';
import type { ExecutionContext } from 'ava';
import { createFakeKubeApi } from './fake-kube-api.js';

/** A pod of the emulated cluster. */
export interface PodSpec {
  readonly name: string;
  /** The pod IP, e.g. `127.0.0.12`: loopback, so a test server can really listen on it. */
  readonly ip: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Named container ports: `{ http: 41234 }`. */
  readonly ports: Readonly<Record<string, number>>;
  readonly ready?: boolean;
  readonly nodeName?: string;
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
}

/** The emulated cluster of one test. Everything is closed in `t.teardown`. */
export interface FakeCluster {
  readonly api: FakeKubernetesApi;
  readonly source: KubernetesSource;
  readonly resolver: Resolver;
  readonly context: ClusterContext;
  readonly namespace: string;
  /** Apply any object (Service, Node, ...) in the cluster's namespace unless it names one. */
  apply(object: KubeObject): void;
  /** Create or replace a pod (Ready unless `ready: false`). */
  addPod(pod: PodSpec): void;
  /** Flip the pod's Ready condition. */
  setReady(name: string, ready: boolean): void;
  /** Start deleting the pod as the kubelet does: `deletionTimestamp` set, no longer Ready. */
  terminate(name: string, options?: { stillServing?: boolean }): void;
  /** Remove the pod object. */
  deletePod(name: string): void;
}

/**
 * Start an emulated cluster for test `t`.
 *
 * @example
 * ```ts
 * const cluster = await createFakeCluster(t)
 * cluster.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' },
 *   spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } })
 * cluster.addPod({ name: 'web-1', ip: '127.0.0.11', labels: { app: 'web' }, ports: { http: server.port } })
 * const snap = await cluster.resolver.resolve('web:http')
 * ```
 */
export async function createFakeCluster(
  t: ExecutionContext,
  options: {
    namespace?: string;
    nodeName?: string;
    zone?: string;
    podIP?: string;
    idleTimeoutMs?: number;
    /** ClusterIP range, e.g. `127.0.236.0/24` so that a test server can stand in for a ClusterIP. */
    serviceClusterIPRange?: string;
  } = {},
): Promise<FakeCluster> {
  const namespace = options.namespace ?? 'default';
  const api = await createFakeKubeApi(t, {
    endpointSliceController: true,
    bookmarkIntervalMs: 60_000,
    ...(options.serviceClusterIPRange === undefined ? {} : { serviceClusterIPRange: options.serviceClusterIPRange }),
  });
  const source = new KubernetesSource({
    server: api.url,
    ...(options.nodeName === undefined ? {} : { nodeName: options.nodeName }),
  });
  t.teardown(() => source.close());
  const context = await detectClusterContext({
    namespace,
    resolvConf: '',
    env: {},
    ...(options.nodeName === undefined ? {} : { nodeName: options.nodeName }),
    ...(options.zone === undefined ? {} : { zone: options.zone }),
    podIP: options.podIP ?? '127.0.0.1',
  });
  const resolver = new Resolver({ source, context, idleTimeoutMs: options.idleTimeoutMs ?? 30_000 });
  t.teardown(() => resolver.close());

  const pods = new Map<string, KubeObject>();
  const withNamespace = (object: KubeObject): KubeObject => ({
    ...object,
    metadata: { namespace, ...object.metadata },
  });
  const podObject = (pod: PodSpec, ready: boolean, deleting: boolean): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: pod.name,
      namespace,
      labels: { ...pod.labels },
      ...(deleting ? { deletionTimestamp: new Date().toISOString() } : {}),
    },
    spec: {
      ...(pod.nodeName === undefined ? {} : { nodeName: pod.nodeName }),
      containers: [
        {
          name: 'app',
          image: 'registry.example/app:1',
          ports: Object.entries(pod.ports).map(([name, containerPort]) => ({
            name,
            containerPort,
            protocol: pod.protocol ?? 'TCP',
          })),
        },
      ],
    },
    status: {
      phase: 'Running',
      podIP: pod.ip,
      podIPs: [{ ip: pod.ip }],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  });
  const specs = new Map<string, PodSpec>();

  return {
    api,
    source,
    resolver,
    context,
    namespace,
    apply: (object) => api.apply(withNamespace(object)),
    addPod: (pod) => {
      specs.set(pod.name, pod);
      const object = podObject(pod, pod.ready ?? true, false);
      pods.set(pod.name, object);
      api.apply(object);
    },
    setReady: (name, ready) => {
      const pod = specs.get(name);
      if (pod === undefined) throw new Error(`fake cluster: no pod ${name}`);
      api.apply(podObject(pod, ready, false));
    },
    terminate: (name, opts = {}) => {
      const pod = specs.get(name);
      if (pod === undefined) throw new Error(`fake cluster: no pod ${name}`);
      // While terminating the pod's Ready condition still reflects its readiness probe ("serving").
      api.apply(podObject(pod, opts.stillServing ?? true, true));
    },
    deletePod: (name) => {
      specs.delete(name);
      pods.delete(name);
      api.delete('Pod', namespace, name);
    },
  };
}
