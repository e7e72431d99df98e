import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ClusterName,
  DnsSource,
  type DnsSourceOptions,
  DnsUnavailableError,
  type Endpoint,
  EndpointSet,
  type SourceEvent,
  type SourceQuery,
  type SourceWatch,
} from '@clusterip/resolver';
import { interpretClusterName } from '@clusterip/resolver/internal/name/interpret-cluster-name.js';
import type { ExecutionContext } from 'ava';
import test from 'ava';
import { type KnotDns, startKnotDns } from '../../helpers/knot-dns.js';
import { startUdpDnsServer } from '../../helpers/udp-dns-server.js';

const ZONE = 'cluster.local';

function query(fqdn: string, port?: number | string): SourceQuery {
  const name: ClusterName = interpretClusterName(fqdn, ZONE);
  return port === undefined ? { fqdn, name } : { fqdn, name, port };
}

interface Recorder {
  readonly events: SourceEvent[];
  /** The next event (after those already taken) matching `predicate`; fails after 5 s. */
  next(predicate?: (event: SourceEvent) => boolean, what?: string): Promise<SourceEvent>;
  /** Endpoint set folded from every update so far. */
  set(): EndpointSet;
  close(): Promise<void>;
}

function record(t: ExecutionContext, source: DnsSource, q: SourceQuery): Recorder {
  const events: SourceEvent[] = [];
  let cursor = 0;
  let wake: (() => void) | undefined;
  const watch = source.watch(q, (event) => {
    events.push(event);
    wake?.();
  });
  t.teardown(() => watch.close());
  return {
    events,
    async next(predicate = () => true, what = 'an event') {
      const deadline = Date.now() + 5000;
      for (;;) {
        while (cursor < events.length) {
          const event = events[cursor++] as SourceEvent;
          if (predicate(event)) return event;
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, remaining);
          timer.unref();
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    },
    set() {
      let set = EndpointSet.empty();
      for (const e of events) if (e.type === 'update') set = set.apply(e.update);
      return set;
    },
    close: () => watch.close(),
  };
}

function newSource(t: ExecutionContext, options: DnsSourceOptions): DnsSource {
  const source = new DnsSource(options);
  t.teardown(() => source.close());
  return source;
}

const keys = (endpoints: readonly Endpoint[]) => endpoints.map((e) => `${e.address}:${e.port}`).sort();

async function first(t: ExecutionContext, dns: KnotDns, fqdn: string, port?: number | string): Promise<SourceEvent> {
  const source = newSource(t, { servers: [dns.server], timeoutMs: 500, tries: 1 });
  return record(t, source, query(fqdn, port)).next();
}

function endpointsOf(event: SourceEvent): readonly Endpoint[] {
  if (event.type !== 'update' || event.update.type !== 'reset')
    throw new Error(`expected a reset, got ${JSON.stringify(event)}`);
  return event.update.endpoints;
}

test('ClusterIP Service with a numeric port: its virtual IP on that port', async (t) => {
  const dns = await startKnotDns(t);
  const event = await first(t, dns, 'web.default.svc.cluster.local.', 8080);
  const [endpoint] = endpointsOf(event);
  t.deepEqual(keys(endpointsOf(event)), ['127.0.0.10:8080']);
  t.is(endpoint?.addressType, 'IPv4');
  t.is(endpoint?.protocol, 'TCP');
  t.true(endpoint?.conditions.ready);
});

test('ClusterIP Service with a named port: SRV gives the Service port on the ClusterIP', async (t) => {
  const dns = await startKnotDns(t);
  const endpoints = endpointsOf(await first(t, dns, 'multi.default.svc.cluster.local.', 'metrics'));
  t.deepEqual(keys(endpoints), ['127.0.0.12:9090']);
  t.is(endpoints[0]?.hostname, undefined);
  t.is(endpoints[0]?.weight, 100);
});

test('no port: the only port from the bare-name SRV, else port 0 (addresses only)', async (t) => {
  const dns = await startKnotDns(t);
  t.deepEqual(keys(endpointsOf(await first(t, dns, 'web.default.svc.cluster.local.'))), ['127.0.0.10:8080']);
  t.deepEqual(keys(endpointsOf(await first(t, dns, 'multi.default.svc.cluster.local.'))), ['127.0.0.12:0']);
  // No SRV at all for dual: addresses only.
  t.deepEqual(keys(endpointsOf(await first(t, dns, 'dual.default.svc.cluster.local.'))), ['127.0.0.11:0', '::1:0']);
});

test('dual-stack Service: A and AAAA both become endpoints', async (t) => {
  const dns = await startKnotDns(t);
  const endpoints = endpointsOf(await first(t, dns, 'dual.default.svc.cluster.local.', 'http'));
  t.deepEqual(
    endpoints.map((e) => [e.address, e.port, e.addressType, e.weight]),
    [
      ['127.0.0.11', 8080, 'IPv4', 50],
      ['::1', 8080, 'IPv6', 50],
    ],
  );
});

test('headless Service: every ready pod IP; a named port gives hostnames, weights and target ports', async (t) => {
  const dns = await startKnotDns(t);
  t.deepEqual(keys(endpointsOf(await first(t, dns, 'db.default.svc.cluster.local.', 9999))), [
    '127.0.1.1:9999',
    '127.0.1.2:9999',
    '127.0.1.3:9999',
  ]);
  const named = endpointsOf(await first(t, dns, 'db.default.svc.cluster.local.', 'grpc'));
  t.deepEqual(
    named.map((e) => [e.address, e.port, e.hostname, e.weight]),
    [
      ['127.0.1.1', 50051, 'db-0', 33],
      ['127.0.1.2', 50051, 'db-1', 33],
      ['127.0.1.3', 50051, 'db-2', 33],
    ],
  );
});

test('per-pod endpoint name, SRV name, pod name and outside name', async (t) => {
  const dns = await startKnotDns(t);
  const pod = endpointsOf(await first(t, dns, 'db-1.db.default.svc.cluster.local.', 'grpc'));
  t.deepEqual(
    pod.map((e) => [e.address, e.port, e.hostname]),
    [['127.0.1.2', 50051, 'db-1']],
  );
  t.deepEqual(keys(endpointsOf(await first(t, dns, 'db-2.db.default.svc.cluster.local.', 7000))), ['127.0.1.3:7000']);
  const srv = endpointsOf(await first(t, dns, '_grpc._tcp.db.default.svc.cluster.local.'));
  t.deepEqual(
    srv.map((e) => e.hostname),
    ['db-0', 'db-1', 'db-2'],
  );
  t.deepEqual(keys(endpointsOf(await first(t, dns, '127-0-2-1.default.pod.cluster.local.', 80))), ['127.0.2.1:80']);
  t.deepEqual(keys(endpointsOf(await first(t, dns, 'api.example.test.', 443))), ['127.0.0.20:443']);
  t.deepEqual(keys(endpointsOf(await first(t, dns, 'www.example.test.', 443))), ['127.0.0.20:443']);
  t.deepEqual(keys(endpointsOf(await first(t, dns, 'api.example.test.', 'https'))), ['127.0.0.20:8443']);
});

test('ExternalName: a service event with the CNAME target, then an empty reset', async (t) => {
  const dns = await startKnotDns(t);
  for (const [fqdn, target] of [
    ['ext.default.svc.cluster.local.', 'api.example.test'],
    ['ext2.default.svc.cluster.local.', 'web.default.svc.cluster.local'],
  ] as const) {
    const source = newSource(t, { servers: [dns.server] });
    const rec = record(t, source, query(fqdn, 'http'));
    const service = await rec.next();
    if (service.type !== 'service') return t.fail(`expected a service event, got ${JSON.stringify(service)}`);
    t.like(service.service, { type: 'ExternalName', externalName: target, namespace: 'default', headless: false });
    t.deepEqual(endpointsOf(await rec.next()), []);
  }
});

test('an ExternalName that turns into addresses (a Service moved into the cluster) is no longer reported as ExternalName', async (t) => {
  const dns = await startKnotDns(t);
  const fqdn = 'mig.default.svc.cluster.local.';
  await dns.set(fqdn, 'CNAME', 1, 'api.example.test.');
  // maxTtlMs: the name is briefly NXDOMAIN between the two edits; its re-check is capped too.
  const source = newSource(t, { servers: [dns.server], minTtlMs: 20, maxTtlMs: 100 });
  const rec = record(t, source, query(fqdn, 80));
  t.like(await rec.next(), { type: 'service', service: { type: 'ExternalName', externalName: 'api.example.test' } });
  t.deepEqual(endpointsOf(await rec.next()), []);
  await dns.unset(fqdn, 'CNAME');
  await dns.set(fqdn, 'A', 1, '127.0.0.50');
  const cleared = await rec.next((e) => e.type === 'service', 'a service event');
  t.deepEqual(cleared, { type: 'service', service: undefined });
  await rec.next((e) => e.type === 'update', 'an update');
  t.deepEqual(keys(rec.set().endpoints), ['127.0.0.50:80']);
  // A watch that starts now is told nothing of the ExternalName.
  const late = record(t, source, query(fqdn, 80));
  t.deepEqual(keys(endpointsOf(await late.next())), ['127.0.0.50:80']);
});

test('NXDOMAIN and NODATA are told apart; shapes cluster DNS rejects need no query', async (t) => {
  const dns = await startKnotDns(t);
  const cases: [SourceQuery, string][] = [
    [query('nope.default.svc.cluster.local.', 80), 'nxdomain'],
    [query('web.other.svc.cluster.local.', 80), 'nxdomain'],
    [query('web.default.svc.cluster.local.', 'nope'), 'nxdomain'],
    [query('default.svc.cluster.local.', 80), 'nodata'],
    [query('a.b.web.default.svc.cluster.local.', 80), 'nxdomain'],
    // A real NODATA on the wire: an empty non-terminal asked as an outside name.
    [{ fqdn: 'svc.cluster.local.', name: { kind: 'outside', fqdn: 'svc.cluster.local.' }, port: 80 }, 'nodata'],
    [
      { fqdn: 'ns.dns.cluster.local.', name: { kind: 'outside', fqdn: 'ns.dns.cluster.local.' }, port: 'http' },
      'nxdomain',
    ],
  ];
  const source = newSource(t, { servers: [dns.server] });
  for (const [q, reason] of cases) {
    const event = await record(t, source, q).next();
    t.like(event, { type: 'update', update: { type: 'not-found', reason } }, q.fqdn);
  }
});

test('re-resolves when the TTL expires and emits add/remove diffs', async (t) => {
  const dns = await startKnotDns(t);
  await dns.set('churn.default.svc.cluster.local.', 'A', 1, '127.0.0.30');
  const source = newSource(t, { servers: [dns.server], minTtlMs: 20 });
  const rec = record(t, source, query('churn.default.svc.cluster.local.', 80));
  t.deepEqual(keys(endpointsOf(await rec.next())), ['127.0.0.30:80']);
  await dns.set('churn.default.svc.cluster.local.', 'A', 1, '127.0.0.31');
  const added = await rec.next();
  t.like(added, { type: 'update', update: { type: 'add' } });
  await dns.unset('churn.default.svc.cluster.local.', 'A', '127.0.0.30');
  t.like(await rec.next(), { type: 'update', update: { type: 'remove', keys: ['127.0.0.30:80'] } });
  t.deepEqual(keys(rec.set().endpoints), ['127.0.0.31:80']);
  // Nothing but these three: unchanged answers are not re-emitted.
  t.is(rec.events.length, 3);
});

test('a negative answer is re-checked (SOA minimum, capped by maxTtlMs): a Service created later appears', async (t) => {
  const dns = await startKnotDns(t);
  const source = newSource(t, { servers: [dns.server], minTtlMs: 10, maxTtlMs: 100 });
  const rec = record(t, source, query('later.default.svc.cluster.local.', 80));
  t.like(await rec.next(), { type: 'update', update: { type: 'not-found', reason: 'nxdomain' } });
  await dns.set('later.default.svc.cluster.local.', 'A', 5, '127.0.0.40');
  t.deepEqual(keys(endpointsOf(await rec.next())), ['127.0.0.40:80']);
  await dns.unset('later.default.svc.cluster.local.', 'A');
  t.like(await rec.next(), { type: 'update', update: { type: 'not-found', reason: 'nxdomain' } });
});

test('server down: stale events keep the last answer; server back: a reset', async (t) => {
  const dns = await startKnotDns(t);
  const source = newSource(t, {
    servers: [dns.server],
    timeoutMs: 200,
    tries: 1,
    minTtlMs: 10,
    maxTtlMs: 30,
    backoff: { initialMs: 10, maxMs: 40 },
  });
  const rec = record(t, source, query('db.default.svc.cluster.local.', 'grpc'));
  t.is(endpointsOf(await rec.next()).length, 3);
  await dns.stop();
  const stale = await rec.next();
  if (stale.type !== 'stale') return t.fail(`expected stale, got ${JSON.stringify(stale)}`);
  t.true(stale.error instanceof DnsUnavailableError);
  t.is(stale.error.code, 'CLUSTERIP_ERR_DNS_UNAVAILABLE');
  // ICMP port unreachable gives ECONNREFUSED, unless c-ares gave up on the server first (timeout).
  t.true(['refused', 'timeout'].includes((stale.error as DnsUnavailableError).reason));
  t.like(await rec.next(), { type: 'stale' }, 'every failed refresh says so');
  await dns.start();
  const reset = await rec.next((e) => e.type !== 'stale', 'the first update after recovery');
  t.is(endpointsOf(reset).length, 3);
  // While down, no update ever shrank the set.
  t.is(rec.events.filter((e) => e.type === 'update').length, 2);
  t.is(rec.set().size, 3);
});

for (const [reply, reason] of [
  ['drop', 'timeout'],
  ['servfail', 'servfail'],
  ['garbage', 'malformed'],
] as const) {
  test(`a server that answers ${reply}: a typed stale event, retried with backoff`, async (t) => {
    const bad = await startUdpDnsServer(t, { reply });
    const source = newSource(t, { servers: [bad.server], timeoutMs: 50, tries: 1, backoff: { initialMs: 10 } });
    const rec = record(t, source, query('web.default.svc.cluster.local.', 80));
    const event = await rec.next();
    if (event.type !== 'stale') return t.fail(`expected stale, got ${JSON.stringify(event)}`);
    t.true(event.error instanceof DnsUnavailableError);
    t.like(event.error, { reason, query: 'web.default.svc.cluster.local.', servers: [bad.server] });
    t.regex(event.error.message, /^dns web\.default\.svc\.cluster\.local\.: temporary failure: /);
    t.like(await rec.next(), { type: 'stale' });
  });
}

test('one family failing fails the refresh: the other family is not served alone', async (t) => {
  const dns = await startKnotDns(t);
  const proxy = await startUdpDnsServer(t, { upstream: dns.server, reply: 'forward' });
  const source = newSource(t, {
    servers: [proxy.server],
    timeoutMs: 50,
    tries: 1,
    minTtlMs: 10,
    maxTtlMs: 20,
    backoff: { initialMs: 10 },
  });
  const rec = record(t, source, query('dual.default.svc.cluster.local.', 8080));
  t.is(endpointsOf(await rec.next()).length, 2);
  proxy.reply = (q) => (q.type === 'AAAA' ? 'servfail' : 'forward');
  t.like(await rec.next(), { type: 'stale', error: { reason: 'servfail' } });
  t.is(rec.set().size, 2);
});

test('watches of the same name and port share one resolution loop', async (t) => {
  const dns = await startKnotDns(t);
  const proxy = await startUdpDnsServer(t, { upstream: dns.server, reply: 'forward' });
  const source = newSource(t, { servers: [proxy.server] });
  const a = record(t, source, query('web.default.svc.cluster.local.', 8080));
  const b = record(t, source, query('WEB.default.svc.cluster.local.', 8080));
  t.deepEqual(keys(endpointsOf(await a.next())), ['127.0.0.10:8080']);
  t.deepEqual(keys(endpointsOf(await b.next())), ['127.0.0.10:8080']);
  const late = record(t, source, query('web.default.svc.cluster.local.', 8080));
  t.deepEqual(keys(endpointsOf(await late.next())), ['127.0.0.10:8080'], 'a late joiner gets the current state');
  // One A, one AAAA, one CNAME query: a single loop answered all three watches.
  t.is(proxy.queries.length, 3);
  await a.close();
  await b.close();
  await late.close();
  // The loop is gone: a new watch starts a new one.
  const again = record(t, source, query('web.default.svc.cluster.local.', 8080));
  await again.next();
  t.is(proxy.queries.length, 6);
});

test('close: idempotent, no listener call afterwards, watch() then throws ClosedError', async (t) => {
  const bad = await startUdpDnsServer(t, { reply: 'drop' });
  const source = new DnsSource({ servers: [bad.server], timeoutMs: 50, tries: 1, backoff: { initialMs: 1 } });
  let calls = 0;
  const watch = source.watch(query('web.default.svc.cluster.local.', 80), () => {
    calls++;
  });
  const p1 = watch.close();
  t.is(watch.close(), p1);
  await p1;
  const other = source.watch(query('db.default.svc.cluster.local.', 80), () => {
    calls++;
  });
  const closing = source.close();
  t.is(source.close(), closing);
  await closing;
  t.true(source.closed);
  await other.close();
  t.is(calls, 0);
  const error = t.throws(() => source.watch(query('web.default.svc.cluster.local.', 80), () => undefined));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_CLOSED');
});

test('a throwing listener does not stop other watchers', async (t) => {
  const dns = await startKnotDns(t);
  const source = newSource(t, { servers: [dns.server] });
  const thrower = source.watch(query('web.default.svc.cluster.local.', 80), () => {
    throw new Error('listener bug');
  });
  t.teardown(() => thrower.close());
  const rec = record(t, source, query('web.default.svc.cluster.local.', 80));
  t.is(endpointsOf(await rec.next()).length, 1);
});

test('options are validated: unknown keys, bad servers, bad durations', (t) => {
  const bad: unknown[] = [
    { server: ['127.0.0.1'] },
    { servers: [] },
    { servers: ['dns.example.com:53'] },
    { servers: ['[::1]'] },
    { servers: ['127.0.0.1:0'] },
    { servers: ['127.0.0.1'], timeoutMs: 0 },
    { servers: ['127.0.0.1'], tries: 1.5 },
    { servers: ['127.0.0.1'], minTtlMs: 100, maxTtlMs: 50 },
    { servers: ['127.0.0.1'], timers: {} },
    { servers: ['127.0.0.1'], now: 5 },
    { servers: ['127.0.0.1'], resolvConfPath: '/etc/resolv.conf' },
    { resolvConfPath: join(tmpdir(), 'clusterip-no-such-resolv.conf') },
  ];
  for (const options of bad) {
    const error = t.throws(() => new DnsSource(options as DnsSourceOptions), undefined, JSON.stringify(options));
    t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG', JSON.stringify(options));
  }
  t.deepEqual(new DnsSource({ servers: ['10.96.0.10', '[fd00::10]:5353', 'fd00::53', '127.0.0.1:15353'] }).servers, [
    '10.96.0.10:53',
    '[fd00::10]:5353',
    '[fd00::53]:53',
    '127.0.0.1:15353',
  ]);
});

test('servers default to the nameservers of resolv.conf', async (t) => {
  const path = join(tmpdir(), `clusterip-resolv-${process.pid}-${Date.now()}.conf`);
  await writeFile(
    path,
    'nameserver 10.96.0.10\nnameserver fd00::10\nsearch default.svc.cluster.local\noptions ndots:5\n',
  );
  t.teardown(async () => (await import('node:fs/promises')).rm(path, { force: true }));
  t.deepEqual(new DnsSource({ resolvConfPath: path }).servers, ['10.96.0.10:53', '[fd00::10]:53']);
  await writeFile(path, 'search x\n');
  t.deepEqual(new DnsSource({ resolvConfPath: path }).servers, ['127.0.0.1:53']);
});

test('[Symbol.asyncDispose]() is close(): the same promise, idempotent, for the source and its watches', async (t) => {
  const silent = await startUdpDnsServer(t, { reply: 'drop' });
  const source = new DnsSource({ servers: [silent.server], timeoutMs: 5000, tries: 1 });
  const events: SourceEvent[] = [];
  const kept = source.watch(query('web.default.svc.cluster.local.', 80), (e) => events.push(e));
  const disposable = source.watch(query('api.default.svc.cluster.local.', 80), (e) => events.push(e)) as SourceWatch & {
    [Symbol.asyncDispose](): Promise<void>;
  };
  const watchDisposed = disposable[Symbol.asyncDispose]();
  t.is(watchDisposed, disposable.close());
  await watchDisposed;
  t.false(source.closed);
  const disposed = source[Symbol.asyncDispose]();
  t.is(disposed, source.close());
  t.is(source[Symbol.asyncDispose](), disposed);
  await disposed;
  t.true(source.closed);
  await kept.close();
  t.throws(() => source.watch(query('web.default.svc.cluster.local.', 80), () => {}), {
    code: 'CLUSTERIP_ERR_CLOSED',
  });
  t.deepEqual(events, [], 'nothing delivered after dispose (the queries were still in flight)');
});
