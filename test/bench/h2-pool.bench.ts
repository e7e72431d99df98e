// Benchmark: the mesh's HTTP/2 endpoint client (H2Client in an undici Pool, what every h2c or ALPN-h2
// endpoint pool holds) against undici 7's own HTTP/2 client in a Pool, on the same h2c pod (a child
// process), interleaved round by round. Closed loop: `CONCURRENCY` requests outstanding, GETs, then POSTs
// with a small body (undici 7 sends a POST on a connection only when nothing else runs there, so it opens
// connections instead of multiplexing). Figures per path: requests/s and client CPU µs per request,
// medians over rounds; ratios H2Client ÷ undici as the median of per-round ratios.
// Run: `node --conditions=clusterip-internal --expose-gc build/test/bench/h2-pool.bench.js [--quick]`.

import { fileURLToPath } from 'node:url';
import { H2Client } from '@clusterip/sdk/internal/pool/h2-client.js';
import { Client, type Dispatcher, Pool, request } from 'undici';
import { median } from './bench-stats.js';
import { collectGarbage, ratio, startChild } from './bench-util.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 4 : 12;
const REQUESTS = QUICK ? 4_000 : 10_000;
const CONCURRENCY = 32;
const STREAMS = 100;

type Method = 'GET' | 'POST';
interface Sample {
  readonly reqPerSec: number;
  readonly cpuUsPerReq: number;
}

const paths: Record<string, (origin: string) => Dispatcher> = {
  'undici 7 h2 (Pool, useH2c)': (origin) =>
    new Pool(origin, { pipelining: STREAMS, connect: { useH2c: true } as never, keepAliveTimeout: 4000 }),
  'H2Client (Pool factory)': (origin) =>
    new Pool(origin, {
      keepAliveTimeout: 4000,
      factory: (o, options) =>
        new H2Client(o, {
          connect: (options as { connect: never }).connect,
          maxConcurrentStreams: STREAMS,
          keepAliveTimeoutMs: 4000,
          headersTimeoutMs: 300_000,
          bodyTimeoutMs: 300_000,
          http1: (connect) => new Client(o, { connect }),
        }),
    }),
};

async function load(dispatcher: Dispatcher, origin: string, method: Method, count: number): Promise<Sample> {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        const res = await request(origin, {
          dispatcher,
          method,
          ...(method === 'POST' ? { body: 'order=42' } : {}),
        });
        await res.body.text();
      } catch {
        failed++;
      }
    }
  };
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  if (failed > 0) throw new Error(`${failed} of ${count} requests failed`);
  return { reqPerSec: (count / ms) * 1000, cpuUsPerReq: (used.user + used.system) / count };
}

async function main(): Promise<void> {
  const script = fileURLToPath(new URL('./bench-h2-pod.js', import.meta.url));
  const pod = await startChild<{ port: number }>(script, ['127.0.0.1']);
  const origin = `http://127.0.0.1:${pod.first.port}`;
  const results = new Map<string, Sample[]>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const method of ['GET', 'POST'] as const) {
        const names = Object.keys(paths);
        if (round % 2 === 1) names.reverse();
        for (const name of names) {
          const dispatcher = paths[name]!(origin);
          await load(dispatcher, origin, method, 500); // warm-up: connections open, code is hot
          collectGarbage();
          const sample = await load(dispatcher, origin, method, REQUESTS);
          await dispatcher.close();
          const key = `${name} ${method}`;
          results.set(key, [...(results.get(key) ?? []), sample]);
        }
      }
    }
  } finally {
    await pod.stop();
  }
  console.log(
    `h2-pool: ${ROUNDS} rounds × ${REQUESTS} requests, ${CONCURRENCY} outstanding, one h2c pod (node ${process.version})`,
  );
  console.log('| path | method | req/s | client CPU µs/req |');
  console.log('| --- | --- | ---: | ---: |');
  const med = (key: string, f: (s: Sample) => number) => median((results.get(key) ?? []).map(f));
  for (const method of ['GET', 'POST'] as const) {
    for (const name of Object.keys(paths)) {
      const key = `${name} ${method}`;
      console.log(
        `| ${name} | ${method} | ${med(key, (s) => s.reqPerSec).toFixed(0)} | ${med(key, (s) => s.cpuUsPerReq).toFixed(1)} |`,
      );
    }
  }
  const [undici, ours] = Object.keys(paths);
  for (const method of ['GET', 'POST'] as const) {
    const perRound = (f: (s: Sample) => number, invert: boolean) =>
      median(
        (results.get(`${ours} ${method}`) ?? []).map((s, i) => {
          const base = f(results.get(`${undici} ${method}`)![i]!);
          return invert ? base / f(s) : f(s) / base;
        }),
      );
    console.log(
      `${method}: throughput H2Client ÷ undici ${perRound((s) => s.reqPerSec, false).toFixed(3)} (median of per-round ratios; ` +
        `of the medians ${ratio(
          med(`${ours} ${method}`, (s) => s.reqPerSec),
          med(`${undici} ${method}`, (s) => s.reqPerSec),
          3,
        )}), ` +
        `client CPU per request undici ÷ H2Client ${perRound((s) => s.cpuUsPerReq, true).toFixed(3)}`,
    );
  }
}

await main();
