// Example (testing): unit tests of checkout.ts against an emulated cluster — FakeKubernetesApi with its
// EndpointSlice controller, inventory "pods" as real HTTP servers on loopback, and a Mesh pointed at it.
// Run: node --test dist/testing-with-fake-api/checkout.test.js

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { KubernetesSource } from '@clusterip/resolver';
import { FakeKubernetesApi, type KubeObject } from '@clusterip/resolver/testing';
import { Mesh } from '@clusterip/sdk';
import { CheckoutError, quoteCart } from './checkout.js';

const NAMESPACE = 'shop';
const ITEMS: Record<string, { price: number; stock: number }> = {
  apple: { price: 120, stock: 10 },
  pear: { price: 95, stock: 2 },
};

/** A fake inventory pod: a real HTTP server on its own loopback address (Linux routes all of 127.0.0.0/8). */
interface InventoryPod {
  readonly name: string;
  readonly ip: string;
  readonly server: Server;
  readonly port: number;
  calls: number;
}

async function startInventoryPod(name: string, ip: string): Promise<InventoryPod> {
  const pod = { name, ip, calls: 0 } as InventoryPod;
  const server = createServer((req, res) => {
    pod.calls++;
    const sku = decodeURIComponent(/^\/items\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? '');
    const item = ITEMS[sku];
    res.writeHead(item ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(item ? { sku, ...item } : { error: 'not found' }));
  });
  server.listen(0, ip);
  await once(server, 'listening');
  return Object.assign(pod, { server, port: (server.address() as AddressInfo).port });
}

/** The Pod object the EndpointSlice controller turns into an endpoint (named port `http`). */
function podObject(pod: InventoryPod, ready: boolean): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod.name, namespace: NAMESPACE, labels: { app: 'inventory' } },
    spec: { containers: [{ name: 'app', image: 'inventory:1', ports: [{ name: 'http', containerPort: pod.port }] }] },
    status: {
      phase: 'Running',
      podIP: pod.ip,
      podIPs: [{ ip: pod.ip }],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}

let api: FakeKubernetesApi;
let source: KubernetesSource;
let mesh: Mesh;
const pods: InventoryPod[] = [];

before(async () => {
  api = await FakeKubernetesApi.start(); // the EndpointSlice controller is on by default
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'inventory', namespace: NAMESPACE },
    spec: { selector: { app: 'inventory' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  for (const [name, ip] of [
    ['inventory-1', '127.0.0.21'],
    ['inventory-2', '127.0.0.22'],
  ] as const) {
    const pod = await startInventoryPod(name, ip);
    pods.push(pod);
    api.apply(podObject(pod, true));
  }
  // The code under test gets a Mesh exactly as in production, only pointed at the fake API server and
  // told which namespace it runs in (no resolv.conf or environment of this machine involved).
  source = new KubernetesSource({ server: api.url });
  mesh = new Mesh({ source, context: { namespace: NAMESPACE, resolvConf: '', env: {} } });
});

after(async () => {
  await mesh.close();
  await source.close(); // a source given to the Mesh is the caller's to close
  for (const pod of pods) {
    pod.server.closeAllConnections();
    pod.server.close();
  }
  await api.close();
});

test('prices a cart with the inventory Service', async () => {
  const quote = await quoteCart(mesh, [
    { sku: 'apple', quantity: 3 },
    { sku: 'pear', quantity: 1 },
  ]);
  assert.equal(quote.total, 3 * 120 + 95);
});

test('calls are balanced over every inventory pod', async () => {
  for (const pod of pods) pod.calls = 0;
  await quoteCart(
    mesh,
    Array.from({ length: 30 }, () => ({ sku: 'apple', quantity: 1 })),
  );
  // 30 random picks over 2 pods: both are used (a pod missing all of them has probability 2^-29).
  for (const pod of pods) assert.ok(pod.calls > 0, `${pod.name} got no call`);
});

test('an unknown sku or too little stock is a CheckoutError with its code', async () => {
  await assert.rejects(quoteCart(mesh, [{ sku: 'kiwi', quantity: 1 }]), { code: 'UNKNOWN_SKU' });
  await assert.rejects(quoteCart(mesh, [{ sku: 'pear', quantity: 5 }]), { code: 'OUT_OF_STOCK' });
});

test('no ready inventory pod: INVENTORY_UNAVAILABLE, caused by CLUSTERIP_ERR_NO_ENDPOINTS', async () => {
  // Wait for the mesh's own view of the Service (no sleeping): the change reaches it through the watch.
  const noneReady = new Promise<void>((resolve) => {
    const watch = mesh.resolver.watch('inventory:80', (snapshot) => {
      if (snapshot.endpoints.every((e) => !e.conditions.ready)) {
        void watch.close();
        resolve();
      }
    });
  });
  for (const pod of pods) api.apply(podObject(pod, false));
  await noneReady;

  const error = await quoteCart(mesh, [{ sku: 'apple', quantity: 1 }]).then(
    () => assert.fail('expected a CheckoutError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CheckoutError);
  assert.equal(error.code, 'INVENTORY_UNAVAILABLE');
  assert.equal((error.cause as { code?: string }).code, 'CLUSTERIP_ERR_NO_ENDPOINTS');
});
