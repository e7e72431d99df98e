import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  EndpointSet,
  type KubernetesSource,
  type KubernetesSourceOptions,
  type SourceEvent,
} from '@clusterip/resolver';
import type { FakeKubernetesApi, WatchInfo } from '@clusterip/resolver/testing';
import test, { type ExecutionContext } from 'ava';
import { createFakeKubeApi } from '../../../helpers/fake-kube-api.js';
import { EventLog, isReset, isUpdate } from './scripted-api.js';
import { testSource } from './test-source.js';

const NS = 'shop';
const SERVICES = `/api/v1/namespaces/${NS}/services`;
const SLICES = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`;

const source = (t: ExecutionContext, api: FakeKubernetesApi, extra: Partial<KubernetesSourceOptions> = {}) =>
  testSource(t, api.url, extra);

function watch(src: KubernetesSource, svc: string): { log: EventLog; close(): Promise<void> } {
  const log = new EventLog();
  const w = src.watch(
    { fqdn: `${svc}.${NS}.svc.cluster.local.`, name: { kind: 'service', namespace: NS, service: svc }, port: 'http' },
    log.listener,
  );
  return { log, close: () => w.close() };
}

function watchFor(t: ExecutionContext, src: KubernetesSource, svc: string): EventLog {
  const w = watch(src, svc);
  t.teardown(() => w.close());
  return w.log;
}

function applyService(api: FakeKubernetesApi, name: string, selector: boolean = true) {
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { ...(selector ? { selector: { app: name } } : {}), ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
}

function applyPod(api: FakeKubernetesApi, app: string, i: number) {
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${app}-${i}`, namespace: NS, labels: { app } },
    spec: { nodeName: 'node-a', containers: [{ name: 'app', image: app, ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: `10.1.0.${i}`, conditions: [{ type: 'Ready', status: 'True' }] },
  });
}

/** Services `names`, each with one ready pod: the i-th at 10.1.0.(i + 1). */
function applyServicesWithPods(api: FakeKubernetesApi, names: readonly string[]) {
  for (const [i, svc] of names.entries()) {
    applyService(api, svc);
    applyPod(api, svc, i + 1);
  }
}

/** An EndpointSlice managed by hand (a Service without a selector), labelled with `service`. */
function applySlice(api: FakeKubernetesApi, name: string, service: string, addresses: readonly string[]) {
  api.apply({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: NS, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  });
}

const selected = (w: WatchInfo) => w.query.labelSelector !== undefined || w.query.fieldSelector !== undefined;
const timeout = () => ({ signal: AbortSignal.timeout(5000) });
/** Lists of a whole collection (no selector) at `path`. */
const wideLists = (api: FakeKubernetesApi, path: string) =>
  api.requests.filter(
    (r) => !r.watch && r.path === path && r.query.labelSelector === undefined && r.query.fieldSelector === undefined,
  ).length;

/** Fold updates into a set until `done` holds for it. */
async function setUntil(log: EventLog, done: (set: EndpointSet) => boolean, set = EndpointSet.empty()) {
  for (;;) {
    const e = await log.next(isUpdate);
    if (e.type === 'update') set = set.apply(e.update);
    if (done(set)) return set;
  }
}
const addresses = (set: EndpointSet) => set.endpoints.map((e) => e.address).sort();

test('below namespaceWatchServices each Service has its own pair; at it, one namespace-wide pair takes them all over with one reset each', async (t) => {
  const api = await createFakeKubeApi(t);
  applyServicesWithPods(api, ['a', 'b', 'c']);
  const src = source(t, api, { namespaceWatchServices: 3 });
  const a = watchFor(t, src, 'a');
  const b = watchFor(t, src, 'b');
  t.deepEqual(addresses(await setUntil(a, (s) => s.size === 1)), ['10.1.0.1']);
  await setUntil(b, (s) => s.size === 1);
  await api.waitForWatches({ namespace: NS }, 4, timeout());
  t.true(api.watches.every(selected), 'two Services: two selected pairs');
  t.deepEqual(src.namespaceWatches, []);

  const c = watchFor(t, src, 'c');
  t.deepEqual(addresses(await setUntil(c, (s) => s.size === 1)), ['10.1.0.3']);
  // a and b switch over: one reset each, with the same endpoints.
  const handedOver = await a.next(isUpdate);
  t.true(isReset(handedOver));
  t.deepEqual(
    handedOver.type === 'update' && handedOver.update.type === 'reset'
      ? handedOver.update.endpoints.map((e) => e.address)
      : [],
    ['10.1.0.1'],
  );
  t.true(isReset(await b.next(isUpdate)));
  await api.waitForWatchState((open) => open.length === 2 && !open.some(selected), timeout());
  t.deepEqual(src.namespaceWatches, [NS]);
  t.is(a.events.filter(isUpdate).length, 2, 'a: its first reset and the switch');
  t.is(b.events.filter(isUpdate).length, 2, 'b: its first reset and the switch');
  const cUpdates = c.events.filter(isUpdate).length;
  t.is(wideLists(api, SERVICES), 1);
  t.is(wideLists(api, SLICES), 1);

  // Changes reach the Service they are about, and only it.
  const aUpdates = a.events.filter(isUpdate).length;
  applyPod(api, 'b', 4);
  t.like(await b.next(isUpdate), { type: 'update', update: { type: 'add' } });
  api.delete('Pod', NS, 'b-2');
  t.deepEqual(await b.next(isUpdate), { type: 'update', update: { type: 'remove', keys: ['10.1.0.2:8080'] } });
  t.false([...a.events, ...b.events, ...c.events].some((e) => e.type === 'stale'));
  t.is(a.events.filter(isUpdate).length, aUpdates, 'a saw neither change');
  t.is(c.events.filter(isUpdate).length, cUpdates, 'c saw neither change');
});

test('namespaceWatchServices: 1: a Service watched later starts from the shared state, without a request of its own', async (t) => {
  const api = await createFakeKubeApi(t);
  applyService(api, 'web');
  applyPod(api, 'web', 1);
  applyService(api, 'api');
  applyPod(api, 'api', 2);
  const src = source(t, api, { namespaceWatchServices: 1 });
  const web = watchFor(t, src, 'web');
  await setUntil(web, (s) => s.size === 1);
  await api.waitForWatchState((open) => open.length === 2 && !open.some(selected), timeout());
  api.clearRequests();

  const apiLog = watchFor(t, src, 'api');
  t.is((await apiLog.next()).type, 'service');
  t.deepEqual(addresses(await setUntil(apiLog, (s) => s.size === 1)), ['10.1.0.2']);
  // A Service that does not exist yet: not-found at once, its endpoints once it is created.
  const later = watchFor(t, src, 'later');
  t.like(await later.next(isUpdate), { type: 'update', update: { type: 'not-found', reason: 'nxdomain' } });
  t.is(api.requests.length, 0, 'answered from the namespace-wide state');
  applyService(api, 'later');
  applyPod(api, 'later', 3);
  t.deepEqual(addresses(await setUntil(later, (s) => s.size === 1)), ['10.1.0.3']);
  t.is(api.watches.length, 2);
});

test('namespace-wide pair: Service deleted and recreated, a slice relabelled to another Service, 410 relist, outage → stale then reset', async (t) => {
  const api = await createFakeKubeApi(t);
  applyService(api, 'x', false);
  applyService(api, 'y', false);
  applySlice(api, 'manual', 'x', ['10.2.0.1', '10.2.0.2']);
  const src = source(t, api, { namespaceWatchServices: 1 });
  const x = watchFor(t, src, 'x');
  const y = watchFor(t, src, 'y');
  let xs = await setUntil(x, (s) => s.size === 2);
  await y.next(isReset);
  await api.waitForWatchState((open) => open.length === 2, timeout());

  // The slice moves from x to y: x loses both endpoints, y gains them.
  applySlice(api, 'manual', 'y', ['10.2.0.1', '10.2.0.2']);
  xs = await setUntil(x, (s) => s.size === 0, xs);
  t.deepEqual(addresses(await setUntil(y, (s) => s.size === 2)), ['10.2.0.1', '10.2.0.2']);

  // Deleted, then recreated.
  api.delete('Service', NS, 'y');
  t.like(await y.next(isUpdate), { type: 'update', update: { type: 'not-found' } });
  applyService(api, 'y', false);
  t.deepEqual(addresses(await setUntil(y, (s) => s.size === 2)), ['10.2.0.1', '10.2.0.2']);

  // 410 on the namespace-wide slice watch: one relist, a reset for every Service.
  const listsBefore = wideLists(api, SLICES);
  t.is(api.expireWatches({ kind: 'EndpointSlice' }), 1);
  t.true(isReset(await x.next(isUpdate)));
  t.true(isReset(await y.next(isUpdate)));
  t.is(wideLists(api, SLICES), listsBefore + 1);

  // An outage: every Service goes stale, keeps its state, and gets a reset on recovery.
  const fault = api.failNext({ status: 503, count: 3, path: SLICES });
  api.disconnectWatches({ kind: 'EndpointSlice' });
  for (const log of [x, y]) {
    const stale = await log.next((e) => e.type === 'stale');
    t.is(stale.type === 'stale' ? stale.error.code : '', 'CLUSTERIP_ERR_WATCH_FAILED');
    t.regex(stale.type === 'stale' ? stale.error.message : '', /endpointslices shop \(namespace-wide\)/);
    t.true(isReset(await log.next(isUpdate)));
    t.is(log.events.filter((e) => e.type === 'stale').length, 1, 'stale once per outage');
  }
  t.is(fault.remaining, 0);
});

const unusable: [string, (api: FakeKubernetesApi) => void, Partial<KubernetesSourceOptions>][] = [
  [
    'forbidden (403: RBAC granting Services by name)',
    (api) => api.failNext({ status: 403, path: SERVICES, query: { fieldSelector: null }, count: 1 }),
    {},
  ],
  ['over maxResponseBytes', () => {}, { maxResponseBytes: 1024 }],
  [
    'with an object that does not decode',
    (api) =>
      api.respondNext({
        path: SLICES,
        watch: false,
        query: { labelSelector: null },
        body: {
          kind: 'EndpointSliceList',
          apiVersion: 'discovery.k8s.io/v1',
          metadata: { resourceVersion: api.resourceVersion },
          items: [{ metadata: { name: 'odd', namespace: NS }, addressType: 'IPv4', endpoints: 'none' }],
        },
      }),
    {},
  ],
];
for (const [title, fault, options] of unusable) {
  // Serial: the failure channel is global to the process, and other tests here fail watches on purpose.
  test.serial(
    `a namespace-wide list ${title}: every Service gets its own pair, and the namespace is not tried again before its retry`,
    async (t) => {
      const api = await createFakeKubeApi(t);
      for (const [i, svc] of ['a', 'b', 'c'].entries()) {
        applyService(api, svc);
        applyPod(api, svc, i + 1);
      }
      fault(api);
      const failures: string[] = [];
      let unusableSeen!: () => void;
      const sawUnusable = new Promise<void>((resolve) => {
        unusableSeen = resolve;
      });
      const onFailure = (m: unknown) => {
        const subject = (m as { subject: string }).subject;
        failures.push(subject);
        if (subject.endsWith('(namespace-wide)')) unusableSeen();
      };
      subscribe('clusterip:source:failure', onFailure);
      t.teardown(() => unsubscribe('clusterip:source:failure', onFailure));
      const src = source(t, api, { namespaceWatchServices: 2, ...options });
      const a = watchFor(t, src, 'a');
      const b = watchFor(t, src, 'b'); // waits for the namespace-wide pair, then gets its own
      await sawUnusable;
      t.deepEqual(src.namespaceWatches, []);
      const c = watchFor(t, src, 'c');
      for (const [log, ip] of [
        [a, '10.1.0.1'],
        [b, '10.1.0.2'],
        [c, '10.1.0.3'],
      ] as const) {
        t.deepEqual(addresses(await setUntil(log, (s) => s.size === 1)), [ip]);
      }
      await api.waitForWatchState((open) => open.length === 6 && open.every(selected), timeout());
      t.is(failures.length, 1, 'tried once');
      t.regex(failures[0] ?? '', /^(services|endpointslices) shop \(namespace-wide\)$/);
      const events: SourceEvent[] = [...a.events, ...b.events, ...c.events];
      t.false(
        events.some((e) => e.type === 'stale'),
        'not an outage of any Service',
      );
    },
  );
}

/** Timers that hold those of a minute or more (the shared pair's retry) for the test to fire; others run. */
function heldTimers() {
  interface Held {
    readonly ms: number;
    readonly fire: () => void;
    cleared: boolean;
  }
  const held: Held[] = [];
  const waiters: { n: number; resolve: (h: Held) => void }[] = [];
  const timers = {
    setTimeout(callback: () => void, ms: number): unknown {
      if (ms < 60_000) return setTimeout(callback, ms);
      const h: Held = { ms, fire: callback, cleared: false };
      held.push(h);
      for (const w of waiters.filter((x) => x.n === held.length)) w.resolve(h);
      return h;
    },
    clearTimeout(handle: unknown): void {
      const h = held.find((x) => x === handle);
      if (h !== undefined) h.cleared = true;
      else clearTimeout(handle as NodeJS.Timeout);
    },
  };
  /** The `n`-th held timer (from 1), once it is set. */
  const nth = (n: number): Promise<Held> =>
    held.length >= n ? Promise.resolve(held[n - 1]!) : new Promise((resolve) => waiters.push({ n, resolve }));
  return { timers, held, nth };
}

test('a namespace that fell back tries the shared pair again after its retry delay: a RoleBinding applied late is picked up', async (t) => {
  const api = await createFakeKubeApi(t);
  applyServicesWithPods(api, ['a', 'b']);
  // RBAC not there yet: the namespace-wide lists are forbidden, twice.
  const forbidden = api.failNext({ status: 403, path: SLICES, query: { labelSelector: null }, count: 2 });
  const { timers, nth } = heldTimers();
  const src = source(t, api, { namespaceWatchServices: 2, timers });
  const a = watchFor(t, src, 'a');
  const b = watchFor(t, src, 'b');
  await setUntil(a, (s) => s.size === 1);
  await setUntil(b, (s) => s.size === 1);
  const first = await nth(1);
  t.is(first.ms, 60_000, 'a retry, a minute on');
  t.deepEqual(src.namespaceWatches, []);
  // Still forbidden at the first retry: back again, the next retry twice as far.
  first.fire();
  const second = await nth(2);
  t.is(second.ms, 120_000);
  t.is(forbidden.remaining, 0);
  t.deepEqual(src.namespaceWatches, []);
  await api.waitForWatchState((open) => open.length === 4 && open.every(selected), timeout());
  // The RoleBinding is there by the second retry: the namespace-wide pair takes both Services over.
  second.fire();
  t.true(isReset(await a.next(isUpdate)));
  t.true(isReset(await b.next(isUpdate)));
  await api.waitForWatchState((open) => open.length === 2 && !open.some(selected), timeout());
  t.deepEqual(src.namespaceWatches, [NS]);
  applyPod(api, 'a', 3);
  t.like(await a.next(isUpdate), { type: 'update', update: { type: 'add' } });
  t.false(
    [...a.events, ...b.events].some((e) => e.type === 'stale'),
    'never an outage',
  );
});

test('close() cancels a pending retry of the shared pair', async (t) => {
  const api = await createFakeKubeApi(t);
  applyServicesWithPods(api, ['a']);
  api.failNext({ status: 403, path: SERVICES, query: { fieldSelector: null }, count: 1 });
  const { timers, held, nth } = heldTimers();
  const src = source(t, api, { namespaceWatchServices: 1, timers });
  const a = watchFor(t, src, 'a');
  await setUntil(a, (s) => s.size === 1);
  const retry = await nth(1);
  await src.close();
  t.true(retry.cleared);
  retry.fire(); // a timer that fired anyway starts nothing
  t.is(held.length, 1);
  t.deepEqual(src.namespaceWatches, []);
});

/** Services a request selected by name or label (a per-Service pair's), sorted. */
const selectedBy = (api: FakeKubernetesApi) =>
  [
    ...new Set(
      api.requests
        .map((r) => r.query.labelSelector ?? r.query.fieldSelector)
        .filter((q) => q !== undefined)
        .map((q) => q.replace(/^.*=/, '')),
    ),
  ].sort();

test('Services asked for while the namespace-wide pair lists wait for it, without a pair of their own', async (t) => {
  const api = await createFakeKubeApi(t);
  const names = ['a', 'b', 'c', 'd', 'e'];
  applyServicesWithPods(api, names);
  const src = source(t, api, { namespaceWatchServices: 2 });
  const logs = names.map((svc) => watchFor(t, src, svc));
  for (const [i, log] of logs.entries()) {
    t.deepEqual(addresses(await setUntil(log, (s) => s.size === 1)), [`10.1.0.${i + 1}`]);
  }
  await api.waitForWatchState((open) => open.length === 2 && !open.some(selected), timeout());
  t.deepEqual(selectedBy(api), ['a'], 'only the Service below the threshold had a pair of its own');
});

test('the namespace-wide lists failing before they listed: the waiting Services use their own pairs meanwhile, then switch', async (t) => {
  const api = await createFakeKubeApi(t);
  const names = ['a', 'b', 'c'];
  applyServicesWithPods(api, names);
  const fault = api.failNext({ status: 503, path: SLICES, query: { labelSelector: null }, count: 2 });
  const src = source(t, api, { namespaceWatchServices: 2 });
  const logs = names.map((svc) => watchFor(t, src, svc));
  for (const [i, log] of logs.entries()) {
    t.deepEqual(addresses(await setUntil(log, (s) => s.size === 1)), [`10.1.0.${i + 1}`]);
  }
  await api.waitForWatchState((open) => open.length === 2 && !open.some(selected), timeout());
  t.is(fault.remaining, 0);
  t.deepEqual(selectedBy(api), names, 'each Service had its own pair while the namespace-wide lists failed');
  t.deepEqual(src.namespaceWatches, [NS]);
  t.false(
    logs.some((log) => log.events.some((e) => e.type === 'stale')),
    'their own pairs served them: no outage',
  );
});

test('a namespace-wide watch failing at the hand-over: the Services handed over are stale at once, until it recovers', async (t) => {
  const api = await createFakeKubeApi(t);
  applyServicesWithPods(api, ['a', 'b']);
  // The namespace-wide Services list is held; its EndpointSlice list goes through.
  const held = api.stall({ path: SERVICES, watch: false, query: { labelSelector: null, fieldSelector: null } });
  // Retries 2 s apart: the outage must be told at the hand-over, not by the next failed attempt.
  const src = source(t, api, { namespaceWatchServices: 2, backoff: { initialMs: 2000, maxMs: 2000, jitter: 0 } });
  const a = watchFor(t, src, 'a');
  await setUntil(a, (s) => s.size === 1);
  const b = watchFor(t, src, 'b');
  await held.waitForStalled(1);
  await api.waitForWatches({ kind: 'EndpointSlice', query: { labelSelector: null } }, 1, timeout());
  // The shared EndpointSlice watch breaks and cannot relist: b, still waiting, runs its own pair.
  const outage = api.failNext({ status: 503, path: SLICES, query: { labelSelector: null }, count: 1000 });
  api.disconnectWatches({ kind: 'EndpointSlice', query: { labelSelector: null } });
  await setUntil(b, (s) => s.size === 1);
  t.false(
    [...a.events, ...b.events].some((e) => e.type === 'stale'),
    'their own pairs serve them',
  );
  // The Services list completes: both are handed the shared state and told, at once, that the shared
  // EndpointSlice watch is failing (before its next attempt).
  const attempts = () => api.requests.filter((r) => r.path === SLICES && r.query.labelSelector === undefined).length;
  const before = attempts();
  held.release();
  for (const log of [a, b]) {
    t.true(isReset(await log.next(isUpdate)), 'the hand-over');
    t.like(await log.next((e) => e.type !== 'service'), { type: 'stale' });
  }
  t.is(attempts(), before, 'stale before the shared watch tried again');
  await api.waitForWatchState((open) => !open.some(selected), timeout());
  // The shared watch recovers: a fresh list, and the Services are no longer stale.
  outage.clear();
  t.deepEqual(addresses(await setUntil(a, (s) => s.size === 1)), ['10.1.0.1']);
  t.deepEqual(addresses(await setUntil(b, (s) => s.size === 1)), ['10.1.0.2']);
  t.is(a.events.at(-1)?.type, 'update');
  t.is(b.events.at(-1)?.type, 'update');
});

test('a 403 after the hand-over (RBAC narrowed): every Service goes back to its own pair', async (t) => {
  const api = await createFakeKubeApi(t);
  applyServicesWithPods(api, ['a', 'b']);
  const src = source(t, api, { namespaceWatchServices: 1 });
  const a = watchFor(t, src, 'a');
  const b = watchFor(t, src, 'b');
  await setUntil(a, (s) => s.size === 1);
  await setUntil(b, (s) => s.size === 1);
  await api.waitForWatchState((open) => open.length === 2 && !open.some(selected), timeout());
  api.failNext({ status: 403, path: SLICES, query: { labelSelector: null }, count: 1000 });
  api.expireWatches({ kind: 'EndpointSlice' });
  await api.waitForWatchState((open) => open.length === 4 && open.every(selected), timeout());
  t.deepEqual(src.namespaceWatches, []);
  // Their own pairs list afresh (resets) and carry later changes.
  t.true(isReset(await a.next(isUpdate)));
  let bs = await setUntil(b, (s) => s.size === 1);
  applyPod(api, 'b', 3);
  bs = await setUntil(b, (s) => s.size === 2, bs);
  t.deepEqual(addresses(bs), ['10.1.0.2', '10.1.0.3']);
  t.false([...a.events, ...b.events].some((e) => e.type === 'stale'));
});

test("the shared pair closes with the namespace's last watched Service; Infinity keeps per-Service pairs", async (t) => {
  const api = await createFakeKubeApi(t);
  applyService(api, 'a');
  applyService(api, 'b');
  const src = source(t, api, { namespaceWatchServices: 2 });
  const a = watch(src, 'a');
  const b = watch(src, 'b');
  await a.log.next(isReset);
  await b.log.next(isReset);
  await api.waitForWatchState((open) => open.length === 2 && !open.some(selected), timeout());
  await a.close();
  await b.close();
  await api.waitForWatchState((open) => open.length === 0, timeout());
  t.deepEqual(src.namespaceWatches, []);
  t.is(src.watchedServices, 0);

  const never = source(t, api, { namespaceWatchServices: Number.POSITIVE_INFINITY });
  const logs = ['a', 'b'].map((svc) => watchFor(t, never, svc));
  for (const log of logs) await log.next(isReset);
  await api.waitForWatches({ namespace: NS }, 4, timeout());
  t.true(api.watches.every(selected));
  t.deepEqual(never.namespaceWatches, []);
});
