// Reliability (fuzzing) of stage ③'s DNS source: fuzzed answers (records, rcodes, TC, byte edits, cuts)
// over real UDP to node:dns (c-ares), then to our lookup code and DnsSource. Outcomes are values, never throws.

import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import {
  DnsSource,
  endpointKey,
  interpretClusterName,
  isClusterIPError,
  type SourceEvent,
  type SourceQuery,
} from '@clusterip/resolver';
import { resolveQuery } from '@clusterip/resolver/internal/source/dns/dns-lookup.js';
import test from 'ava';
import fc from 'fast-check';
import { startUdpDnsServer } from '../helpers/udp-dns-server.js';
import { printSummary, runFuzz } from './fuzz/budget.js';
import { type FuzzAnswer, type FuzzQuery, type FuzzRecord, queryHash, startFuzzDnsServer } from './fuzz/dns-wire.js';

test.after.always(() => printSummary('fuzz-dns'));

const ZONE = 'cluster.local';
const FQDNS = [
  'web.prod.svc.cluster.local.',
  '_http._tcp.web.prod.svc.cluster.local.',
  'web-0.web.prod.svc.cluster.local.',
  '10-0-0-1.prod.pod.cluster.local.',
  'prod.svc.cluster.local.',
  'a.b.c.web.prod.svc.cluster.local.',
  'example.com.',
];

const query: fc.Arbitrary<SourceQuery> = fc
  .tuple(fc.constantFrom(...FQDNS), fc.constantFrom(undefined, 80, 'http', 'grpc'))
  .map(([fqdn, port]) => ({
    fqdn,
    name: interpretClusterName(fqdn, ZONE),
    ...(port === undefined ? {} : { port }),
  }));

const recordName = fc.constantFrom(
  '@',
  '@',
  'web.prod.svc.cluster.local',
  'web-0.web.prod.svc.cluster.local',
  'db.example.com',
  `${'a'.repeat(70)}.x`,
  '',
);
const ttl = fc.constantFrom(0, 1, 5, 30, 2 ** 31 - 1, 2 ** 32 - 1);
const bytes = (n: number) => fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n, maxLength: n });
const fuzzRecord: fc.Arbitrary<FuzzRecord> = fc.oneof(
  fc.record({
    type: fc.constant('A' as const),
    name: recordName,
    ttl,
    address: fc.oneof(bytes(4), bytes(3), bytes(16)),
  }),
  fc.record({ type: fc.constant('AAAA' as const), name: recordName, ttl, address: fc.oneof(bytes(16), bytes(4)) }),
  fc.record({ type: fc.constant('CNAME' as const), name: recordName, ttl, target: recordName }),
  fc.record({
    type: fc.constant('SRV' as const),
    name: recordName,
    ttl,
    priority: fc.integer({ min: 0, max: 65_535 }),
    weight: fc.integer({ min: 0, max: 65_535 }),
    port: fc.constantFrom(0, 1, 80, 8080, 65_535),
    target: recordName,
  }),
  fc.record({ type: fc.constant('SOA' as const), name: recordName, ttl, minimum: ttl }),
  fc.record({
    type: fc.constant('RAW' as const),
    name: recordName,
    ttl,
    rrtype: fc.constantFrom(1, 5, 28, 33, 6, 255, 0),
    data: fc.uint8Array({ maxLength: 24 }),
  }),
);

const fuzzAnswer: fc.Arbitrary<FuzzAnswer> = fc.record({
  rcode: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, fc.constantFrom(2, 3, 5), fc.integer({ min: 0, max: 15 })),
  truncated: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, fc.constant(true)),
  answers: fc.array(fuzzRecord, { maxLength: 5 }),
  authority: fc.array(fuzzRecord, { maxLength: 1 }),
  edits: fc.oneof(
    { weight: 4, arbitrary: fc.constant([]) },
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
  ),
  truncateTo: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, fc.nat({ max: 80 })),
  drop: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, fc.constant(true)),
});

/** A well-formed answer to the question asked (A for A, SRV for SRV...), so that runs also reach success paths. */
interface SaneAnswer {
  readonly kind: 'sane';
  readonly addresses: readonly (readonly number[])[];
  readonly ports: readonly number[];
  readonly ttl: number;
  readonly rcode: number;
}

const saneAnswer: fc.Arbitrary<SaneAnswer> = fc.record({
  kind: fc.constant('sane' as const),
  addresses: fc.array(fc.oneof(bytes(4), bytes(16)), { minLength: 1, maxLength: 3 }),
  ports: fc.array(fc.constantFrom(0, 80, 8080, 9090), { minLength: 1, maxLength: 2 }),
  ttl,
  rcode: fc.constantFrom(0, 0, 3),
});

const SRV_TARGETS = ['web-0.web.prod.svc.cluster.local', 'web-1.web.prod.svc.cluster.local', '@'];

function sane(answer: SaneAnswer, asked: FuzzQuery): FuzzAnswer {
  const answers: FuzzRecord[] = [];
  if (answer.rcode === 0) {
    if (asked.type === 1 || asked.type === 28) {
      const size = asked.type === 1 ? 4 : 16;
      for (const address of answer.addresses)
        if (address.length === size)
          answers.push({ type: asked.type === 1 ? 'A' : 'AAAA', name: '@', ttl: answer.ttl, address });
    } else if (asked.type === 33) {
      for (const [i, port] of answer.ports.entries()) {
        const target = SRV_TARGETS[i % SRV_TARGETS.length] as string;
        answers.push({ type: 'SRV', name: '@', ttl: answer.ttl, priority: 0, weight: 10, port, target });
      }
    }
  }
  return {
    rcode: answer.rcode,
    truncated: false,
    answers,
    authority: [],
    edits: [],
    truncateTo: undefined,
    drop: false,
  };
}

/** One answer per query, chosen by a hash of (name, type): the same question gets the same answer in a run. */
const plan = fc.array(fc.oneof(saneAnswer, fuzzAnswer), { minLength: 1, maxLength: 4 });

function answerOf(entries: readonly (FuzzAnswer | SaneAnswer)[], asked: FuzzQuery): FuzzAnswer {
  const entry = entries[queryHash(asked) % entries.length] as FuzzAnswer | SaneAnswer;
  return 'kind' in entry ? sane(entry, asked) : entry;
}

function checkEndpoints(endpoints: readonly { address: string; port: number; addressType: string }[]): void {
  const keys = endpoints.map((e) => endpointKey(e as never));
  if (new Set(keys).size !== keys.length) throw new Error('duplicate endpoints');
  for (const e of endpoints) {
    const family = isIP(e.address);
    if (family === 0 || (family === 4) !== (e.addressType === 'IPv4')) throw new Error(`address ${e.address}`);
    if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65_535) throw new Error(`port ${e.port}`);
  }
}

test.serial('resolveQuery: any answer c-ares accepts or rejects becomes endpoints, not-found or failure', async (t) => {
  const server = await startFuzzDnsServer(t);
  const resolver = new dnsPromises.Resolver({ timeout: 40, tries: 1 });
  resolver.setServers([server.server]);
  t.teardown(() => resolver.cancel());
  const seen = { endpoints: 0, 'not-found': 0, failure: 0 };
  await runFuzz(t, 'dns-resolve-query', { weight: 0.1, runs: 1500 }, fc.tuple(query, plan), async ([q, answers]) => {
    server.plan = (asked) => answerOf(answers, asked);
    let outcome: Awaited<ReturnType<typeof resolveQuery>>;
    try {
      outcome = await resolveQuery(resolver, q);
    } catch (error) {
      throw new Error(`resolveQuery rejected: ${String(error)}`);
    }
    seen[outcome.type]++;
    if (outcome.type === 'endpoints') {
      checkEndpoints(outcome.endpoints);
      const ttl = outcome.ttlSeconds;
      if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 0)) throw new Error(`ttl ${ttl}`);
    } else if (typeof outcome.detail !== 'string' || outcome.detail === '') throw new Error('no detail');
  });
  t.log(`outcomes: ${JSON.stringify(seen)} over ${server.count.queries} UDP queries`);
  t.true(seen.endpoints > 0 && seen['not-found'] > 0 && seen.failure > 0, 'every outcome kind was reached');
});

test.serial(
  'DnsSource: fuzzed answers give typed events only, the loop keeps asking, and close() is final',
  async (t) => {
    const server = await startFuzzDnsServer(t);
    const open = new Set<DnsSource>();
    t.teardown(() => Promise.all([...open].map((s) => s.close())));
    const afterClose: string[] = [];
    await runFuzz(t, 'dns-source', { weight: 0.06, runs: 300 }, fc.tuple(query, plan), async ([q, answers]) => {
      const source = new DnsSource({
        servers: [server.server],
        timeoutMs: 40,
        tries: 1,
        minTtlMs: 1,
        maxTtlMs: 2,
        negativeTtlMs: 2,
        backoff: { initialMs: 1, maxMs: 2, jitter: 0 },
      });
      open.add(source);
      const from = server.count.queries;
      // The loop keeps asking: wait (on queries, not on time) until it has asked a few rounds.
      const rounds = new Promise<void>((resolve) => {
        server.plan = (asked) => {
          if (server.count.queries - from >= 6) resolve();
          return answerOf(answers, asked);
        };
      });
      let closed = false;
      const problems: string[] = [];
      const listener = (event: SourceEvent) => {
        if (closed) afterClose.push(`${event.type} after close`);
        if (event.type === 'stale') {
          if (!isClusterIPError(event.error) || event.error.code !== 'CLUSTERIP_ERR_DNS_UNAVAILABLE') {
            problems.push(`stale error ${String(event.error)}`);
          }
        } else if (event.type === 'update') {
          const u = event.update;
          if (u.type === 'reset' || u.type === 'add') checkEndpoints(u.endpoints);
        } else if (event.type !== 'service') problems.push(`unknown event ${JSON.stringify(event)}`);
      };
      const watch = source.watch(q, listener);
      // Names cluster DNS never answers (no-data, invalid shapes) are decided once, without re-asking.
      const decided = q.name.kind === 'no-data' || q.name.kind === 'invalid';
      if (!decided) await rounds;
      await watch.close();
      await source.close();
      closed = true;
      open.delete(source);
      if (problems.length > 0) throw new Error(problems.join('\n'));
    });
    t.deepEqual(afterClose, [], 'a listener was called after close');
  },
);

test.serial('DnsSource over the garbage-answering helper: stale with DNS_UNAVAILABLE, then recovers', async (t) => {
  const good = await startFuzzDnsServer(t);
  good.plan = (asked) => sane({ kind: 'sane', addresses: [[10, 0, 0, 7]], ports: [80], ttl: 5, rcode: 0 }, asked);
  // The helper answers garbage, then forwards to the good server: the same source sees both.
  const bad = await startUdpDnsServer(t, { reply: 'garbage', upstream: good.server });
  const source = new DnsSource({
    servers: [bad.server],
    timeoutMs: 40,
    tries: 1,
    backoff: { initialMs: 1, maxMs: 2, jitter: 0 },
  });
  t.teardown(() => source.close());
  const events: SourceEvent[] = [];
  let stale!: () => void;
  let recovered!: () => void;
  const staleSeen = new Promise<void>((resolve) => {
    stale = resolve;
  });
  const recoveredSeen = new Promise<void>((resolve) => {
    recovered = resolve;
  });
  const watch = source.watch(
    { fqdn: 'web.prod.svc.cluster.local.', name: interpretClusterName('web.prod.svc.cluster.local.', ZONE), port: 80 },
    (event) => {
      events.push(event);
      if (event.type === 'stale') stale();
      if (event.type === 'update' && event.update.type === 'reset' && event.update.endpoints.length === 1) recovered();
    },
  );
  t.teardown(() => watch.close());
  await staleSeen;
  const first = events.find((e) => e.type === 'stale');
  t.is(first?.type === 'stale' ? first.error.code : undefined, 'CLUSTERIP_ERR_DNS_UNAVAILABLE');
  bad.reply = 'forward';
  await recoveredSeen;
  t.pass();
});
