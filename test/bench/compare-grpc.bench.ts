// Benchmark: one gRPC channel's per-pod distribution, calls/s and p50/p99 through the ClusterIP-style path
// (grpc-js pick_first over one HTTP/2 connection to a virtual address that a TCP forwarder sends to one
// random pod per connection) versus grpc-js round_robin over the pod list versus our `kubernetes:` resolver
// + `clusterip` LB registered with `register(mesh)` (KubernetesSource against FakeKubernetesApi).
// Two kinds of pods: `fast` (answer at once: the client's CPU is the limit) and `capacity` (each pod serves
// at most SLOTS calls at a time, SERVICE_MS each, on a timer: the pods are the limit, as when they do real
// work — what balancing over every pod is for).
// Method (as sdk-http.bench.ts): pods, forwarder and API each in their own process, started once; every
// (variant, round) runs in a fresh client process (warm-up, then one measured closed-loop run); rounds
// interleaved with the order rotated; medians and ratios to the baselines measured in the same run.
// Run: node --conditions=clusterip-internal build/test/bench/compare-grpc.bench.js [--quick] [--verbose]
// [--scenario=fast|capacity] [--rounds=N] [--warmup-ms=N]

import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { KubernetesSource } from '@clusterip/resolver';
import { FakeKubernetesApi } from '@clusterip/resolver/testing';
import { Mesh } from '@clusterip/sdk';
import { register, serviceConfig } from '@clusterip/sdk/grpc';
import * as grpc from '@grpc/grpc-js';
import { echoService } from '../helpers/grpc-test-server.js';
import { benchArgs } from './bench-args.js';
import { loadAverage } from './bench-child.js';
import { median, medianInterval } from './bench-stats.js';
import { ratio, runChild, type StartedChild, startChild } from './bench-util.js';
import { startTcpForwarder } from './tcp-forwarder.js';

const SELF = fileURLToPath(import.meta.url);
const args = benchArgs(process.argv.slice(2));
const QUICK = args.flag('quick');
const VERBOSE = args.flag('verbose');
const ROUNDS = args.number('rounds', QUICK ? 2 : 3, { min: 1, max: 1000, integer: true });
const WARMUP_MS = args.number('warmup-ms', QUICK ? 500 : 1000, {
  min: 0,
  max: 600_000,
  integer: true,
});
const DURATION_MS = QUICK ? 1000 : 3000;
const CONCURRENCY = 32;
/** Bound on calls per measured run, whatever the duration. */
const MAX_CALLS = 500_000;
const CHILD_TIMEOUT_MS = 20_000 + 3 * (WARMUP_MS + DURATION_MS);
const PODS = ['127.0.93.11', '127.0.93.12', '127.0.93.13'];
const VIP = '127.0.93.1';
/** `capacity` pods: calls served at once per pod, and how long each holds its slot. */
const SLOTS = 4;
const SERVICE_MS = 5;
type Scenario = 'fast' | 'capacity';
const SCENARIOS: readonly Scenario[] = ['fast', 'capacity'];
/** `--scenario=fast` or `--scenario=capacity` measures one kind of pods only. */
const ONLY_SCENARIO = args.choice('scenario', ['all', ...SCENARIOS], 'all');
const SERVICE_OF: Readonly<Record<Scenario, string>> = { fast: 'echo', capacity: 'echo-slow' };

type VariantId = 'clusterip' | 'rr' | 'plugin' | 'plugin-rr';
const VARIANTS: readonly VariantId[] = ['clusterip', 'rr', 'plugin', 'plugin-rr'];
const NAMES: Readonly<Record<VariantId, string>> = {
  clusterip: 'grpc-js pick_first → ClusterIP-style forwarder (1 connection)',
  rr: 'grpc-js round_robin, ipv4: pod list',
  plugin: 'clusterip plugin, kubernetes:///<service>:grpc (random, default)',
  'plugin-rr': 'clusterip plugin, round-robin',
};

/** What the parent tells a client process. */
interface ClientJob {
  readonly variant: VariantId;
  readonly scenario: Scenario;
  readonly pods: readonly { host: string; port: number }[];
  readonly vip: string;
  readonly apiUrl: string;
  /** The parent's durations: a client process does not see the parent's options (`--quick`, `--warmup-ms`). */
  readonly warmupMs: number;
  readonly durationMs: number;
}

interface Sample {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly cpuUs: number;
  /** Calls answered by each pod (pod name → count) in the measured run. */
  readonly perPod: Readonly<Record<string, number>>;
}

const role = process.argv[2];
if (role === '--pods') await pods();
else if (role === '--forwarder') {
  await forwarder(JSON.parse(process.argv[3]!) as Record<Scenario, { host: string; port: number }[]>);
} else if (role === '--client') await client(JSON.parse(process.argv[3]!) as ClientJob);
else await main();

// ── pods: one grpc-js server per pod address, answering `Who` with its name ──────────────────────────

async function pods(): Promise<void> {
  const ports: Record<Scenario, number[]> = { fast: [], capacity: [] };
  const servers: grpc.Server[] = [];
  for (const scenario of SCENARIOS) {
    for (const [i, host] of PODS.entries()) {
      const pod = `pod-${i + 1}`;
      const server = new grpc.Server();
      // Capacity pods: SLOTS calls at a time, each holding its slot SERVICE_MS; the rest wait in a queue.
      let busy = 0;
      const queue: (() => void)[] = [];
      const release = () => {
        busy--;
        queue.shift()?.();
      };
      const serve = (cb: grpc.sendUnaryData<unknown>) => {
        busy++;
        setTimeout(() => {
          cb(null, { pod });
          release();
        }, SERVICE_MS);
      };
      server.addService(echoService as unknown as grpc.ServiceDefinition, {
        who: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
          if (scenario === 'fast') cb(null, { pod });
          else if (busy < SLOTS) serve(cb);
          else queue.push(() => serve(cb));
        },
        chat: () => {},
      });
      servers.push(server);
      ports[scenario].push(
        await new Promise<number>((resolve, reject) =>
          server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (e, p) =>
            e ? reject(e) : resolve(p),
          ),
        ),
      );
    }
  }
  process.on('SIGTERM', () => {
    for (const s of servers) s.forceShutdown();
    process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.(ports);
}

// ── forwarder: the ClusterIP-style virtual address, in its own process ──────────────────────────────

async function forwarder(backends: Record<Scenario, { host: string; port: number }[]>): Promise<void> {
  const fast = await startTcpForwarder(VIP, backends.fast);
  const capacity = await startTcpForwarder(VIP, backends.capacity);
  const quit = () => void Promise.all([fast.close(), capacity.close()]).then(() => process.exit(0));
  process.on('SIGTERM', quit);
  process.on('disconnect', quit);
  process.send?.({ fast: fast.port, capacity: capacity.port });
}

// ── client: one variant, warm-up, one measured run, the sample over IPC ─────────────────────────────

type Who = (cb: (error: Error | null, reply?: { pod: string }) => void) => void;

function channel(target: string, options: grpc.ChannelOptions): { who: Who; close(): void } {
  const Ctor = grpc.makeGenericClientConstructor(echoService as unknown as grpc.ServiceDefinition, 'Echo');
  const c = new Ctor(target, grpc.credentials.createInsecure(), options);
  const raw = c as unknown as { who(req: unknown, cb: (e: Error | null, r?: { pod: string }) => void): void };
  return { who: (cb) => raw.who({}, cb), close: () => c.close() };
}

async function client(job: ClientJob): Promise<void> {
  let close: () => Promise<void>;
  let ch: { who: Who; close(): void };
  switch (job.variant) {
    case 'clusterip':
      // No service config: grpc-js's default pick_first, one subchannel, one HTTP/2 connection.
      ch = channel(`ipv4:${job.vip}`, {});
      close = async () => ch.close();
      break;
    case 'rr':
      ch = channel(`ipv4:${job.pods.map((p) => `${p.host}:${p.port}`).join(',')}`, {
        'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      });
      close = async () => ch.close();
      break;
    case 'plugin':
    case 'plugin-rr': {
      const source = new KubernetesSource({ server: job.apiUrl });
      const mesh = new Mesh({ source, context: { namespace: 'default', resolvConf: '', env: {} } });
      const registration = register(mesh);
      ch = channel(
        `kubernetes:///${SERVICE_OF[job.scenario]}:grpc`,
        job.variant === 'plugin-rr' ? { 'grpc.service_config': serviceConfig({ policy: 'round-robin' }) } : {},
      );
      close = async () => {
        ch.close();
        await registration.close();
        await mesh.close();
        await source.close();
      };
      break;
    }
  }
  await closedLoop(ch.who, job.warmupMs);
  const sample = await closedLoop(ch.who, job.durationMs);
  await close();
  process.send?.(sample, () => process.exit(0));
}

/** CONCURRENCY outstanding calls for `durationMs` (at most MAX_CALLS). */
async function closedLoop(who: Who, durationMs: number): Promise<Sample> {
  const latencies: number[] = [];
  const perPod: Record<string, number> = {};
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + durationMs;
  const cpu0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    let running = 0;
    const start = () => {
      if (performance.now() >= end || latencies.length + errors >= MAX_CALLS) {
        if (running === 0) resolve();
        return;
      }
      running++;
      const s = performance.now();
      who((error, reply) => {
        running--;
        if (error || reply === undefined) errors++;
        else {
          latencies.push(performance.now() - s);
          perPod[reply.pod] = (perPod[reply.pod] ?? 0) + 1;
        }
        start();
      });
    };
    for (let c = 0; c < CONCURRENCY; c++) start();
  });
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return {
    rps: (latencies.length / elapsed) * 1000,
    p50: at(0.5),
    p99: at(0.99),
    errors,
    cpuUs: (cpu.user + cpu.system) / Math.max(1, latencies.length),
    perPod,
  };
}

// ── parent ──────────────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const children: StartedChild<unknown>[] = [];
  let api: FakeKubernetesApi | undefined;
  try {
    const podsChild = await startChild<Record<Scenario, number[]>>(SELF, ['--pods']);
    children.push(podsChild);
    const podList = (scenario: Scenario) => PODS.map((host, i) => ({ host, port: podsChild.first[scenario][i]! }));
    const fwd = await startChild<Record<Scenario, number>>(SELF, [
      '--forwarder',
      JSON.stringify({ fast: podList('fast'), capacity: podList('capacity') }),
    ]);
    children.push(fwd);

    api = await FakeKubernetesApi.start({ endpointSliceController: true, bookmarkIntervalMs: 60_000 });
    for (const scenario of SCENARIOS) {
      api.apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: SERVICE_OF[scenario], namespace: 'default' },
        spec: { selector: { app: 'echo' }, ports: [{ name: 'grpc', port: 50051, targetPort: scenario }] },
      });
    }
    for (const [i, host] of PODS.entries()) {
      api.apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `echo-${i + 1}`, namespace: 'default', labels: { app: 'echo' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'x',
              ports: SCENARIOS.map((scenario) => ({ name: scenario, containerPort: podsChild.first[scenario][i]! })),
            },
          ],
        },
        status: {
          phase: 'Running',
          podIP: host,
          podIPs: [{ ip: host }],
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      });
    }
    const job = (scenario: Scenario, variant: VariantId): ClientJob => ({
      variant,
      scenario,
      pods: podList(scenario),
      vip: `${VIP}:${fwd.first[scenario]}`,
      apiUrl: api!.url,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
    });

    console.log(
      `node ${process.version}, ${PODS.length} pods in one process, the forwarder in another, one fresh client ` +
        `process per variant and round (${WARMUP_MS} ms warm-up + ${DURATION_MS} ms measured, ${CONCURRENCY} calls ` +
        `outstanding), ${ROUNDS} interleaved rounds, order rotated; medians over rounds; load average ${loadAverage()}`,
    );
    for (const scenario of SCENARIOS.filter((x) => ONLY_SCENARIO === 'all' || x === ONLY_SCENARIO)) {
      const samples = new Map<VariantId, Sample[]>(VARIANTS.map((v) => [v, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (let k = 0; k < VARIANTS.length; k++) {
          const variant = VARIANTS[(k + round) % VARIANTS.length]!;
          const sample = await runChild<Sample>(SELF, ['--client', JSON.stringify(job(scenario, variant))], {
            timeoutMs: CHILD_TIMEOUT_MS,
          });
          if (VERBOSE) console.log(`${scenario} round ${round} ${variant}: ${sample.rps.toFixed(0)}/s`, sample.perPod);
          samples.get(variant)!.push(sample);
        }
      }
      report(scenario, samples);
    }
  } finally {
    await api?.close();
    for (const c of children.reverse()) await c.stop();
  }
}

function report(scenario: Scenario, samples: Map<VariantId, Sample[]>): void {
  const med = (v: VariantId, f: 'rps' | 'p50' | 'p99' | 'cpuUs') => median(samples.get(v)!.map((s) => s[f]));
  console.log('');
  console.log(
    scenario === 'fast'
      ? 'Pods answer at once (the client is the limit):'
      : `Pods with capacity: ${SLOTS} calls at a time per pod, ${SERVICE_MS} ms each (at most ${(SLOTS * 1000) / SERVICE_MS} calls/s per pod):`,
  );
  console.log('');
  console.log(
    '| client | calls/s | ÷ round_robin | ÷ ClusterIP | p50 ms | p99 ms | p99 ÷ round_robin | client CPU µs/call | pods used | busiest pod share | errors |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const v of VARIANTS) {
    const s = samples.get(v)!;
    // Distribution per run (one channel = one client process): how many pods answered, and the busiest
    // pod's share of the calls; medians over rounds.
    const used = median(s.map((x) => Object.keys(x.perPod).length));
    const busiest = median(
      s.map((x) => {
        const counts = Object.values(x.perPod);
        const total = counts.reduce((a, b) => a + b, 0);
        return total === 0 ? Number.NaN : Math.max(...counts) / total;
      }),
    );
    console.log(
      `| ${NAMES[v]} | ${med(v, 'rps').toFixed(0)} | ${ratio(med(v, 'rps'), med('rr', 'rps'))} | ` +
        `${ratio(med(v, 'rps'), med('clusterip', 'rps'))} | ${med(v, 'p50').toFixed(2)} | ${med(v, 'p99').toFixed(2)} | ` +
        `${ratio(med(v, 'p99'), med('rr', 'p99'))} | ${med(v, 'cpuUs').toFixed(1)} | ${used} of ${PODS.length} | ` +
        `${(busiest * 100).toFixed(1)} % | ${s.reduce((n, x) => n + x.errors, 0)} |`,
    );
  }
  // Each round runs every variant once, close in time: per-round ratios cancel part of the machine's drift.
  console.log('');
  const rr = samples.get('rr')!;
  for (const v of VARIANTS) {
    if (v === 'rr') continue;
    const perRound = (f: 'rps' | 'cpuUs') => {
      const ratios = samples.get(v)!.map((x, i) => x[f] / rr[i]![f]);
      const iv = medianInterval(ratios);
      return `${median(ratios).toFixed(3)} (${Math.round(iv.coverage * 100)} % interval ${iv.low.toFixed(3)}–${iv.high.toFixed(3)})`;
    };
    console.log(
      `- ${NAMES[v]} ÷ round_robin, median of ${rr.length} per-round ratios: calls/s ${perRound('rps')}, client CPU per call ${perRound('cpuUs')}`,
    );
  }
  const pinned = samples
    .get('clusterip')!
    .map((x) => Object.keys(x.perPod).join('+'))
    .join(', ');
  console.log('');
  console.log(`ClusterIP-style path, pod per run (one connection each): ${pinned}; load average ${loadAverage()}`);
}
