// Its own file (its own worker): handle counts are per worker, and other tests' sockets must not
// blur them. Collectability (WeakRef + gc) is not checked: ava runs files in worker threads of one
// process and gc cannot be exposed for one file alone.

import { DnsSource, Resolver, type ServiceSnapshot } from '@clusterip/resolver';
import test from 'ava';
import { startKnotDns } from '../../helpers/knot-dns.js';
import { activeResources, grownResources, settle, trackResources } from '../../helpers/leak-check.js';
import { startUdpDnsServer } from '../../helpers/udp-dns-server.js';

test('Resolver over a DnsSource: close() leaves no handles, timers or queries behind', async (t) => {
  const dns = await startKnotDns(t);
  const silent = await startUdpDnsServer(t, { reply: 'drop' });

  const before = activeResources();
  // QUERYWRAP: one per c-ares query, destroyed when it is answered or cancelled.
  const tracker = trackResources(['Timeout', 'TCPWRAP', 'UDPWRAP', 'QUERYWRAP']);
  t.teardown(() => tracker.stop());
  const source = new DnsSource({ servers: [dns.server], minTtlMs: 60_000, maxTtlMs: 60_000 });
  const hanging = new DnsSource({ servers: [silent.server], timeoutMs: 30_000, tries: 1 });
  const resolver = new Resolver({ source, context: { namespace: 'default' }, idleTimeoutMs: 60_000 });
  const stuck = new Resolver({ source: hanging, context: { namespace: 'default' } });
  // A found name (shared watch cached, TTL timer armed), a missing one (negative re-check timer),
  // a watch open at close time, and a query still in flight.
  t.is((await resolver.resolve('web:http')).endpoints[0]?.address, '127.0.0.10');
  await t.throwsAsync(resolver.resolve('nope.default.svc.cluster.local.:80'), {
    code: 'CLUSTERIP_ERR_SERVICE_NOT_FOUND',
  });
  const seen: ServiceSnapshot[] = [];
  const open = resolver.watch('db.default:grpc', (s) => seen.push(s));
  await open.ready;
  const inFlight = stuck.watch('web:80', (s) => seen.push(s));
  await settle(() => silent.queries.length > 0);
  t.true(silent.queries.length > 0, 'a query is in flight');

  t.true((tracker.live().get('Timeout') ?? 0) > 0, "the tracker sees the armed (unref'd) timers");
  t.true((tracker.live().get('QUERYWRAP') ?? 0) > 0, 'the tracker sees the query in flight');

  const closing = resolver.close();
  t.is(resolver.close(), closing, 'close() returns the same promise');
  await Promise.all([closing, stuck.close()]);
  t.true(open.closed && inFlight.closed, 'the resolvers closed their watches');
  await Promise.all([source.close(), hanging.close()]); // a resolver does not close its source
  const count = seen.length;
  await settle(() => grownResources(before, activeResources()).length === 0 && tracker.live().size === 0);
  t.deepEqual(grownResources(before, activeResources()), [], 'getActiveResourcesInfo(): no new handles');
  t.deepEqual([...tracker.live()], [], `still alive (unref'd included), created at:\n${tracker.origins().join('\n')}`);
  t.is(seen.length, count, 'no snapshot after close()');
});
