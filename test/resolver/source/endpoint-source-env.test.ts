import {
  ClosedError,
  detectClusterContext,
  EnvSource,
  interpretClusterName,
  Resolver,
  ServiceNotFoundError,
  StaticSource,
} from '@clusterip/resolver';
import { FakeEndpointSource } from '@clusterip/resolver/testing';
import test, { type ExecutionContext } from 'ava';

// What kubelet wrote into a pod of namespace `shop` (spec §8): its own Services that existed when the
// container started, plus default/kubernetes.
const ENV = {
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  KUBERNETES_SERVICE_PORT: '443',
  KUBERNETES_SERVICE_PORT_HTTPS: '443',
  BACKEND_SERVICE_SERVICE_HOST: '10.96.45.200',
  BACKEND_SERVICE_SERVICE_PORT: '4000',
  BACKEND_SERVICE_SERVICE_PORT_HTTP_API: '4000',
  BACKEND_SERVICE_SERVICE_PORT_METRICS: '9090',
  DNS_SERVICE_HOST: 'fd00::a',
  DNS_SERVICE_PORT: '53',
  DNS_PORT_53_UDP_PROTO: 'udp',
};

async function resolverOver(t: ExecutionContext, source: EnvSource | StaticSource | FakeEndpointSource) {
  const context = await detectClusterContext({ namespace: 'shop', resolvConf: '', env: {}, podIP: '10.0.0.1' });
  const resolver = new Resolver({ source, context });
  t.teardown(() => resolver.close());
  return resolver;
}

test('a Service of the own namespace resolves to its ClusterIP, port by name and by number', async (t) => {
  const resolver = await resolverOver(t, new EnvSource({ env: ENV, namespace: 'shop' }));
  const byName = await resolver.resolve('backend-service:metrics');
  t.is(byName.fqdn, 'backend-service.shop.svc.cluster.local.');
  t.deepEqual(
    byName.endpoints.map((e) => [e.address, e.port, e.protocol, e.addressType]),
    [['10.96.45.200', 9090, 'TCP', 'IPv4']],
  );
  t.deepEqual(byName.service?.clusterIPs, ['10.96.45.200']);
  t.is(byName.source, 'env');
  const byNumber = await resolver.resolve('backend-service.shop:4000');
  t.deepEqual(
    byNumber.endpoints.map((e) => `${e.address}:${e.port}`),
    ['10.96.45.200:4000'],
  );
  const v6 = await resolver.resolve('dns');
  t.deepEqual(
    v6.endpoints.map((e) => [e.address, e.port, e.protocol, e.addressType]),
    [['fd00::a', 53, 'UDP', 'IPv6']],
  );
});

test('only the own namespace and default/kubernetes are visible (pitfall 10)', async (t) => {
  const resolver = await resolverOver(t, new EnvSource({ env: ENV, namespace: 'shop' }));
  const api = await resolver.resolve('kubernetes.default:https');
  t.deepEqual(
    api.endpoints.map((e) => `${e.address}:${e.port}`),
    ['10.96.0.1:443'],
  );
  // The same variables describe the pod's own namespace only: backend-service of another namespace
  // is not known, even though BACKEND_SERVICE_SERVICE_HOST exists.
  const other = await t.throwsAsync(resolver.resolve('backend-service.prod:4000'), {
    instanceOf: ServiceNotFoundError,
  });
  t.true(other.tried.includes('backend-service.prod.svc.cluster.local.'));
  t.regex(
    await whyNotFound('backend-service.prod.svc.cluster.local.'),
    /no service variables for namespace prod \(only shop\)/,
  );
  // A Service created after the container started has no variables.
  await t.throwsAsync(resolver.resolve('payments:80'), { instanceOf: ServiceNotFoundError });
  t.regex(await whyNotFound('payments.shop.svc.cluster.local.'), /no PAYMENTS_SERVICE_HOST variable/);
});

/** The source's own not-found detail for one absolute name. */
function whyNotFound(fqdn: string): Promise<string> {
  const source = new EnvSource({ env: ENV, namespace: 'shop' });
  return new Promise((resolve) => {
    const watch = source.watch({ fqdn, name: interpretClusterName(fqdn, 'cluster.local'), port: 80 }, (event) => {
      if (event.type === 'update' && event.update.type === 'not-found') {
        void watch.close();
        resolve(event.update.detail ?? '');
      }
    });
  });
}

test('a port the variables do not list: the Service, no endpoints, reason port-not-found (as the other sources)', async (t) => {
  const resolver = await resolverOver(t, new EnvSource({ env: ENV, namespace: 'shop' }));
  // Was NODATA: the resolver searched past the Service and rejected with SERVICE_NOT_FOUND, and a Mesh
  // handed http://backend-service:8080/ to system DNS.
  const missing = await resolver.resolve('backend-service:grpc');
  t.is(missing.fqdn, 'backend-service.shop.svc.cluster.local.');
  t.is(missing.service?.name, 'backend-service');
  t.deepEqual(missing.endpoints, []);
  t.deepEqual(missing.reason, {
    code: 'port-not-found',
    message: 'service backend-service.shop: port "grpc" not found (ports: http-api/4000/TCP, metrics/9090/TCP)',
  });
  const unspecified = await resolver.resolve('backend-service');
  t.is(unspecified.reason?.code, 'port-not-found');
  t.regex(unspecified.reason?.message ?? '', /no port given and the service has 2 ports/);
  // Ports are matched as findServicePort does for the other sources.
  t.deepEqual(
    (await resolver.resolve('backend-service:Metrics')).endpoints.map((e) => `${e.address}:${e.port}`),
    ['10.96.45.200:9090'],
  );
});

test('namespace: POD_NAMESPACE, else default; unknown options and bad namespaces are typed errors', (t) => {
  const viaEnv = new EnvSource({ env: { ...ENV, POD_NAMESPACE: 'shop' } });
  t.is(viaEnv.kind, 'env');
  t.throws(() => new EnvSource({ env: ENV, nmespace: 'shop' } as never), {
    code: 'CLUSTERIP_ERR_INVALID_ARG',
    message: /unexpected option "nmespace"/,
  });
  t.throws(() => new EnvSource({ env: ENV, namespace: 'Shop_1' }), { code: 'CLUSTERIP_ERR_INVALID_NAME' });
});

test('after close, every source refuses new watches and a resolve rejects with ClosedError, never hangs', async (t) => {
  const sources = [new EnvSource({ env: ENV, namespace: 'shop' }), new StaticSource([]), new FakeEndpointSource()];
  for (const source of sources) {
    t.false(source.closed);
    const closing = source.close();
    t.is(source.close(), closing, `${source.kind}: close() returns the same promise`);
    await source[Symbol.asyncDispose]();
    t.true(source.closed);
    const query = { fqdn: 'backend-service.shop.svc.cluster.local.', name: { kind: 'outside' } } as never;
    t.throws(() => source.watch(query, () => t.fail('no event after close')), { instanceOf: ClosedError });
    const resolver = await resolverOver(t, source);
    await t.throwsAsync(resolver.resolve('backend-service:4000'), { instanceOf: ClosedError });
  }
});

test('a listener that throws: nothing uncaught, and the rest of the answer still arrives (EnvSource, StaticSource)', async (t) => {
  const sources = [
    new EnvSource({ env: ENV, namespace: 'shop' }),
    new StaticSource([
      { namespace: 'shop', name: 'backend-service', ports: [{ port: 4000 }], endpoints: [{ address: '10.0.0.7' }] },
    ]),
  ];
  const fqdn = 'backend-service.shop.svc.cluster.local.';
  for (const source of sources) {
    const seen = await new Promise<string[]>((resolve) => {
      const types: string[] = [];
      source.watch({ fqdn, name: interpretClusterName(fqdn, 'cluster.local'), port: 4000 }, (event) => {
        types.push(event.type === 'update' ? event.update.type : event.type);
        if (event.type === 'update') resolve(types);
        throw new Error('listener bug'); // was an uncaught exception from setImmediate: the process ended
      });
    });
    t.deepEqual(seen, ['service', 'reset'], source.kind);
    await source.close();
  }
});

test('a custom source whose watch() throws a plain Error: the resolve rejects with WatchFailedError', async (t) => {
  const source = new FakeEndpointSource();
  source.watch = () => {
    throw new TypeError('boom');
  };
  const resolver = await resolverOver(t, source);
  const error = await t.throwsAsync(resolver.resolve('web:80'));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_WATCH_FAILED');
  t.regex(error.message, /web\.shop\.svc\.cluster\.local\.: the endpoint source threw: boom/);
  t.true((error as Error).cause instanceof TypeError);
});

test('an answer already queued is not delivered once its watch or its source has closed; a watch’s close() gives the same promise (EnvSource, StaticSource)', async (t) => {
  const fqdn = 'backend-service.shop.svc.cluster.local.';
  const query = { fqdn, name: interpretClusterName(fqdn, 'cluster.local'), port: 4000 };
  const fresh = () => [
    new EnvSource({ env: ENV, namespace: 'shop' }),
    new StaticSource([
      { namespace: 'shop', name: 'backend-service', ports: [{ port: 4000 }], endpoints: [{ address: '10.0.0.7' }] },
    ]),
  ];
  for (const [i, source] of fresh().entries()) {
    // The source closes right after the watch starts: its answer is queued, and must not arrive.
    source.watch(query, () => t.fail(`${source.kind}: an event after the source closed`));
    await source.close();
    // And a watch closed at once, on a source that stays open.
    const open = fresh()[i]!;
    const watch = open.watch(query, () => t.fail(`${open.kind}: an event after the watch closed`));
    const closing = watch.close();
    t.is(watch.close(), closing, `${open.kind}: close() returns the same promise`);
    // One more watch on the same source: once it has its answer, the closed watch's would have come.
    await new Promise<void>((resolve) => {
      const probe = open.watch(query, () => {
        void probe.close();
        resolve();
      });
    });
    await open.close();
  }
  t.pass();
});
