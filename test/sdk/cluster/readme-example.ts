// The "Local cluster" example of packages/sdk/README.md, verbatim below this header: readme-example.test.ts
// checks that both stay identical, type-checks it (tsc) and runs it. Edit both together.

import { KubernetesSource } from '@clusterip/resolver';
import { Mesh } from '@clusterip/sdk';
import { LocalCluster } from '@clusterip/sdk/cluster';

// An API server on 127.0.0.1 and one loopback address per pod (default pool 127.0.0.20-250).
const cluster = await LocalCluster.start({ addresses: { first: '127.0.96.1', last: '127.0.96.19' } });
await cluster.apply(`
apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: app
          image: clusterip/echo-http
          ports: [{ name: http, containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
`); // resolves once the Deployment has rolled out
console.log(cluster.pods({ namespace: 'shop' }).map((p) => p.ip)); // three distinct 127.0.96.x

// Clients use the production code path: the API watch, EndpointSlices, kube-proxy's rules.
const source = new KubernetesSource({ server: cluster.url }); // or KubernetesSource.fromKubeconfig()
const mesh = new Mesh({ source, context: { namespace: 'shop' } });
const res = await mesh.fetch('http://web/orders');
console.log(res.status, ((await res.json()) as { pod: string }).pod); // 200 web-<hash>-<id>

await cluster.rollout('shop', 'web', { env: { VERSION: '2' } }); // RollingUpdate, 25 % surge
await cluster.scale('shop', 'web', 1); // resolves with 1 ready pod; the others are still terminating
console.log(cluster.pods({ namespace: 'shop' }).filter((p) => !p.terminating).length); // 1

await mesh.close();
await source.close();
await cluster.close();
