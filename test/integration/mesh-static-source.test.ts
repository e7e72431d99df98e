import { type EndpointSource, EnvSource, KubernetesSource } from '@clusterip/resolver';
import { StaticSource } from '@clusterip/resolver/testing';
import { Mesh } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { createFakeKubeApi } from '../helpers/fake-kube-api.js';

const context = { namespace: 'default', resolvConf: '', env: {} };

/** The same Service `orders` (one port, http/80) in a StaticSource, behind a fake API server and in kubelet's variables. */
async function sources(t: ExecutionContext): Promise<Record<'static' | 'kubernetes' | 'env', EndpointSource>> {
  const api = await createFakeKubeApi(t);
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'orders', namespace: 'default' },
    spec: { ports: [{ name: 'http', port: 80 }] },
  });
  const kubernetes = new KubernetesSource({ server: api.url, idleTimeoutMs: 0 });
  t.teardown(() => kubernetes.close());
  const local = new StaticSource([
    {
      namespace: 'default',
      name: 'orders',
      ports: [{ name: 'http', port: 80 }],
      endpoints: [{ address: '127.0.0.9' }],
    },
  ]);
  const env = new EnvSource({
    env: { ORDERS_SERVICE_HOST: '127.0.0.9', ORDERS_SERVICE_PORT: '80', ORDERS_SERVICE_PORT_HTTP: '80' },
    namespace: 'default',
  });
  return { static: local, kubernetes, env };
}

function meshOn(t: ExecutionContext, source: EndpointSource): Mesh {
  const mesh = new Mesh({ source, context });
  t.teardown(() => mesh.close());
  return mesh;
}

const PORT_NOT_FOUND = 'service orders.default: port 8080 not found (ports: http/80/TCP)';

test('a Service without the asked port: mesh.fetch fails with CLUSTERIP_ERR_PORT_NOT_FOUND listing the ports, on every source', async (t) => {
  for (const [kind, source] of Object.entries(await sources(t))) {
    const mesh = meshOn(t, source);
    // Short name (was: passed through to system DNS, "getaddrinfo ENOTFOUND orders") and FQDN (was: SERVICE_NOT_FOUND).
    for (const url of [
      'http://orders:8080/',
      'http://orders.default:8080/',
      'http://orders.default.svc.cluster.local:8080/',
    ]) {
      const error = (await mesh.fetch(url).catch((e: unknown) => e)) as { cause?: { code?: string; message?: string } };
      t.is(error.cause?.code, 'CLUSTERIP_ERR_PORT_NOT_FOUND', `${kind} ${url}`);
      t.is(error.cause?.message, PORT_NOT_FOUND, `${kind} ${url}`);
    }
  }
});

test('mesh.resolve of a missing port: the Service with no endpoints and reason port-not-found, on every source', async (t) => {
  for (const [kind, source] of Object.entries(await sources(t))) {
    const mesh = meshOn(t, source);
    const snapshot = await mesh.resolve('orders:8080');
    t.is(snapshot.status, 'ok', kind);
    t.is(snapshot.fqdn, 'orders.default.svc.cluster.local.', kind);
    t.is(snapshot.service?.name, 'orders', kind);
    t.deepEqual(snapshot.endpoints, [], kind);
    t.deepEqual(snapshot.reason, { code: 'port-not-found', message: PORT_NOT_FOUND }, kind);
  }
});

test('a missing Service: the detail names the Service in the own namespace on every source, not "<name>.svc.cluster.local. exists but has no address records"', async (t) => {
  const expected = {
    static: 'the static source has no service nope in namespace default',
    kubernetes: 'service nope.default not found',
    env: 'no NOPE_SERVICE_HOST variable',
  };
  for (const [kind, source] of Object.entries(await sources(t))) {
    const mesh = meshOn(t, source);
    const error = await t.throwsAsync(mesh.resolve('nope:80'));
    t.is(
      error?.message,
      `service "nope:80": not found (tried nope.default.svc.cluster.local., nope.svc.cluster.local., nope.cluster.local., nope.): ${expected[kind as keyof typeof expected]}`,
    );
  }
});
