// Benchmark: requests/s and p50/p99 latency of the same undici client load through four paths to 3
// backend "pods": a plain undici Pool to one pod, undici BalancedPool over the 3 pods, the Mesh over the
// 3 pods, and an HAProxy sidecar (round robin) in front of them. Rounds are interleaved and reported as
// ratios against BalancedPool measured side by side.
// Run: `node --conditions=clusterip-internal build/test/bench/sdk-http.bench.js [--quick]`.

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
const ROUNDS = QUICK ? 2 : 5;
const DURATION_MS = QUICK ? 1000 : 3000;
const CONCURRENCY = 32;
const CONNECTIONS = 32;
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
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { rps: (latencies.length / elapsed) * 1000, p50: at(0.5), p99: at(0.99), errors };
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
  const mesh = new Mesh({
    source,
    context: { namespace: 'bench', resolvConf: '', env: {} },
    pool: { connections: CONNECTIONS },
  });
  const targets: Target[] = [
    { name: 'undici Pool → 1 pod', url: `${urls[0]}/`, dispatcher: new Pool(urls[0]!, { connections: CONNECTIONS }) },
    {
      name: 'undici BalancedPool → 3 pods',
      url: `${urls[0]}/`,
      dispatcher: new BalancedPool(urls, { connections: CONNECTIONS }),
    },
    { name: 'Mesh → 3 pods', url: 'http://backend/', dispatcher: mesh.dispatcher },
  ];
  let haproxy: Awaited<ReturnType<typeof startHaproxy>> | undefined;
  if (haproxyAvailable()) {
    haproxy = await startHaproxy(backends);
    children.push(haproxy.child);
    targets.push({
      name: 'HAProxy sidecar (rr) → 3 pods',
      url: `${haproxy.url}/`,
      dispatcher: new Pool(haproxy.url, { connections: CONNECTIONS }),
    });
  } else {
    console.log('haproxy not installed (apt-get install -y haproxy): its row is skipped');
  }

  // Warm-up: connections, JIT, discovery (one full-length run per path, discarded).
  for (const target of targets) await run(target);
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order every round so no path always runs first or last.
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(i + round) % targets.length]!;
      samples.get(target.name)!.push(await run(target));
    }
  }

  const baseline = samples.get('undici BalancedPool → 3 pods')!;
  const baseRps = median(baseline.map((s) => s.rps));
  const baseP99 = median(baseline.map((s) => s.p99));
  console.log(
    `node ${process.version}, ${ROUNDS} interleaved rounds of ${DURATION_MS} ms per path, ${CONCURRENCY} concurrent requests, ` +
      `${CONNECTIONS} connections per origin; medians; ratio = req/s ÷ BalancedPool req/s (same run)`,
  );
  console.log('');
  console.log('| path | req/s | ratio | p50 ms | p99 ms | p99 − BalancedPool p99 | errors |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const target of targets) {
    const s = samples.get(target.name)!;
    const rps = median(s.map((x) => x.rps));
    const p99 = median(s.map((x) => x.p99));
    console.log(
      `| ${target.name} | ${rps.toFixed(0)} | ${(rps / baseRps).toFixed(2)}× | ${median(s.map((x) => x.p50)).toFixed(2)} | ${p99.toFixed(2)} | ${(p99 - baseP99).toFixed(2)} | ${s.reduce((n, x) => n + x.errors, 0)} |`,
    );
  }
  const meshRps = median(samples.get('Mesh → 3 pods')!.map((x) => x.rps));
  const haRps =
    haproxy === undefined ? undefined : median(samples.get('HAProxy sidecar (rr) → 3 pods')!.map((x) => x.rps));
  console.log('');
  console.log(`Mesh / BalancedPool throughput: ${(meshRps / baseRps).toFixed(3)} (target ≥ 0.95)`);
  if (haRps !== undefined) console.log(`Mesh / HAProxy throughput: ${(meshRps / haRps).toFixed(2)} (target ≥ 1.5)`);

  await mesh.close();
  await source.close();
  await Promise.all(targets.filter((t) => t.dispatcher !== mesh.dispatcher).map((t) => t.dispatcher.close()));
  for (const child of children) child.kill();
  if (haproxy !== undefined) rmSync(haproxy.dir, { recursive: true, force: true });
}
