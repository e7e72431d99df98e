// Benchmark: the client's work per HTTP request counted by valgrind (callgrind with its cache and branch
// simulation) instead of timed, so that a difference of a few percent shows on a noisy shared machine:
// instructions, L1 instruction and data misses, branch mispredictions, and a cycle estimate, per request
// of the same undici `request()` load (32 outstanding) through an undici Pool to one pod (the baseline),
// BalancedPool, and the Mesh, to 3 pod processes on loopback. Each figure is the difference between a
// client run of 6,000 and one of 2,000 requests, divided by 4,000, which cancels start-up and warm-up.
// `--in-process`: the same load into pools that answer from memory (answering-pool.ts), no sockets, so
// the layers above the connection are all that is counted; runs of 25,000 and 5,000 requests (the
// mesh's per-request code is not optimised yet after 2,000 of them).
// The client runs with `--single-threaded`: V8's compiler and GC work then happen on the counted thread
// and the counts repeat (to about 1 % with sockets, 2–3 % in process); timing is not measured here.
// Run: `node --conditions=clusterip-internal build/test/bench/http-instructions.bench.js [--only=mesh,balanced]
// [--header] [--in-process]` (`--header`: every request carries an `x-load-id` header, as in compare-http
// since run 7). Needs valgrind (`apt-get install -y valgrind`); about 1.5 minutes per path on 2 CPUs
// (3.5 in process).

import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BalancedPool, type Dispatcher, Pool, request } from 'undici';
import { AnsweringPool } from './answering-pool.js';
import { benchArgs } from './bench-args.js';
import { type BenchChild, startChild } from './bench-child.js';
import { benchMesh } from './bench-util.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const PODS = ['127.0.0.41', '127.0.0.42', '127.0.0.43'];
const CONCURRENCY = 32;
const PATHS = ['direct', 'balanced', 'mesh'] as const;
const HEADER = process.argv.includes('--header');
const IN_PROCESS = process.argv.includes('--in-process');
const SHORT = IN_PROCESS ? 5_000 : 2_000;
const LONG = IN_PROCESS ? 25_000 : 6_000;
/** Endpoints of the in-process pools: addresses only, nothing listens there. */
const MEMORY_PODS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
type PathId = (typeof PATHS)[number];
const NAMES: Record<PathId, string> = {
  direct: 'undici Pool → 1 pod (baseline)',
  balanced: 'undici BalancedPool → 3 pods',
  mesh: 'Mesh → 3 pods (round-robin)',
};
/** Rough cost model for the estimate: an L1 miss that hits L2 ≈ 10 cycles, LL miss ≈ 100, mispredict ≈ 15. */
const L1_MISS = 10;
const LL_MISS = 100;
const MISPREDICT = 15;

type Counts = Record<string, number>;

/** The client: `--client <path> <requests> <port,port,port>` (ports unused in process); exits when done. */
async function client(path: PathId, requests: number, ports: readonly number[], header: boolean): Promise<void> {
  const hosts = IN_PROCESS ? MEMORY_PODS : PODS;
  const portOf = (i: number): number => (IN_PROCESS ? 8080 : ports[i]!);
  const origins = hosts.map((h, i) => `http://${h}:${portOf(i)}`);
  const answering = (origin: string | URL): Dispatcher => new AnsweringPool(String(origin));
  let dispatcher: Dispatcher;
  let url: string;
  let close: () => Promise<void>;
  if (path === 'direct') {
    const pool = IN_PROCESS
      ? answering(origins[0]!)
      : new Pool(origins[0]!, { connections: CONCURRENCY, connectTimeout: 120_000 });
    [dispatcher, url, close] = [pool, `${origins[0]}/`, () => pool.close()];
  } else if (path === 'balanced') {
    const pool = IN_PROCESS
      ? new BalancedPool(origins, { factory: answering } as ConstructorParameters<typeof BalancedPool>[1])
      : new BalancedPool(origins, { connections: CONCURRENCY, connectTimeout: 120_000 });
    [dispatcher, url, close] = [pool, `${origins[0]}/`, () => pool.close()];
  } else {
    const routed = benchMesh(
      hosts.map((address, i) => ({ address, port: portOf(i) })),
      IN_PROCESS
        ? { pool: { factory: answering }, policy: 'round-robin' }
        : // Under valgrind the client runs ~100× slower: connection set-up must not time out.
          { pool: { connections: CONCURRENCY }, policy: 'round-robin', timeouts: { connectMs: 120_000 } },
    );
    [dispatcher, url, close] = [routed.mesh.dispatcher, 'http://backend/', routed.close];
  }
  let left = requests;
  let failed = 0;
  let id = 0;
  const worker = async (): Promise<void> => {
    while (left-- > 0) {
      const res = await request(url, header ? { dispatcher, headers: { 'x-load-id': String(++id) } } : { dispatcher });
      if (res.statusCode !== 200) failed++;
      await res.body.dump();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await close();
  if (failed > 0) throw new Error(`${failed} requests failed`);
}

/** Callgrind's totals of one client run. */
function callgrind(path: PathId, requests: number, ports: readonly number[]): Promise<Counts> {
  const args = [
    '--tool=callgrind',
    '--cache-sim=yes',
    '--branch-sim=yes',
    '--smc-check=all-non-file', // V8 writes machine code at run time
    '--callgrind-out-file=/dev/null',
    process.execPath,
    '--single-threaded',
    '--conditions=clusterip-internal',
    join(HERE, 'http-instructions.bench.js'),
    '--client',
    path,
    String(requests),
    ports.join(','),
    ...(HEADER ? ['--header'] : []),
    ...(IN_PROCESS ? ['--in-process'] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const events = /Events\s*:\s*(.+)/.exec(stderr)?.[1]?.trim().split(/\s+/);
      const collected = /Collected\s*:\s*(.+)/.exec(stderr)?.[1]?.trim().split(/\s+/);
      if (code !== 0 || events === undefined || collected === undefined) {
        const own = stderr
          .split('\n')
          .filter((l) => !l.startsWith('=='))
          .join('\n');
        reject(new Error(`valgrind ${path} ${requests} exited ${code}: ${own.slice(0, 2000)}`));
        return;
      }
      resolve(Object.fromEntries(events.map((e, i) => [e, Number(collected[i])])));
    });
  });
}

/** Per-request counts: (long run − short run) ÷ the extra requests, and the cycle estimate. */
async function perRequest(path: PathId, ports: readonly number[]): Promise<Counts> {
  const [short, long] = await Promise.all([callgrind(path, SHORT, ports), callgrind(path, LONG, ports)]);
  const d: Counts = {};
  for (const k of Object.keys(long)) d[k] = (long[k]! - short[k]!) / (LONG - SHORT);
  const l1 = d.I1mr! + d.D1mr! + d.D1mw!;
  const ll = d.ILmr! + d.DLmr! + d.DLmw!;
  d.cycles = d.Ir! + L1_MISS * l1 + LL_MISS * Math.max(0, ll) + MISPREDICT * (d.Bcm! + d.Bim!);
  return d;
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('> valgrind not found (apt-get install -y valgrind): skipped');
    return;
  }
  const onlyArg = benchArgs(process.argv.slice(2)).option('only');
  const paths = onlyArg === undefined ? [...PATHS] : PATHS.filter((p) => onlyArg.split(',').some((w) => p.includes(w)));
  if (paths.length === 0) {
    // Not an error: `npm run bench` hands one --only to every benchmark it runs.
    console.log(`> --only=${onlyArg} matches none of ${PATHS.join(', ')}: skipped`);
    return;
  }
  if (!paths.includes('balanced')) paths.unshift('balanced');
  const pods: BenchChild[] = IN_PROCESS
    ? []
    : PODS.map((host) =>
        startChild([process.execPath, '--conditions=clusterip-internal', join(HERE, 'bench-pod.js'), host]),
      );
  try {
    const ports = await Promise.all(pods.map(async (p) => (await p.next<{ port: number }>(10_000)).port));
    const upstream = IN_PROCESS ? 'pools answering from memory (no sockets)' : '3 pod processes on loopback';
    console.log(
      `node ${process.version}; valgrind callgrind, client --single-threaded; per request = (run of ${LONG} − run of ${SHORT}) ÷ ${LONG - SHORT}; ${CONCURRENCY} outstanding; ${upstream}; ${HEADER ? 'an x-load-id header on every request' : 'no request headers'}`,
    );
    const rows = new Map<PathId, Counts>();
    for (const path of paths) rows.set(path, await perRequest(path, ports));
    const base = rows.get('balanced')!;
    console.log('');
    console.log(
      '| path | instructions | ÷ BalancedPool | I1 misses | D1 misses | mispredicts | est. cycles | ÷ BalancedPool |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [path, d] of rows) {
      console.log(
        `| ${NAMES[path]} | ${Math.round(d.Ir!)} | ${(d.Ir! / base.Ir!).toFixed(3)}× | ${Math.round(d.I1mr!)} | ${Math.round(d.D1mr! + d.D1mw!)} | ${Math.round(d.Bcm! + d.Bim!)} | ${Math.round(d.cycles!)} | ${(d.cycles! / base.cycles!).toFixed(3)}× |`,
      );
    }
    console.log(
      `- est. cycles = instructions + ${L1_MISS} × L1 misses + ${LL_MISS} × last-level misses + ${MISPREDICT} × mispredicted branches (a rough model, for comparing paths)`,
    );
  } finally {
    await Promise.all(pods.map((p) => p.kill()));
  }
}

if (process.argv[2] === '--client') {
  await client(
    process.argv[3] as PathId,
    Number(process.argv[4]),
    (process.argv[5] ?? '').split(',').map(Number),
    HEADER,
  );
} else {
  await main();
}
