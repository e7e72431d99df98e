// Benchmark body of propagation.bench.ts: real pods (HTTP + gRPC servers on 127.0.94.x) behind one Service,
// changed N times (a pod added, then the oldest removed) while every client variant sends a steady trickle
// of requests tagged with its name; each pod records per variant when it served them. Consumes the
// Kubernetes path (FakeKubernetesApi → KubernetesSource → Mesh / gRPC plugin) and the DNS path (Knot DNS,
// TTL 5 like CoreDNS → DnsSource → Mesh / gRPC plugin, and grpc-js's own `dns:` resolver); produces
// latency distributions (p50/p99/max) per variant for additions and removals.

import { createServer, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { DnsSource, KubernetesSource } from '@clusterip/resolver';
import { FakeKubernetesApi, type KubeObject } from '@clusterip/resolver/testing';
import { Mesh } from '@clusterip/sdk';
import { register } from '@clusterip/sdk/grpc';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { echoService } from '../helpers/grpc-test-server.js';
import { startKnotDns } from '../helpers/knot-dns.js';
import { benchArgs } from './bench-args.js';
import { loadAverage } from './bench-child.js';
import { distribution } from './bench-stats.js';
import { fmtMs, ratio } from './bench-util.js';

const QUICK = process.argv.includes('--quick');
const VERBOSE = process.argv.includes('--verbose');
/** `--phase=kubernetes` or `--phase=dns` runs one phase only. */
const PHASE = benchArgs(process.argv.slice(2)).choice('phase', ['all', 'kubernetes', 'dns'] as const, 'all');
/** Changes per phase, alternating: add a pod, remove the oldest. */
const K_CHANGES = QUICK ? 6 : 40;
const DNS_CHANGES = QUICK ? 2 : 10;
/** Kubernetes-path changes made first and not counted (connections, JIT). */
const K_WARMUP_CHANGES = 4;
/** grpc-js `dns:` with its defaults only takes part in the first add and the first remove (it never sees them). */
const DNS_DEFAULT_CHANGES = 2;
/** The zone's TTL: CoreDNS's `kubernetes` plugin default (spec §1.7). */
const TTL_SECONDS = 5;
const K_CAP_MS = 5000;
const DNS_CAP_MS = 2 * TTL_SECONDS * 1000 + 1000;
/**
 * A removal is settled once this many requests of the variant landed elsewhere after the removed pod's last
 * (every client balances round-robin over 3-4 pods, so a pod still in its list gets one of every 3-4).
 */
const QUIET_REQUESTS = 100;
/**
 * Requests in flight per variant (each worker pauses between requests, see `startLoad`). Every client
 * balances round-robin (Mesh and plugin `policy: 'round-robin'`, grpc-js `round_robin`), so a new pod gets
 * one of the next 4 requests: the request rate bounds the resolution (reported per variant).
 */
const WORKERS = 2;
const NAMESPACE = 'default';
const SERVICE = 'prop';
const FQDN = `${SERVICE}.${NAMESPACE}.svc.cluster.local`;
/** Servers of the grpc-js `max_connection_age` variant close every connection after this long (GOAWAY). */
const MAX_CONNECTION_AGE_MS = TTL_SECONDS * 1000;

const teardowns: (() => unknown)[] = [];
const started = performance.now();

// ── pods: per variant, when did each pod first/last serve it ─────────────────────────────────────────

/** Per-variant bookkeeping of the change under way. */
class Tracker {
  readonly id: string;
  readonly adds: number[] = [];
  readonly removes: number[] = [];
  addMissed = 0;
  removeMissed = 0;
  errors = 0;
  /** Requests served for this variant (all pods), and over how long (ms), for the request rate. */
  requests = 0;
  loadMs = 0;
  active = true;
  #mode: 'idle' | 'add' | 'remove' = 'idle';
  #pod = '';
  #t0 = 0;
  #last = 0;
  #quiet = 0;
  #done: (() => void) | undefined;

  constructor(id: string) {
    this.id = id;
  }

  /** Start watching for `mode` of `pod` from `t0`; resolves when observed (the caller caps the wait). */
  expect(mode: 'add' | 'remove', pod: string, t0: number): Promise<void> {
    this.#mode = mode;
    this.#pod = pod;
    this.#t0 = t0;
    this.#last = t0;
    this.#quiet = 0;
    return new Promise<void>((resolve) => {
      this.#done = resolve;
    });
  }

  /** A request of this variant reached `pod` at `at`. */
  served(pod: string, at: number): void {
    this.requests++;
    if (this.#mode === 'add' && pod === this.#pod) this.#finish(this.adds, at - this.#t0);
    else if (this.#mode === 'remove') {
      if (pod === this.#pod) {
        this.#last = at;
        this.#quiet = 0;
      } else if (++this.#quiet >= QUIET_REQUESTS) this.#finish(this.removes, Math.max(0, this.#last - this.#t0));
    }
  }

  /** A discovery-only variant saw a snapshot listing `addresses` at `at`. */
  snapshot(addresses: ReadonlySet<string>, podIp: (name: string) => string, at: number): void {
    if (this.#mode === 'idle') return;
    const listed = addresses.has(podIp(this.#pod));
    if (this.#mode === 'add' && listed) this.#finish(this.adds, at - this.#t0);
    else if (this.#mode === 'remove' && !listed) this.#finish(this.removes, at - this.#t0);
  }

  /** The cap ran out before the change was observed. */
  missed(): void {
    if (this.#mode === 'add') this.addMissed++;
    else if (this.#mode === 'remove') this.removeMissed++;
    this.#mode = 'idle';
    this.#done?.();
  }

  get waiting(): boolean {
    return this.#mode !== 'idle';
  }

  /** Forget the results so far (warm-up changes). */
  reset(): void {
    this.adds.length = 0;
    this.removes.length = 0;
    this.addMissed = 0;
    this.removeMissed = 0;
  }

  #finish(into: number[], ms: number): void {
    into.push(ms);
    this.#mode = 'idle';
    this.#done?.();
  }
}

const trackers = new Map<string, Tracker>();
function tracker(id: string): Tracker {
  let t = trackers.get(id);
  if (t === undefined) {
    t = new Tracker(id);
    trackers.set(id, t);
  }
  return t;
}

interface Pod {
  readonly name: string;
  readonly ip: string;
  readonly servers: { http: Server; grpc: grpc.Server; aged: grpc.Server };
}

/** Same three ports on every pod IP: grpc-js `dns:` targets carry one port for all addresses. */
const ports = { http: 0, grpc: 0, aged: 0 };
let podSeq = 0;

function served(variant: unknown, pod: string): void {
  if (typeof variant === 'string') trackers.get(variant)?.served(pod, performance.now());
}

async function startPod(): Promise<Pod> {
  const i = podSeq++;
  const name = `${SERVICE}-${i}`;
  const ip = `127.0.94.${10 + i}`;
  const http = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    served(req.headers['x-variant'], name);
    res.end(name);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(ports.http, ip, () => resolve());
  });
  ports.http = (http.address() as { port: number }).port;
  const makeGrpc = async (port: number, options: grpc.ServerOptions): Promise<[grpc.Server, number]> => {
    const server = new grpc.Server(options);
    server.addService(echoService as unknown as grpc.ServiceDefinition, {
      who: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        served(call.metadata.get('x-variant')[0], name);
        cb(null, { pod: name });
      },
      chat: () => {},
    });
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${ip}:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    return [server, bound];
  };
  const [g, gp] = await makeGrpc(ports.grpc, {});
  ports.grpc = gp;
  // The usual remedy for grpc-js's DNS resolver: servers end connections after an age, so clients reconnect
  // and re-resolve (gRFC A9).
  const [aged, ap] = await makeGrpc(ports.aged, {
    'grpc.max_connection_age_ms': MAX_CONNECTION_AGE_MS,
    'grpc.max_connection_age_grace_ms': 1000,
  });
  ports.aged = ap;
  return { name, ip, servers: { http, grpc: g, aged } };
}

async function stopPod(pod: Pod): Promise<void> {
  pod.servers.grpc.forceShutdown();
  pod.servers.aged.forceShutdown();
  pod.servers.http.closeAllConnections();
  await new Promise<void>((resolve) => pod.servers.http.close(() => resolve()));
}

// ── client load: a steady trickle of tagged requests per variant ─────────────────────────────────────

interface Load {
  stop(): Promise<void>;
}

/**
 * WORKERS loops of `send`, each pausing after every response: `setImmediate` on the Kubernetes path
 * (milliseconds matter there), 1 ms on the DNS path (seconds matter; keeps the CPU free).
 */
function startLoad(t: Tracker, send: () => Promise<void>, pauseMs: number): Load {
  let running = true;
  const pause = () =>
    pauseMs === 0
      ? new Promise<void>((r) => setImmediate(r))
      : new Promise<void>((r) => setTimeout(r, pauseMs).unref());
  const worker = async () => {
    while (running) {
      try {
        await send();
      } catch {
        t.errors++;
        await new Promise<void>((r) => setTimeout(r, 5).unref());
      }
      await pause();
    }
  };
  const workers = Array.from({ length: WORKERS }, worker);
  const t0 = performance.now();
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        running = false;
        await Promise.all(workers);
        t.loadMs += performance.now() - t0;
      })();
      return stopping;
    },
  };
}

function httpSender(url: string, mesh: Mesh, variant: string): () => Promise<void> {
  return async () => {
    const res = await request(url, { dispatcher: mesh.dispatcher, headers: { 'x-variant': variant } });
    await res.body.dump();
  };
}

function grpcSender(target: string, options: grpc.ChannelOptions, variant: string) {
  const Ctor = grpc.makeGenericClientConstructor(echoService as unknown as grpc.ServiceDefinition, 'Echo');
  const client = new Ctor(target, grpc.credentials.createInsecure(), options);
  const raw = client as unknown as {
    who(req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: Error | null) => void): void;
  };
  const send = () =>
    new Promise<void>((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('x-variant', variant);
      md.setOptions({ waitForReady: true });
      raw.who({}, md, { deadline: Date.now() + 5000 }, (e) => (e ? reject(e) : resolve()));
    });
  return { send, close: () => client.close() };
}

// ── the change loop ──────────────────────────────────────────────────────────────────────────────────

interface PhaseDriver {
  add(pod: Pod): Promise<void> | void;
  remove(pod: Pod): Promise<void> | void;
}

async function runChanges(
  label: string,
  warmup: number,
  changes: number,
  capMs: number,
  jitterMs: number,
  pods: Pod[],
  driver: PhaseDriver,
  active: () => Tracker[],
  afterChange: (index: number) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < warmup + changes; i++) {
    if (i === warmup) for (const t of active()) t.reset();
    // Decorrelate the change from the clients' re-resolution cycles (DNS) and from the previous change.
    await new Promise((r) => setTimeout(r, Math.random() * jitterMs).unref());
    const adding = i % 2 === 0;
    const pod = adding ? await startPod() : pods[0]!;
    const list = active();
    const t0 = performance.now();
    const observed = Promise.all(list.map((t) => t.expect(adding ? 'add' : 'remove', pod.name, t0)));
    if (adding) {
      pods.push(pod);
      await driver.add(pod);
    } else {
      pods.shift();
      await driver.remove(pod);
      removed.push(pod);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      observed,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const t of list) if (t.waiting) t.missed();
          resolve();
        }, capMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (VERBOSE) {
      const last = (t: Tracker) => fmtMs((adding ? t.adds : t.removes).at(-1) ?? Number.NaN);
      console.log(
        `${label} ${i + 1 - warmup} ${adding ? 'add' : 'remove'} ${pod.name}: ${list.map((t) => `${t.id} ${last(t)}`).join('; ')}`,
      );
    } else {
      const step = i < warmup ? `warm-up ${i + 1}/${warmup}` : `change ${i + 1 - warmup}/${changes}`;
      process.stdout.write(`\r${label}: ${step}   `);
    }
    await afterChange(i);
  }
  process.stdout.write('\n');
}

/** Removed pods keep running until the phase ends, so no variant learns of a removal by a broken connection. */
const removed: Pod[] = [];

// ── phase 1: the Kubernetes API path ─────────────────────────────────────────────────────────────────

function podObject(pod: Pod): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod.name, namespace: NAMESPACE, labels: { app: SERVICE } },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'x',
          ports: [
            { name: 'http', containerPort: ports.http },
            { name: 'grpc', containerPort: ports.grpc },
          ],
        },
      ],
    },
    status: {
      phase: 'Running',
      podIP: pod.ip,
      podIPs: [{ ip: pod.ip }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

async function kubernetesPhase(): Promise<void> {
  const api = await FakeKubernetesApi.start({ endpointSliceController: true, bookmarkIntervalMs: 60_000 });
  teardowns.push(() => api.close());
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE, namespace: NAMESPACE },
    spec: {
      selector: { app: SERVICE },
      ports: [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'grpc', port: 50051, targetPort: 'grpc' },
      ],
    },
  });
  const pods: Pod[] = [];
  for (let i = 0; i < 3; i++) {
    const pod = await startPod();
    pods.push(pod);
    api.apply(podObject(pod));
  }
  const source = new KubernetesSource({ server: api.url });
  const mesh = new Mesh({ source, context: { namespace: NAMESPACE, resolvConf: '', env: {} }, policy: 'round-robin' });
  const registration = register(mesh);
  const ipOf = new Map<string, string>();
  const podIp = (name: string) => ipOf.get(name) ?? '';

  const watchT = tracker('k8s watch');
  const httpT = tracker('k8s mesh http');
  const grpcT = tracker('k8s plugin grpc');
  const watch = mesh.resolver.watch(`${SERVICE}:http`, (s) =>
    watchT.snapshot(new Set(s.endpoints.map((e) => e.address)), podIp, performance.now()),
  );
  await watch.ready;
  const g = grpcSender(`kubernetes:///${SERVICE}:grpc`, {}, grpcT.id);
  const loads = [startLoad(httpT, httpSender(`http://${SERVICE}/`, mesh, httpT.id), 0), startLoad(grpcT, g.send, 0)];
  try {
    for (const p of pods) ipOf.set(p.name, p.ip);
    await runChanges(
      'kubernetes',
      K_WARMUP_CHANGES,
      K_CHANGES,
      K_CAP_MS,
      20,
      pods,
      {
        add: (pod) => {
          ipOf.set(pod.name, pod.ip);
          api.apply(podObject(pod));
        },
        remove: (pod) => void api.delete('Pod', NAMESPACE, pod.name),
      },
      () => [watchT, httpT, grpcT],
      async () => {},
    );
  } finally {
    for (const l of loads) await l.stop();
    g.close();
    await watch.close();
    await registration.close();
    await mesh.close();
    await source.close();
    for (const p of [...pods, ...removed.splice(0)]) await stopPod(p);
  }
}

// ── phase 2: the DNS path (Knot DNS, TTL 5) ──────────────────────────────────────────────────────────

async function dnsPhase(): Promise<void> {
  const pods: Pod[] = [];
  for (let i = 0; i < 3; i++) pods.push(await startPod());
  const zone = [
    '$ORIGIN cluster.local.',
    `$TTL ${TTL_SECONDS}`,
    `@ IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ( 1 7200 1800 86400 ${TTL_SECONDS} )`,
    '@ IN NS ns.dns.cluster.local.',
    'ns.dns IN A 127.0.0.53',
    ...pods.map((p) => `${SERVICE}.${NAMESPACE}.svc IN A ${p.ip}`),
    '',
  ].join('\n');
  const dns = await startKnotDns({ teardown: (fn) => void teardowns.push(fn) }, { zones: { 'cluster.local': zone } });
  const source = new DnsSource({ servers: [dns.server], timeoutMs: 1000, tries: 2 });
  const mesh = new Mesh({ source, context: { namespace: NAMESPACE, resolvConf: '', env: {} }, policy: 'round-robin' });
  const ipOf = new Map<string, string>(pods.map((p) => [p.name, p.ip]));
  const podIp = (name: string) => ipOf.get(name) ?? '';

  const watchT = tracker('dns watch (DnsSource)');
  const httpT = tracker('dns mesh http (DnsSource)');
  const grpcT = tracker('dns plugin grpc (DnsSource)');
  const jsT = tracker('dns grpc-js dns: round_robin, defaults');
  const agedT = tracker('dns grpc-js dns: round_robin, max_connection_age');
  const watch = mesh.resolver.watch(`${FQDN}:${ports.http}`, (s) =>
    watchT.snapshot(new Set(s.endpoints.map((e) => e.address)), podIp, performance.now()),
  );
  await watch.ready;
  const rr = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });
  const dnsTarget = (port: number) => `dns://${dns.server}/${FQDN}:${port}`;
  // The Kubernetes phase closed its registration: this one binds the plugin to the DNS mesh.
  const registration = register(mesh);
  const g = grpcSender(`kubernetes:///${FQDN}:${ports.grpc}`, {}, grpcT.id);
  const js = grpcSender(dnsTarget(ports.grpc), { 'grpc.service_config': rr }, jsT.id);
  // grpc-js re-resolves at most every 30 s by default; lowered to the TTL so that the age is what bounds it.
  const aged = grpcSender(
    dnsTarget(ports.aged),
    { 'grpc.service_config': rr, 'grpc.dns_min_time_between_resolutions_ms': TTL_SECONDS * 1000 },
    agedT.id,
  );
  const loads = new Map<Tracker, Load>([
    [httpT, startLoad(httpT, httpSender(`http://${FQDN}:${ports.http}/`, mesh, httpT.id), 1)],
    [grpcT, startLoad(grpcT, g.send, 1)],
    [jsT, startLoad(jsT, js.send, 1)],
    [agedT, startLoad(agedT, aged.send, 1)],
  ]);
  try {
    await runChanges(
      'dns',
      0,
      DNS_CHANGES,
      DNS_CAP_MS,
      TTL_SECONDS * 1000,
      pods,
      {
        add: async (pod) => {
          ipOf.set(pod.name, pod.ip);
          await dns.set(`${FQDN}.`, 'A', TTL_SECONDS, pod.ip);
        },
        remove: (pod) => dns.unset(`${FQDN}.`, 'A', pod.ip),
      },
      () => [watchT, httpT, grpcT, agedT, ...(jsT.active ? [jsT] : [])],
      async (i) => {
        if (i + 1 === DNS_DEFAULT_CHANGES && jsT.active) {
          jsT.active = false;
          await loads.get(jsT)!.stop();
          js.close();
        }
      },
    );
  } finally {
    for (const l of loads.values()) await l.stop();
    g.close();
    if (jsT.active) js.close();
    aged.close();
    await watch.close();
    await registration.close();
    await mesh.close();
    await source.close();
    for (const p of [...pods, ...removed.splice(0)]) await stopPod(p);
  }
}

// ── report ───────────────────────────────────────────────────────────────────────────────────────────

function report(): void {
  const base = distribution(trackers.get('k8s mesh http')?.adds ?? []).p50;
  console.log('');
  console.log(
    '| path | variant | add: first request on the new pod p50 / p99 / max | n | ÷ Mesh (API) p50 | remove: last request on the old pod p50 / p99 / max | n | not seen within the cap | requests/s | client errors |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const t of trackers.values()) {
    const [path, ...rest] = t.id.split(' ');
    const a = distribution(t.adds);
    const r = distribution(t.removes);
    const missed = t.addMissed + t.removeMissed;
    console.log(
      `| ${path === 'k8s' ? 'Kubernetes API' : 'DNS'} | ${rest.join(' ')} | ${fmtMs(a.p50)} / ${fmtMs(a.p99)} / ${fmtMs(a.max)} | ` +
        `${a.n} | ${ratio(a.p50, base, a.p50 / base < 10 ? 2 : 0)} | ${fmtMs(r.p50)} / ${fmtMs(r.p99)} / ${fmtMs(r.max)} | ${r.n} | ` +
        `${missed === 0 ? '0' : `${t.addMissed} add, ${t.removeMissed} remove (cap ${fmtMs(t.id.startsWith('k8s') ? K_CAP_MS : DNS_CAP_MS)})`} | ` +
        `${t.loadMs === 0 ? '–' : ((t.requests / t.loadMs) * 1000).toFixed(0)} | ${t.errors} |`,
    );
  }
}

try {
  console.log(
    `node ${process.version}; ${K_CHANGES} changes on the Kubernetes path, ${DNS_CHANGES} on the DNS path (TTL ${TTL_SECONDS} s), ` +
      `alternating add / remove-oldest over 3-4 pods; ${WORKERS} requests in flight per variant; load average ${loadAverage()}`,
  );
  if (PHASE !== 'dns') await kubernetesPhase();
  if (PHASE !== 'kubernetes') await dnsPhase();
  report();
  console.log(`\n${((performance.now() - started) / 1000).toFixed(0)} s; load average at the end: ${loadAverage()}`);
} finally {
  for (const fn of teardowns.reverse()) await fn();
}
