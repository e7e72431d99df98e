// Benchmark (issue #7): overhead of telemetry on the HTTP path through the Mesh to 3 pod processes:
// telemetry disabled (`telemetry: false`, twice: the A/A control), the OpenTelemetry API without an SDK
// (the default for most apps), the SDK with a no-op span exporter and an idle metric reader, and that
// SDK plus instrumentation-undici. Produces each mode's throughput and client CPU per request as ratios
// to `disabled`, with the A/A ratio as the noise floor.
// Method (the one of compare-http.bench.ts): pods start once; every (mode, round) runs in a fresh client
// process (OTel state is global) that warms up, then measures a closed loop; rounds interleave the modes
// with the order rotated; with taskset the client has CPU 0 and the pods CPU 1.
// Run: `node --conditions=clusterip-internal build/test/bench/sdk-otel.bench.js [--quick] [--rounds=N]
// [--only=<mode part>] [--no-pin] [--nice=<n>]`

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './bench-args.js';
import { type BenchChild, cpuPlan, loadAverage, type Placement, sendToParent, startChild } from './bench-child.js';
import { median } from './bench-stats.js';
import { benchMesh } from './bench-util.js';
import { closedLoop, type LoadSample, type LoadTarget } from './http-load.js';

const argv = process.argv.slice(2);
const args = benchArgs(argv);
const QUICK = args.flag('quick');
// Many short rounds rather than a few long ones: each mode is compared with `disabled` in the same round,
// so slow changes in the machine's load cancel out, and the spread of the per-round ratios is visible.
const ROUNDS = args.number('rounds', QUICK ? 2 : 8, { min: 1, max: 10_000, integer: true });
const DURATION_MS = QUICK ? 800 : 2000;
const WARMUP_MS = QUICK ? 400 : 1000;
const CONCURRENCY = 32;
const NICE = args.number('nice', 0, { min: -20, max: 19, integer: true });
/** The in-process check of "API, no SDK": block pairs and block length. */
const PAIRED_BLOCKS = QUICK ? 6 : 20;
/** Client processes read their durations from their own arguments: `--quick` is passed on. */
const CHILD_FLAGS: readonly string[] = QUICK ? ['--quick'] : [];
const BLOCK_MS = 250;
const PODS = ['127.0.82.11', '127.0.82.12', '127.0.82.13'];
const HERE = fileURLToPath(new URL('.', import.meta.url));
const ALL_MODES = [
  'disabled',
  'disabled (A/A control)',
  'API, no SDK',
  'SDK, no-op exporter',
  'SDK + instrumentation-undici',
] as const;
type Mode = (typeof ALL_MODES)[number];
// `--only=API`: `disabled` (the baseline) and the modes whose name contains the text.
const ONLY = args.option('only')?.toLowerCase();
const MODES = ALL_MODES.filter((m) => m === 'disabled' || ONLY === undefined || m.toLowerCase().includes(ONLY));
// Nothing beside the baseline matches: say so and measure nothing (`npm run bench` hands one --only to
// every benchmark it runs, so this is not an error).
const NOTHING = ONLY !== undefined && MODES.length === 1;

if (argv[0] === '--client') {
  const sample = await client(argv[1] as Mode, JSON.parse(argv[2]!) as number[]);
  sendToParent(sample, () => process.exit(0));
} else if (argv[0] === '--paired') {
  const result = await pairedClient(JSON.parse(argv[1]!) as number[]);
  sendToParent(result, () => process.exit(0));
} else if (NOTHING) {
  console.log(`> --only=${ONLY} matches none of ${ALL_MODES.filter((m) => m !== 'disabled').join(', ')}: skipped`);
} else await main();

async function setUpOtel(mode: Mode): Promise<void> {
  if (!mode.startsWith('SDK')) return;
  const { context, metrics, propagation, trace } = await import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator, ExportResultCode } = await import('@opentelemetry/core');
  const { BasicTracerProvider, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
  class IdleReader extends MetricReader {
    protected onForceFlush = () => Promise.resolve();
    protected onShutdown = () => Promise.resolve();
  }
  const noopExporter = {
    export: (_spans: unknown, done: (r: { code: number }) => void) => done({ code: ExportResultCode.SUCCESS }),
    shutdown: () => Promise.resolve(),
  };
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(noopExporter)] });
  const meterProvider = new MeterProvider({ readers: [new IdleReader()] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  if (mode === 'SDK + instrumentation-undici') {
    const { UndiciInstrumentation } = await import('@opentelemetry/instrumentation-undici');
    const instrumentation = new UndiciInstrumentation();
    instrumentation.setTracerProvider(tracerProvider);
    instrumentation.setMeterProvider(meterProvider);
    instrumentation.enable();
  }
}

function meshFor(mode: Mode, ports: readonly number[]): { target: LoadTarget; close(): Promise<void> } {
  const { mesh, close } = benchMesh(
    PODS.map((address, i) => ({ address, port: ports[i]! })),
    {
      pool: { connections: CONCURRENCY, pipelining: 1, keepAliveTimeoutMs: 4000 },
      policy: 'round-robin',
      ...(mode.startsWith('disabled') ? { telemetry: false } : {}),
    },
  );
  return {
    target: { url: 'http://backend.bench/', dispatcher: mesh.dispatcher },
    close,
  };
}

/**
 * The second figure for "API, no SDK": a `telemetry: false` mesh and a default one in the same process,
 * measured in alternating short blocks. Valid for these two modes only, because neither registers any
 * global OpenTelemetry state, and both run the very same undici and mesh code (shared JIT state is what
 * makes the comparison exact here). Returns the CPU per request of each block.
 */
async function pairedClient(ports: readonly number[]): Promise<{ off: number[]; api: number[] }> {
  const off = meshFor('disabled', ports);
  const api = meshFor('API, no SDK', ports);
  await closedLoop(off.target, CONCURRENCY, WARMUP_MS / 2);
  await closedLoop(api.target, CONCURRENCY, WARMUP_MS / 2);
  const result = { off: [] as number[], api: [] as number[] };
  for (let i = 0; i < PAIRED_BLOCKS; i++) {
    const order = i % 2 === 0 ? (['off', 'api'] as const) : (['api', 'off'] as const);
    for (const k of order) {
      result[k].push((await closedLoop((k === 'off' ? off : api).target, CONCURRENCY, BLOCK_MS)).clientCpuUs);
    }
  }
  await off.close();
  await api.close();
  return result;
}

async function client(mode: Mode, ports: number[]): Promise<LoadSample> {
  await setUpOtel(mode);
  const mesh = meshFor(mode, ports);
  // No forced GC before the window: it shrinks V8's young generation and skews paths by their allocation
  // (see compare-http's client()).
  await closedLoop(mesh.target, CONCURRENCY, WARMUP_MS);
  const sample = await closedLoop(mesh.target, CONCURRENCY, DURATION_MS);
  await mesh.close();
  // Latencies are not reported here: the parent needs rates and CPU only.
  return { ...sample, latenciesUs: [] };
}

async function main(): Promise<void> {
  const pin = cpuPlan(args.flag('no-pin'));
  const serverPlace: Placement = { cpus: pin.servers, nice: NICE };
  const clientPlace: Placement = { cpus: pin.client, nice: NICE };
  const node = (...argv: string[]) => [process.execPath, '--conditions=clusterip-internal', '--expose-gc', ...argv];
  const children: BenchChild[] = [];
  const loadStart = loadAverage();
  try {
    for (const host of PODS) children.push(startChild(node(join(HERE, 'bench-pod.js'), host), serverPlace));
    const ports = await Promise.all(children.map((c) => c.next<{ port: number }>(10_000).then((m) => m.port)));
    const samples = new Map<Mode, LoadSample[]>(MODES.map((m) => [m, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order every round so no mode always runs first (or right after the same neighbour).
      for (let i = 0; i < MODES.length; i++) {
        const mode = MODES[(i + round) % MODES.length]!;
        const child = startChild(
          node(process.argv[1]!, '--client', mode, JSON.stringify(ports), ...CHILD_FLAGS),
          clientPlace,
        );
        try {
          samples.get(mode)!.push(await child.next<LoadSample>(15_000 + 3 * (WARMUP_MS + DURATION_MS)));
        } finally {
          await child.kill();
        }
      }
    }
    report(samples, pin.why, loadStart);
    if (MODES.includes('API, no SDK')) {
      const child = startChild(node(process.argv[1]!, '--paired', JSON.stringify(ports), ...CHILD_FLAGS), clientPlace);
      try {
        const r = await child.next<{ off: number[]; api: number[] }>(30_000 + 4 * PAIRED_BLOCKS * BLOCK_MS);
        const ratios = r.api.map((x, i) => x / r.off[i]!).sort((a, b) => a - b);
        const q = (p: number) =>
          (ratios[Math.min(ratios.length - 1, Math.floor(p * ratios.length))] ?? Number.NaN).toFixed(3);
        console.log('');
        console.log(
          `In one process (a \`telemetry: false\` mesh and a default one, ${PAIRED_BLOCKS} alternating ${BLOCK_MS} ms blocks each): ` +
            `client CPU µs/req ${median(r.off).toFixed(1)} (disabled) and ${median(r.api).toFixed(1)} (API, no SDK); ` +
            `API ÷ disabled per block pair: median ${median(ratios).toFixed(3)} [quartiles ${q(0.25)}–${q(0.75)}]`,
        );
      } finally {
        await child.kill();
      }
    }
  } finally {
    await Promise.all(children.map((c) => c.kill()));
  }
}

function report(samples: Map<Mode, LoadSample[]>, pinning: string, loadStart: string): void {
  const base = samples.get('disabled')!;
  const rps = (s: readonly LoadSample[]) => median(s.map((x) => x.rps));
  const cpu = (s: readonly LoadSample[]) => median(s.map((x) => x.clientCpuUs));
  /** Median [quartiles] over rounds of this mode's figure ÷ `disabled`'s figure in the same round. */
  const paired = (s: readonly LoadSample[], f: (x: LoadSample) => number) => {
    const ratios = s
      .slice(0, base.length)
      .map((x, i) => f(x) / f(base[i]!))
      .sort((a, b) => a - b);
    const q = (p: number) =>
      (ratios[Math.min(ratios.length - 1, Math.floor(p * ratios.length))] ?? Number.NaN).toFixed(3);
    return `${median(ratios).toFixed(3)} [${q(0.25)}–${q(0.75)}]`;
  };
  console.log(
    `telemetry overhead on the HTTP path: Mesh → 3 pods, closed loop with ${CONCURRENCY} requests outstanding; ` +
      `node ${process.version}, ${new Date().toISOString()}; one fresh client process per mode and round ` +
      `(${WARMUP_MS} ms warm-up + ${DURATION_MS} ms measured), ${ROUNDS} interleaved rounds, order rotated; ${pinning}` +
      `${NICE === 0 ? '' : `; nice ${NICE}`}; load average ${loadStart} at the start, ${loadAverage()} at the end`,
  );
  console.log('');
  console.log(
    '| mode | req/s (median) | ÷ disabled | per-round ÷ disabled, median [quartiles] | client CPU µs/req (median) | ÷ disabled | per-round ÷ disabled, median [quartiles] | errors |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const mode of MODES) {
    const s = samples.get(mode)!;
    console.log(
      `| ${mode} | ${rps(s).toFixed(0)} | ${(rps(s) / rps(base)).toFixed(3)} | ${paired(s, (x) => x.rps)} | ` +
        `${cpu(s).toFixed(1)} | ${(cpu(s) / cpu(base)).toFixed(3)} | ${paired(s, (x) => x.clientCpuUs)} | ` +
        `${s.reduce((n, x) => n + x.errors, 0)} |`,
    );
  }
  const aa = samples.get('disabled (A/A control)');
  if (aa !== undefined) {
    const spread = aa.map((x, i) => x.clientCpuUs / base[i]!.clientCpuUs);
    console.log('');
    console.log(
      `A/A control (the same mode twice): per-round CPU ratios ${spread.map((r) => r.toFixed(3)).join(', ')}: ` +
        'a difference inside this spread is noise, not overhead',
    );
  }
}
