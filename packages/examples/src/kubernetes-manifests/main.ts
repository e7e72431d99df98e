// Example (deployment): the frontend the manifests run — an HTTP server that calls `backend-service` through a
// Mesh. Consumes the pod's service account (or KUBECONFIG), POD_NAMESPACE/NODE_NAME/POD_IP, PORT, BACKEND_URL.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Mesh } from '@clusterip/sdk';

const port = Number.parseInt(process.env.PORT ?? '8080', 10);
const backend = process.env.BACKEND_URL ?? 'http://backend-service/';

// In the pod: the service account's token and namespace; POD_NAMESPACE, NODE_NAME (internalTrafficPolicy:
// Local, topology) and POD_IP come from the downward API (deployment.yaml).
const mesh = new Mesh();
let ready = false;

const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok\n'); // liveness: the process serves
    return;
  }
  if (req.url === '/readyz') {
    // readiness: discovery works (the backend Service is known and watched). Not "the backend has
    // endpoints": that would take every frontend out of its Service whenever the backend is down.
    res.writeHead(ready ? 200 : 503).end(ready ? 'ready\n' : 'starting\n');
    return;
  }
  mesh.fetch(new URL(req.url ?? '/', backend)).then(
    async (upstream) => {
      const body = await upstream.text();
      res.writeHead(upstream.status, { 'content-type': 'text/plain' }).end(`frontend → ${body}`);
    },
    (error: Error) => {
      // The mesh's typed error (e.g. CLUSTERIP_ERR_NO_ENDPOINTS) is the cause of fetch's TypeError.
      const code = (error.cause as { code?: string } | undefined)?.code ?? 'error';
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`frontend: backend unavailable: ${code}\n`);
    },
  );
});

server.listen(port, () => {
  console.log(`frontend listening on port ${(server.address() as AddressInfo).port}`);
});

// Ready once the backend Service is resolved; the watch keeps the mesh's view current afterwards.
const watch = mesh.resolver.watch(backend, (snapshot) => {
  const endpoints = snapshot.endpoints.filter((e) => e.conditions.ready).length;
  console.log(`backend ${snapshot.fqdn} ${snapshot.status}: ${endpoints} ready endpoints`);
  ready = snapshot.status === 'ok';
});

// Kubernetes sends SIGTERM, then waits terminationGracePeriodSeconds: finish what is in flight and go.
process.once('SIGTERM', () => {
  console.log('SIGTERM: draining');
  ready = false;
  server.close();
  server.closeIdleConnections();
  void watch
    .close()
    .then(() => mesh.close())
    .then(() => console.log('closed'));
});
