// Benchmark: requests/s and p50/p99 latency of the same undici client load through four paths to 3
// backend "pods": a plain undici Pool to one pod, undici BalancedPool over the 3 pods, the Mesh over the
// 3 pods, and an HAProxy sidecar (round robin) in front of them. Rounds are interleaved and reported as
// ratios against BalancedPool measured side by side.
// Two load levels: closed loop (CONCURRENCY requests always outstanding: throughput, client-bound on a
// small machine) and open loop at a fixed rate (the same request rate on every path, so p50/p99 compare
// the latency each path adds under equal load).
// Run: `node --conditions=clusterip-internal build/test/bench/sdk-http.bench.js [--quick] [--only=<name part>[,<name part>...]]
// [--rate=<req/s>]` (`--rate=0` skips the fixed-rate level; default: half of the slowest path's closed-loop rate).

import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticSource } from '@clusterip/resolver/testing';
import { Mesh } from '@clusterip/sdk';
import { BalancedPool, type Dispatcher, Pool, request } from 'undici';

const QUICK = process.argv.includes('--quick');
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const POLICY = (process.argv.find((a) => a.startsWith('--policy='))?.slice('--policy='.length) ??
  'round-robin') as 'round-robin';
const VERBOSE = process.argv.includes('--verbose');
const RATE_ARG = process.argv.find((a) => a.startsWith('--rate='))?.slice('--rate='.length);
const ROUNDS = QUICK ? 2 : 5;
const DURATION_MS = QUICK ? 1000 : 3000;
const CONCURRENCY = 32;
const CONNECTIONS = 32;
const BASELINE = 'undici BalancedPool → 3 pods';
const MESH = 'Mesh → 3 pods';
const HAPROXY = 'HAProxy sidecar (rr) → 3 pods';
const PODS = ['127.0.81.11', '127.0.81.12', '127.0.81.13'];

// ── backend process: `--backend <host>` serves `ok from <host>` with keep-alive ─────────────────────
if (process.argv[2] === '--backend') {
  const host = process.argv[3]!;
  const body = `ok from ${host}`;
  const server = createServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, host, () => {
    const address = server.address() as { port: number };
    process.send?.({ port: address.port });
  });
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

interface Target {
  readonly name: string;
  readonly url: string;
  readonly dispatcher: Dispatcher;
}

interface Sample {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  /** CPU time of this (client) process per completed request, user + system, in µs. */
  readonly cpuUs: number;
  /** Open loop only: requests issued more than 10 ms behind the schedule (the client could not keep up). */
  readonly late?: number;
}

async function startBackend(host: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(process.argv[1]!, ['--backend', host], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`backend ${host} exited with ${code}`)));
  });
  return { child, port };
}

function haproxyAvailable(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function waitForPort(host: string, port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on ${host}:${port}`);
}

async function startHaproxy(
  backends: { host: string; port: number }[],
): Promise<{ child: ChildProcess; url: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'clusterip-bench-haproxy-'));
  const port = 18_000 + Math.floor(Math.random() * 2000);
  const cfg = [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  option http-keep-alive',
    '  http-reuse always',
    'frontend fe',
    `  bind 127.0.81.1:${port}`,
    '  default_backend be',
    'backend be',
    '  balance roundrobin',
    ...backends.map((b, i) => `  server s${i} ${b.host}:${b.port}`),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'haproxy.cfg'), cfg);
  const child = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort('127.0.81.1', port);
  return { child, url: `http://127.0.81.1:${port}`, dir };
}

/** Closed-loop load: CONCURRENCY workers for DURATION_MS; latency per request in ms. */
async function run(target: Target): Promise<Sample> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + DURATION_MS;
  const worker = async () => {
    while (performance.now() < end) {
      const start = performance.now();
      try {
        const res = await request(target.url, { dispatcher: target.dispatcher });
        await res.body.dump();
        latencies.push(performance.now() - start);
      } catch {
        errors++;
      }
    }
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = performance.now() - t0;
  return summarise(latencies, elapsed, errors, process.cpuUsage(cpu0));
}

/**
 * Open-loop load at a fixed rate: every millisecond tick issues the requests due by then, whatever is
 * still outstanding. Latency is measured from each request's issue time; `late` counts requests that
 * could not be issued on time (the client fell behind the rate).
 */
async function runAtRate(target: Target, rate: number): Promise<Sample> {
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  let late = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const total = Math.floor((rate * DURATION_MS) / 1000);
  const pending: Promise<void>[] = [];
  const one = async () => {
    const start = performance.now();
    try {
      const res = await request(target.url, { dispatcher: target.dispatcher });
      await res.body.dump();
      latencies.push(performance.now() - start);
    } catch {
      errors++;
    }
  };
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    if (due - issued > rate / 100) late += due - issued - 1; // more than 10 ms behind the schedule
    while (issued < due) {
      issued++;
      pending.push(one());
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  return { ...summarise(latencies, performance.now() - t0, errors, process.cpuUsage(cpu0)), late };
}

function summarise(latencies: number[], elapsedMs: number, errors: number, cpu: NodeJS.CpuUsage): Sample {
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  const n = Math.max(1, latencies.length);
  return {
    rps: (latencies.length / elapsedMs) * 1000,
    p50: at(0.5),
    p99: at(0.99),
    errors,
    cpuUs: (cpu.user + cpu.system) / n,
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const backends = await Promise.all(PODS.map(async (host) => ({ host, ...(await startBackend(host)) })));
  const children: ChildProcess[] = backends.map((b) => b.child);
  const urls = backends.map((b) => `http://${b.host}:${b.port}`);
  const source = new StaticSource([
    {
      namespace: 'bench',
      name: 'backend',
      ports: [{ name: 'http', port: 80 }],
      endpoints: backends.map((b) => ({ address: b.host, ports: { http: b.port } })),
    },
  ]);
  // Same pool shape on every path: CONNECTIONS keep-alive connections per origin (per pod for
  // BalancedPool and the Mesh, to the proxy for HAProxy), pipelining 1, undici's 4 s keep-alive.
  const mesh = new Mesh({
    source,
    context: { namespace: 'bench', resolvConf: '', env: {} },
    pool: { connections: CONNECTIONS, pipelining: 1, keepAliveTimeoutMs: 4000 },
    policy: POLICY,
  });
  const poolOptions = { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 4000 };
  let targets: Target[] = [
    { name: 'undici Pool → 1 pod', url: `${urls[0]}/`, dispatcher: new Pool(urls[0]!, poolOptions) },
    { name: BASELINE, url: `${urls[0]}/`, dispatcher: new BalancedPool(urls, poolOptions) },
    { name: MESH, url: 'http://backend/', dispatcher: mesh.dispatcher },
  ];
  let haproxy: Awaited<ReturnType<typeof startHaproxy>> | undefined;
  if (haproxyAvailable()) {
    haproxy = await startHaproxy(backends);
    children.push(haproxy.child);
    targets.push({ name: HAPROXY, url: `${haproxy.url}/`, dispatcher: new Pool(haproxy.url, poolOptions) });
  } else {
    console.log('haproxy not installed (apt-get install -y haproxy): its row is skipped');
  }
  const all = targets;
  if (ONLY !== undefined) {
    const parts = ONLY.toLowerCase().split(',');
    targets = targets.filter((t) => parts.some((p) => t.name.toLowerCase().includes(p)));
  }

  // Warm-up: connections, JIT, discovery (one full-length run per path, discarded).
  for (const target of targets) await run(target);
  const closed = await rounds(targets, run);
  const baseline = closed.get(BASELINE);
  console.log(
    `node ${process.version}, ${ROUNDS} interleaved rounds of ${DURATION_MS} ms per path, ` +
      `${CONNECTIONS} connections per origin, pipelining 1; medians over rounds`,
  );
  console.log('');
  console.log(`Closed loop (${CONCURRENCY} requests outstanding); ratio = req/s ÷ BalancedPool req/s (same run)`);
  console.log('');
  table(targets, closed, baseline);
  const meshRps = medianOf(closed.get(MESH), 'rps');
  const baseRps = medianOf(baseline, 'rps');
  const haRps = medianOf(closed.get(HAPROXY), 'rps');
  console.log('');
  console.log(`Mesh / BalancedPool throughput: ${(meshRps / baseRps).toFixed(3)} (target ≥ 0.95)`);
  console.log(`Mesh / HAProxy throughput: ${(meshRps / haRps).toFixed(2)} (target ≥ 1.5)`);

  const slowest = Math.min(...targets.map((t) => medianOf(closed.get(t.name), 'rps')));
  const rate = RATE_ARG === undefined ? Math.round(slowest / 2 / 100) * 100 : Number(RATE_ARG);
  if (rate > 0) {
    const open = await rounds(targets, (t) => runAtRate(t, rate));
    console.log('');
    console.log(`Open loop at ${rate} req/s on every path (same load); latency from issue to end of body`);
    console.log('');
    table(targets, open, open.get(BASELINE));
  }

  await mesh.close();
  await source.close();
  await Promise.all(all.filter((t) => t.dispatcher !== mesh.dispatcher).map((t) => t.dispatcher.close()));
  for (const child of children) child.kill();
  if (haproxy !== undefined) rmSync(haproxy.dir, { recursive: true, force: true });
}

/** ROUNDS rounds over every target, the order rotated each round so no path always runs first or last. */
async function rounds(targets: Target[], measure: (t: Target) => Promise<Sample>): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(i + round) % targets.length]!;
      const sample = await measure(target);
      if (VERBOSE)
        console.log(`round ${round} ${target.name}: ${sample.rps.toFixed(0)} req/s, ${sample.cpuUs.toFixed(1)} µs/req`);
      samples.get(target.name)!.push(sample);
    }
  }
  return samples;
}

function medianOf(samples: Sample[] | undefined, field: 'rps' | 'p50' | 'p99' | 'cpuUs'): number {
  return samples === undefined ? Number.NaN : median(samples.map((s) => s[field]));
}

function table(targets: Target[], samples: Map<string, Sample[]>, baseline: Sample[] | undefined): void {
  const baseRps = medianOf(baseline, 'rps');
  const baseP50 = medianOf(baseline, 'p50');
  const baseP99 = medianOf(baseline, 'p99');
  console.log(
    '| path | req/s | ratio | p50 ms | p99 ms | p50 − BalancedPool | p99 − BalancedPool | client CPU µs/req | errors | late |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const target of targets) {
    const s = samples.get(target.name)!;
    const rps = medianOf(s, 'rps');
    const p50 = medianOf(s, 'p50');
    const p99 = medianOf(s, 'p99');
    const signed = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(2);
    console.log(
      `| ${target.name} | ${rps.toFixed(0)} | ${(rps / baseRps).toFixed(2)}× | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${signed(p50 - baseP50)} | ${signed(p99 - baseP99)} | ${medianOf(s, 'cpuUs').toFixed(1)} | ${s.reduce((n, x) => n + x.errors, 0)} | ${s.reduce((n, x) => n + (x.late ?? 0), 0)} |`,
    );
  }
}
