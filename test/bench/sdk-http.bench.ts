// Benchmark: requests/s, p50/p99/p999 latency and client CPU per request of the same undici client load
// through four paths to 3 backend "pods": a plain undici Pool to one pod, undici BalancedPool over the 3
// pods, the Mesh over the 3 pods, and an HAProxy sidecar (round robin) in front of them.
// Method: the parent starts the pods (and HAProxy) once, each in its own process; every (path, round)
// then runs in a fresh client process that builds only that path's dispatcher, warms it up and measures
// it, so no path's JIT state (shared undici call sites) leaks into another's. Rounds are interleaved with
// the order rotated, and every figure is reported as a median and a ratio against BalancedPool and the
// direct Pool measured side by side. Two load levels: closed loop (CONCURRENCY requests always
// outstanding: throughput, client-bound on a small machine) and open loop at a fixed rate (the same rate
// on every path, so latencies compare under equal load).
// Run: `node --conditions=clusterip-internal build/test/bench/sdk-http.bench.js [--quick]
// [--only=<name part>[,<name part>...]] [--rate=<req/s>] [--policy=<mesh policy>] [--verbose]
// [--warm-all] [--profile]` (`--rate=0` skips the fixed-rate level; default: half of the slowest path's
// closed-loop rate. `--warm-all`: each client also warms up every other path first, in its own process —
// the old single-process condition, for comparison. `--profile`: CPU-profile one Mesh-only client and
// one BalancedPool-only client and list the top self-time functions instead of the rounds.)

import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticSource } from '@clusterip/resolver/testing';
import { Mesh } from '@clusterip/sdk';
import { BalancedPool, type Dispatcher, Pool, request } from 'undici';
import { summariseProfile } from './cpu-profile.js';

const QUICK = process.argv.includes('--quick');
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const POLICY = (process.argv.find((a) => a.startsWith('--policy='))?.slice('--policy='.length) ??
  'round-robin') as 'round-robin';
const VERBOSE = process.argv.includes('--verbose');
const WARM_ALL = process.argv.includes('--warm-all');
const PROFILE = process.argv.includes('--profile');
const RATE_ARG = process.argv.find((a) => a.startsWith('--rate='))?.slice('--rate='.length);
const ROUNDS = QUICK ? 2 : 5;
const DURATION_MS = QUICK ? 1000 : 3000;
const WARMUP_MS = QUICK ? 500 : 1500;
const CONCURRENCY = 32;
const CONNECTIONS = 32;
/** Bound on requests per measured run, whatever the duration (the loops are bounded in count and time). */
const MAX_REQUESTS = 1_000_000;
/** A client process that has not reported by then is killed and the run fails. */
const CHILD_TIMEOUT_MS = 10_000 + 4 * (WARMUP_MS + DURATION_MS) * (WARM_ALL ? 4 : 1);
const PODS = ['127.0.81.11', '127.0.81.12', '127.0.81.13'];
const HAPROXY_HOST = '127.0.81.1';

type PathId = 'pool' | 'balanced' | 'mesh' | 'haproxy';
const NAMES: Readonly<Record<PathId, string>> = {
  pool: 'undici Pool → 1 pod',
  balanced: 'undici BalancedPool → 3 pods',
  mesh: 'Mesh → 3 pods',
  haproxy: 'HAProxy sidecar (rr) → 3 pods',
};

/** What the parent tells a client process (JSON in argv). */
interface ClientJob {
  readonly path: PathId;
  readonly mode: 'closed' | 'open';
  readonly rate: number;
  readonly pods: readonly { host: string; port: number }[];
  readonly haproxyUrl: string | undefined;
  readonly warmAll: boolean;
  /** Write a CPU profile of the measured run (warm-up excluded) to this file. */
  readonly profileFile?: string;
}

interface Sample {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly errors: number;
  /** CPU time of the client process per completed request, user + system, in µs. */
  readonly cpuUs: number;
  /** Open loop only: requests issued more than 10 ms behind the schedule (the client could not keep up). */
  readonly late: number;
  /** Requests completed over the client's life (warm-up included): the divisor of a CPU profile. */
  readonly total: number;
}

const role = process.argv[2];
if (role === '--backend') backend(process.argv[3]!);
else if (role === '--client') await client(JSON.parse(process.argv[3]!) as ClientJob);
else await main();

// ── backend process: `--backend <host>` serves `ok from <host>` with keep-alive ─────────────────────

function backend(host: string): void {
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
}

// ── client process: one path, warm-up, one measured run, the sample sent over IPC ────────────────────

interface Target {
  readonly url: string;
  readonly dispatcher: Dispatcher;
  close(): Promise<void>;
}

function buildTarget(job: ClientJob, path: PathId): Target {
  const urls = job.pods.map((p) => `http://${p.host}:${p.port}`);
  // Same pool shape on every path: CONNECTIONS keep-alive connections per origin (per pod for
  // BalancedPool and the Mesh, to the proxy for HAProxy), pipelining 1, undici's 4 s keep-alive.
  const poolOptions = { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 4000 };
  const plain = (dispatcher: Dispatcher, url: string): Target => ({
    url,
    dispatcher,
    close: () => dispatcher.close(),
  });
  switch (path) {
    case 'pool':
      return plain(new Pool(urls[0]!, poolOptions), `${urls[0]}/`);
    case 'balanced':
      return plain(new BalancedPool(urls, poolOptions), `${urls[0]}/`);
    case 'haproxy':
      return plain(new Pool(job.haproxyUrl!, poolOptions), `${job.haproxyUrl}/`);
    case 'mesh': {
      const source = new StaticSource([
        {
          namespace: 'bench',
          name: 'backend',
          ports: [{ name: 'http', port: 80 }],
          endpoints: job.pods.map((p) => ({ address: p.host, ports: { http: p.port } })),
        },
      ]);
      const mesh = new Mesh({
        source,
        context: { namespace: 'bench', resolvConf: '', env: {} },
        pool: { connections: CONNECTIONS, pipelining: 1, keepAliveTimeoutMs: 4000 },
        policy: POLICY,
      });
      return {
        url: 'http://backend/',
        dispatcher: mesh.dispatcher,
        close: async () => {
          await mesh.close();
          await source.close();
        },
      };
    }
  }
}

async function client(job: ClientJob): Promise<void> {
  const paths: PathId[] = job.warmAll
    ? [...(['pool', 'balanced', 'mesh', 'haproxy'] as const).filter((p) => p !== job.path), job.path]
    : [job.path];
  let total = 0;
  let target: Target | undefined;
  for (const path of paths) {
    if (path === 'haproxy' && job.haproxyUrl === undefined) continue;
    const t = buildTarget(job, path);
    // Warm-up: connections, JIT, discovery (closed loop, discarded).
    total += (await closedLoop(t, WARMUP_MS)).total;
    if (path === job.path) target = t;
    else await t.close();
  }
  const session = job.profileFile === undefined ? undefined : await startProfiler();
  const sample = job.mode === 'closed' ? await closedLoop(target!, DURATION_MS) : await openLoop(target!, job.rate);
  if (session !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(job.profileFile!, JSON.stringify(profile));
    session.disconnect();
  }
  await target!.close();
  process.send!({ ...sample, total: total + sample.total }, () => process.exit(0));
}

/** V8's CPU profiler (what `node --cpu-prof` runs), started after the warm-up, sampling every 100 µs. */
async function startProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return session;
}

/** Closed-loop load: CONCURRENCY workers for `durationMs` (at most MAX_REQUESTS); latency per request in ms. */
async function closedLoop(target: Target, durationMs: number): Promise<Sample> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + durationMs;
  const worker = async () => {
    while (performance.now() < end && latencies.length + errors < MAX_REQUESTS) {
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
  return summarise(latencies, elapsed, errors, process.cpuUsage(cpu0), 0);
}

/**
 * Open-loop load at a fixed rate for DURATION_MS: every millisecond tick issues the requests due by then,
 * whatever is still outstanding. Latency is measured from each request's issue time; `late` counts
 * requests that could not be issued on time (the client fell behind the rate). Bounded in count (rate ×
 * duration) and time (the issuing stops at twice the duration).
 */
async function openLoop(target: Target, rate: number): Promise<Sample> {
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  let late = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const total = Math.min(MAX_REQUESTS, Math.floor((rate * DURATION_MS) / 1000));
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
  while (issued < total && performance.now() - t0 < 2 * DURATION_MS) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    if (due - issued > rate / 100) late += due - issued - 1; // more than 10 ms behind the schedule
    while (issued < due) {
      issued++;
      pending.push(one());
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  late += total - issued; // never issued before the time bound
  await Promise.all(pending);
  return summarise(latencies, performance.now() - t0, errors, process.cpuUsage(cpu0), late);
}

function summarise(latencies: number[], elapsedMs: number, errors: number, cpu: NodeJS.CpuUsage, late: number): Sample {
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  const n = Math.max(1, latencies.length);
  return {
    rps: (latencies.length / elapsedMs) * 1000,
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    errors,
    cpuUs: (cpu.user + cpu.system) / n,
    late,
    total: latencies.length,
  };
}

// ── parent: pods and HAProxy once, then one client process per (path, round) ─────────────────────────

async function startBackend(host: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(process.argv[1]!, ['--backend', host], {
    execArgv: ['--conditions=clusterip-internal'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`backend ${host} did not start within 10 s`)), 10_000).unref();
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve((m as { port: number }).port);
    });
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
  backends: readonly { host: string; port: number }[],
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
    `  bind ${HAPROXY_HOST}:${port}`,
    '  default_backend be',
    'backend be',
    '  balance roundrobin',
    ...backends.map((b, i) => `  server s${i} ${b.host}:${b.port}`),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'haproxy.cfg'), cfg);
  const child = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(HAPROXY_HOST, port);
  return { child, url: `http://${HAPROXY_HOST}:${port}`, dir };
}

/** Run one client process for `job` and return its sample. */
function runClient(job: ClientJob, execArgv: readonly string[] = []): Promise<Sample> {
  return new Promise<Sample>((resolve, reject) => {
    const child = fork(process.argv[1]!, ['--client', JSON.stringify(job)], {
      execArgv: ['--conditions=clusterip-internal', ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let sample: Sample | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS).unref();
    child.once('message', (m) => {
      sample = m as Sample;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (sample !== undefined) resolve(sample);
      else reject(new Error(`client ${job.path}/${job.mode} ended without a sample (code ${code}, signal ${signal})`));
    });
  });
}

async function main(): Promise<void> {
  const started = await Promise.all(PODS.map(async (host) => ({ host, ...(await startBackend(host)) })));
  const children: ChildProcess[] = started.map((b) => b.child);
  const pods = started.map((b) => ({ host: b.host, port: b.port }));
  let haproxy: Awaited<ReturnType<typeof startHaproxy>> | undefined;
  try {
    let paths: PathId[] = ['pool', 'balanced', 'mesh'];
    if (haproxyAvailable()) {
      haproxy = await startHaproxy(pods);
      children.push(haproxy.child);
      paths.push('haproxy');
    } else {
      console.log('haproxy not installed (apt-get install -y haproxy): its row is skipped');
    }
    if (ONLY !== undefined) {
      const parts = ONLY.toLowerCase().split(',');
      paths = paths.filter((p) => parts.some((part) => NAMES[p].toLowerCase().includes(part)));
    }
    const job = (path: PathId, mode: 'closed' | 'open', rate = 0): ClientJob => ({
      path,
      mode,
      rate,
      pods,
      haproxyUrl: haproxy?.url,
      warmAll: WARM_ALL,
    });
    if (PROFILE) await profile(job);
    else await measure(paths, job);
  } finally {
    for (const child of children) child.kill();
    if (haproxy !== undefined) rmSync(haproxy.dir, { recursive: true, force: true });
  }
}

async function measure(
  paths: readonly PathId[],
  job: (path: PathId, mode: 'closed' | 'open', rate?: number) => ClientJob,
): Promise<void> {
  console.log(
    `node ${process.version}, one fresh client process per path and round (${WARMUP_MS} ms warm-up${WARM_ALL ? ' of every path' : ''} ` +
      `+ ${DURATION_MS} ms measured), ${ROUNDS} interleaved rounds, order rotated; ${CONNECTIONS} connections ` +
      `per origin, pipelining 1, 4 s keep-alive; medians over rounds; load average ${loadAverage()}`,
  );
  const closed = await rounds(paths, (p) => job(p, 'closed'));
  console.log('');
  console.log(`Closed loop (${CONCURRENCY} requests outstanding)`);
  console.log('');
  table(paths, closed);
  const rps = (p: PathId) => medianOf(closed.get(p), 'rps');
  console.log('');
  console.log(
    `Mesh / BalancedPool throughput: ${(rps('mesh') / rps('balanced')).toFixed(3)} (target ≥ 0.95); ` +
      `median of the per-round ratios ${perRound(closed, 'mesh', 'balanced').toFixed(3)}`,
  );
  if (paths.includes('haproxy')) {
    console.log(
      `Mesh / HAProxy throughput: ${(rps('mesh') / rps('haproxy')).toFixed(2)} (target ≥ 1.5); ` +
        `median of the per-round ratios ${perRound(closed, 'mesh', 'haproxy').toFixed(2)}`,
    );
  }

  const slowest = Math.min(...paths.map(rps));
  const rate = RATE_ARG === undefined ? Math.round(slowest / 2 / 100) * 100 : Number(RATE_ARG);
  if (rate > 0) {
    const open = await rounds(paths, (p) => job(p, 'open', rate));
    console.log('');
    console.log(`Open loop at ${rate} req/s on every path (same load); latency from issue to end of body`);
    console.log('');
    table(paths, open);
    const p99 = (p: PathId) => medianOf(open.get(p), 'p99');
    const p50 = (p: PathId) => medianOf(open.get(p), 'p50');
    console.log('');
    console.log(
      `Mesh − BalancedPool: p50 ${signed(p50('mesh') - p50('balanced'))} ms, p99 ${signed(p99('mesh') - p99('balanced'))} ms (target p99 < +0.2 ms)`,
    );
  }
  console.log('');
  console.log(`load average at the end: ${loadAverage()}`);
}

/** ROUNDS rounds over every path, each a fresh process, the order rotated each round. */
async function rounds(paths: readonly PathId[], job: (p: PathId) => ClientJob): Promise<Map<PathId, Sample[]>> {
  const samples = new Map<PathId, Sample[]>(paths.map((p) => [p, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < paths.length; i++) {
      const path = paths[(i + round) % paths.length]!;
      const sample = await runClient(job(path));
      if (VERBOSE) {
        console.log(
          `round ${round} ${NAMES[path]}: ${sample.rps.toFixed(0)} req/s, p99 ${sample.p99.toFixed(2)} ms, ${sample.cpuUs.toFixed(1)} µs/req`,
        );
      }
      samples.get(path)!.push(sample);
    }
  }
  return samples;
}

type Field = 'rps' | 'p50' | 'p99' | 'p999' | 'cpuUs';

function medianOf(samples: Sample[] | undefined, field: Field): number {
  if (samples === undefined || samples.length === 0) return Number.NaN;
  return median(samples.map((x) => x[field]));
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median over rounds of `a`'s req/s ÷ `b`'s req/s in the same round. */
function perRound(samples: Map<PathId, Sample[]>, a: PathId, b: PathId): number {
  const xs = samples.get(a) ?? [];
  const ys = samples.get(b) ?? [];
  const ratios = xs.slice(0, ys.length).map((x, i) => x.rps / ys[i]!.rps);
  return ratios.length === 0 ? Number.NaN : median(ratios);
}

/** `a ÷ b` as `1.23×`, or `–` when the baseline was not measured (`--only`). */
function ratio(a: number, b: number): string {
  return Number.isNaN(b) ? '–' : `${(a / b).toFixed(2)}×`;
}

function signed(x: number): string {
  if (Number.isNaN(x)) return '–';
  return (x >= 0 ? '+' : '') + x.toFixed(2);
}

function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(', ');
  } catch {
    return 'unknown';
  }
}

function table(paths: readonly PathId[], samples: Map<PathId, Sample[]>): void {
  const base = samples.get('balanced');
  const direct = samples.get('pool');
  console.log(
    '| path | req/s | ÷ BalancedPool | ÷ Pool | p50 ms | p99 ms | p999 ms | p99 − BalancedPool | client CPU µs/req | CPU ÷ BalancedPool | errors | late |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const path of paths) {
    const s = samples.get(path)!;
    const rps = medianOf(s, 'rps');
    const cpu = medianOf(s, 'cpuUs');
    console.log(
      `| ${NAMES[path]} | ${rps.toFixed(0)} | ${ratio(rps, medianOf(base, 'rps'))} | ${ratio(rps, medianOf(direct, 'rps'))} | ` +
        `${medianOf(s, 'p50').toFixed(2)} | ${medianOf(s, 'p99').toFixed(2)} | ${medianOf(s, 'p999').toFixed(2)} | ` +
        `${signed(medianOf(s, 'p99') - medianOf(base, 'p99'))} | ${cpu.toFixed(1)} | ${ratio(cpu, medianOf(base, 'cpuUs'))} | ` +
        `${s.reduce((n, x) => n + x.errors, 0)} | ${s.reduce((n, x) => n + x.late, 0)} |`,
    );
  }
}

/**
 * `--profile`: one Mesh-only and one BalancedPool-only client, each CPU-profiled over its measured closed-loop
 * run (after its warm-up): the top self-time functions of each in µs per request, ours listed apart, and
 * the functions whose cost differs most between the two paths.
 */
async function profile(job: (path: PathId, mode: 'closed' | 'open', rate?: number) => ClientJob): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'clusterip-bench-prof-'));
  const reports = new Map<PathId, ReturnType<typeof summariseProfile>>();
  try {
    for (const path of ['mesh', 'balanced'] as const) {
      const profileFile = join(dir, `${path}.cpuprofile`);
      const sample = await runClient({ ...job(path, 'closed'), profileFile });
      const report = summariseProfile(JSON.parse(readFileSync(profileFile, 'utf8')), sample.total);
      reports.set(path, report);
      console.log('');
      console.log(
        `${NAMES[path]} alone, profiled: ${sample.rps.toFixed(0)} req/s, ${sample.cpuUs.toFixed(1)} µs CPU/req, ` +
          `${report.totalUsPerRequest.toFixed(1)} µs/req of main-thread samples (idle excluded)`,
      );
      console.log('');
      console.log('Top self time, all code:');
      console.log('');
      printRows(report.top.slice(0, 15));
      if (report.ours.length > 0) {
        console.log('');
        console.log('Top self time, ours (packages/sdk, packages/resolver):');
        console.log('');
        printRows(report.ours.slice(0, 15));
        console.log('');
        console.log(`ours in total: ${report.oursUsPerRequest.toFixed(2)} µs/req self time`);
      }
    }
    const mesh = reports.get('mesh')!;
    const base = reports.get('balanced')!;
    const diff = [...new Set([...mesh.all.keys(), ...base.all.keys()])]
      .map((key) => {
        const m = mesh.all.get(key);
        const b = base.all.get(key);
        return { name: (m ?? b)!.name, where: (m ?? b)!.where, mesh: m?.usPerRequest ?? 0, base: b?.usPerRequest ?? 0 };
      })
      .sort((x, y) => Math.abs(y.mesh - y.base) - Math.abs(x.mesh - x.base))
      .slice(0, 20);
    console.log('');
    console.log(
      `Mesh − BalancedPool: ${(mesh.totalUsPerRequest - base.totalUsPerRequest).toFixed(1)} µs/req of samples; largest differences:`,
    );
    console.log('');
    console.log('| function | where | Mesh µs/req | BalancedPool µs/req | difference |');
    console.log('| --- | --- | ---: | ---: | ---: |');
    for (const r of diff) {
      console.log(
        `| ${r.name} | ${r.where} | ${r.mesh.toFixed(2)} | ${r.base.toFixed(2)} | ${signed(r.mesh - r.base)} |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function printRows(rows: readonly { name: string; where: string; usPerRequest: number; percent: number }[]): void {
  console.log('| function | where | self µs/req | % of samples |');
  console.log('| --- | --- | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.where} | ${r.usPerRequest.toFixed(2)} | ${r.percent.toFixed(1)} |`);
  }
}
