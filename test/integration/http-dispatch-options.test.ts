import { StaticSource } from '@clusterip/resolver/testing';
import { Mesh } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { createHttpTestServer } from '../helpers/http-test-server.js';

// The routed call reads the caller's dispatch options in one pass over a plain object's keys, and by
// name otherwise: both must carry every option to the pod.

async function meshWithPod(t: ExecutionContext): Promise<Mesh> {
  const pod = await createHttpTestServer(t, { host: '127.0.62.11', name: 'orders-1' });
  const source = new StaticSource([
    {
      namespace: 'shop',
      name: 'orders',
      ports: [{ name: 'http', port: 80 }],
      endpoints: [{ address: pod.host, ports: { http: pod.port } }],
    },
  ]);
  const mesh = new Mesh({ source, context: { namespace: 'shop', resolvConf: '', env: {} } });
  t.teardown(async () => {
    await mesh.close();
    await source.close();
  });
  return mesh;
}

interface Echo {
  pod: string;
  host: string;
  method: string;
  path: string;
  body: string;
}

test('plain dispatch options (own keys) reach the pod: method, path, query, headers, body', async (t) => {
  const mesh = await meshWithPod(t);
  const res = await mesh.dispatcher.request({
    origin: 'http://orders',
    path: '/orders',
    query: { page: '2' },
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'one order',
    clusterip: { retry: false },
  } as Parameters<Mesh['dispatcher']['request']>[0]);
  const echo = (await res.body.json()) as Echo;
  t.is(res.statusCode, 200);
  t.deepEqual(echo, { pod: 'orders-1', host: 'orders', method: 'POST', path: '/orders?page=2', body: 'one order' });
});

test('dispatch options given as a class instance with inherited getters are read by name', async (t) => {
  const mesh = await meshWithPod(t);
  class Options {
    get origin(): string {
      return 'http://orders.shop';
    }
    get path(): string {
      return '/orders/7';
    }
    get method(): string {
      return 'PUT';
    }
    get headers(): Record<string, string> {
      return { 'content-type': 'text/plain' };
    }
    get body(): string {
      return 'updated';
    }
  }
  const options = new Options();
  t.deepEqual(Object.keys(options), [], 'no own keys: a for-in pass alone would see nothing');
  const res = await mesh.dispatcher.request(options as unknown as Parameters<Mesh['dispatcher']['request']>[0]);
  const echo = (await res.body.json()) as Echo;
  t.deepEqual(echo, { pod: 'orders-1', host: 'orders.shop', method: 'PUT', path: '/orders/7', body: 'updated' });
});
