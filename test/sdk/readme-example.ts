// The example of packages/sdk/README.md, verbatim below this header: readme-example.test.ts checks that both
// stay identical, type-checks it (tsc) and runs it. Edit both together.

import { createBalancer, eligibleEndpoints } from '@clusterip/sdk';

// What the resolver hands over for ONE Service port (target ports already resolved).
const ready = { ready: true, serving: true, terminating: false };
const endpoints = [
  {
    address: '10.0.1.5',
    port: 8080,
    protocol: 'TCP',
    addressType: 'IPv4',
    conditions: ready,
    nodeName: 'node-a',
    zone: 'eu-1a',
  },
  {
    address: '10.0.2.7',
    port: 8080,
    protocol: 'TCP',
    addressType: 'IPv4',
    conditions: ready,
    nodeName: 'node-b',
    zone: 'eu-1b',
  },
  {
    address: '10.0.3.9',
    port: 8080,
    protocol: 'TCP',
    addressType: 'IPv4',
    nodeName: 'node-c',
    zone: 'eu-1c',
    conditions: { ready: false, serving: true, terminating: true },
  }, // draining: used only if nothing is ready
] as const;
const service = {
  namespace: 'shop',
  name: 'checkout',
  type: 'ClusterIP',
  clusterIPs: ['10.96.0.12'],
  headless: false,
  ipFamilies: ['IPv4'],
  ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' }],
  sessionAffinity: { type: 'None' },
  internalTrafficPolicy: 'Cluster',
  publishNotReadyAddresses: false,
  labels: {},
  annotations: {},
} as const;

// ⑤ eligible endpoints for this client (node name from the downward API, zone from its Node).
const eligible = eligibleEndpoints(endpoints, service, { nodeName: 'node-a', zone: 'eu-1a' }, 'http');
console.log(
  eligible.outcome.type,
  eligible.endpoints.map((e) => e.address),
); // ok [ '10.0.1.5', '10.0.2.7' ]

// ⑥ one balancer per Service port; give it every new eligible set, and the Service: its sessionAffinity
// is followed (switch the Service to ClientIP and the next pick sticks).
const balancer = createBalancer({ policy: 'least-request', service: 'checkout.shop:http' });
balancer.update(eligible, service);

for (let i = 0; i < 3; i++) {
  const result = balancer.pick();
  if (result.type !== 'pick') throw result.type === 'queue' ? new Error('no endpoints yet') : result.error;
  console.log('send to', `${result.endpoint.address}:${result.endpoint.port}`);
  result.done({ type: 'http', status: 200, latencyMs: 12 }); // exactly once per pick
}

// Kubernetes says "no endpoints": picks fail fast with a typed error, as kube-proxy REJECTs.
balancer.update(eligibleEndpoints([], service, {}, 'http'));
const r = balancer.pick();
console.log(r.type, r.type === 'fail' && r.error.code); // fail CLUSTERIP_ERR_NO_ENDPOINTS
await balancer.close();
