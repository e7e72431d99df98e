// Benchmark: name resolution latency through DnsSource and Resolver against a local knotd, side by
// side with `dns.promises.Resolver#resolve4` straight to it. Run: node --conditions=clusterip-internal build/test/bench/resolver-dns.bench.js

import { promises as dnsPromises } from 'node:dns';
import { DnsSource, parseResolvConf, Resolver, type SourceQuery } from '@clusterip/resolver';
import { interpretClusterName } from '@clusterip/resolver/internal/name/interpret-cluster-name.js';
import { searchCandidates } from '@clusterip/resolver/internal/name/search-candidates.js';
import { startKnotDns } from '../helpers/knot-dns.js';

const ROUNDS = 5;
const OPS_PER_ROUND = 150;
const PURE_OPS = 50_000;
const TIME_LIMIT_MS = 60_000;

const teardowns: (() => unknown)[] = [];
const dns = await startKnotDns({ teardown: (fn) => void teardowns.push(fn) });
const started = performance.now();

const raw = new dnsPromises.Resolver({ timeout: 1000, tries: 1 });
raw.setServers([dns.server]);
// One source per case family: a source shares loops between watches of the same query, and the
// warm Resolver keeps its watch open, which would turn the other cases into cache hits.
const source = new DnsSource({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
const coldSource = new DnsSource({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
const warmSource = new DnsSource({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
const context = {
  namespace: 'default',
  clusterDomain: 'cluster.local',
  dns: parseResolvConf(
    `nameserver 127.0.0.1\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`,
  ),
  origin: { namespace: 'option', clusterDomain: 'option', dns: 'option' },
} as const;
// Warm: back-to-back resolve() calls reuse the Resolver's shared watch (idle timeout not elapsed).
const resolver = new Resolver({ source: warmSource, context });
// Cold: a new Resolver per call, so every call expands the search list and asks DNS.
async function coldResolve(target: string): Promise<void> {
  const r = new Resolver({ source: coldSource, context, idleTimeoutMs: 0 });
  try {
    await r.resolve(target);
  } finally {
    await r.close();
  }
}

const webFqdn = 'web.default.svc.cluster.local.';
const webQuery: SourceQuery = { fqdn: webFqdn, name: interpretClusterName(webFqdn, 'cluster.local'), port: 8080 };
const dbQuery: SourceQuery = {
  fqdn: 'db.default.svc.cluster.local.',
  name: interpretClusterName('db.default.svc.cluster.local.', 'cluster.local'),
  port: 'grpc',
};

function sourceOnce(query: SourceQuery): Promise<void> {
  return new Promise((resolve, reject) => {
    const watch = source.watch(query, (event) => {
      void watch.close().then(() => (event.type === 'stale' ? reject(event.error) : resolve()));
    });
  });
}

const cases: [string, () => Promise<unknown>][] = [
  ['dns.promises resolve4 (baseline)', () => raw.resolve4('web.default.svc.cluster.local', { ttl: true })],
  ['DnsSource web:8080 (A+AAAA+CNAME)', () => sourceOnce(webQuery)],
  ['DnsSource db:grpc (headless SRV + 3 targets)', () => sourceOnce(dbQuery)],
  ['Resolver.resolve("web:8080") cold (1st candidate)', () => coldResolve('web:8080')],
  ['Resolver.resolve("api.example.test:443") cold (4 candidates)', () => coldResolve('api.example.test:443')],
  ['Resolver.resolve("web:8080") warm (shared watch)', () => resolver.resolve('web:8080')],
];

const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
// Rounds interleave the cases so machine noise hits all of them alike.
for (let round = 0; round < ROUNDS && performance.now() - started < TIME_LIMIT_MS; round++) {
  for (const [name, run] of cases) {
    for (let i = 0; i < 10; i++) await run(); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < OPS_PER_ROUND; i++) await run();
    samples.get(name)?.push(((performance.now() - t0) * 1000) / OPS_PER_ROUND);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const baseline = median(samples.get(cases[0]?.[0] ?? '') ?? []);
console.log(`DNS resolution against local knotd (${dns.server}), median of ${ROUNDS} rounds × ${OPS_PER_ROUND} ops`);
console.log('| case | µs/op | × baseline |');
console.log('| --- | ---: | ---: |');
for (const [name] of cases) {
  const us = median(samples.get(name) ?? []);
  console.log(`| ${name} | ${us.toFixed(0)} | ${(us / baseline).toFixed(2)} |`);
}

// Pure name handling cost, per call.
const search = context.dns.search;
let sink = 0;
const t0 = performance.now();
for (let i = 0; i < PURE_OPS; i++) sink += searchCandidates('web', { search, ndots: 5 }).length;
const tSearch = ((performance.now() - t0) * 1e6) / PURE_OPS;
const t1 = performance.now();
for (let i = 0; i < PURE_OPS; i++)
  sink += interpretClusterName('web.default.svc.cluster.local.', 'cluster.local').kind.length;
const tInterpret = ((performance.now() - t1) * 1e6) / PURE_OPS;
console.log(`\nsearchCandidates('web', 3 domains, ndots 5): ${tSearch.toFixed(0)} ns/call`);
console.log(`interpretClusterName(service fqdn): ${tInterpret.toFixed(0)} ns/call (sink ${sink % 7})`);

await resolver.close();
await Promise.all([source.close(), coldSource.close(), warmSource.close()]);
for (const fn of teardowns.reverse()) await fn();
