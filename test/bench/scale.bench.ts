// Benchmark: scale — one Service of 10,000 endpoints (list time, update cost, memory per endpoint), 1,000
// watched Services (API watches, memory per Service, time to all synced, one change's cost) with a watch
// pair per Service and with the namespace-wide pair, against a JSON-only namespace-wide watch side by side, the import time of each package (fresh processes,
// hyperfine-like) and Mesh start-up to the first routed request. FakeKubernetesApi runs in its own process,
// so this process's CPU and heap are the client's alone.
// Run: node --conditions=clusterip-internal --expose-gc build/test/bench/scale.bench.js [--quick]
// [--part=endpoints|services|startup|import]

import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  detectClusterContext,
  KubernetesSource,
  Resolver,
  type ServiceSnapshot,
  type ServiceWatch,
} from '@clusterip/resolver';
import { FakeKubernetesApi, type KubeObject } from '@clusterip/resolver/testing';
import { createBalancer, eligibleEndpoints } from '@clusterip/sdk';
import { eligibleUniqueEndpoints } from '@clusterip/sdk/internal/eligibility/eligibility.js';
import { Pool, request } from 'undici';
import { benchArgs } from './bench-args.js';
import { loadAverage } from './bench-child.js';
import { distribution, median, quantile } from './bench-stats.js';
import { collectGarbage, fmtBytes, fmtMs, ratio, rpc, runChild, serveRpc, startChild } from './bench-util.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(dirname(SELF), '..', '..', '..');
const QUICK = process.argv.includes('--quick');
const PART = benchArgs(process.argv.slice(2)).choice(
  'part',
  ['all', 'endpoints', 'services', 'startup', 'import'] as const,
  'all',
);
const BIG_ENDPOINTS = 10_000;
const PER_SLICE = 100;
const SERVICES = 1000;
const LIST_ROUNDS = QUICK ? 2 : 5;
const BIG_UPDATES = QUICK ? 20 : 100;
const FANOUT_CHANGES = QUICK ? 20 : 100;
const IMPORT_RUNS = QUICK ? 5 : 15;
const STARTUP_RUNS = QUICK ? 3 : 10;
const SERVICE_LABEL = 'kubernetes.io/service-name';
const POD_IP = '127.0.96.10';
const DEBUG = process.env.SCALE_BENCH_DEBUG === '1';
const debug = (what: string) => {
  if (DEBUG) console.error(`[${(performance.now() / 1000).toFixed(2)} s] ${what}`);
};

// ── the API process ──────────────────────────────────────────────────────────────────────────────────

function slice(namespace: string, service: string, index: number, count: number, notReady = -1): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-${index}`, namespace, labels: { [SERVICE_LABEL]: service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: count }, (_, i) => ({
      addresses: [`10.${index >> 8}.${index & 255}.${i + 1}`],
      conditions: { ready: i !== notReady, serving: true, terminating: false },
      nodeName: `node-${i % 10}`,
      zone: `zone-${i % 3}`,
      targetRef: { kind: 'Pod', name: `${service}-${index}-${i}`, namespace },
    })),
  };
}

function serviceObject(namespace: string, name: string, targetPort: number | string = 8080): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { ports: [{ name: 'http', port: 80, targetPort }] },
  };
}

async function apiProcess(): Promise<void> {
  const api = await FakeKubernetesApi.start({
    endpointSliceController: false,
    requestLogSize: 0,
    bookmarkIntervalMs: 0,
    historySize: 5000,
  });
  let flips = 0;
  const notReady = new Map<number, number>();
  serveRpc({
    bigSetup: () => {
      api.apply(serviceObject('big', 'web'));
      for (let s = 0; s < BIG_ENDPOINTS / PER_SLICE; s++) api.apply(slice('big', 'web', s, PER_SLICE));
      return null;
    },
    /** One endpoint of one slice of the big Service changes readiness (a different one each time). */
    bigFlip: () => {
      const n = flips++;
      const slices = BIG_ENDPOINTS / PER_SLICE;
      // A different endpoint than the slice's last change, so every apply is a real change.
      api.apply(slice('big', 'web', n % slices, PER_SLICE, (n + Math.floor(n / slices)) % PER_SLICE));
      return null;
    },
    manySetup: () => {
      for (let i = 0; i < SERVICES; i++) {
        api.apply(serviceObject('many', `svc-${i}`));
        api.apply(slice('many', `svc-${i}`, i, 3));
      }
      return null;
    },
    /** Service `svc-<i>`: the next of its 3 endpoints is the one not ready (always a real change). */
    manyFlip: (arg) => {
      const service = arg as number;
      const endpoint = ((notReady.get(service) ?? -1) + 1) % 3;
      notReady.set(service, endpoint);
      api.apply(slice('many', `svc-${service}`, service, 3, endpoint));
      return null;
    },
    smallSetup: (arg) => {
      const { ip, port } = arg as { ip: string; port: number };
      api.apply(serviceObject('app', 'web', port));
      api.apply({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'web-1', namespace: 'app', labels: { [SERVICE_LABEL]: 'web' } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port, protocol: 'TCP' }],
        endpoints: [{ addresses: [ip], conditions: { ready: true } }],
      });
      return null;
    },
    watches: () => api.watches.length,
    cpu: () => process.cpuUsage(),
    rss: () => process.memoryUsage().rss,
  });
  process.on('SIGTERM', () => void api.close().then(() => process.exit(0)));
  process.send?.(api.url);
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────────────────

type Call = <R>(op: string, arg?: unknown) => Promise<R>;

function heapUsed(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

function sockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

/**
 * Wait (at most 5 s) until the client's socket count has stopped falling, so that the sockets of the
 * previous run, and what they hold, are gone before the next run's heap baseline: else that run's heap
 * figure comes out negative.
 */
async function settleSockets(): Promise<void> {
  let last = sockets();
  let steady = 0;
  for (let i = 0; i < 250 && steady < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = sockets();
    steady = now < last ? 0 : steady + 1;
    last = now;
  }
}

async function clientFor(apiUrl: string, namespace: string, namespaceWatchServices?: number) {
  const source = new KubernetesSource({
    server: apiUrl,
    idleTimeoutMs: 0,
    ...(namespaceWatchServices === undefined ? {} : { namespaceWatchServices }),
  });
  const context = await detectClusterContext({ namespace, resolvConf: '', env: {} });
  const resolver = new Resolver({ source, context, idleTimeoutMs: 0 });
  return {
    source,
    resolver,
    close: async () => {
      await resolver.close();
      await source.close();
    },
  };
}

/** Resolves with the next snapshot of `watch` after now that satisfies `predicate`. */
function nextSnapshot(
  listeners: Map<ServiceWatch, (s: ServiceSnapshot) => void>,
  watch: ServiceWatch,
  predicate: (s: ServiceSnapshot) => boolean = () => true,
): Promise<ServiceSnapshot> {
  return new Promise((resolve) => {
    listeners.set(watch, (s) => {
      if (!predicate(s)) return;
      listeners.delete(watch);
      resolve(s);
    });
  });
}

/** GET a JSON document from the API with a plain undici request (the floor any client pays). */
async function getJson(url: string): Promise<{ items: unknown[]; metadata: { resourceVersion: string } }> {
  const res = await request(url);
  return (await res.body.json()) as { items: unknown[]; metadata: { resourceVersion: string } };
}

// ── A: one Service of 10,000 endpoints ───────────────────────────────────────────────────────────────

async function bigService(apiUrl: string, call: Call): Promise<void> {
  await call('bigSetup');
  const slicesUrl = `${apiUrl}/apis/discovery.k8s.io/v1/namespaces/big/endpointslices?labelSelector=${encodeURIComponent(`${SERVICE_LABEL}=web`)}`;
  const serviceUrl = `${apiUrl}/api/v1/namespaces/big/services/web`;
  const ours: number[] = [];
  const raw: number[] = [];
  // Warm-up of both paths, then interleaved rounds.
  for (let r = -1; r < LIST_ROUNDS; r++) {
    const t0 = performance.now();
    const [svc, list] = await Promise.all([request(serviceUrl).then((x) => x.body.json()), getJson(slicesUrl)]);
    if (r >= 0) raw.push(performance.now() - t0);
    void svc;
    if (list.items.length !== BIG_ENDPOINTS / PER_SLICE)
      throw new Error(`expected 100 slices, got ${list.items.length}`);
    const c = await clientFor(apiUrl, 'big');
    const t1 = performance.now();
    const snap = await c.resolver.watch('web:http').ready;
    if (r >= 0) ours.push(performance.now() - t1);
    if (snap.endpoints.length !== BIG_ENDPOINTS)
      throw new Error(`expected 10000 endpoints, got ${snap.endpoints.length}`);
    await c.close();
  }

  // Memory: the parsed API objects (baseline), then the resolver's state, then a balancer over it.
  const h0 = heapUsed();
  let keep: unknown = await getJson(slicesUrl);
  const h1 = heapUsed();
  keep = undefined;
  void keep;
  const g0 = heapUsed();
  const c = await clientFor(apiUrl, 'big');
  const listeners = new Map<ServiceWatch, (s: ServiceSnapshot) => void>();
  const watch = c.resolver.watch('web:http', (s) => listeners.get(watch)?.(s));
  let snap = await watch.ready;
  const g1 = heapUsed();
  const balancer = createBalancer({ policy: 'round-robin' });
  const eligibleMs: number[] = [];
  const updateMs: number[] = [];
  const update = (s: ServiceSnapshot) => {
    const t0 = performance.now();
    // As a Mesh route computes it: a snapshot holds each address:port once.
    const eligible = eligibleUniqueEndpoints(s.endpoints, s.service!, {}, s.port);
    const t1 = performance.now();
    balancer.update(eligible, s.service);
    eligibleMs.push(t1 - t0);
    updateMs.push(performance.now() - t1);
  };
  update(snap);
  const g2 = heapUsed();

  // Update cost: one endpoint of one slice changes; time from the apply (sent to the API process) to the
  // balancer holding the new eligible set, and this process's CPU per update.
  const latencies: number[] = [];
  const toSnapshot: number[] = [];
  const balancerMs: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < BIG_UPDATES; i++) {
    const version = snap.version;
    let seenAt = 0;
    const next = nextSnapshot(listeners, watch, (s) => {
      seenAt = performance.now();
      return s.version > version;
    });
    const t0 = performance.now();
    await call('bigFlip');
    snap = await next;
    const t1 = performance.now();
    update(snap);
    const t2 = performance.now();
    latencies.push(t2 - t0);
    toSnapshot.push(seenAt - t0);
    balancerMs.push(t2 - t1);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuPerUpdate = (cpu.user + cpu.system) / 1000 / BIG_UPDATES;
  const picks = balancer.size;
  // The public eligibleEndpoints() also merges duplicate keys (for lists that are not snapshots).
  const publicMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    eligibleEndpoints(snap.endpoints, snap.service!, {}, snap.port);
    publicMs.push(performance.now() - t0);
  }
  await watch.close();
  await c.close();

  const u = distribution(latencies);
  const listOurs = median(ours);
  console.log('');
  console.log(`### One Service, ${BIG_ENDPOINTS} endpoints in ${BIG_ENDPOINTS / PER_SLICE} EndpointSlices`);
  console.log('');
  console.log('| measure | ours | baseline | ratio |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| full list → first snapshot (Resolver over KubernetesSource; baseline: undici GET of the Service and the slice list + JSON.parse), median of ${LIST_ROUNDS} | ${fmtMs(listOurs)} | ${fmtMs(median(raw))} | ${ratio(listOurs, median(raw))} |`,
  );
  console.log(
    `| one endpoint changes: apply → balancer updated, p50 / p99 (${BIG_UPDATES} changes; baseline: a full relist as above) | ${fmtMs(u.p50)} / ${fmtMs(u.p99)} | ${fmtMs(listOurs)} | ${ratio(u.p50, listOurs, 3)} |`,
  );
  console.log(
    `| … of which apply → resolver snapshot, p50 / p99 | ${fmtMs(distribution(toSnapshot).p50)} / ${fmtMs(distribution(toSnapshot).p99)} | – | – |`,
  );
  console.log(
    `| … of which the eligible set + balancer.update() over ${BIG_ENDPOINTS}, p50 / p99 | ${fmtMs(distribution(balancerMs).p50)} / ${fmtMs(distribution(balancerMs).p99)} | – | – |`,
  );
  // The first call (the initial update, before the loop) is left out.
  const el = distribution(eligibleMs.slice(1));
  const up = distribution(updateMs.slice(1));
  console.log(
    `| … … the eligible set (as a Mesh route computes it), p50 / p99 | ${fmtMs(el.p50)} / ${fmtMs(el.p99)} | – | – |`,
  );
  console.log(`| … … balancer.update(), p50 / p99 | ${fmtMs(up.p50)} / ${fmtMs(up.p99)} | – | – |`);
  console.log(`| client CPU per one-endpoint change (watch event → balancer) | ${fmtMs(cpuPerUpdate)} | – | – |`);
  console.log(
    `| public eligibleEndpoints() on the last snapshot (also merges duplicate keys), median of ${publicMs.length} | ${fmtMs(median(publicMs))} | – | – |`,
  );
  console.log(
    `| heap per endpoint: source cache + resolver snapshot (baseline: the parsed slice list alone) | ${fmtBytes((g1 - g0) / BIG_ENDPOINTS)} | ${fmtBytes((h1 - h0) / BIG_ENDPOINTS)} | ${ratio(g1 - g0, h1 - h0)} |`,
  );
  console.log(
    `| heap per endpoint: + a round-robin balancer over the ${picks} eligible endpoints | ${fmtBytes((g2 - g1) / BIG_ENDPOINTS)} | – | – |`,
  );
}

// ── B: 1,000 watched Services: a watch pair each, or one namespace-wide pair; a JSON-only shared watch ──

/**
 * The alternative design, as a baseline: one list + one watch of every Service and every EndpointSlice in
 * the namespace (two streams whatever the number of Services), the parsed objects kept per Service. JSON
 * only: no merging, no snapshots, so it is a floor for what a shared watch would cost.
 */
async function sharedWatch(apiUrl: string, namespace: string) {
  const pool = new Pool(apiUrl, { connections: 4 });
  const abort = new AbortController();
  const slices = new Map<string, Map<string, unknown>>();
  const services = new Map<string, unknown>();
  let onEvent: ((service: string) => void) | undefined;
  const base = (kind: 'services' | 'endpointslices') =>
    kind === 'services'
      ? `/api/v1/namespaces/${namespace}/services`
      : `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
  const store = (kind: string, o: { metadata: { name: string; labels?: Record<string, string> } }) => {
    if (kind === 'services') services.set(o.metadata.name, o);
    else {
      const svc = o.metadata.labels?.[SERVICE_LABEL] ?? '';
      const m = slices.get(svc) ?? new Map<string, unknown>();
      slices.set(svc, m);
      m.set(o.metadata.name, o);
      onEvent?.(svc);
    }
  };
  const streams: Promise<void>[] = [];
  for (const kind of ['services', 'endpointslices'] as const) {
    const res = await pool.request({ method: 'GET', path: base(kind) });
    const list = (await res.body.json()) as {
      items: { metadata: { name: string; labels?: Record<string, string> } }[];
      metadata: { resourceVersion: string };
    };
    for (const o of list.items) store(kind, o);
    const watch = await pool.request({
      method: 'GET',
      path: `${base(kind)}?watch=1&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`,
      signal: abort.signal,
      bodyTimeout: 0,
    });
    streams.push(
      (async () => {
        let buffer = '';
        try {
          for await (const chunk of watch.body) {
            buffer += (chunk as Buffer).toString('utf8');
            let nl = buffer.indexOf('\n');
            while (nl >= 0) {
              const line = buffer.slice(0, nl);
              buffer = buffer.slice(nl + 1);
              nl = buffer.indexOf('\n');
              if (line.trim() === '') continue;
              const event = JSON.parse(line) as { type: string; object: { metadata: { name: string } } };
              if (event.type === 'ADDED' || event.type === 'MODIFIED') store(kind, event.object);
            }
          }
        } catch {
          // Aborted at close.
        }
      })(),
    );
  }
  return {
    services,
    slices,
    set onEvent(fn: ((service: string) => void) | undefined) {
      onEvent = fn;
    },
    async close() {
      abort.abort();
      await Promise.all(streams);
      await pool.close();
    },
  };
}

/** What one way of watching the namespace's Services cost. */
interface WatchRun {
  readonly services: number;
  readonly apiWatches: number;
  readonly sockets: number;
  readonly syncedMs: number;
  readonly halfSyncedMs: number;
  readonly failedFirst: number;
  readonly lastError: string;
  readonly cpuMs: number;
  readonly apiCpuMs: number;
  readonly heapBytes: number;
  readonly rssBytes: number;
  readonly apiRssBytes: number;
  readonly change: { lat: number[]; cpuMs: number; apiCpuMs: number };
  readonly closeMs: number;
}

async function manyServices(apiUrl: string, call: Call): Promise<void> {
  await call('manySetup');
  const cpuMs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;

  /** One change in one of the first `count` Services: apply → seen by the client; CPU of both processes. */
  const changes = async (count: number, wait: (service: number) => Promise<unknown>) => {
    const lat: number[] = [];
    const api0 = await call<NodeJS.CpuUsage>('cpu');
    const cpu0 = process.cpuUsage();
    for (let k = 0; k < FANOUT_CHANGES; k++) {
      const service = (k * 7919) % count;
      const seen = wait(service);
      const t = performance.now();
      await call('manyFlip', service);
      debug(`flip ${service} applied`);
      await seen;
      lat.push(performance.now() - t);
    }
    const cpu1 = process.cpuUsage();
    const api1 = await call<NodeJS.CpuUsage>('cpu');
    return { lat, cpuMs: cpuMs(cpu0, cpu1) / FANOUT_CHANGES, apiCpuMs: cpuMs(api0, api1) / FANOUT_CHANGES };
  };

  /** Measure `open` (returns when synced) then `change`, around the same counters. */
  const measure = async (
    services: number,
    open: () => Promise<{ failedFirst: number; lastError: string; halfSyncedMs: number }>,
    change: (service: number) => Promise<unknown>,
    close: () => Promise<void>,
  ): Promise<WatchRun> => {
    await settleSockets();
    const sockets0 = sockets();
    const apiRss0 = await call<number>('rss');
    const h0 = heapUsed();
    const rss0 = process.memoryUsage().rss;
    const api0 = await call<NodeJS.CpuUsage>('cpu');
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const opened = await open();
    const syncedMs = performance.now() - t0;
    const cpu1 = process.cpuUsage();
    const api1 = await call<NodeJS.CpuUsage>('cpu');
    const heapBytes = heapUsed() - h0;
    const rssBytes = process.memoryUsage().rss - rss0;
    const apiWatches = await call<number>('watches');
    const socketCount = sockets() - sockets0;
    const apiRssBytes = (await call<number>('rss')) - apiRss0;
    debug(`${services}: synced and counted`);
    const changeCost = await changes(services, change);
    const tc = performance.now();
    await close();
    return {
      services,
      apiWatches,
      sockets: socketCount,
      syncedMs,
      ...opened,
      cpuMs: cpuMs(cpu0, cpu1),
      apiCpuMs: cpuMs(api0, api1),
      heapBytes,
      rssBytes,
      apiRssBytes,
      change: changeCost,
      closeMs: performance.now() - tc,
    };
  };

  // Baseline: one namespace-wide shared watch of Services and EndpointSlices (it receives all 1,000).
  let shared: Awaited<ReturnType<typeof sharedWatch>> | undefined;
  const sharedRun = await measure(
    SERVICES,
    async () => {
      shared = await sharedWatch(apiUrl, 'many');
      if (shared.slices.size !== SERVICES || shared.services.size !== SERVICES)
        throw new Error('shared watch incomplete');
      return { failedFirst: 0, lastError: '', halfSyncedMs: Number.NaN };
    },
    (service) =>
      new Promise<void>((resolve) => {
        shared!.onEvent = (name) => {
          if (name === `svc-${service}`) {
            shared!.onEvent = undefined;
            resolve();
          }
        };
      }),
    () => shared!.close(),
  );

  // Ours: one Resolver watch per Service, for the first 100 and for all 1,000 Services. With
  // `namespaceWatchServices: Infinity` each has its own pair (a Service watch and a slice watch at the
  // API); by default the namespace's watched Services share one namespace-wide pair from the 16th on.
  const ours = async (count: number, namespaceWatchServices?: number): Promise<WatchRun> => {
    const c = await clientFor(apiUrl, 'many', namespaceWatchServices);
    const listeners = new Map<ServiceWatch, (s: ServiceSnapshot) => void>();
    let watches: ServiceWatch[] = [];
    return measure(
      count,
      async () => {
        // Synced = an `ok` snapshot with the 3 endpoints (a first snapshot may be `unavailable` when the
        // API refused or reset a connection; the source then retries with backoff).
        const t0 = performance.now();
        const syncedAt: number[] = [];
        const synced: Promise<void>[] = [];
        let failedFirst = 0;
        let lastError = '';
        watches = Array.from({ length: count }, (_, i) => {
          let done: (() => void) | undefined;
          let failed = false;
          synced.push(
            new Promise<void>((resolve) => {
              done = resolve;
            }),
          );
          const w: ServiceWatch = c.resolver.watch(`svc-${i}:http`, (s) => {
            if (done !== undefined && s.status === 'ok' && s.endpoints.length === 3) {
              syncedAt.push(performance.now() - t0);
              done();
              done = undefined;
            } else if (done !== undefined && s.status !== 'ok' && !failed) {
              failed = true;
              failedFirst++;
              lastError = s.error?.message ?? s.status;
            }
            listeners.get(w)?.(s);
          });
          return w;
        });
        await Promise.all(synced);
        return { failedFirst, lastError, halfSyncedMs: quantile(syncedAt, 0.5) };
      },
      // Nothing else changes in the namespace: the Service's next snapshot is the change.
      (service) => nextSnapshot(listeners, watches[service]!),
      async () => {
        await Promise.all(watches.map((w) => w.close()));
        await c.close();
      },
    );
  };
  const small = await ours(100, Number.POSITIVE_INFINITY);
  const large = await ours(SERVICES, Number.POSITIVE_INFINITY);
  const sharedSmall = await ours(100);
  const sharedLarge = await ours(SERVICES);

  const runs = [small, large, sharedSmall, sharedLarge, sharedRun];
  const row = (label: string, cell: (r: WatchRun) => string) =>
    console.log(
      `| ${label} | ${runs.map(cell).join(' | ')} | ${ratioCell(large, sharedLarge, label)} | ${ratioCell(sharedLarge, sharedRun, label)} |`,
    );
  const ratioCell = (a: WatchRun, b: WatchRun, label: string): string => {
    switch (label) {
      case 'open watches at the API':
        return ratio(a.apiWatches, b.apiWatches, 0);
      case 'client TCP sockets to the API':
        return ratio(a.sockets, b.sockets, 0);
      case 'time to all synced (first watch() → last `ok` snapshot)':
        return ratio(a.syncedMs, b.syncedMs, 1);
      case 'CPU to sync: client / API process':
        return `${ratio(a.cpuMs, b.cpuMs, 0)} / ${ratio(a.apiCpuMs, b.apiCpuMs, 0)}`;
      case 'client heap per watched Service':
        return ratio(a.heapBytes / a.services, b.heapBytes / b.services, 1);
      case 'one change in one Service: apply → client sees it, p50 / p99':
        return ratio(distribution(a.change.lat).p50, distribution(b.change.lat).p50);
      case 'CPU per change: client / API process':
        return `${ratio(a.change.cpuMs, b.change.cpuMs)} / ${ratio(a.change.apiCpuMs, b.change.apiCpuMs)}`;
      default:
        return '–';
    }
  };
  console.log('');
  console.log(
    `### Watched Services (3 endpoints each, ${SERVICES} in the namespace): a Service + EndpointSlice watch pair per Service, ours with the namespace-wide pair (the default from 16 Services), and a JSON-only namespace-wide watch pair (baseline)`,
  );
  console.log('');
  console.log(
    `| measure | per-Service pairs, ${small.services} | per-Service pairs, ${large.services} | namespace-wide, ${sharedSmall.services} | namespace-wide, ${sharedLarge.services} | baseline: JSON-only shared watch | per-Service ÷ namespace-wide, ${SERVICES} | namespace-wide ÷ baseline |`,
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  row('open watches at the API', (r) => String(r.apiWatches));
  row('client TCP sockets to the API', (r) => String(r.sockets));
  row('time to all synced (first watch() → last `ok` snapshot)', (r) => fmtMs(r.syncedMs));
  row('… half of them synced after', (r) => fmtMs(r.halfSyncedMs));
  row('Services whose first attempt failed (retried with backoff)', (r) =>
    r.failedFirst === 0 ? '0' : `${r.failedFirst} (${r.lastError.replace(/\|/g, '/')})`,
  );
  row('CPU to sync: client / API process', (r) => `${fmtMs(r.cpuMs)} / ${fmtMs(r.apiCpuMs)}`);
  row('client heap per watched Service', (r) => fmtBytes(r.heapBytes / r.services));
  // RSS moves in whole pages and arenas: a rough figure, and none for the shared watch, measured first,
  // while the pages of the 10,000-endpoint part were still being returned.
  row('client RSS growth per watched Service', (r) => (r === sharedRun ? '–' : fmtBytes(r.rssBytes / r.services)));
  row('API process RSS growth per watched Service', (r) => fmtBytes(r.apiRssBytes / r.services));
  row(
    'one change in one Service: apply → client sees it, p50 / p99',
    (r) => `${fmtMs(distribution(r.change.lat).p50)} / ${fmtMs(distribution(r.change.lat).p99)}`,
  );
  row('CPU per change: client / API process', (r) => `${fmtMs(r.change.cpuMs)} / ${fmtMs(r.change.apiCpuMs)}`);
  row('closing every watch', (r) => fmtMs(r.closeMs));
  console.log('');
  console.log(
    `${FANOUT_CHANGES} changes per column. The API-process figures are FakeKubernetesApi's (it matches every change against every watch and serves each list by a scan), not kube-apiserver's.`,
  );
}

// ── C: import time of each package, fresh process each, hyperfine-like ───────────────────────────────

function importTime(): void {
  const cases: [string, string[]][] = [
    ['node -e 0 (baseline)', ['-e', '0']],
    ['import undici (baseline)', ['--input-type=module', '-e', "await import('undici')"]],
    ['import @clusterip/resolver', ['--input-type=module', '-e', "await import('@clusterip/resolver')"]],
    ['import @clusterip/sdk', ['--input-type=module', '-e', "await import('@clusterip/sdk')"]],
    ['import @grpc/grpc-js (baseline for the plugin)', ['--input-type=module', '-e', "await import('@grpc/grpc-js')"]],
    ['import @clusterip/sdk/grpc', ['--input-type=module', '-e', "await import('@clusterip/sdk/grpc')"]],
  ];
  const times = new Map<string, number[]>(cases.map(([n]) => [n, []]));
  const once = (args: string[]): number => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${r.stderr?.toString() ?? r.error}`);
    return ms;
  };
  // Two warm-up runs of each (file cache), then interleaved runs, the order rotated.
  for (const [, args] of cases) for (let i = 0; i < 2; i++) once(args);
  for (let r = 0; r < IMPORT_RUNS; r++) {
    for (let k = 0; k < cases.length; k++) {
      const [name, args] = cases[(k + r) % cases.length]!;
      times.get(name)!.push(once(args));
    }
  }
  const node0 = median(times.get(cases[0]![0])!);
  const undiciCost = median(times.get(cases[1]![0])!) - node0;
  const grpcCost = median(times.get(cases[4]![0])!) - node0;
  console.log('');
  console.log(
    `### Import time: a fresh \`node\` per run (wall time of the process), ${IMPORT_RUNS} interleaved runs each after 2 warm-ups`,
  );
  console.log('');
  console.log('| command | median | min | p90 | − node -e 0 | ÷ node -e 0 | cost ÷ undici’s | cost ÷ grpc-js’s |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name] of cases) {
    const t = times.get(name)!;
    const m = median(t);
    const cost = m - node0;
    console.log(
      `| ${name} | ${fmtMs(m)} | ${fmtMs(Math.min(...t))} | ${fmtMs(quantile(t, 0.9))} | ${fmtMs(cost)} | ${ratio(m, node0)} | ` +
        `${name.startsWith('node') ? '–' : ratio(cost, undiciCost)} | ${name.startsWith('node') ? '–' : ratio(cost, grpcCost)} |`,
    );
  }
}

// ── D: Mesh start-up to the first routed request, fresh process each ────────────────────────────────

async function startup(apiUrl: string, call: Call): Promise<void> {
  const pod = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => pod.listen(0, POD_IP, () => resolve()));
  const port = (pod.address() as { port: number }).port;
  try {
    await call('smallSetup', { ip: POD_IP, port });
    const child = join(dirname(SELF), 'scale-startup-child.js');
    const job = JSON.stringify({ apiUrl, podUrl: `http://${POD_IP}:${port}/`, namespace: 'app' });
    type Times = { loaded: number; imported: number; first: number; ok: boolean };
    const runs = new Map<string, Times[]>([
      ['mesh', []],
      ['undici', []],
    ]);
    for (let r = -1; r < STARTUP_RUNS; r++) {
      for (const mode of r % 2 === 0 ? ['mesh', 'undici'] : ['undici', 'mesh']) {
        const t = await runChild<Times>(child, [mode, job], { timeoutMs: 30_000 });
        if (!t.ok) throw new Error(`${mode} start-up request failed`);
        if (r >= 0) runs.get(mode)!.push(t);
      }
    }
    const m = (mode: string, f: (t: Times) => number) => median(runs.get(mode)!.map(f));
    console.log('');
    console.log(
      `### Start-up to the first routed request: a fresh process each, times from process start (performance.timeOrigin), median of ${STARTUP_RUNS}`,
    );
    console.log('');
    console.log('| process | script loaded | imports done | first response | imports + first request | ÷ undici |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [mode, name] of [
      ['undici', 'undici `request()` straight to the pod (baseline)'],
      ['mesh', 'import resolver + sdk, `new Mesh()` over KubernetesSource, `request("http://web/")`'],
    ] as const) {
      const total = m(mode, (t) => t.first - t.loaded);
      console.log(
        `| ${name} | ${fmtMs(m(mode, (t) => t.loaded))} | ${fmtMs(m(mode, (t) => t.imported))} | ${fmtMs(m(mode, (t) => t.first))} | ` +
          `${fmtMs(total)} | ${ratio(
            total,
            m('undici', (t) => t.first - t.loaded),
          )} |`,
      );
    }
    const discovery = m('mesh', (t) => t.first - t.imported) - m('undici', (t) => t.first - t.imported);
    console.log('');
    console.log(
      `Mesh: ${fmtMs(m('mesh', (t) => t.first - t.imported))} from imports done to the first response ` +
        `(discovery: list + watch of the Service and its slices, then the request), ${fmtMs(discovery)} more than undici's request alone`,
    );
  } finally {
    pod.closeAllConnections();
    await new Promise<void>((resolve) => pod.close(() => resolve()));
  }
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const started = performance.now();
  console.log(
    `node ${process.version}; FakeKubernetesApi in its own process; ${collectGarbage() ? 'heap measured after global.gc()' : 'WARNING: no --expose-gc, heap figures include garbage'}; load average ${loadAverage()}`,
  );
  const api = await startChild<string>(SELF, ['--api'], { execArgv: ['--max-old-space-size=2048'] });
  try {
    const call = rpc(api.child);
    if (PART === 'all' || PART === 'endpoints') await bigService(api.first, call);
    if (PART === 'all' || PART === 'services') await manyServices(api.first, call);
    if (PART === 'all' || PART === 'startup') await startup(api.first, call);
  } finally {
    await api.stop();
  }
  if (PART === 'all' || PART === 'import') importTime();
  console.log('');
  console.log(`${((performance.now() - started) / 1000).toFixed(0)} s; load average at the end: ${loadAverage()}`);
}

if (process.argv[2] === '--api') await apiProcess();
else await main();
