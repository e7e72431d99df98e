// Benchmark: cost of Balancer.pick() per policy at 3 / 100 / 1000 endpoints, with and without ClientIP
// affinity, the cost of update() and eligibleEndpoints() at 1000 endpoints, and minor GCs per pick loop
// (a proxy for allocation). Every figure is reported next to a baseline measured in the same rounds:
// `arr[Math.floor(Math.random() * n)]`. Run: `node build/test/bench/sdk-picker.bench.js [--quick]`.

import { PerformanceObserver } from 'node:perf_hooks';
import type { Endpoint } from '@clusterip/resolver';
import {
  type BalancerOptions,
  type BalancerPolicy,
  createBalancer,
  eligibleEndpoints,
  type PickResult,
} from '@clusterip/sdk';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 3 : 7;
const PICKS = QUICK ? 50_000 : 300_000;
/** Picks per allocation probe: at 16 bytes per pick this many would force several young-generation GCs. */
const GC_PICKS = QUICK ? 500_000 : 2_000_000;
const SIZES = [3, 100, 1000] as const;
const POLICIES: readonly BalancerPolicy[] = ['random', 'round-robin', 'least-request', 'peak-ewma', 'ring-hash'];
const SUCCESS = { type: 'success' } as const;

function endpoints(n: number, tag = 0): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({
    address: `10.${tag}.${i >> 8}.${i & 255}`,
    port: 8080,
    protocol: 'TCP' as const,
    addressType: 'IPv4' as const,
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: `node-${i % 7}`,
    zone: `zone-${i % 3}`,
  }));
}

let sink = 0;

/** ns per op of one run of `body(count)` (which runs `count` ops). */
function time(count: number, body: (count: number) => void): number {
  const t0 = process.hrtime.bigint();
  body(count);
  return Number(process.hrtime.bigint() - t0) / count;
}

/** ns per op: median of ROUNDS runs. */
function measure(count: number, body: (count: number) => void): number[] {
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) samples.push(time(count, body));
  return samples;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Measure `subject` and the baseline interleaved round by round, so both see the same machine noise. */
function sideBySide(count: number, baseline: (c: number) => void, subject: (c: number) => void) {
  baseline(count);
  subject(count); // warm-up (JIT)
  const b: number[] = [];
  const s: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    b.push(time(count, baseline));
    s.push(time(count, subject));
  }
  const bm = median(b);
  const sm = median(s);
  return { baseline: bm, subject: sm, ratio: sm / bm };
}

function baselineFor(n: number) {
  const arr = endpoints(n);
  return (count: number) => {
    for (let i = 0; i < count; i++) {
      const e = arr[Math.floor(Math.random() * n)]!;
      sink = (sink + e.port) & 0xffff;
    }
  };
}

let gcCount = 0;
const gcObserver = new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
});
gcObserver.observe({ entryTypes: ['gc'] });

async function minorGcsDuring(body: () => void): Promise<number> {
  await new Promise((r) => setImmediate(r));
  const before = gcCount;
  body();
  await new Promise((r) => setImmediate(r));
  return gcCount - before;
}

interface Row {
  policy: string;
  n: number;
  affinity: string;
  baseline: number;
  pick: number;
  ratio: number;
  pickDone: number;
  gcs: number | string;
}

let baselineGcs = 0;

async function pickRows(): Promise<Row[]> {
  const rows: Row[] = [];
  const base = baselineFor(100);
  base(PICKS);
  baselineGcs = await minorGcsDuring(() => base(GC_PICKS));
  const keys = Array.from({ length: 1000 }, (_, i) => ({ affinityKey: `client-${i}` }));
  for (const policy of POLICIES) {
    for (const n of SIZES) {
      for (const affinity of ['none', 'ClientIP (process key)', 'ClientIP (1000 caller keys)'] as const) {
        if (policy === 'ring-hash' && affinity !== 'none') continue;
        const options: BalancerOptions = {
          policy,
          ...(affinity === 'none' ? {} : { sessionAffinity: { type: 'ClientIP' } }),
        };
        const b = createBalancer(options);
        b.update(endpoints(n));
        const ctxs = policy === 'ring-hash' || affinity === 'ClientIP (1000 caller keys)' ? keys : undefined;
        const pickOnly = (count: number) => {
          for (let i = 0; i < count; i++) {
            const r: PickResult = b.pick(ctxs === undefined ? undefined : ctxs[i % 1000]);
            if (r.type === 'pick') sink = (sink + r.endpoint.port) & 0xffff;
          }
        };
        const pickDone = (count: number) => {
          for (let i = 0; i < count; i++) {
            const r = b.pick(ctxs === undefined ? undefined : ctxs[i % 1000]);
            if (r.type === 'pick') r.done(SUCCESS);
          }
        };
        const base = baselineFor(n);
        // least-request / peak-ewma need done() to keep in-flight counts meaningful: measure both with done.
        const needsDone = policy === 'least-request' || policy === 'peak-ewma';
        const main = sideBySide(PICKS, base, needsDone ? pickDone : pickOnly);
        const withDone = needsDone ? main.subject : median(measure(PICKS, pickDone));
        const gcs = await minorGcsDuring(() => (needsDone ? pickDone : pickOnly)(GC_PICKS));
        rows.push({
          policy,
          n,
          affinity,
          baseline: main.baseline,
          pick: main.subject,
          ratio: main.ratio,
          pickDone: withDone,
          gcs: needsDone ? `${gcs} (pick+done)` : gcs,
        });
        await b.close();
      }
    }
  }
  return rows;
}

function updateRows() {
  const out: Array<{ what: string; baseline: number; us: number; ratio: number }> = [];
  const a = endpoints(1000);
  const copy = a.map((e) => ({ ...e }));
  const churned = [...a.slice(10), ...endpoints(10, 9)];
  const service = {
    name: 'web',
    namespace: 'shop',
    internalTrafficPolicy: 'Cluster' as const,
    publishNotReadyAddresses: false,
  };
  // Baseline for set-sized work: copying 1000 endpoints into a Map keyed by address:port.
  const baseline = (count: number) => {
    for (let c = 0; c < count; c++) {
      const m = new Map<string, Endpoint>();
      for (const e of (c & 1) === 0 ? a : copy) m.set(`${e.address}:${e.port}`, e);
      sink = (sink + m.size) & 0xffff;
    }
  };
  for (const policy of ['random', 'ring-hash'] as const) {
    const b = createBalancer({ policy, sessionAffinity: { type: 'ClientIP' } });
    b.update(a);
    const same = (count: number) => {
      for (let c = 0; c < count; c++) b.update((c & 1) === 0 ? copy : a);
    };
    const churn = (count: number) => {
      for (let c = 0; c < count; c++) b.update((c & 1) === 0 ? churned : a);
    };
    const rounds = QUICK ? 50 : 200;
    const s1 = sideBySide(rounds, baseline, same);
    out.push({
      what: `update(1000), same members (${policy})`,
      baseline: s1.baseline / 1000,
      us: s1.subject / 1000,
      ratio: s1.ratio,
    });
    const s2 = sideBySide(rounds, baseline, churn);
    out.push({
      what: `update(1000), 10 replaced (${policy})`,
      baseline: s2.baseline / 1000,
      us: s2.subject / 1000,
      ratio: s2.ratio,
    });
    void b.close();
  }
  const elig = (count: number) => {
    for (let c = 0; c < count; c++)
      sink = (sink + eligibleEndpoints(a, service, { nodeName: 'node-1', zone: 'zone-1' }).endpoints.length) & 0xffff;
  };
  const s3 = sideBySide(QUICK ? 50 : 200, baseline, elig);
  out.push({ what: 'eligibleEndpoints(1000)', baseline: s3.baseline / 1000, us: s3.subject / 1000, ratio: s3.ratio });
  return out;
}

async function main() {
  console.log(
    `node ${process.version}, ${ROUNDS} rounds of ${PICKS} picks, median ns/op; baseline = arr[Math.floor(Math.random()*n)]`,
  );
  const rows = await pickRows();
  console.log(`GCs during ${GC_PICKS} picks (allocation probe); the baseline loop had ${baselineGcs}\n`);
  console.log('| policy | endpoints | affinity | baseline ns | pick ns | ratio | pick+done ns | GCs / probe |');
  console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.policy} | ${r.n} | ${r.affinity} | ${r.baseline.toFixed(1)} | ${r.pick.toFixed(1)} | ${r.ratio.toFixed(1)}× | ${r.pickDone.toFixed(1)} | ${r.gcs} |`,
    );
  }
  console.log('\n| operation | baseline µs (Map of 1000) | µs | ratio |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of updateRows()) {
    console.log(`| ${r.what} | ${r.baseline.toFixed(1)} | ${r.us.toFixed(1)} | ${r.ratio.toFixed(1)}× |`);
  }
  gcObserver.disconnect();
  if (sink === 42) console.log('');
}

await main();
