// Benchmark: the in-process cost of routing one HTTP request — the Mesh dispatcher (routing interceptor,
// RoutedCall, balancer pick and outcome) against undici's BalancedPool — over endpoint pools that answer
// at once, so only the layers above the connection are timed. The baseline is one such pool used
// directly. Two entry points: `dispatch()` with a legacy handler (the layer every undici API ends in),
// and `undici.request()` with its body read (what an application calls). Every path runs in the same
// process, interleaved round by round; figures are ns per request, medians over rounds.
// Run: `node --conditions=clusterip-internal build/test/bench/sdk-dispatch.bench.js [--quick] [--profile]`.
//
// The answering pool (answering-pool.ts) builds undici's `Request` as its Client does and answers from
// memory: the socket costs of the network benchmark (compare-http) come on top, the same for every path.

import { mkdirSync, writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import type { MeshOptions } from '@clusterip/sdk';
import { BalancedPool, type Dispatcher, request } from 'undici';
import { AnsweringPool } from './answering-pool.js';
import { median, quantile } from './bench-stats.js';
import { benchMesh } from './bench-util.js';
import { startProfiler, summariseProfile } from './cpu-profile.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 12 : 40;
const DISPATCHES = QUICK ? 5_000 : 10_000;
const REQUESTS = QUICK ? 2_000 : 4_000;

/** The legacy handler undici's own `request()` would pass (its RequestHandler), counting completions. */
class CountingHandler {
  static completed = 0;
  static failed = 0;
  onConnect(): void {}
  onHeaders(): boolean {
    return true;
  }
  onData(): boolean {
    return true;
  }
  onComplete(): void {
    CountingHandler.completed++;
  }
  onError(): void {
    CountingHandler.failed++;
  }
}

interface PathUnderTest {
  readonly name: string;
  readonly url: string;
  readonly origin: string;
  readonly dispatcher: Dispatcher;
  readonly pools: AnsweringPool[];
  close(): Promise<void>;
}

const ORIGINS = ['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080'];

function direct(): PathUnderTest {
  const pool = new AnsweringPool(ORIGINS[0]!);
  return {
    name: 'one answering pool (baseline)',
    url: `${ORIGINS[0]}/`,
    origin: ORIGINS[0]!,
    dispatcher: pool,
    pools: [pool],
    close: () => pool.close(),
  };
}

function balanced(): PathUnderTest {
  const pools: AnsweringPool[] = [];
  const dispatcher = new BalancedPool(ORIGINS, {
    factory: (origin: string | URL) => {
      const p = new AnsweringPool(String(origin));
      pools.push(p);
      return p as unknown as Dispatcher;
    },
  } as ConstructorParameters<typeof BalancedPool>[1]);
  return {
    name: 'undici BalancedPool → 3',
    url: `${ORIGINS[0]}/`,
    origin: ORIGINS[0]!,
    dispatcher,
    pools,
    close: () => dispatcher.close(),
  };
}

function mesh(name: string, options: Partial<MeshOptions> = {}): PathUnderTest {
  const pools: AnsweringPool[] = [];
  const { mesh: m, close } = benchMesh(
    ORIGINS.map((o) => ({ address: new URL(o).hostname, port: 8080 })),
    {
      ...options,
      pool: {
        factory: (origin: string) => {
          const p = new AnsweringPool(origin);
          pools.push(p);
          return p;
        },
      },
    },
  );
  return {
    name,
    url: 'http://backend/',
    origin: 'http://backend',
    dispatcher: m.dispatcher,
    pools,
    close,
  };
}

/** ns per request of `count` synchronous dispatches, as undici's `request()` calls them (a fresh spread). */
function timeDispatch(p: PathUnderTest, count: number): number {
  const user = { dispatcher: p.dispatcher };
  const handler = new CountingHandler();
  const before = CountingHandler.completed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    p.dispatcher.dispatch({ ...user, origin: p.origin, path: '/', method: 'GET' }, handler as never);
  }
  const ns = Number(process.hrtime.bigint() - t0) / count;
  if (CountingHandler.completed - before !== count) {
    throw new Error(`${p.name}: ${CountingHandler.completed - before} of ${count} dispatches completed`);
  }
  return ns;
}

/** ns per request of `count` sequential `undici.request()` calls, each body read to its end. */
async function timeRequest(p: PathUnderTest, count: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const res = await request(p.url, { dispatcher: p.dispatcher });
    if (res.statusCode !== 200) throw new Error(`${p.name}: status ${res.statusCode}`);
    await res.body.dump();
  }
  return Number(process.hrtime.bigint() - t0) / count;
}

let gcCount = 0;
const gcObserver = new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
});

async function main(): Promise<void> {
  const paths = [
    direct(),
    balanced(),
    mesh('Mesh → 3 (defaults: random, retries, outlier detection)'),
    mesh('Mesh → 3, round-robin', { policy: 'round-robin' }),
    // The opossum breaker around each request (admission, promise, verdict): what `circuitBreaker` costs.
    mesh('Mesh → 3, circuitBreaker: true', { circuitBreaker: true }),
  ];
  // Warm-up: the Mesh's first request waits for the Service; every path runs its code hot.
  for (const p of paths) {
    await timeRequest(p, 2_000);
    timeDispatch(p, 5_000);
  }
  if (process.argv.includes('--profile')) {
    await profile(paths);
  } else {
    await measure(paths);
  }
  for (const p of paths) await p.close();
  gcObserver.disconnect();
}

async function measure(paths: readonly PathUnderTest[]): Promise<void> {
  const dispatchNs = new Map<PathUnderTest, number[]>(paths.map((p) => [p, []]));
  const requestNs = new Map<PathUnderTest, number[]>(paths.map((p) => [p, []]));
  const gcs = new Map<PathUnderTest, number>(paths.map((p) => [p, 0]));
  gcObserver.observe({ entryTypes: ['gc'] });
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < paths.length; i++) {
      const p = paths[(i + round) % paths.length]!;
      const before = gcCount;
      dispatchNs.get(p)!.push(timeDispatch(p, DISPATCHES));
      await new Promise((r) => setImmediate(r));
      gcs.set(p, gcs.get(p)! + gcCount - before);
    }
    for (let i = 0; i < paths.length; i++) {
      const p = paths[(i + round) % paths.length]!;
      requestNs.get(p)!.push(await timeRequest(p, REQUESTS));
    }
  }
  const base = paths[0]!;
  const bal = paths[1]!;
  console.log(
    `node ${process.version}; ${ROUNDS} rounds, each timing every path in turn (order rotated): ${DISPATCHES} dispatch() calls, then ${REQUESTS} request() calls; ns per request as medians over rounds, ratios as medians of the per-round ratios [quartiles]`,
  );
  console.log('');
  console.log(
    '| path | dispatch() ns/req | ÷ BalancedPool | GCs per 100k dispatches | request() ns/req | − baseline | ÷ BalancedPool |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const p of paths) {
    const d = dispatchNs.get(p)!;
    const r = requestNs.get(p)!;
    const gcPer100k = (gcs.get(p)! / (ROUNDS * DISPATCHES)) * 100_000;
    console.log(
      `| ${p.name} | ${median(d).toFixed(0)} | ${ratio(d, dispatchNs.get(bal)!)} | ${gcPer100k.toFixed(1)} | ${median(r).toFixed(0)} | ${(median(r) - median(requestNs.get(base)!)).toFixed(0)} | ${ratio(r, requestNs.get(bal)!)} |`,
    );
  }
  // Every pool of a 3-endpoint path got its share: the balancing itself is part of what is timed.
  for (const p of paths.slice(1)) {
    const counts = p.pools.map((x) => x.requests);
    const total = counts.reduce((a, b) => a + b, 0);
    const shares = counts.map((c) => Math.round((c / total) * 100)).join('/');
    console.log(`- ${p.name}: requests per pool ${shares} %`);
  }
}

/** Median of the per-round ratios `xs[i] / ys[i]`, with quartiles. */
function ratio(xs: readonly number[], ys: readonly number[]): string {
  const r = xs.map((x, i) => x / ys[i]!);
  const [q1, q3] = [quantile(r, 0.25), quantile(r, 0.75)];
  return `${median(r).toFixed(2)}× [${q1.toFixed(2)}–${q3.toFixed(2)}]`;
}

/** `--profile`: self time per function of the Mesh's and BalancedPool's dispatch loops. */
async function profile(paths: readonly PathUnderTest[]): Promise<void> {
  for (const p of [paths[2]!, paths[1]!]) {
    const session = await startProfiler(50);
    const viaRequest = process.argv.includes('--request');
    const count = (viaRequest ? REQUESTS : DISPATCHES) * ROUNDS;
    if (viaRequest) await timeRequest(p, count);
    else timeDispatch(p, count);
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    mkdirSync('.clusterip', { recursive: true });
    const file = `.clusterip/sdk-dispatch-${p === paths[1] ? 'balanced' : 'mesh'}.cpuprofile`;
    writeFileSync(file, JSON.stringify(profile));
    const report = summariseProfile(profile as never, count, 20);
    console.log(`\n${p.name}: ${(report.totalUsPerRequest * 1000).toFixed(0)} ns/req sampled (${file})\n`);
    console.log('| function | where | self ns/req | % |');
    console.log('| --- | --- | ---: | ---: |');
    for (const r of report.top) {
      console.log(`| ${r.name} | ${r.where} | ${(r.usPerRequest * 1000).toFixed(0)} | ${r.percent.toFixed(1)} |`);
    }
  }
}

await main();
