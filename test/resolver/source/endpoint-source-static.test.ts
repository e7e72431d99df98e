import {
  type ClusterName,
  type SourceEvent,
  type SourceQuery,
  type StaticService,
  StaticSource,
} from '@clusterip/resolver';
import test from 'ava';

const orders: StaticService = {
  namespace: 'default',
  name: 'orders',
  ports: [{ name: 'http', port: 80, targetPort: 8080 }],
  endpoints: [{ address: '127.0.0.9' }],
};

/** Every event of one watch up to its first `update` (the first answer). */
async function answer(source: StaticSource, name: ClusterName, port?: number | string): Promise<SourceEvent[]> {
  const query: SourceQuery = {
    fqdn: 'x.',
    name,
    ...(port === undefined ? {} : { port }),
  };
  const events: SourceEvent[] = [];
  await new Promise<void>((resolve) => {
    const w = source.watch(query, (event) => {
      events.push(event);
      if (event.type === 'update') {
        void w.close();
        resolve();
      }
    });
  });
  return events;
}

const service = (svc: string): ClusterName => ({ kind: 'service', namespace: 'default', service: svc });

test('a Service without the asked port: the Service, then an empty reset with reason port-not-found (as KubernetesSource)', async (t) => {
  const source = new StaticSource([orders]);
  for (const port of [8080, 'grpc', '8080']) {
    const events = await answer(source, service('orders'), port);
    t.is(events.length, 2);
    t.like(events[0], { type: 'service', service: { name: 'orders', namespace: 'default' } });
    t.deepEqual(events[1], {
      type: 'update',
      update: {
        type: 'reset',
        endpoints: [],
        reason: {
          code: 'port-not-found',
          message: `service orders.default: port ${JSON.stringify(port)} not found (ports: http/80/TCP)`,
        },
      },
    });
  }
  // An endpoint name of the Service: the port is checked first, as KubernetesSource does.
  const endpoint = await answer(
    source,
    { kind: 'endpoint', namespace: 'default', service: 'orders', hostname: '127-0-0-9' },
    81,
  );
  t.like(endpoint[1], { type: 'update', update: { type: 'reset', endpoints: [], reason: { code: 'port-not-found' } } });
});

test('several ports and none asked: port-not-found that says to name one', async (t) => {
  const source = new StaticSource([
    {
      ...orders,
      ports: [
        { name: 'http', port: 80 },
        { name: 'metrics', port: 9090 },
      ],
    },
  ]);
  const events = await answer(source, service('orders'));
  t.like(events[1], { type: 'update', update: { type: 'reset', endpoints: [], reason: { code: 'port-not-found' } } });
  const reason = (events[1] as { update: { reason: { message: string } } }).update.reason;
  t.regex(reason.message, /no port given and the service has 2 ports \(http\/80\/TCP, metrics\/9090\/TCP\): name one/);
});

test('the asked port, by number, name or the only one, still resolves to the target port', async (t) => {
  const source = new StaticSource([orders]);
  for (const port of [80, 'http', 'HTTP', '80', undefined]) {
    const events = await answer(source, service('orders'), port);
    t.like(events[1], { type: 'update', update: { type: 'reset', endpoints: [{ address: '127.0.0.9', port: 8080 }] } });
  }
});

test('a Service without ports: addresses on port 0 without a port, port-not-found with one', async (t) => {
  const source = new StaticSource([{ ...orders, ports: [], spec: { headless: true } }]);
  const plain = await answer(source, service('orders'));
  t.like(plain[1], { type: 'update', update: { type: 'reset', endpoints: [{ address: '127.0.0.9', port: 0 }] } });
  const withPort = await answer(source, service('orders'), 80);
  t.like(withPort[1], {
    type: 'update',
    update: { type: 'reset', endpoints: [], reason: { code: 'port-not-found' } },
  });
});

test('SRV names: a missing named port (or protocol) is NXDOMAIN, as KubernetesSource answers', async (t) => {
  const source = new StaticSource([orders]);
  const srv = (port: string, protocol: string): ClusterName => ({
    kind: 'srv',
    namespace: 'default',
    service: 'orders',
    port,
    protocol,
  });
  t.like((await answer(source, srv('http', 'tcp')))[1], {
    type: 'update',
    update: { type: 'reset', endpoints: [{ port: 8080 }] },
  });
  t.like((await answer(source, srv('grpc', 'tcp')))[0], {
    type: 'update',
    update: {
      type: 'not-found',
      reason: 'nxdomain',
      detail: 'service orders.default has no port named grpc with protocol TCP',
    },
  });
  t.like((await answer(source, srv('http', 'udp')))[0], {
    type: 'update',
    update: { type: 'not-found', reason: 'nxdomain' },
  });
});
