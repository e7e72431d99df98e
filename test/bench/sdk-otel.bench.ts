// Benchmark: overhead of telemetry on the HTTP path through the Mesh to 3 backend "pods": telemetry
// disabled (`telemetry: false`), the OpenTelemetry API without an SDK (the default for most apps), the SDK
// with a no-op span exporter and an idle metric reader, and that SDK plus instrumentation-undici.
// Every mode runs in a fresh client process (OTel state is global); rounds interleave the modes and the
// report gives each mode's median throughput and CPU per request as ratios against `disabled`.
// Run: `node --conditions=clusterip-internal build/test/bench/sdk-otel.bench.js [--quick] [--rounds=N] [--only=<mode part>]`

import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import { StaticSource } from '@clusterip/resolver/testing';
import { Mesh, type MeshOptions } from '@clusterip/sdk';
import { request } from 'undici';

const QUICK = process.argv.includes('--quick');

const DURATION_MS = QUICK ? 1000 : 3000;
const WARMUP_MS = 300;
const CONCURRENCY = 32;
const PODS = ['127.0.82.11', '127.0.82.12', '127.0.82.13'];
const ALL_MODES = ['disabled', 'api, no SDK', 'SDK, no-op exporter', 'SDK + instrumentation-undici'] as const;
type Mode = (typeof ALL_MODES)[number];
const ROUNDS_ARG = process.argv.find((a) => a.startsWith('--rounds='))?.slice('--rounds='.length);
// `--only=api`: `disabled` (the baseline) and the modes whose name contains the text.
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const MODES = ALL_MODES.filter((m) => m === 'disabled' || ONLY === undefined || m.includes(ONLY));

interface Sample {
  readonly rps: number;
  readonly cpuUs: number;
  readonly errors: number;
}

if (process.argv[2] === '--backend') {
  const host = process.argv[3]!;
  const server = createServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
    res.end('ok');
  });
  server.listen(0, host, () => process.send?.({ port: (server.address() as { port: number }).port }));
  process.on('disconnect', () => process.exit(0));
} else if (process.argv[2] === '--client') {
  const mode = process.argv[3] as Mode;
  const ports = JSON.parse(process.argv[4]!) as number[];
  process.send?.(await client(mode, ports));
  process.exit(0);
} else {
  await main();
}

async function setUpOtel(mode: Mode): Promise<void> {
  if (mode === 'disabled' || mode === 'api, no SDK') return;
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

async function client(mode: Mode, ports: number[]): Promise<Sample> {
  await setUpOtel(mode);
  const source = new StaticSource([
    {
      namespace: 'bench',
      name: 'backend',
      ports: [{ name: 'http', port: 80 }],
      endpoints: PODS.map((address, i) => ({ address, ports: { http: ports[i]! } })),
    },
  ]);
  const options: MeshOptions = {
    source,
    context: { namespace: 'bench', resolvConf: '', env: {} },
    pool: { connections: CONCURRENCY, pipelining: 1, keepAliveTimeoutMs: 4000 },
    policy: 'round-robin',
    ...(mode === 'disabled' ? { telemetry: false } : {}),
  };
  const mesh = new Mesh(options);
  const url = 'http://backend.bench/';
  let errors = 0;
  let done = 0;
  const loop = async (until: number, count: boolean) => {
    while (performance.now() < until) {
      try {
        const res = await request(url, { dispatcher: mesh.dispatcher });
        await res.body.dump();
        if (count) done++;
      } catch {
        if (count) errors++;
      }
    }
  };
  const warm = performance.now() + WARMUP_MS;
  await Promise.all(Array.from({ length: CONCURRENCY }, () => loop(warm, false)));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, () => loop(t0 + DURATION_MS, true)));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await mesh.close();
  return { rps: (done / elapsed) * 1000, cpuUs: (cpu.user + cpu.system) / Math.max(1, done), errors };
}

function forkWith(args: string[]): ChildProcess {
  return fork(process.argv[1]!, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.execArgv });
}

function once<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const backends = PODS.map((host) => forkWith(['--backend', host]));
  try {
    const ports = await Promise.all(backends.map((b) => once<{ port: number }>(b).then((m) => m.port)));
    const rounds = ROUNDS_ARG === undefined ? (QUICK ? 2 : 5) : Number(ROUNDS_ARG);
    const samples = new Map<Mode, Sample[]>(MODES.map((m) => [m, []]));
    for (let round = 0; round < rounds; round++) {
      // Rotate the order every round so no mode always runs first (or right after the same neighbour).
      const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]!);
      for (const mode of order) {
        const sample = await once<Sample>(forkWith(['--client', mode, JSON.stringify(ports)]));
        samples.get(mode)!.push(sample);
      }
    }
    const base = samples.get('disabled')!;
    const baseRps = median(base.map((s) => s.rps));
    const baseCpu = median(base.map((s) => s.cpuUs));
    console.log(
      `telemetry overhead on the HTTP path (Mesh → 3 pods, ${CONCURRENCY} concurrent, ${rounds} rounds × ${DURATION_MS} ms, median)`,
    );
    console.log('mode                            req/s   ratio   CPU µs/req  ratio  errors');
    for (const mode of MODES) {
      const s = samples.get(mode)!;
      const rps = median(s.map((x) => x.rps));
      const cpu = median(s.map((x) => x.cpuUs));
      const errors = s.reduce((a, x) => a + x.errors, 0);
      console.log(
        `${mode.padEnd(30)} ${rps.toFixed(0).padStart(7)}  ${(rps / baseRps).toFixed(3)}  ${cpu.toFixed(1).padStart(10)}  ${(cpu / baseCpu).toFixed(3)}  ${errors}`,
      );
    }
  } finally {
    for (const b of backends) b.kill();
  }
}
