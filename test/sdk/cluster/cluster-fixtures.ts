// Test support for @clusterip/sdk/cluster: a LocalCluster per test on its own loopback range, closed in
// t.teardown, plus manifests and a wait-for-condition helper driven by the API's change events.

import { LocalCluster, type LocalClusterOptions } from '@clusterip/sdk/cluster';
import type { ExecutionContext } from 'ava';

/**
 * A distinct pod address range per test (ava runs tests and files concurrently, and other suites
 * use 127.0.0.x): `127.<block>.<slot*20+1 … slot*20+19>`.
 */
export function addressRange(block: number, slot: number): { first: string; last: string } {
  return { first: `127.0.${block}.${slot * 20 + 1}`, last: `127.0.${block}.${slot * 20 + 19}` };
}

/** Start a cluster for test `t`; closed in teardown. */
export async function startCluster(t: ExecutionContext, options: LocalClusterOptions): Promise<LocalCluster> {
  const cluster = await LocalCluster.start({ readyDelayMs: 10, ...options });
  t.teardown(() => cluster.close());
  return cluster;
}

/** Resolve once `condition()` holds, re-checked on every API change (no polling, no sleeps). */
export function waitUntil(
  cluster: LocalCluster,
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      off();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    timer.unref();
    const off = cluster.api.onChange(() => {
      // The kubelet's view follows the API one event-loop turn later.
      setImmediate(() => {
        if (done || cluster.closed || !condition()) return;
        done = true;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  });
}

/** A Namespace, a Service (port 80 → named port http) and a Deployment of echo-http, as one multi-doc YAML. */
export function webManifest(namespace: string, replicas = 3, extra = ''): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${namespace}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${namespace}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: clusterip/echo-http
        ports:
        - {name: http, containerPort: 8080}
${extra}---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${namespace}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
`;
}

/** A Deployment of `replicas` echo-grpc pods listening on 9090, in its own namespace. */
export function grpcManifest(namespace: string, replicas: number): string {
  return `apiVersion: v1
kind: Namespace
metadata: {name: ${namespace}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: ${namespace}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers:
      - name: echo
        image: clusterip/echo-grpc
        ports:
        - {name: grpc, containerPort: 9090}
`;
}
