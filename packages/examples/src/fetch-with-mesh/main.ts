// Example (transport, HTTP): plain `fetch` to a Kubernetes Service name, balanced per request by a Mesh.
// Consumes KUBECONFIG (or the pod's service account) and TARGET_URL; prints the endpoints and who answered.

import { Mesh } from '@clusterip/sdk';

const target = process.env.TARGET_URL ?? 'http://backend-service/';
const requests = Number.parseInt(process.env.REQUESTS ?? '30', 10);

// One Mesh per process. With no options it finds its cluster as kubectl would: the service account
// inside a pod, else $KUBECONFIG or ~/.kube/config (its current context's namespace is "this" namespace).
const mesh = new Mesh();
try {
  // What the Service has, with kube-proxy's verdict per endpoint (the same view the mesh balances over).
  const view = await mesh.endpoints(target);
  console.log(`${target} → ${view.fqdn} (${view.status})`);
  for (const e of view.endpoints) {
    console.log(
      `  endpoint ${e.endpoint.targetRef?.name ?? '?'} ${e.key} ${e.eligible ? 'eligible' : 'skipped'} (${e.reason})`,
    );
  }

  // Node's own fetch: the only change is the dispatcher. Every request is balanced on its own, even
  // over one keep-alive connection per pod (kube-proxy would pin each connection to one pod).
  // Node's fetch is undici inside; @types/node describes an older undici Dispatcher, hence the cast.
  const viaMesh = { dispatcher: mesh.dispatcher } as unknown as RequestInit;
  const answers = new Map<string, number>();
  for (let i = 0; i < requests; i++) {
    const res = await fetch(target, viaMesh);
    const line = `${res.status} ${(await res.text()).trim()}`;
    answers.set(line, (answers.get(line) ?? 0) + 1);
  }
  console.log(`${requests} requests with fetch:`);
  for (const [line, n] of [...answers].sort()) console.log(`  ${String(n).padStart(3)} × ${line}`);
} finally {
  await mesh.close(); // in-flight requests finish, keep-alive pools drain, the watch stops
}
