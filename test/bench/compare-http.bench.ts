// Benchmark (issue #9): the HTTP data path, side by side. The same undici client load, at fixed rates of
// 200 and 2,000 req/s and closed-loop max, to the same 3 pod processes through: undici Pool to one pod
// (the direct baseline), undici BalancedPool, the Mesh, an HAProxy sidecar (round robin), and
// kube-proxy-style ClusterIP DNAT (iptables or nftables rules in a network namespace), with keep-alive
// and with a new connection per request. Produces throughput, p50/p99/p999, CPU per request and the
// per-pod split as ratios to the direct baseline.
//
// Method: pods (and HAProxy) start once; every (path, round) runs in a fresh client process that builds
// only its path's dispatcher, warms it up, then runs the three load levels in turn. Rounds interleave the
// paths with the order rotated. With root, the client (and the sidecar proxy) run in one netns and the
// pods in another, joined by a veth pair, for every path alike; otherwise everything runs on loopback and
// the DNAT rows are skipped with the reason. With taskset the client has CPU 0 and pods + proxy CPU 1.
// Run: `node --conditions=clusterip-internal build/test/bench/compare-http.bench.js [--quick] [--rounds=N]
// [--only=<name part>[,…]] [--dnat=iptables|nftables|off] [--loopback] [--no-pin] [--nice=<n>]
// [--proxy-cpu=client|pods] [--paired-rate=<req/s per path>] [--paired-seconds=<s>] [--paired-only] [--policy=<mesh policy>]
// [--mesh-options=<json>] [--max-only] [--concurrent [--control]] [--verbose] [--profile]`.
// The last section is a paired latency run: the keep-alive paths in one client, requests alternating.
// `--concurrent`: instead of the rounds, the Mesh's client and another path's client at once on the
// client CPU, measuring one common closed-loop window: the throughput ratio under the same noise
// (`--control`: each path against itself first).
// `--profile`: CPU-profile one Mesh and one BalancedPool client at max load and list the top self-time
// functions instead of the rounds.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BalancerPolicy } from '@clusterip/sdk';
import { POLICIES } from '@clusterip/sdk/internal/balancer/balancer.js';
import { BalancedPool, type Dispatcher, Pool } from 'undici';
import { benchArgs } from './bench-args.js';
import {
  type BenchChild,
  clockTicks,
  cpuPlan,
  hasCommand,
  loadAverage,
  type Placement,
  sendToParent,
  startChild,
} from './bench-child.js';
import { median, medianInterval, quantileSorted } from './bench-stats.js';
import { benchMesh } from './bench-util.js';
import { startProfiler, summariseProfile } from './cpu-profile.js';
import {
  ClientClock,
  closedLoop,
  interleavedOpenLoop,
  type LoadSample,
  type LoadTarget,
  openLoop,
} from './http-load.js';
import {
  createNetnsTopology,
  DNAT_MODES,
  type DnatMode,
  type NetnsTopology,
  removeStaleNamespaces,
} from './netns-dnat.js';

const argv = process.argv.slice(2);
const args = benchArgs(argv);
const { flag, option } = args;
const QUICK = flag('quick');
const ROUNDS = args.number('rounds', QUICK ? 2 : 4, { min: 1, max: 10_000, integer: true });
const DURATION_MS = QUICK ? 800 : 2000;
const WARMUP_MS = QUICK ? 300 : 1000;
/** Before each level: that level's load for this long, discarded (timers, GC and JIT settle to it). */
const SETTLE_MS = QUICK ? 150 : 500;
/** `--max-only`: the closed loop alone (no fixed rates, no new-connection paths): cheap rounds, so many of them. */
const MAX_ONLY = flag('max-only');
const RATES: readonly number[] = MAX_ONLY ? [] : [200, 2000];
const CONCURRENCY = 32;
const CONNECTIONS = 32;
const POLICY = args.choice<BalancerPolicy>('policy', POLICIES, 'round-robin');
/** `--mesh-options='{"retry":false}'`: more Mesh options (JSON), to measure what a feature costs. */
const MESH_OPTIONS = args.object('mesh-options', '{"retry":false}');
/** `--nice=-10`: run pods, proxy and clients at that niceness (root), ahead of other jobs on a shared machine. */
const NICE = args.number('nice', 0, { min: -20, max: 19, integer: true });
/** Paired latency run (see `paired()`): req/s per path; `--paired-rate=0` skips it. */
const PAIRED_RATE = args.number('paired-rate', 200, { min: 0, max: 100_000, integer: true });
/**
 * `--paired-seconds=<s>`: the measured window of each paired round. Long by default: a round's p99 at
 * 200 req/s is its 20th-slowest of 2,000 requests, rather than the 4th of 400 that a 2 s window gives,
 * which moved by ±0.3 ms between rounds of the same path.
 */
const PAIRED_MS = args.number('paired-seconds', QUICK ? 0.8 : 10, { min: 0.1, max: 3600 }) * 1000;
/** Warm-up of each path in a paired round: this many closed-loop requests (fewer fails the round), in this long at most. */
const PAIRED_WARMUP_REQUESTS = QUICK ? 2000 : 20_000;
const PAIRED_WARMUP_MAX_MS = QUICK ? 5000 : 10_000;
/**
 * Then the interleaved load itself, discarded, so that its timers and GC settle before the window. The
 * connections the closed-loop warm-up opened stay open through the window on every path alike: the pods
 * advertise a 60 s keep-alive, which undici follows rather than its 4 s default.
 */
const PAIRED_SETTLE_MS = QUICK ? 500 : 6000;
/**
 * `--concurrent`: per round, the Mesh's client and another path's client run at the same time on the
 * client CPU, their closed-loop windows opening at one wall-clock instant. When both are bound by that
 * CPU and the scheduler shares it about evenly (`--verbose` prints each client's share per round), the
 * ratio of their rates is the inverse ratio of their CPU per request, measured under the same moment's
 * noise: sequential rounds see different moments (run 9's per-round ratios had quartiles 0.83–1.04).
 */
const CONCURRENT = flag('concurrent');
/**
 * Warm-up and window of a concurrent pair: longer than a lone client's, as each client gets half the CPU
 * (with a 1 s warm-up and a 2 s window, a trial's per-round ratios spread several times as wide).
 */
const CONCURRENT_WARMUP_MS = QUICK ? 1000 : 3000;
const CONCURRENT_WINDOW_MS = QUICK ? 1000 : 4000;
/** From the spawn of a pair to its common window: start-up, warm-up and settling, with room to spare. */
const CONCURRENT_LEAD_MS = (QUICK ? 1500 : 2500) + CONCURRENT_WARMUP_MS + SETTLE_MS;
/** Load kept up after the window, so that the other client's window is contended to its end. */
const CONCURRENT_TAIL_MS = 300;
/** `--proxy-cpu=client`: the proxy shares the client's CPU, as a sidecar shares its pod's CPU limit. */
const PROXY_ON_CLIENT_CPU = args.choice('proxy-cpu', ['client', 'pods'], 'pods') === 'client';
const DNAT = args.choice<DnatMode | 'off'>('dnat', [...DNAT_MODES, 'off'], 'iptables');
const LOOPBACK_PODS = ['127.0.81.11', '127.0.81.12', '127.0.81.13'];
const LOOPBACK_PROXY = '127.0.81.1';
/** The compiled bench folder: the pod and client scripts are started from here. */
const HERE = fileURLToPath(new URL('.', import.meta.url));

type PathId = 'direct' | 'balanced' | 'mesh' | 'haproxy' | 'dnat' | 'direct-new' | 'dnat-new';
const NAMES: Readonly<Record<PathId, string>> = {
  direct: 'direct: undici Pool → 1 pod',
  balanced: 'undici BalancedPool → 3 pods',
  mesh: 'Mesh → 3 pods',
  haproxy: 'HAProxy sidecar (rr) → 3 pods',
  dnat: 'ClusterIP DNAT, keep-alive',
  'direct-new': 'direct, new conn/request',
  'dnat-new': 'ClusterIP DNAT, new conn/request',
};

/** What the parent tells a client process (JSON in argv). */
interface ClientJob {
  readonly path: PathId;
  /** Load levels in order: a rate in req/s, or 0 for the closed loop. */
  readonly levels: readonly number[];
  readonly podUrls: readonly string[];
  readonly proxyUrl: string | undefined;
  readonly clusterUrl: string | undefined;
  readonly podPids: readonly number[];
  readonly proxyPids: readonly number[];
  readonly ticksPerSecond: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly settleMs: number;
  /** Extra Mesh options (`--mesh-options`). */
  readonly meshOptions: Record<string, unknown>;
  /** Paired run: these paths in one client, interleaved, at `levels[0]` req/s each (`path` is ignored). */
  readonly paired?: readonly PathId[];
  /** Write a CPU profile of the measured runs (warm-up excluded) to this file. */
  readonly profileFile?: string;
  /**
   * Concurrent run (`--concurrent`): the closed-loop window starts at this wall-clock time (`Date.now()`
   * ms), the same for both clients of the pair, and the load goes on for {@link CONCURRENT_TAIL_MS} after it.
   */
  readonly windowAt?: number;
}

if (argv[0] === '--client') await client(JSON.parse(argv[1]!) as ClientJob);
else await main();

// ── client process: one path, warm-up, then every load level ───────────────────────────────────────

interface Target extends LoadTarget {
  close(): Promise<void>;
}

function buildTarget(job: ClientJob, path: PathId): Target {
  // Same pool shape on every path: CONNECTIONS keep-alive connections per origin (per pod for
  // BalancedPool and the Mesh, to the proxy or the ClusterIP otherwise), pipelining 1, 4 s keep-alive.
  const poolOptions = { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 4000 };
  const plain = (dispatcher: Dispatcher, url: string, newConnectionPerRequest = false): Target => ({
    url,
    dispatcher,
    newConnectionPerRequest,
    close: () => dispatcher.close(),
  });
  switch (path) {
    case 'direct':
      return plain(new Pool(job.podUrls[0]!, poolOptions), `${job.podUrls[0]}/`);
    case 'balanced':
      return plain(new BalancedPool([...job.podUrls], poolOptions), `${job.podUrls[0]}/`);
    case 'haproxy':
      return plain(new Pool(job.proxyUrl!, poolOptions), `${job.proxyUrl}/`);
    case 'dnat':
      return plain(new Pool(job.clusterUrl!, poolOptions), `${job.clusterUrl}/`);
    case 'direct-new':
      return plain(new Pool(job.podUrls[0]!, poolOptions), `${job.podUrls[0]}/`, true);
    case 'dnat-new':
      return plain(new Pool(job.clusterUrl!, poolOptions), `${job.clusterUrl}/`, true);
    case 'mesh': {
      const { mesh, close } = benchMesh(
        job.podUrls.map((u) => ({ address: new URL(u).hostname, port: Number(new URL(u).port) })),
        {
          policy: POLICY,
          ...job.meshOptions,
          // `pool` keys of --mesh-options are merged into the benchmark's pool shape, not replacing it.
          pool: {
            connections: CONNECTIONS,
            pipelining: 1,
            keepAliveTimeoutMs: 4000,
            ...(job.meshOptions.pool as Record<string, unknown> | undefined),
          },
        },
      );
      return { url: 'http://backend/', dispatcher: mesh.dispatcher, close };
    }
  }
}

async function client(job: ClientJob): Promise<void> {
  if (job.paired !== undefined) return pairedClient(job, job.paired);
  if (job.windowAt !== undefined) return concurrentClient(job, job.windowAt);
  const target = buildTarget(job, job.path);
  const servers = { podPids: job.podPids, proxyPids: job.proxyPids, ticksPerSecond: job.ticksPerSecond };
  // Warm-up (discarded): connections, JIT, discovery. A new-connection path warms up at its highest rate
  // rather than flat out, which would open thousands of connections a second.
  const top = Math.max(...job.levels);
  if (job.levels.includes(0)) await closedLoop(target, CONCURRENCY, job.warmupMs);
  else await openLoop(target, top, job.warmupMs);
  const session = job.profileFile === undefined ? undefined : await startProfiler(100); // after the warm-up
  const samples: LoadSample[] = [];
  // No forced GC before a measured window: a full GC (global.gc) shrinks V8's young generation, and the
  // window after it runs with more frequent scavenges and more promotion than a server under steady load
  // sees. That inflated every path's client CPU, by the path's allocation: measured here +18 % per request
  // for the direct Pool, +14 % for BalancedPool, +33 % for the Mesh. The settle period at the level's own
  // load is what prepares the window.
  for (const rate of job.levels) {
    if (rate === 0) await closedLoop(target, CONCURRENCY, job.settleMs);
    else await openLoop(target, rate, job.settleMs);
    samples.push(
      rate === 0
        ? await closedLoop(target, CONCURRENCY, job.durationMs, servers)
        : await openLoop(target, rate, job.durationMs, servers),
    );
  }
  if (session !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(job.profileFile!, JSON.stringify(profile));
    session.disconnect();
  }
  await target.close();
  sendToParent(samples, () => process.exit(0));
}

/**
 * The paired latency run: every path of `paths` in this one process, requests alternating between them
 * at `levels[0]` req/s per path, so that all see the same moments of the machine's noise.
 */
async function pairedClient(job: ClientJob, paths: readonly PathId[]): Promise<void> {
  const targets = paths.map((p) => buildTarget(job, p));
  const rate = job.levels[0]! * targets.length;
  // The warm-up sends the measured requests' shape (same header) with the clock already listening, and
  // enough of them for V8 to have compiled every path's per-request code: after a shorter warm-up (500 ms,
  // no header, no clock) functions of the Mesh were still being optimised seconds into the window.
  const clock = new ClientClock();
  let samples: LoadSample[];
  try {
    for (const t of targets) {
      const warm = await closedLoop(t, CONCURRENCY, PAIRED_WARMUP_MAX_MS, undefined, {
        clock,
        maxRequests: PAIRED_WARMUP_REQUESTS,
      });
      if (warm.errors > 0 || warm.latenciesUs.length < PAIRED_WARMUP_REQUESTS) {
        throw new Error(
          `paired warm-up of ${t.url}: ${warm.latenciesUs.length} of ${PAIRED_WARMUP_REQUESTS} requests completed, ` +
            `${warm.errors} failed, in at most ${PAIRED_WARMUP_MAX_MS} ms`,
        );
      }
    }
    // The interleaved load itself, discarded (see PAIRED_SETTLE_MS).
    await interleavedOpenLoop(targets, rate, job.settleMs, undefined, { clock }); // no forced GC: see client()
    samples = await interleavedOpenLoop(targets, rate, job.durationMs, undefined, { clock });
  } finally {
    clock.close();
  }
  for (const t of targets) await t.close();
  sendToParent(samples, () => process.exit(0));
}

/**
 * One client of a concurrent pair: warm up, keep the closed loop running until the pair's common window
 * opens at `windowAt`, measure it, then keep loading for {@link CONCURRENT_TAIL_MS} so that the other
 * client's window is contended to its end too.
 */
async function concurrentClient(job: ClientJob, windowAt: number): Promise<void> {
  const target = buildTarget(job, job.path);
  await closedLoop(target, CONCURRENCY, job.warmupMs);
  const lead = windowAt - Date.now();
  if (lead < job.settleMs || lead > CONCURRENT_LEAD_MS) {
    throw new Error(
      `concurrent ${job.path} client: the common window opens in ${lead} ms, outside ${job.settleMs}–` +
        `${CONCURRENT_LEAD_MS} ms after the warm-up (a slow start or a clock step): raise CONCURRENT_LEAD_MS ` +
        'on a machine this slow',
    );
  }
  await closedLoop(target, CONCURRENCY, lead);
  const sample = await closedLoop(target, CONCURRENCY, job.durationMs);
  await closedLoop(target, CONCURRENCY, CONCURRENT_TAIL_MS);
  await target.close();
  sendToParent([sample], () => process.exit(0));
}

// ── parent: topology, pods and proxy once, then one client process per (path, round) ───────────────

interface Setup {
  readonly topology: NetnsTopology | undefined;
  readonly clientPlace: Placement;
  readonly serverPlace: Placement;
  readonly children: BenchChild[];
  podUrls: string[];
  readonly podPids: number[];
  proxyUrl: string | undefined;
  readonly proxyPids: number[];
  clusterUrl: string | undefined;
  readonly notes: string[];
  readonly tmp: string;
}

async function main(): Promise<void> {
  const stale = removeStaleNamespaces();
  const loadStart = loadAverage();
  const notes: string[] = [];
  if (stale.length > 0) notes.push(`removed namespaces left by a killed earlier run: ${stale.join(', ')}`);
  let topology: NetnsTopology | undefined;
  if (flag('loopback')) notes.push('topology: loopback (--loopback); DNAT rows skipped: they need the netns topology');
  else {
    const made = createNetnsTopology(LOOPBACK_PODS.length, DNAT);
    if ('skipped' in made) notes.push(`topology: loopback; DNAT rows skipped: ${made.skipped}`);
    else {
      topology = made;
      notes.push(
        `topology: client (and the sidecar proxy) in netns ${made.clientNs}, pods in ${made.serverNs}, one veth pair`,
      );
      if (made.dnat === undefined) notes.push(`DNAT rows skipped: ${made.dnatSkipped}`);
      else notes.push(`ClusterIP ${made.clusterIp}:${made.clusterPort} by ${made.dnat} DNAT rules in the client netns`);
    }
  }
  const stop = () => process.exit(130); // runs the 'exit' hooks: netns deleted, children signalled
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const pin = cpuPlan(flag('no-pin'));
  notes.push(pin.why);
  if (NICE !== 0) notes.push(`every benchmark process runs at nice ${NICE} (--nice)`);
  const setup: Setup = {
    topology,
    clientPlace: { netns: topology?.clientNs, cpus: pin.client, nice: NICE },
    serverPlace: { netns: topology?.serverNs, cpus: pin.servers, nice: NICE },
    children: [],
    podUrls: [],
    podPids: [],
    proxyUrl: undefined,
    proxyPids: [],
    clusterUrl: undefined,
    notes,
    tmp: mkdtempSync(join(tmpdir(), 'clusterip-bench-http-')),
  };
  const killAll = () => {
    for (const c of setup.children) if (c.process.exitCode === null) c.process.kill('SIGKILL');
  };
  process.on('exit', killAll);
  try {
    await startServers(setup);
    let paths: PathId[] = ['direct', 'balanced', 'mesh'];
    if (setup.proxyUrl !== undefined) paths.push('haproxy');
    if (setup.clusterUrl !== undefined) paths.push('dnat', 'direct-new', 'dnat-new');
    const only = option('only');
    if (only !== undefined) {
      const parts = only.toLowerCase().split(',');
      const available = paths;
      paths = paths.filter((p) => parts.some((part) => p.includes(part) || NAMES[p].toLowerCase().includes(part)));
      if (paths.length === 0) {
        // Not an error: `npm run bench` hands one --only to every benchmark it runs.
        console.log(`> --only=${only} matches none of the paths that run here (${available.join(', ')}): skipped`);
        return;
      }
    }
    paths = measured(paths);
    const job = (path: PathId, levels: readonly number[]): ClientJob => ({
      path,
      levels,
      podUrls: setup.podUrls,
      proxyUrl: setup.proxyUrl,
      clusterUrl: setup.clusterUrl,
      podPids: setup.podPids,
      proxyPids: setup.proxyPids,
      ticksPerSecond: clockTicks(),
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      settleMs: SETTLE_MS,
      meshOptions: MESH_OPTIONS,
    });
    if (flag('profile')) await profile(setup, job);
    else if (CONCURRENT) await concurrent(setup, paths, job, loadStart);
    else await measure(setup, paths, job, loadStart);
  } finally {
    await Promise.all(setup.children.map((c) => c.kill()));
    process.removeListener('exit', killAll);
    topology?.close();
    rmSync(setup.tmp, { recursive: true, force: true });
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

function nodeArgs(script: string, ...args: string[]): string[] {
  return [process.execPath, '--conditions=clusterip-internal', '--expose-gc', join(HERE, script), ...args];
}

async function startServers(setup: Setup): Promise<void> {
  const topo = setup.topology;
  const hosts = topo?.podIps ?? LOOPBACK_PODS;
  const pods = hosts.map((host) => {
    const child = startChild(nodeArgs('bench-pod.js', host, String(topo?.podPort ?? 0)), setup.serverPlace);
    setup.children.push(child);
    setup.podPids.push(child.process.pid!);
    return child;
  });
  const ports = await Promise.all(pods.map((p) => p.next<{ port: number }>(10_000).then((m) => m.port)));
  setup.podUrls = hosts.map((h, i) => `http://${h}:${ports[i]}`);
  if (topo?.dnat !== undefined) setup.clusterUrl = `http://${topo.clusterIp}:${topo.clusterPort}`;
  if (!hasCommand('haproxy')) {
    setup.notes.push('HAProxy row skipped: haproxy not installed (apt-get install -y haproxy)');
    return;
  }
  // The proxy runs where a sidecar would: in the client's network namespace, on its loopback.
  const host = topo === undefined ? LOOPBACK_PROXY : '127.0.0.1';
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
    `  bind ${host}:${port}`,
    '  default_backend be',
    'backend be',
    '  balance roundrobin',
    ...setup.podUrls.map((u, i) => `  server s${i} ${new URL(u).host}`),
    '',
  ].join('\n');
  const file = join(setup.tmp, 'haproxy.cfg');
  writeFileSync(file, cfg);
  const proxy = startChild(['haproxy', '-db', '-f', file], {
    ...(PROXY_ON_CLIENT_CPU ? setup.clientPlace : setup.serverPlace),
    netns: topo?.clientNs,
  });
  setup.children.push(proxy);
  await waitForPort(host, port, topo?.clientNs, proxy);
  setup.proxyUrl = `http://${host}:${port}`;
  setup.proxyPids.push(proxy.process.pid!);
  setup.notes.push(
    `HAProxy ${haproxyVersion()}: one thread, round robin, keep-alive to the pods, http-reuse always` +
      (PROXY_ON_CLIENT_CPU ? '; on the client CPU (--proxy-cpu=client)' : ''),
  );
}

function haproxyVersion(): string {
  try {
    const text = execFileSync('haproxy', ['-v'], { encoding: 'utf8', timeout: 5000 });
    return /version (\S+)/.exec(text)?.[1] ?? 'unknown version';
  } catch {
    return 'unknown version';
  }
}

/** Wait until something accepts on host:port (in `netns`, through a probe process there). */
async function waitForPort(host: string, port: number, netns: string | undefined, owner: BenchChild): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (owner.process.exitCode !== null) throw new Error(`haproxy exited with ${owner.process.exitCode}`);
    const ok =
      netns === undefined
        ? await new Promise<boolean>((resolve) => {
            const s = connect(port, host, () => {
              s.destroy();
              resolve(true);
            });
            s.on('error', () => resolve(false));
          })
        : (await startChild([
            'ip',
            'netns',
            'exec',
            netns,
            'bash',
            '-c',
            `exec 2>/dev/null; exec 3<>/dev/tcp/${host}/${port}`,
          ]).exited) === 0;
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on ${host}:${port}`);
}

/** Run one client process for `job` (in the client netns, on the client CPU) and return its samples. */
async function runClient(setup: Setup, job: ClientJob): Promise<LoadSample[]> {
  const child = startChild(nodeArgs('compare-http.bench.js', '--client', JSON.stringify(job)), setup.clientPlace);
  setup.children.push(child);
  const warmupMs = job.paired === undefined ? job.warmupMs : PAIRED_WARMUP_MAX_MS * job.paired.length;
  const timeoutMs =
    job.windowAt === undefined
      ? 15_000 + 3 * (warmupMs + job.levels.length * (job.settleMs + job.durationMs))
      : 15_000 + job.windowAt - Date.now() + job.durationMs + CONCURRENT_TAIL_MS;
  try {
    return await child.next<LoadSample[]>(timeoutMs);
  } finally {
    await child.kill();
    setup.children.splice(setup.children.indexOf(child), 1);
  }
}

/** Load levels of a path: both rates and the closed loop; no closed loop for a new connection per request. */
function levelsOf(path: PathId): number[] {
  return path.endsWith('-new') ? [...RATES] : [...RATES, 0];
}

/** Paths measured: every one with a load level (`--max-only` leaves the new-connection paths out). */
function measured(paths: readonly PathId[]): PathId[] {
  return paths.filter((p) => levelsOf(p).length > 0);
}

async function measure(
  setup: Setup,
  paths: readonly PathId[],
  job: (path: PathId, levels: readonly number[]) => ClientJob,
  loadStart: string,
): Promise<void> {
  console.log(
    `node ${process.version}, ${new Date().toISOString()}; one fresh client process per path and round ` +
      `(${WARMUP_MS} ms warm-up, then at each level ${SETTLE_MS} ms discarded and ${DURATION_MS} ms measured: ${[...RATES.map((r) => `${r} req/s`), 'max'].join(', ')}), ` +
      `${ROUNDS} interleaved rounds, order rotated; ${CONNECTIONS} keep-alive connections per origin, pipelining 1; ` +
      `max = closed loop with ${CONCURRENCY} requests outstanding; load average at the start ${loadStart}`,
  );
  for (const note of setup.notes) console.log(`- ${note}`);
  const pairedPaths = paths.filter((p) => !p.endsWith('-new'));
  if (flag('paired-only')) {
    await paired(setup, pairedPaths, job);
    return;
  }
  const results = new Map<PathId, LoadSample[][]>(paths.map((p) => [p, []]));
  const connections = new Map<PathId, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < paths.length; i++) {
      const path = paths[(i + round) % paths.length]!;
      const dnat = path === 'dnat' || path === 'dnat-new';
      const before = dnat ? setup.topology!.connectionsPerPod() : [];
      const samples = await runClient(setup, job(path, levelsOf(path)));
      if (dnat) {
        const after = setup.topology!.connectionsPerPod();
        const sum = connections.get(path) ?? after.map(() => 0);
        connections.set(
          path,
          sum.map((x, k) => x + after[k]! - before[k]!),
        );
      }
      results.get(path)!.push(samples);
      if (flag('verbose')) {
        const parts = samples.map(
          (s) =>
            `${s.rate === 0 ? 'max' : s.rate}: ${s.rps.toFixed(0)} req/s p99 ${(
              quantileSorted(
                [...s.latenciesUs].sort((a, b) => a - b),
                0.99,
              ) / 1000
            ).toFixed(2)} ms ` +
            `${s.clientCpuUs.toFixed(1)}+${(s.podCpuUs + s.proxyCpuUs).toFixed(1)} µs/req pods ${shares(setup, s.pods)}`,
        );
        console.log(`round ${round} ${NAMES[path]}: ${parts.join('; ')}`);
      }
    }
  }
  const summaries = new Map<string, Summary>();
  for (const level of [...RATES, 0]) {
    console.log('');
    console.log(
      level === 0
        ? `Max: closed loop, ${CONCURRENCY} requests outstanding`
        : `Fixed rate: ${level} req/s on every path (open loop; latency from issue to end of body)`,
    );
    console.log('');
    const capacityHeader = level === 0 ? ' CPU-bound capacity, req/s | ÷ direct |' : '';
    console.log(
      '| path | req/s | ÷ direct | p50 ms | ÷ direct | p99 ms | ÷ direct | p999 ms | ÷ direct | client CPU µs/req | ' +
        `pods + proxy CPU µs/req | CPU ÷ direct |${capacityHeader} requests per pod, % | busiest pod, % (median round) | errors | late |`,
    );
    console.log(
      `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |${level === 0 ? ' ---: | ---: |' : ''} --- | ---: | ---: | ---: |`,
    );
    for (const path of paths) {
      const idx = levelsOf(path).indexOf(level);
      if (idx < 0) continue;
      summaries.set(
        `${path}@${level}`,
        summarise(
          setup,
          results.get(path)!.map((r) => r[idx]!),
        ),
      );
    }
    const base = summaries.get(`direct@${level}`);
    for (const path of paths) {
      const s = summaries.get(`${path}@${level}`);
      if (s === undefined) continue;
      const r = (a: number, b: number | undefined) => (b === undefined || !(b > 0) ? '–' : `${(a / b).toFixed(2)}×`);
      console.log(
        `| ${NAMES[path]} | ${s.rps.toFixed(0)} | ${r(s.rps, base?.rps)} | ${ms(s.p50)} | ${r(s.p50, base?.p50)} | ` +
          `${ms(s.p99)} | ${r(s.p99, base?.p99)} | ${ms(s.p999)} | ${r(s.p999, base?.p999)} | ${s.clientCpu.toFixed(1)} | ` +
          `${(s.podCpu + s.proxyCpu).toFixed(1)} | ${r(total(s), base === undefined ? undefined : total(base))} | ` +
          (level === 0
            ? `${capacity(s).toFixed(0)} | ${r(capacity(s), base === undefined ? undefined : capacity(base))} | `
            : '') +
          `${s.pods} | ${s.busiest.toFixed(0)} | ${s.errors} | ${s.late} |`,
      );
    }
  }
  console.log('');
  console.log('Against the targets (issues #5 and #9):');
  const max = (p: PathId) => summaries.get(`${p}@0`);
  /** Per-round ratios of path `a` to path `b` at the max level (rounds run both in turn, close in time). */
  const perRound = (a: PathId, b: PathId, of: (s: LoadSample) => number) => {
    const xs = results.get(a) ?? [];
    const ys = results.get(b) ?? [];
    const i = levelsOf(a).indexOf(0);
    return xs.slice(0, ys.length).map((x, k) => of(x[i]!) / of(ys[k]![i]!));
  };
  const mesh = max('mesh');
  for (const [other, target] of [
    ['balanced', 0.95],
    ['haproxy', 1.5],
    ['direct', undefined],
    ['dnat', undefined],
  ] as const) {
    const o = max(other);
    if (mesh === undefined || o === undefined) continue;
    console.log(
      `- max throughput, Mesh ÷ ${NAMES[other]}: ${(mesh.rps / o.rps).toFixed(2)} (${spread(perRound('mesh', other, (x) => x.rps))})` +
        `${target === undefined ? '' : `; target ≥ ${target}`}`,
    );
    console.log(
      `  client CPU per request, Mesh ÷ ${NAMES[other]}: ${(mesh.clientCpu / o.clientCpu).toFixed(2)} ` +
        `(${spread(perRound('mesh', other, (x) => x.clientCpuUs))})`,
    );
  }
  // What client-side balancing reaches without the mesh: the bound the HAProxy target is measured against.
  const balanced = max('balanced');
  const proxy = max('haproxy');
  if (balanced !== undefined && proxy !== undefined) {
    console.log(
      `- reference, max throughput, ${NAMES.balanced} ÷ ${NAMES.haproxy}: ${(balanced.rps / proxy.rps).toFixed(2)} ` +
        `(${spread(perRound('balanced', 'haproxy', (x) => x.rps))})`,
    );
  }
  for (const other of ['balanced', 'haproxy', 'direct', 'dnat'] as const) {
    const o = max(other);
    if (mesh === undefined || o === undefined) continue;
    console.log(
      `- CPU-bound capacity (1e6 ÷ the busier CPU's µs/req), Mesh ÷ ${NAMES[other]}: ${(capacity(mesh) / capacity(o)).toFixed(2)}`,
    );
  }
  for (const level of RATES) {
    const m = summaries.get(`mesh@${level}`);
    if (m === undefined) continue;
    for (const other of ['direct', 'balanced', 'haproxy', 'dnat'] as const) {
      const o = summaries.get(`${other}@${level}`);
      if (o === undefined) continue;
      console.log(
        `- ${level} req/s, Mesh − ${NAMES[other]}: p50 ${signed(m.p50 - o.p50)} ms, p99 ${signed(m.p99 - o.p99)} ms, ` +
          `p999 ${signed(m.p999 - o.p999)} ms (per-round p99: Mesh ${m.p99Range}, other ${o.p99Range} ms)` +
          (other === 'direct' || other === 'balanced' ? '; target: p99 added < 0.2 ms' : ''),
      );
    }
  }
  for (const [path, conns] of connections) {
    const total = conns.reduce((a, b) => a + b, 0);
    console.log(
      `- ${NAMES[path]}: ${total} connections DNAT-ed over the run (nat counters), per pod ${conns.map((c) => `${((c / Math.max(1, total)) * 100).toFixed(0)}`).join('/')} %`,
    );
  }
  if (PAIRED_RATE > 0 && !MAX_ONLY && pairedPaths.length >= 2) await paired(setup, pairedPaths, job);
  console.log('');
  console.log(`load average at the end: ${loadAverage()}`);
}

/**
 * `--concurrent`: for each path P of `paths` whose client is bound by its own CPU (not HAProxy: its
 * closed loop waits on the proxy hop), ROUNDS rounds in which the Mesh's client and P's run at once,
 * both pinned to the client CPU, measuring the same closed-loop window (see {@link CONCURRENT}). The
 * client spawned first alternates between rounds. `--control` first runs each P against itself (an A/A
 * pair: its ratio shows the method's own bias and spread).
 */
async function concurrent(
  setup: Setup,
  paths: readonly PathId[],
  job: (path: PathId, levels: readonly number[]) => ClientJob,
  loadStart: string,
): Promise<void> {
  const others = paths.filter((p) => p !== 'mesh' && p !== 'haproxy' && !p.endsWith('-new'));
  console.log(
    `node ${process.version}, ${new Date().toISOString()}; concurrent pairs: two clients at the same time on ` +
      `the client CPU, each warmed up (${CONCURRENT_WARMUP_MS} ms), then one common closed-loop window of ` +
      `${CONCURRENT_WINDOW_MS} ms (${CONCURRENCY} outstanding each) opening at the same wall-clock instant; ` +
      `${ROUNDS} rounds per pair, the client spawned first alternating; load average at the start ${loadStart}`,
  );
  for (const note of setup.notes) console.log(`- ${note}`);
  if (setup.clientPlace.cpus === undefined) {
    console.log('- not run: --concurrent needs the client pinned to a CPU of its own (taskset, 2+ CPUs, no --no-pin)');
    return;
  }
  if (!paths.includes('mesh') || others.length === 0) {
    console.log('- nothing to pair: --concurrent needs the Mesh and one of direct, BalancedPool, ClusterIP DNAT');
    return;
  }
  if (paths.includes('haproxy')) {
    console.log('- HAProxy left out: its closed loop is bound by the proxy hop, not the client CPU the pair shares');
  }
  const pairs: [PathId, PathId][] = others.flatMap((o): [PathId, PathId][] =>
    flag('control')
      ? [
          [o, o],
          ['mesh', o],
        ]
      : [['mesh', o]],
  );
  for (const [a, b] of pairs) {
    const name = (p: PathId, side: string) => (a === b ? `${NAMES[p]} (${side})` : NAMES[p]);
    const xs: LoadSample[] = [];
    const ys: LoadSample[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const windowAt = Date.now() + CONCURRENT_LEAD_MS;
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      const runs = await Promise.allSettled(
        order.map((side) =>
          runClient(setup, {
            ...job(side === 0 ? a : b, [0]),
            warmupMs: CONCURRENT_WARMUP_MS,
            durationMs: CONCURRENT_WINDOW_MS,
            windowAt,
          }),
        ),
      );
      for (const run of runs) if (run.status === 'rejected') throw run.reason;
      const got = runs.map((run) => (run as PromiseFulfilledResult<LoadSample[]>).value[0]!);
      const x = got[order.indexOf(0)]!;
      const y = got[order.indexOf(1)]!;
      xs.push(x);
      ys.push(y);
      if (flag('verbose')) {
        // Each client's share of the client CPU over the window: their sum near 1 means both were CPU-bound.
        const share = (s: LoadSample) => (s.rps * s.clientCpuUs) / 1e6;
        console.log(
          `round ${round} ${name(a, 'a')} ${x.rps.toFixed(0)} req/s ${x.clientCpuUs.toFixed(1)} µs/req, ` +
            `${name(b, 'b')} ${y.rps.toFixed(0)} req/s ${y.clientCpuUs.toFixed(1)} µs/req: ${(x.rps / y.rps).toFixed(3)}; ` +
            `CPU shares ${share(x).toFixed(2)} + ${share(y).toFixed(2)}`,
        );
      }
    }
    console.log('');
    console.log(`| concurrent pair | req/s (median) | client CPU µs/req | errors |`);
    console.log('| --- | ---: | ---: | ---: |');
    for (const [label, samples] of [
      [name(a, 'a'), xs],
      [name(b, 'b'), ys],
    ] as const) {
      console.log(
        `| ${label} | ${median(samples.map((x) => x.rps)).toFixed(0)} | ` +
          `${perRequest(samples, (x) => x.clientCpuUs).toFixed(1)} | ${samples.reduce((n, x) => n + x.errors, 0)} |`,
      );
    }
    const ratios = (of: (x: LoadSample) => number) => xs.map((x, k) => of(x) / of(ys[k]!));
    console.log('');
    console.log(
      `- concurrent max throughput, ${name(a, 'a')} ÷ ${name(b, 'b')}: ${spread(ratios((x) => x.rps))}` +
        `${a === 'mesh' && b === 'balanced' ? '; target ≥ 0.95' : ''}`,
    );
    console.log(`  client CPU per request, ${name(a, 'a')} ÷ ${name(b, 'b')}: ${spread(ratios((x) => x.clientCpuUs))}`);
  }
  console.log('');
  console.log(`load average at the end: ${loadAverage()}`);
}

/**
 * Paired latency: ROUNDS client processes, each running every keep-alive path at once with requests
 * alternating between them (the paths' order rotated each round), so that a moment of noise on the
 * machine hits all paths alike and differences in their latency quantiles are the paths' own.
 */
async function paired(
  setup: Setup,
  paths: readonly PathId[],
  job: (path: PathId, levels: readonly number[]) => ClientJob,
): Promise<void> {
  const rounds = new Map<PathId, LoadSample[]>(paths.map((p) => [p, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = paths.map((_, i) => paths[(i + round) % paths.length]!);
    const samples = await runClient(setup, {
      ...job(order[0]!, [PAIRED_RATE]),
      paired: order,
      durationMs: PAIRED_MS,
      settleMs: PAIRED_SETTLE_MS,
    });
    for (let i = 0; i < order.length; i++) rounds.get(order[i]!)!.push(samples[i]!);
  }
  const base = paths[0]!;
  const s = new Map(paths.map((p) => [p, summarise(setup, rounds.get(p)!)]));
  const b = s.get(base)!;
  console.log('');
  console.log(
    `Paired latency: the keep-alive paths in one client process, requests alternating between them, ` +
      `${PAIRED_RATE} req/s each (${PAIRED_RATE * paths.length} req/s in all), ${ROUNDS} rounds of ${PAIRED_MS / 1000} s ` +
      `after a warm-up of ${PAIRED_WARMUP_REQUESTS} closed-loop requests per path and ${PAIRED_SETTLE_MS / 1000} s of the load; ` +
      `differences to ${NAMES[base]}`,
  );
  console.log('');
  console.log(
    `| path | p50 ms | − ${base} | p99 ms | − ${base} | p999 ms | − ${base} | per-round p99 − ${base}, ms | busiest pod, % | errors | late |`,
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |');
  const perRoundDiff = (p: PathId, q: PathId) => rounds.get(p)!.map((x, i) => p99Of(x) - p99Of(rounds.get(q)![i]!));
  for (const p of paths) {
    const x = s.get(p)!;
    const d = perRoundDiff(p, base);
    console.log(
      `| ${NAMES[p]} | ${ms(x.p50)} | ${signed(x.p50 - b.p50)} | ${ms(x.p99)} | ${signed(x.p99 - b.p99)} | ${ms(x.p999)} | ` +
        `${signed(x.p999 - b.p999)} | ${d.map(signed).join(', ')} | ${x.busiest.toFixed(0)} | ${x.errors} | ${x.late} |`,
    );
  }
  const mesh = s.get('mesh');
  if (mesh === undefined) return;
  console.log('');
  for (const other of ['direct', 'balanced'] as const) {
    const o = s.get(other);
    if (o === undefined) continue;
    const d = perRoundDiff('mesh', other);
    const ci = medianInterval(d);
    console.log(
      `- paired, Mesh − ${NAMES[other]}: p50 ${signed(mesh.p50 - o.p50)} ms, p99 ${signed(mesh.p99 - o.p99)} ms ` +
        `(per round ${d.map(signed).join(', ')}; median ${signed(median(d))}, ` +
        `${(ci.coverage * 100).toFixed(0)} % interval ${signed(ci.low)}…${signed(ci.high)}), p999 ${signed(mesh.p999 - o.p999)} ms; ` +
        'target: p99 added < 0.2 ms',
    );
  }
  printClientSplit(rounds, paths);
}

/**
 * The paired run's split of each request's latency (see `LoadSample.clientUs`): client-side time (issue
 * → request headers on the socket, plus response headers parsed → caller resumed; event-loop waits
 * included) and the rest (socket write → response parsed: the network and the pod).
 */
function printClientSplit(rounds: ReadonlyMap<PathId, readonly LoadSample[]>, paths: readonly PathId[]): void {
  type Part = 'clientUs' | 'remoteUs';
  const pooled = new Map<string, number[]>(); // path and part → all rounds' values, sorted once
  const q = (p: PathId, part: Part, quant: number) => {
    const key = `${p} ${part}`;
    let sorted = pooled.get(key);
    if (sorted === undefined) {
      sorted = rounds
        .get(p)!
        .flatMap((x) => x[part] ?? [])
        .sort((a, b) => a - b);
      pooled.set(key, sorted);
    }
    return quantileSorted(sorted, quant) / 1000;
  };
  const perRound = (p: PathId, part: Part) => rounds.get(p)!.map((x) => p99Of(x, part));
  console.log('');
  console.log(
    'The same requests split: client side (issue → headers written, response headers parsed → caller resumed) ' +
      'and remote (headers written → response headers parsed)',
  );
  console.log('');
  console.log('| path | client p50 ms | client p99 ms | client p999 ms | remote p50 ms | remote p99 ms | left out |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const p of paths) {
    const skipped = rounds.get(p)!.reduce((n, x) => n + (x.clientSkipped ?? 0), 0);
    console.log(
      `| ${NAMES[p]} | ${ms(q(p, 'clientUs', 0.5))} | ${ms(q(p, 'clientUs', 0.99))} | ${ms(q(p, 'clientUs', 0.999))} | ` +
        `${ms(q(p, 'remoteUs', 0.5))} | ${ms(q(p, 'remoteUs', 0.99))} | ${skipped} |`,
    );
  }
  if (!rounds.has('mesh')) return;
  console.log('');
  for (const other of ['direct', 'balanced'] as const) {
    if (!rounds.has(other)) continue;
    for (const part of ['clientUs', 'remoteUs'] as const) {
      const mine = perRound('mesh', part);
      const theirs = perRound(other, part);
      const d = mine.map((x, i) => x - theirs[i]!);
      const ci = medianInterval(d);
      console.log(
        `- ${part === 'clientUs' ? 'client side' : 'remote'}, Mesh − ${NAMES[other]}: ` +
          `p50 ${signed(q('mesh', part, 0.5) - q(other, part, 0.5))} ms pooled, ` +
          `p99 ${signed(q('mesh', part, 0.99) - q(other, part, 0.99))} ms pooled, per-round median ${signed(median(d))} ` +
          `(${(ci.coverage * 100).toFixed(0)} % interval ${signed(ci.low)}…${signed(ci.high)})`,
      );
    }
  }
}

/** p99 in ms of one sample's latencies, or of its client-side or remote times. */
function p99Of(sample: LoadSample, part: 'latenciesUs' | 'clientUs' | 'remoteUs' = 'latenciesUs'): number {
  return (
    quantileSorted(
      [...(sample[part] ?? [])].sort((a, b) => a - b),
      0.99,
    ) / 1000
  );
}

interface Summary {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly p99Range: string;
  readonly clientCpu: number;
  readonly podCpu: number;
  readonly proxyCpu: number;
  /** Requests per pod over all rounds, in %, pod order. */
  readonly pods: string;
  /** The busiest pod's share of a round's requests, median over rounds, %. */
  readonly busiest: number;
  readonly errors: number;
  readonly late: number;
}

/**
 * The rate at which the busier of the two pinned CPUs (the client's; the pods' and proxy's) would be
 * saturated, from the CPU each spends per request: a load-independent estimate of what this pinning
 * allows, less moved by other jobs on a shared machine than the measured rate.
 */
function capacity(s: Summary): number {
  return PROXY_ON_CLIENT_CPU
    ? 1e6 / Math.max(s.clientCpu + s.proxyCpu, s.podCpu)
    : 1e6 / Math.max(s.clientCpu, s.podCpu + s.proxyCpu);
}

/** Client, pod and proxy CPU per request. */
function total(s: Summary): number {
  return s.clientCpu + s.podCpu + s.proxyCpu;
}

/** CPU time of all rounds ÷ requests of all rounds (the /proc figures have a 10 ms resolution per round). */
function perRequest(rounds: readonly LoadSample[], cpu: (s: LoadSample) => number): number {
  const n = rounds.reduce((a, s) => a + s.latenciesUs.length, 0);
  return rounds.reduce((a, s) => a + cpu(s) * s.latenciesUs.length, 0) / Math.max(1, n);
}

/** Throughput: median over rounds. Latency quantiles: over every round's latencies pooled. CPU: per request over all rounds. */
function summarise(setup: Setup, rounds: readonly LoadSample[]): Summary {
  const pooled = rounds.flatMap((s) => s.latenciesUs).sort((a, b) => a - b);
  const perRoundP99 = rounds.map(
    (s) =>
      quantileSorted(
        [...s.latenciesUs].sort((a, b) => a - b),
        0.99,
      ) / 1000,
  );
  const podTotals: Record<string, number> = {};
  for (const s of rounds) for (const [pod, n] of Object.entries(s.pods)) podTotals[pod] = (podTotals[pod] ?? 0) + n;
  return {
    rps: median(rounds.map((s) => s.rps)),
    p50: quantileSorted(pooled, 0.5) / 1000,
    p99: quantileSorted(pooled, 0.99) / 1000,
    p999: quantileSorted(pooled, 0.999) / 1000,
    p99Range: `${Math.min(...perRoundP99).toFixed(2)}–${Math.max(...perRoundP99).toFixed(2)}`,
    clientCpu: perRequest(rounds, (s) => s.clientCpuUs),
    podCpu: perRequest(rounds, (s) => s.podCpuUs),
    proxyCpu: perRequest(rounds, (s) => s.proxyCpuUs),
    pods: shares(setup, podTotals),
    busiest: median(
      rounds.map((s) => {
        const counts = Object.values(s.pods);
        const total = counts.reduce((a, b) => a + b, 0);
        return total === 0 ? Number.NaN : (Math.max(...counts) / total) * 100;
      }),
    ),
    errors: rounds.reduce((n, s) => n + s.errors, 0),
    late: rounds.reduce((n, s) => n + s.late, 0),
  };
}

/** Requests per pod as `33/34/33` (%), in pod order; unknown pods (no `x-pod` header) appended. */
function shares(setup: Setup, pods: Readonly<Record<string, number>>): string {
  const total = Object.values(pods).reduce((a, b) => a + b, 0);
  const hosts = setup.podUrls.map((u) => new URL(u).hostname);
  const keys = [...hosts, ...Object.keys(pods).filter((k) => !hosts.includes(k))];
  return keys.map((k) => (((pods[k] ?? 0) / Math.max(1, total)) * 100).toFixed(0)).join('/');
}

/** Per-round ratios as their median, quartiles and the distribution-free interval of that median. */
function spread(ratios: readonly number[]): string {
  const sorted = [...ratios].sort((x, y) => x - y);
  const ci = medianInterval(ratios);
  return (
    `median of ${ratios.length} per-round ratios ${median(ratios).toFixed(3)}, quartiles ` +
    `${quantileSorted(sorted, 0.25).toFixed(3)}–${quantileSorted(sorted, 0.75).toFixed(3)}, ` +
    `${(ci.coverage * 100).toFixed(0)} % interval of that median ${ci.low.toFixed(3)}–${ci.high.toFixed(3)}`
  );
}

function ms(x: number): string {
  return Number.isNaN(x) ? '–' : x.toFixed(2);
}

function signed(x: number): string {
  if (Number.isNaN(x)) return '–';
  return (x >= 0 ? '+' : '') + x.toFixed(2);
}

/**
 * `--profile`: one Mesh and one BalancedPool client, each CPU-profiled over a closed-loop run after its
 * warm-up: the top self-time functions of each in µs per request, ours listed apart, and the functions
 * whose cost differs most between the two paths.
 */
async function profile(setup: Setup, job: (path: PathId, levels: readonly number[]) => ClientJob): Promise<void> {
  const reports = new Map<PathId, ReturnType<typeof summariseProfile>>();
  for (const path of ['mesh', 'balanced'] as const) {
    const profileFile = join(setup.tmp, `${path}.cpuprofile`);
    const [sample] = await runClient(setup, { ...job(path, [0]), profileFile });
    const requests = sample!.latenciesUs.length;
    const report = summariseProfile(JSON.parse(readFileSync(profileFile, 'utf8')), requests);
    reports.set(path, report);
    console.log('');
    console.log(
      `${NAMES[path]} alone, profiled: ${sample!.rps.toFixed(0)} req/s, ${sample!.clientCpuUs.toFixed(1)} µs CPU/req, ` +
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
}

function printRows(rows: readonly { name: string; where: string; usPerRequest: number; percent: number }[]): void {
  console.log('| function | where | self µs/req | % of samples |');
  console.log('| --- | --- | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.where} | ${r.usPerRequest.toFixed(2)} | ${r.percent.toFixed(1)} |`);
  }
}
