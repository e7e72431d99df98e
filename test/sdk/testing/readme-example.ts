// The "Testing your code" example of packages/sdk/README.md, verbatim below this header: readme-example.test.ts
// checks that both stay identical, type-checks it (tsc) and runs it. Edit both together.

import { Mesh } from '@clusterip/sdk';
import { createMockUpstream } from '@clusterip/sdk/testing';

// Service orders.shop with three pods: real HTTP servers on 127.0.0.1, listed in an in-memory source.
const orders = await createMockUpstream({
  name: 'orders',
  namespace: 'shop',
  handler: (req, res, pod) => res.end(JSON.stringify({ path: req.url, pod: pod.name })),
});
// The code under test gets a Mesh as in production, pointed at the mock: no cluster, no DNS.
const mesh = new Mesh({ source: orders.source, context: orders.context });

const res = await mesh.fetch('http://orders/items/42');
console.log(res.status, await res.json()); // 200 { path: '/items/42', pod: 'orders-<n>' }

await orders.pods[0]?.crash(); // connections refused, still listed: the Mesh retries on another pod
await orders.pods[1]?.setReady(false); // out of the endpoints' ready set before the next request
for (let i = 0; i < 5; i++) await (await mesh.fetch('http://orders/')).text();
console.log(orders.pods.map((p) => [p.name, p.state, p.requests])); // only orders-2 took the 5

await orders.scale(1); // terminates the newest pods, as a Deployment scales down
console.log(orders.requests.length, orders.pods.length); // 6 1

await mesh.close();
await orders.close();
