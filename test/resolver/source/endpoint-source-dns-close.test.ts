import { DnsSource, type SourceQuery } from '@clusterip/resolver';
import { interpretClusterName } from '@clusterip/resolver/internal/name/interpret-cluster-name.js';
import test from 'ava';
import { startKnotDns } from '../../helpers/knot-dns.js';
import { startUdpDnsServer } from '../../helpers/udp-dns-server.js';

// Its own file (its own worker): process.getActiveResourcesInfo() is process-wide.

function query(fqdn: string, port?: number | string): SourceQuery {
  const name = interpretClusterName(fqdn, 'cluster.local');
  return port === undefined ? { fqdn, name } : { fqdn, name, port };
}

function counts(): Map<string, number> {
  const map = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) map.set(r, (map.get(r) ?? 0) + 1);
  return map;
}

test('close() with queries in flight and timers pending leaves no handles behind', async (t) => {
  const dns = await startKnotDns(t);
  const silent = await startUdpDnsServer(t, { reply: 'drop' });
  const before = counts();

  // Unref'd timers are not listed by getActiveResourcesInfo(): count them through injected timers.
  const pending = new Set<unknown>();
  const timers = {
    setTimeout(callback: () => void, ms: number) {
      const handle: NodeJS.Timeout = setTimeout(() => {
        pending.delete(handle);
        callback();
      }, ms);
      pending.add(handle);
      return handle;
    },
    clearTimeout(handle: unknown) {
      pending.delete(handle);
      clearTimeout(handle as NodeJS.Timeout);
    },
  };
  const good = new DnsSource({ servers: [dns.server], minTtlMs: 10, maxTtlMs: 20, timers });
  const hanging = new DnsSource({ servers: [silent.server], timeoutMs: 5000, tries: 1, timers });
  let answered = 0;
  const watches = [
    good.watch(query('db.default.svc.cluster.local.', 'grpc'), () => answered++),
    good.watch(query('nope.default.svc.cluster.local.', 80), () => answered++),
    hanging.watch(query('web.default.svc.cluster.local.', 80), () => answered++),
  ];
  // Let the good source answer and arm its TTL timers; the hanging one is still waiting.
  await new Promise<void>((resolve) => {
    const check = () => (answered >= 2 ? resolve() : setImmediate(check));
    check();
  });
  t.true(silent.queries.length > 0, 'the hanging query is in flight');
  t.true(pending.size > 0, 'a re-resolution timer is armed');

  await watches[0]?.close();
  await Promise.all([good.close(), hanging.close()]);
  t.is(pending.size, 0, 'every timer cleared');
  const after = counts();
  for (const [kind, n] of after) {
    t.true(n <= (before.get(kind) ?? 0), `${kind}: ${n} after close, ${before.get(kind) ?? 0} before`);
  }
});
