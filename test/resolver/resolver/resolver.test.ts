import {
  type ClusterContext,
  DnsUnavailableError,
  detectClusterContext,
  type Endpoint,
  READY,
  Resolver,
  ServiceNotFoundError,
  type ServiceSnapshot,
  StaticSource,
  WatchFailedError,
} from '@clusterip/resolver';
import { FakeEndpointSource } from '@clusterip/resolver/testing';
import test, { type ExecutionContext } from 'ava';

const context = (namespace = 'prod'): Promise<ClusterContext> =>
  detectClusterContext({ namespace, resolvConf: '', env: {}, podIP: '10.0.0.1' });

function resolverFor(
  t: ExecutionContext,
  source: StaticSource | FakeEndpointSource,
  ctx: Promise<ClusterContext>,
  mode?: 'musl',
) {
  return ctx.then((c) => {
    const resolver = new Resolver({ source, context: c, ...(mode ? { mode } : {}) });
    t.teardown(() => resolver.close());
    return resolver;
  });
}

function web(namespace: string, addresses: string[]) {
  return {
    namespace,
    name: 'web',
    ports: [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'metrics', port: 9090 },
    ],
    endpoints: addresses.map((address) => ({ address })),
  };
}

/** The one endpoint of the fake sources below. */
const endpoint: Endpoint = { address: '127.0.0.5', port: 80, protocol: 'TCP', addressType: 'IPv4', conditions: READY };

const addrs = (s: ServiceSnapshot) => s.endpoints.map((e) => `${e.address}:${e.port}`).sort();

test('a bare name resolves in the own namespace, port by name and by number, target ports mapped', async (t) => {
  const source = new StaticSource([web('prod', ['127.0.0.2', '127.0.0.3']), web('other', ['127.0.1.2'])]);
  const resolver = await resolverFor(t, source, context());
  const byName = await resolver.resolve('web:http');
  t.is(byName.status, 'ok');
  t.is(byName.fqdn, 'web.prod.svc.cluster.local.');
  t.deepEqual(addrs(byName), ['127.0.0.2:8080', '127.0.0.3:8080']);
  t.deepEqual(addrs(await resolver.resolve('web:9090')), ['127.0.0.2:9090', '127.0.0.3:9090']);
  t.is(byName.service?.name, 'web');
  t.deepEqual(byName.tried, ['web.prod.svc.cluster.local.']);
});

test('web.other from namespace prod gives what a pod would get: the Service in namespace other', async (t) => {
  const source = new StaticSource([web('prod', ['127.0.0.2']), web('other', ['127.0.1.2'])]);
  const resolver = await resolverFor(t, source, context());
  const snap = await resolver.resolve('web.other:http');
  t.is(snap.fqdn, 'web.other.svc.cluster.local.');
  // The first candidate web.other.prod.svc.cluster.local. denotes endpoint "web" of Service "other" in prod: absent.
  t.deepEqual(snap.tried, ['web.other.prod.svc.cluster.local.', 'web.other.svc.cluster.local.']);
  t.deepEqual(addrs(snap), ['127.0.1.2:8080']);
  t.deepEqual(addrs(await resolver.resolve('web.other.svc.cluster.local.:http')), ['127.0.1.2:8080']);
  t.deepEqual(addrs(await resolver.resolve('kubernetes://other/web:http')), ['127.0.1.2:8080']);
});

test('a Service without endpoints still ends the search, as its A record does (spec 1.2); later candidates are not asked', async (t) => {
  const source = new StaticSource([web('prod', []), web('other', ['127.0.1.2'])]);
  const ctx = detectClusterContext({
    namespace: 'prod',
    resolvConf:
      'search prod.svc.cluster.local svc.cluster.local cluster.local other.svc.cluster.local\noptions ndots:5\n',
    env: {},
  });
  const resolver = await resolverFor(t, source, ctx);
  const snap = await resolver.resolve('web:http');
  t.is(snap.fqdn, 'web.prod.svc.cluster.local.');
  t.deepEqual(snap.tried, ['web.prod.svc.cluster.local.']);
  t.deepEqual(addrs(snap), []);
});

test('a name that exists nowhere rejects with ServiceNotFoundError listing every candidate', async (t) => {
  const resolver = await resolverFor(t, new StaticSource([web('prod', ['127.0.0.2'])]), context());
  const error = await t.throwsAsync(resolver.resolve('nope:80'));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_SERVICE_NOT_FOUND');
  t.deepEqual((error as unknown as { tried: string[] }).tried, [
    'nope.prod.svc.cluster.local.',
    'nope.svc.cluster.local.',
    'nope.cluster.local.',
    'nope.',
  ]);
  t.regex(error?.message ?? '', /^service "nope:80": not found \(tried nope\.prod\.svc/);
});

test('not found: the detail says what is true for the source, not "exists but has no address records"', async (t) => {
  const tried = (name: string) =>
    `(tried ${name}.prod.svc.cluster.local., ${name}.svc.cluster.local., ${name}.cluster.local., ${name}.)`;
  // An empty static source: the own namespace's Service is what the caller meant.
  const empty = await resolverFor(t, new StaticSource(), context());
  t.is(
    (await t.throwsAsync(empty.resolve('nope:80')))?.message,
    `service "nope:80": not found ${tried('nope')}: the static source has no service nope in namespace prod: it holds no services`,
  );
  // Names no Service can have, as KubernetesSource says them.
  t.is(
    (await t.throwsAsync(empty.resolve('Bad_Name:80')))?.message,
    `service "Bad_Name:80": not found ${tried('bad_name')}: service name "bad_name" is not a valid DNS-1123 label, so no such object exists`,
  );
  // The Service lives in another namespace: the hint `clusterip resolve` gives.
  const elsewhere = await resolverFor(t, new StaticSource([web('other', ['127.0.1.2'])]), context());
  t.is(
    (await t.throwsAsync(elsewhere.resolve('web:80')))?.message,
    `service "web:80": not found ${tried('web')}: the static source has no service web in namespace prod: the Service web lives in namespace other: use web.other`,
  );
  // musl too: the second candidate is NXDOMAIN (no namespace "web"), so the search goes on, as against CoreDNS.
  const musl = await resolverFor(t, new StaticSource([web('other', ['127.0.1.2'])]), context(), 'musl');
  const error = await t.throwsAsync(musl.resolve('web:80'), { instanceOf: ServiceNotFoundError });
  t.is(error.tried.length, 4);
  t.regex(error.message, /: the static source has no service web in namespace prod: .* use web\.other$/);
});

test('a namespace name (<ns>.svc.<zone>) is NODATA while the namespace has a Service, else NXDOMAIN (spec 1.8)', async (t) => {
  // musl stops at NODATA: a namespace "web" exists, so web:80 ends at web.svc.cluster.local.
  const source = new StaticSource([{ ...web('web', ['127.0.1.2']), name: 'other' }]);
  const musl = await resolverFor(t, source, context(), 'musl');
  const error = await t.throwsAsync(musl.resolve('web:80'), { instanceOf: ServiceNotFoundError });
  t.deepEqual(error.tried, ['web.prod.svc.cluster.local.', 'web.svc.cluster.local.']);
  // ... but the detail is about the Service the caller meant, not the namespace.
  t.regex(error.message, /: the static source has no service web in namespace prod$/);
  // The namespace goes: the same watch now goes on past it.
  const watch = musl.watch('web:80');
  t.teardown(() => watch.close());
  const first = await watch.ready;
  t.is(first.tried.length, 2);
  const next = new Promise<ServiceSnapshot>((resolve) => {
    const iterator = watch[Symbol.asyncIterator]();
    void iterator.next().then(() => iterator.next().then((r) => resolve(r.value as ServiceSnapshot)));
  });
  source.delete('web', 'other');
  t.is((await next).tried.length, 4);
});

test('headless per-pod names resolve to that endpoint', async (t) => {
  const source = new StaticSource([
    {
      namespace: 'prod',
      name: 'db',
      ports: [{ name: 'pg', port: 5432 }],
      endpoints: [
        { address: '127.0.1.1', hostname: 'db-0' },
        { address: '127.0.1.2', hostname: 'db-1' },
      ],
      spec: { headless: true },
    },
  ]);
  const resolver = await resolverFor(t, source, context());
  t.deepEqual(addrs(await resolver.resolve('db-1.db:pg')), ['127.0.1.2:5432']);
  t.deepEqual(addrs(await resolver.resolve('db:pg')), ['127.0.1.1:5432', '127.0.1.2:5432']);
  // An endpoint with a hostname is named by it only (CoreDNS endpointHostname): its dashed IP is NXDOMAIN.
  await t.throwsAsync(resolver.resolve('127-0-1-2.db:pg'), { code: 'CLUSTERIP_ERR_SERVICE_NOT_FOUND' } as never);
});

test('an IP literal needs no source and keeps its port', async (t) => {
  const resolver = await resolverFor(t, new StaticSource(), context());
  const snap = await resolver.resolve('[fd00::1]:8080');
  t.deepEqual(
    snap.endpoints.map((e) => [e.address, e.port, e.addressType]),
    [['fd00::1', 8080, 'IPv6']],
  );
  const error = await t.throwsAsync(resolver.resolve('10.0.0.1'));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
});

test('watch: changes, deletion (not-found) and re-creation arrive as snapshots', async (t) => {
  const source = new StaticSource([web('prod', ['127.0.0.2'])]);
  const resolver = await resolverFor(t, source, context());
  const watch = resolver.watch('web:http');
  t.teardown(() => watch.close());
  const iterator = watch[Symbol.asyncIterator]();
  const first = (await iterator.next()).value as ServiceSnapshot;
  t.deepEqual(addrs(first), ['127.0.0.2:8080']);

  source.set(web('prod', ['127.0.0.2', '127.0.0.4']));
  t.deepEqual(addrs((await iterator.next()).value as ServiceSnapshot), ['127.0.0.2:8080', '127.0.0.4:8080']);

  source.delete('prod', 'web');
  const gone = (await iterator.next()).value as ServiceSnapshot;
  t.is(gone.status, 'not-found');
  t.is(gone.error?.code, 'CLUSTERIP_ERR_SERVICE_NOT_FOUND');
  t.deepEqual(gone.endpoints, []);

  source.set(web('prod', ['127.0.0.9']));
  const back = (await iterator.next()).value as ServiceSnapshot;
  t.is(back.status, 'ok');
  t.deepEqual(addrs(back), ['127.0.0.9:8080']);
  t.true(back.version > first.version);
});

test('a Service created later under an earlier candidate takes over, as a pod would see it', async (t) => {
  const source = new StaticSource([web('other', ['127.0.1.2'])]);
  const resolver = await resolverFor(t, source, context());
  const seen: string[] = [];
  const watch = resolver.watch('web.other:http', (s) => seen.push(s.fqdn));
  t.teardown(() => watch.close());
  await watch.ready;
  // Service "other" in prod with an endpoint whose hostname is "web": web.other.prod.svc... now exists.
  const changed = new Promise<ServiceSnapshot>((resolve) => {
    resolver.watch('web.other:http', (s) => {
      if (s.fqdn === 'web.other.prod.svc.cluster.local.') resolve(s);
    });
  });
  source.set({
    namespace: 'prod',
    name: 'other',
    ports: [{ name: 'http', port: 80 }],
    endpoints: [{ address: '127.0.0.7', hostname: 'web' }],
  });
  const snap = await changed;
  t.deepEqual(addrs(snap), ['127.0.0.7:80']);
});

test('glibc continues after SERVFAIL, musl stops; other failures stop the search in both', async (t) => {
  const servfail = new DnsUnavailableError('web.prod.svc.cluster.local.', ['127.0.0.1:53'], 'servfail', 'SERVFAIL');
  const respond = (fail: Error) => (q: { fqdn: string }) =>
    q.fqdn === 'web.prod.svc.cluster.local.'
      ? [{ type: 'stale' as const, error: fail as DnsUnavailableError }]
      : q.fqdn === 'web.svc.cluster.local.'
        ? [{ type: 'update' as const, update: { type: 'reset' as const, endpoints: [endpoint] } }]
        : [{ type: 'update' as const, update: { type: 'not-found' as const, reason: 'nxdomain' as const } }];

  const glibc = await resolverFor(t, new FakeEndpointSource(respond(servfail)), context());
  t.is((await glibc.resolve('web:80')).fqdn, 'web.svc.cluster.local.');

  const musl = await resolverFor(t, new FakeEndpointSource(respond(servfail)), context(), 'musl');
  const e1 = await t.throwsAsync(musl.resolve('web:80'));
  t.is((e1 as { code?: string }).code, 'CLUSTERIP_ERR_DNS_UNAVAILABLE');

  const timeout = new DnsUnavailableError('web.prod.svc.cluster.local.', ['127.0.0.1:53'], 'timeout', 'ETIMEOUT');
  const stop = await resolverFor(t, new FakeEndpointSource(respond(timeout)), context());
  const e2 = await t.throwsAsync(stop.resolve('web:80'));
  t.is((e2 as unknown as DnsUnavailableError).reason, 'timeout');
});

test('when only SERVFAILs and NXDOMAINs come back, glibc reports the temporary failure', async (t) => {
  const servfail = new DnsUnavailableError('x', [], 'servfail', 'SERVFAIL');
  const source = new FakeEndpointSource((q) =>
    q.fqdn === 'web.svc.cluster.local.'
      ? [{ type: 'stale', error: servfail }]
      : [{ type: 'update', update: { type: 'not-found', reason: 'nxdomain' } }],
  );
  const resolver = await resolverFor(t, source, context());
  const error = await t.throwsAsync(resolver.resolve('web:80'));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_DNS_UNAVAILABLE');
});

/** A source answering per candidate name: a not-found reason, SERVFAIL, or (anything else) NXDOMAIN. */
function answering(by: Record<string, 'nodata' | 'servfail' | 'found'>) {
  return new FakeEndpointSource((q) => {
    const how = by[q.fqdn];
    if (how === 'servfail')
      return [{ type: 'stale', error: new DnsUnavailableError(q.fqdn, [], 'servfail', 'SERVFAIL') }];
    if (how === 'found') return [{ type: 'update', update: { type: 'reset', endpoints: [endpoint] } }];
    if (how === 'nodata') return [{ type: 'update', update: { type: 'not-found', reason: 'nodata' } }];
    return [{ type: 'update', update: { type: 'not-found', reason: 'nxdomain' } }];
  });
}

test('NODATA: glibc goes on to the next candidate, musl stops there (spec 2.3, pitfall 9)', async (t) => {
  const by = { 'web.svc.cluster.local.': 'nodata', 'web.cluster.local.': 'found' } as const;
  const glibc = await resolverFor(t, answering(by), context());
  const found = await glibc.resolve('web:80');
  t.is(found.fqdn, 'web.cluster.local.');
  t.deepEqual(found.tried, ['web.prod.svc.cluster.local.', 'web.svc.cluster.local.', 'web.cluster.local.']);

  const musl = await resolverFor(t, answering(by), context(), 'musl');
  const error = await t.throwsAsync(musl.resolve('web:80'), { instanceOf: ServiceNotFoundError });
  t.deepEqual(error.tried, ['web.prod.svc.cluster.local.', 'web.svc.cluster.local.']);
  t.regex(error.message, /web\.svc\.cluster\.local\. exists but has no address records$/);
});

test('glibc, nothing answers: NODATA is reported before SERVFAIL and NXDOMAIN (spec 2.3)', async (t) => {
  const resolver = await resolverFor(
    t,
    answering({ 'web.prod.svc.cluster.local.': 'servfail', 'web.cluster.local.': 'nodata' }),
    context(),
  );
  const error = await t.throwsAsync(resolver.resolve('web:80'), { instanceOf: ServiceNotFoundError });
  t.deepEqual(error.tried, ['web.prod.svc.cluster.local.', 'web.svc.cluster.local.', 'web.cluster.local.', 'web.']);
  t.regex(error.message, /: web\.cluster\.local\. exists but has no address records$/);

  // Only NXDOMAINs: the plain not-found, without a detail.
  const none = await resolverFor(t, answering({}), context());
  const nx = await t.throwsAsync(none.resolve('web:80'), { instanceOf: ServiceNotFoundError });
  t.regex(nx.message, /\(tried [^)]+\)$/);
});

test('glibc, a name tried as-is first (dots >= ndots): the as-is attempt gives the error (spec 2.3)', async (t) => {
  const ctx = detectClusterContext({
    namespace: 'prod',
    resolvConf: 'search prod.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:1\n',
    env: {},
    podIP: '10.0.0.1',
  });
  // As-is first answers SERVFAIL, a later candidate NODATA: the SERVFAIL wins, unlike in the test above.
  const servfailFirst = await resolverFor(
    t,
    answering({ 'web.other.': 'servfail', 'web.other.svc.cluster.local.': 'nodata' }),
    ctx,
  );
  const e1 = await t.throwsAsync(servfailFirst.resolve('web.other:80'));
  t.is((e1 as { code?: string }).code, 'CLUSTERIP_ERR_DNS_UNAVAILABLE');

  // As-is first answers NXDOMAIN, a later one NODATA: NXDOMAIN (no detail).
  const nxFirst = await resolverFor(t, answering({ 'web.other.svc.cluster.local.': 'nodata' }), ctx);
  const e2 = await t.throwsAsync(nxFirst.resolve('web.other:80'), { instanceOf: ServiceNotFoundError });
  t.is(e2.tried[0], 'web.other.');
  t.regex(e2.message, /\(tried [^)]+\)$/);

  // As-is first answers NODATA: its detail.
  const nodataFirst = await resolverFor(t, answering({ 'web.other.': 'nodata' }), ctx);
  const e3 = await t.throwsAsync(nodataFirst.resolve('web.other:80'), { instanceOf: ServiceNotFoundError });
  t.regex(e3.message, /: web\.other\. exists but has no address records$/);
});

test('glibc, a root search domain puts the name first without it being tried as-is first: NODATA still wins', async (t) => {
  const ctx = detectClusterContext({
    namespace: 'prod',
    resolvConf: 'search . prod.svc.cluster.local cluster.local\noptions ndots:5\n',
    env: {},
    podIP: '10.0.0.1',
  });
  const resolver = await resolverFor(t, answering({ 'web.': 'servfail', 'web.cluster.local.': 'nodata' }), ctx);
  const error = await t.throwsAsync(resolver.resolve('web:80'), { instanceOf: ServiceNotFoundError });
  t.is(error.tried[0], 'web.');
  t.regex(error.message, /: web\.cluster\.local\. exists but has no address records$/);
});

test('stale: the last good set keeps being served and flagged; the next update clears it', async (t) => {
  const fqdn = 'web.prod.svc.cluster.local.';
  const source = new FakeEndpointSource((q) =>
    q.fqdn === fqdn ? [{ type: 'update', update: { type: 'reset', endpoints: [endpoint] } }] : undefined,
  );
  const resolver = await resolverFor(t, source, context());
  const snaps: ServiceSnapshot[] = [];
  let notify: (() => void) | undefined;
  const watch = resolver.watch('web:80', (s) => {
    snaps.push(s);
    notify?.();
  });
  t.teardown(() => watch.close());
  await watch.ready;
  const next = () => new Promise<void>((resolve) => (notify = resolve));

  let wait = next();
  source.emit(fqdn, { type: 'stale', error: new WatchFailedError('endpointslices prod/web', 'connect ECONNREFUSED') });
  await wait;
  t.true(snaps.at(-1)?.stale);
  t.is(snaps.at(-1)?.status, 'ok');
  t.deepEqual(snaps.at(-1)?.endpoints, [endpoint]);
  t.is(snaps.at(-1)?.error?.code, 'CLUSTERIP_ERR_WATCH_FAILED');

  wait = next();
  source.emit(fqdn, { type: 'update', update: { type: 'reset', endpoints: [endpoint] } });
  await wait;
  t.false(snaps.at(-1)?.stale);
});

test('watches of one name and port share one source watch; it closes after the idle timeout', async (t) => {
  const source = new StaticSource([web('prod', ['127.0.0.2'])]);
  const c = await context();
  let opened = 0;
  let closedWatches = 0;
  let onClose: (() => void) | undefined;
  const counting = {
    kind: 'static',
    watch: (...args: Parameters<StaticSource['watch']>) => {
      opened++;
      const inner = source.watch(...args);
      return {
        close: async () => {
          await inner.close();
          closedWatches++;
          onClose?.();
        },
      };
    },
    close: () => source.close(),
  };
  const resolver = new Resolver({ source: counting, context: c, idleTimeoutMs: 0 });
  t.teardown(() => resolver.close());
  const a = resolver.watch('web:http');
  const b = resolver.watch('web.prod.svc.cluster.local.:http');
  const other = resolver.watch('web:metrics');
  await Promise.all([a.ready, b.ready, other.ready]);
  t.is(opened, 2, 'the same absolute name and port share one watch; another port has its own');
  const allClosed = new Promise<void>((resolve) => {
    onClose = () => closedWatches === 2 && resolve();
  });
  await Promise.all([a.close(), b.close(), other.close()]);
  await allClosed;
  t.is(closedWatches, 2);
});

test('close: idempotent, rejects later calls, no listener call after close', async (t) => {
  const source = new StaticSource([web('prod', ['127.0.0.2'])]);
  const resolver = await resolverFor(t, source, context());
  let calls = 0;
  const watch = resolver.watch('web:http', () => calls++);
  await watch.ready;
  const p1 = resolver.close();
  const p2 = resolver.close();
  t.is(p1, p2);
  await p1;
  source.set(web('prod', ['127.0.0.3']));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  t.is(calls, 1);
  t.true(resolver.closed);
  t.is((t.throws(() => resolver.watch('web')) as { code?: string }).code, 'CLUSTERIP_ERR_CLOSED');
  await t.throwsAsync(resolver.resolve('web'), { code: 'CLUSTERIP_ERR_CLOSED' } as never);
});

test('bad options and targets are typed errors', async (t) => {
  t.is((t.throws(() => new Resolver({} as never)) as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  const source = new StaticSource();
  t.is(
    (t.throws(() => new Resolver({ source, mode: 'bsd' as never })) as { code?: string }).code,
    'CLUSTERIP_ERR_INVALID_ARG',
  );
  t.is(
    (t.throws(() => new Resolver({ source, idleTimeout: 5 } as never)) as { code?: string }).code,
    'CLUSTERIP_ERR_INVALID_ARG',
  );
  // Context options are checked by the constructor, not at the first resolve.
  const misspelt = t.throws(() => new Resolver({ source, context: { namespaces: 'shop' } as never }));
  t.is((misspelt as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  t.is((misspelt as { option?: string }).option, 'context.namespaces');
  t.is(
    (t.throws(() => new Resolver({ source, context: { namespace: 'Shop' } })) as { code?: string }).code,
    'CLUSTERIP_ERR_INVALID_NAME',
  );
  for (const bad of [42, 'shop', null, true]) {
    const err = t.throws(() => new Resolver({ source, context: bad as never }));
    t.like(err, { code: 'CLUSTERIP_ERR_INVALID_ARG', option: 'context' }, `context: ${String(bad)}`);
  }
  const resolver = await resolverFor(t, source, context());
  t.is((t.throws(() => resolver.watch('web:0')) as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  await t.throwsAsync(resolver.resolve('a..b'), { code: 'CLUSTERIP_ERR_INVALID_NAME' } as never);
});

test('endpoint names from dashed IPs follow CoreDNS, including the trailing 0 of IPv6 addresses ending in ::', async (t) => {
  const source = new StaticSource([
    {
      namespace: 'prod',
      name: 'v6',
      ports: [{ name: 'http', port: 80 }],
      endpoints: [{ address: '2001:db8:3333:4444:5555:6666::' }, { address: 'fd00::7' }],
    },
  ]);
  const resolver = await resolverFor(t, source, context());
  const snap = await resolver.resolve('2001-db8-3333-4444-5555-6666--0.v6:http');
  t.deepEqual(addrs(snap), ['2001:db8:3333:4444:5555:6666:::80']);
  t.deepEqual(addrs(await resolver.resolve('fd00--7.v6:http')), ['fd00::7:80']);
});
