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
          message: `service orders.default: port ${JSON.stringify(port)} not found (ports: http/80/TCP)${
            port === 'grpc'
              ? ''
              : `: ${JSON.stringify(port)} is the target port of Service port 80; address the Service port, e.g. orders.default:80`
          }`,
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

test('names that are no Service: NODATA for a namespace that has Services and the zone, NXDOMAIN otherwise, each with why', async (t) => {
  const source = new StaticSource([orders]);
  const cases: [ClusterName, 'nodata' | 'nxdomain', string][] = [
    [
      { kind: 'no-data', fqdn: 'default.svc.cluster.local.', namespace: 'default' },
      'nodata',
      'default.svc.cluster.local. names namespace default, not a service: it has no addresses',
    ],
    [
      { kind: 'no-data', fqdn: 'shop.svc.cluster.local.', namespace: 'shop' },
      'nxdomain',
      'the static source has no namespace shop',
    ],
    [
      { kind: 'no-data', fqdn: 'svc.cluster.local.' },
      'nodata',
      'svc.cluster.local. is a cluster DNS domain, not a service: it has no addresses',
    ],
    [{ kind: 'outside', fqdn: 'example.com.' }, 'nxdomain', 'outside the cluster domain'],
    [
      { kind: 'pod', namespace: 'default', ip: '10.0.0.1' },
      'nxdomain',
      'pod records are not served by the static source',
    ],
    [
      { kind: 'invalid', fqdn: 'a.b.c.d.default.svc.cluster.local.', reason: 'too many labels' },
      'nxdomain',
      'too many labels',
    ],
    [service('nope'), 'nxdomain', 'the static source has no service nope in namespace default'],
    [
      { kind: 'service', namespace: 'shop', service: 'orders' },
      'nxdomain',
      'the static source has no service orders in namespace shop: the Service orders lives in namespace default: use orders.default',
    ],
  ];
  for (const [name, reason, detail] of cases) {
    t.deepEqual(await answer(source, name, 80), [{ type: 'update', update: { type: 'not-found', reason, detail } }]);
  }
  t.deepEqual(await answer(new StaticSource(), service('orders')), [
    {
      type: 'update',
      update: {
        type: 'not-found',
        reason: 'nxdomain',
        detail: 'the static source has no service orders in namespace default: it holds no services',
      },
    },
  ]);
});

test('watchers of a missing Service learn where a Service of that name appears; a namespace appears with its first Service', async (t) => {
  const source = new StaticSource();
  const seen: string[] = [];
  const detailOf = (event: SourceEvent) =>
    event.type === 'update' && event.update.type === 'not-found'
      ? `${event.update.reason}: ${event.update.detail}`
      : event.type;
  const missing = source.watch(
    { fqdn: 'orders.shop.svc.cluster.local.', name: { kind: 'service', namespace: 'shop', service: 'orders' } },
    (e) => seen.push(detailOf(e)),
  );
  const namespace = source.watch(
    {
      fqdn: 'default.svc.cluster.local.',
      name: { kind: 'no-data', fqdn: 'default.svc.cluster.local.', namespace: 'default' },
    },
    (e) => seen.push(detailOf(e)),
  );
  t.teardown(() => Promise.all([missing.close(), namespace.close()]));
  await new Promise((r) => setImmediate(r));
  source.set(orders);
  await new Promise((r) => setImmediate(r));
  t.deepEqual(seen, [
    'nxdomain: the static source has no service orders in namespace shop: it holds no services',
    'nxdomain: the static source has no namespace default',
    'nxdomain: the static source has no service orders in namespace shop: the Service orders lives in namespace default: use orders.default',
    'nodata: default.svc.cluster.local. names namespace default, not a service: it has no addresses',
  ]);
});
