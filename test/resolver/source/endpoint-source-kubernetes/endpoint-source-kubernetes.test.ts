import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ClusterName,
  EndpointSet,
  type KubernetesSource,
  type KubernetesSourceOptions,
  type SourceEvent,
} from '@clusterip/resolver';
import test, { type ExecutionContext } from 'ava';
import {
  addressesOf,
  EventLog,
  endpointSlice,
  isReset,
  isUpdate,
  ScriptedApi,
  service,
  status,
} from './scripted-api.js';
import { testSource } from './test-source.js';

const source = (t: ExecutionContext, api: ScriptedApi, extra: Partial<KubernetesSourceOptions> = {}) =>
  testSource(t, api.url, extra);

function q(svc: string, port?: number | string, name?: ClusterName) {
  return {
    fqdn: `${svc}.prod.svc.cluster.local.`,
    name: name ?? ({ kind: 'service', namespace: 'prod', service: svc } as const),
    port,
  };
}

function watch(t: ExecutionContext, src: KubernetesSource, query: ReturnType<typeof q>): EventLog {
  const log = new EventLog();
  const w = src.watch(query, log.listener);
  t.teardown(() => w.close());
  return log;
}

const reasonOf = (e: SourceEvent) =>
  e.type === 'update' && e.update.type === 'reset' ? e.update.reason?.code : undefined;

test('list → watch → add/remove events; watch from the list RV with bookmarks and a jittered timeout', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.2', '10.0.0.1']));
  const src = source(t, api, { random: () => 0.5, minWatchTimeoutSeconds: 300 });
  const log = watch(t, src, q('web', 'http'));
  const first = await log.next();
  t.is(first.type, 'service');
  const reset = await log.next(isUpdate);
  t.true(isReset(reset));
  t.deepEqual(addressesOf(reset), ['10.0.0.1', '10.0.0.2']);
  t.is(reasonOf(reset), undefined);
  if (reset.type === 'update' && reset.update.type === 'reset') t.is(reset.update.endpoints[0]?.port, 8080);

  const w = await api.waitForRequest((r) => r.kind === 'endpointslices' && r.watch);
  t.is(w.query.get('resourceVersion'), String(api.rv));
  t.is(w.query.get('allowWatchBookmarks'), 'true');
  t.is(w.query.get('timeoutSeconds'), '450');
  t.is(w.query.get('labelSelector'), 'kubernetes.io/service-name=web');
  const sw = await api.waitForRequest((r) => r.kind === 'services' && r.watch);
  t.is(sw.query.get('fieldSelector'), 'metadata.name=web');
  await api.waitWatchers('endpointslices', 1);

  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.2', '10.0.0.1', '10.0.0.3']));
  const add = await log.next(isUpdate);
  t.like(add, { type: 'update', update: { type: 'add' } });
  t.deepEqual(addressesOf(add), ['10.0.0.3']);
  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.3']));
  const remove = await log.next(isUpdate);
  t.deepEqual(remove, { type: 'update', update: { type: 'remove', keys: ['10.0.0.2:8080', '10.0.0.1:8080'] } });
});

test('bookmark advances the RV; a clean stream end re-watches from it without relisting', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  const src = source(t, api);
  const log = watch(t, src, q('web'));
  await log.next(isUpdate);
  await api.waitWatchers('endpointslices', 1);
  api.bookmark('endpointslices');
  const bookmarkRv = String(api.rv);
  // Events are processed in order: a later slice event proves the bookmark was read.
  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.1']));
  await log.next(isUpdate);
  const afterEvent = String(api.rv);
  t.not(afterEvent, bookmarkRv);
  const before = api.requests.length;
  api.endWatches('endpointslices');
  const rewatch = await api.waitForRequest((r) => r.kind === 'endpointslices' && r.watch, before);
  t.is(rewatch.query.get('resourceVersion'), afterEvent);
  t.is(api.count('endpointslices', false), 1, 'no relist after a clean end');
  // A bookmark alone, then a clean end: the re-watch uses the bookmark's RV.
  await api.waitWatchers('endpointslices', 1);
  api.bookmark('endpointslices');
  api.bookmark('services');
  api.apply('services', service('web', { ports: [{ name: 'http', port: 81, targetPort: 8080 }] }));
  await log.next((e) => e.type === 'service');
  const mark = String(api.rv - 2);
  const n = api.requests.length;
  api.endWatches('endpointslices');
  const again = await api.waitForRequest((r) => r.kind === 'endpointslices' && r.watch, n);
  t.is(again.query.get('resourceVersion'), mark);
  t.is(api.count('endpointslices', false), 1);
  t.false(log.events.some((e) => e.type === 'stale'));
});

test('410 as the watch status → relist and reset, no stale', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.1']));
  let gone = 1;
  api.intercept = (r, res) =>
    r.kind === 'endpointslices' && r.watch && gone-- > 0 ? status(res, 410, 'too old') : false;
  const src = source(t, api);
  const log = watch(t, src, q('web'));
  await log.next(isReset);
  await api.waitForRequest((r) => r.kind === 'endpointslices' && !r.watch && api.count('endpointslices', false) === 2);
  const again = await log.next(isReset);
  t.deepEqual(addressesOf(again), ['10.0.0.1']);
  t.false(log.events.some((e) => e.type === 'stale'));
});

test('410 as an ERROR event mid-stream → relist with the new state as a reset', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.1']));
  const src = source(t, api);
  const log = watch(t, src, q('web'));
  await log.next(isReset);
  await api.waitWatchers('endpointslices', 1);
  // The server lost history: state changed behind the client's back.
  api.objects.endpointslices.set('web-b', endpointSlice('web-b', 'web', ['10.0.0.9']));
  api.rv++;
  api.send('endpointslices', {
    type: 'ERROR',
    object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' },
  });
  const reset = await log.next(isReset);
  t.deepEqual(addressesOf(reset), ['10.0.0.1', '10.0.0.9']);
  t.is(api.count('endpointslices', false), 2);
  t.false(log.events.some((e) => e.type === 'stale'));
});

test('API down: stale with WatchFailedError, last state kept; recovery → reset', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.1']));
  const src = source(t, api);
  const log = watch(t, src, q('web'));
  await log.next(isReset);
  await api.waitWatchers('endpointslices', 1);
  await api.waitWatchers('services', 1);
  let down = true;
  api.intercept = (_r, res) => (down ? status(res, 503, 'apiserver restarting') : false);
  api.cutConnections();
  const stale = await log.next((e) => e.type === 'stale');
  t.is(stale.type === 'stale' ? stale.error.code : '', 'CLUSTERIP_ERR_WATCH_FAILED');
  const failures = api.requests.length;
  await api.waitForRequest(() => api.requests.length >= failures + 4); // several retries
  t.is(log.events.filter((e) => e.type === 'stale').length, 1, 'one stale per outage');
  t.is(log.events.filter(isUpdate).length, 1, 'no update while down: the last state is served');
  down = false;
  const recovered = await log.next(isUpdate);
  t.true(isReset(recovered));
  t.deepEqual(addressesOf(recovered), ['10.0.0.1']);
});

test('a server that never answers: request timeout → stale, no hang; then recovery', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  let hold = true;
  api.intercept = (r) => hold && r.kind === 'endpointslices';
  const src = source(t, api, { requestTimeoutMs: 150 });
  const log = watch(t, src, q('web'));
  const first = await log.next();
  t.is(first.type, 'stale', 'nothing known yet: stale first');
  if (first.type === 'stale') t.regex(first.error.message, /endpointslices prod\/web/);
  hold = false;
  const reset = await log.next(isUpdate);
  t.true(isReset(reset));
  t.is(reasonOf(reset), 'no-endpoint-slices');
});

/** Timers that record every delay asked for and fire after 1 ms, so a test reads the pacing without waiting. */
function recordingTimers(): { delays: number[]; timers: KubernetesSourceOptions['timers'] } {
  const delays: number[] = [];
  return {
    delays,
    timers: {
      setTimeout: (callback: () => void, ms: number) => {
        delays.push(ms);
        return setTimeout(callback, 1);
      },
      clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
    },
  };
}

test('Retry-After of a 429/503 (header, Status details, watch ERROR event) paces the next attempt, up to backoff.maxMs', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.1']));
  const answers = [
    (res: ServerResponse) => status(res, 429, 'too many requests', { headers: { 'retry-after': '7' } }),
    (res: ServerResponse) => status(res, 503, 'unavailable', { details: { retryAfterSeconds: 9 } }),
    (res: ServerResponse) => status(res, 429, 'too many requests', { headers: { 'retry-after': '3600' } }),
  ];
  api.intercept = (r, res) => r.kind === 'endpointslices' && (answers.shift()?.(res) ?? false);
  const { delays, timers } = recordingTimers();
  const src = source(t, api, { backoff: { initialMs: 5, maxMs: 60_000, jitter: 0 }, timers });
  const log = watch(t, src, q('web'));
  t.deepEqual(addressesOf(await log.next(isReset)), ['10.0.0.1']);
  await api.waitWatchers('endpointslices', 1);
  const before = api.requests.length;
  api.send('endpointslices', {
    type: 'ERROR',
    object: { kind: 'Status', code: 429, message: 'too many requests', details: { retryAfterSeconds: 4 } },
  });
  await api.waitForRequest((r) => r.kind === 'endpointslices' && r.watch, before);
  // Without Retry-After the same failures wait 5, 10, 20 and 40 ms.
  t.deepEqual(
    delays.filter((ms) => ms >= 1000),
    [7000, 9000, 60_000, 4000],
  );
});

test('watches that end at once with only a bookmark are re-opened after a backoff, not in a tight loop', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  let quick = 0;
  api.intercept = (r, res) => {
    if (r.kind !== 'endpointslices' || !r.watch || quick >= 4) return false;
    quick++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      `${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'EndpointSlice', metadata: { resourceVersion: String(++api.rv) } } })}\n`,
    );
    return true;
  };
  const { delays, timers } = recordingTimers();
  // A clock that stands still: every watch ends "within 1 s" however loaded the machine is.
  const src = source(t, api, { backoff: { initialMs: 333, maxMs: 5000, jitter: 0 }, timers, now: () => 0 });
  const log = watch(t, src, q('web'));
  await log.next(isReset);
  await api.waitWatchers('endpointslices', 1);
  t.is(quick, 4);
  t.deepEqual(
    delays.filter((ms) => ms >= 333 && ms <= 5000),
    [333, 666, 1332, 2664],
  );
  t.false(
    log.events.some((e) => e.type === 'stale'),
    'a quick clean end is paced, not reported',
  );
});

test('malformed JSON line mid-stream → stale, relist, reset', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.1']));
  const src = source(t, api);
  const log = watch(t, src, q('web'));
  await log.next(isReset);
  await api.waitWatchers('endpointslices', 1);
  api.sendRaw('endpointslices', '{"type":"ADDED","object":{"kind":"EndpointSl\n');
  const stale = await log.next((e) => e.type === 'stale');
  if (stale.type === 'stale') t.regex(stale.error.message, /not JSON/);
  t.true(isReset(await log.next(isUpdate)));
  t.is(api.count('endpointslices', false), 2);
});

for (const [title, object, pattern] of [
  ['object missing required fields', { kind: 'EndpointSlice', metadata: { name: 'x', labels: {} } }, /addressType/],
  ['wrong kind', { kind: 'Pod', metadata: { name: 'x' } }, /expected kind EndpointSlice/],
] as const) {
  test(`${title} in a watch event → typed stale, relist, reset`, async (t) => {
    const api = await ScriptedApi.start(t);
    api.apply('services', service('web'));
    const src = source(t, api);
    const log = watch(t, src, q('web'));
    await log.next(isReset);
    await api.waitWatchers('endpointslices', 1);
    api.send('endpointslices', { type: 'ADDED', object });
    const stale = await log.next((e) => e.type === 'stale');
    t.is(stale.type === 'stale' ? stale.error.code : '', 'CLUSTERIP_ERR_WATCH_FAILED');
    if (stale.type === 'stale') t.regex(stale.error.message, pattern);
    t.true(isReset(await log.next(isUpdate)));
  });
}

test('wrong list kind and oversized responses → stale, retried', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  let bad = 2;
  api.intercept = (r, res) => {
    if (r.kind !== 'endpointslices' || r.watch || bad <= 0) return false;
    bad--;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      bad === 1 ? JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '1' }, items: [] }) : 'x'.repeat(5000),
    );
    return true;
  };
  const src = source(t, api, { maxResponseBytes: 4096 });
  const log = watch(t, src, q('web'));
  const stale = await log.next();
  t.is(stale.type, 'stale');
  if (stale.type === 'stale') t.regex(stale.error.message, /expected kind EndpointSliceList/);
  t.true(isReset(await log.next(isUpdate)));
  t.is(api.count('endpointslices', false), 3);
});

test('token file: re-read after the refresh period and right after a 401; never in errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-token-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  await writeFile(file, 'token-one\n');
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  let accepted = 'Bearer token-one';
  api.intercept = (r, res) => (r.authorization !== accepted ? status(res, 401, 'Unauthorized') : false);
  let now = 0;
  const src = source(t, api, { tokenFile: file, now: () => now, tokenRefreshIntervalMs: 60_000 });
  const log = watch(t, src, q('web'));
  await log.next(isReset);
  t.true(api.requests.every((r) => r.authorization === 'Bearer token-one'));
  // Rotation: the file changes; within the period the cached token is still used.
  await writeFile(file, 'token-two\n');
  now += 60_000;
  accepted = 'Bearer token-two';
  let n = api.requests.length;
  api.endWatches('services');
  const next = await api.waitForRequest((r) => r.kind === 'services', n);
  t.is(next.authorization, 'Bearer token-two', 'period elapsed: the file was re-read');
  // 401 path: rotate again without advancing the clock; the 401 triggers an immediate re-read.
  await writeFile(file, 'token-three\n');
  accepted = 'Bearer token-three';
  n = api.requests.length;
  api.endWatches('services');
  await api.waitForRequest((r) => r.kind === 'services' && r.authorization === 'Bearer token-three', n);
  const sequence = api.requests
    .slice(n)
    .filter((r) => r.kind === 'services')
    .map((r) => r.authorization);
  t.deepEqual(sequence.slice(0, 2), ['Bearer token-two', 'Bearer token-three']);
  t.false(
    log.events.some((e) => e.type === 'stale'),
    'the retry after 401 succeeded',
  );
  // A token that stays rejected → stale, without the token in the message.
  accepted = 'Bearer nobody';
  n = api.requests.length;
  api.endWatches('services');
  const stale = await log.next((e) => e.type === 'stale');
  if (stale.type === 'stale') {
    t.regex(stale.error.message, /HTTP 401/);
    t.false(stale.error.message.includes('token-three'));
  }
});

test('Service deleted → not-found; recreated → service + reset', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.1']));
  const src = source(t, api);
  const log = watch(t, src, q('web'));
  await log.next(isReset);
  await api.waitWatchers('services', 1);
  api.delete('services', 'web');
  const nf = await log.next(isUpdate);
  t.like(nf, { type: 'update', update: { type: 'not-found', reason: 'nxdomain' } });
  api.apply('services', service('web'));
  t.is((await log.next()).type, 'service');
  const reset = await log.next(isUpdate);
  t.deepEqual(addressesOf(reset), ['10.0.0.1']);
});

test('missing Service → not-found; appears later → reset', async (t) => {
  const api = await ScriptedApi.start(t);
  const src = source(t, api);
  const log = watch(t, src, q('nope'));
  t.like(await log.next(), { type: 'update', update: { type: 'not-found', reason: 'nxdomain' } });
  await api.waitWatchers('services', 1);
  api.apply('services', service('nope'));
  t.true(isReset(await log.next(isUpdate)));
});

test('slices split and merged across >100 endpoints: never an empty window, never fewer than live', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('big'));
  const ips = Array.from({ length: 150 }, (_, i) => `10.1.${Math.floor(i / 200)}.${(i % 200) + 1}`);
  api.apply('endpointslices', endpointSlice('big-a', 'big', ips.slice(0, 100)));
  api.apply('endpointslices', endpointSlice('big-b', 'big', ips.slice(100)));
  const src = source(t, api);
  const log = watch(t, src, q('big'));
  let set = EndpointSet.empty();
  const sizes: number[] = [];
  const first = await log.next(isUpdate);
  if (first.type === 'update') set = set.apply(first.update);
  t.is(set.size, 150);
  await api.waitWatchers('endpointslices', 1);
  // Controller repacks: first the merged slice appears, then the old one goes.
  api.apply('endpointslices', endpointSlice('big-a', 'big', ips));
  api.delete('endpointslices', 'big-b');
  // Then it splits again the other way.
  api.apply('endpointslices', endpointSlice('big-c', 'big', ips.slice(0, 50)));
  api.apply('endpointslices', endpointSlice('big-a', 'big', ips.slice(50)));
  api.apply('endpointslices', endpointSlice('big-d', 'big', ['10.9.9.9']));
  for (;;) {
    const e = await log.next(isUpdate);
    if (e.type === 'update') set = set.apply(e.update);
    sizes.push(set.size);
    if (set.has('10.9.9.9:8080')) break;
  }
  t.true(
    sizes.every((s) => s >= 150),
    `sizes ${sizes.join(',')}`,
  );
  t.is(set.size, 151);
  t.false(log.events.some((e) => e.type === 'update' && e.update.type === 'remove'));
});

test('duplicate endpoints across slices are merged; deleting one copy removes nothing', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.1', '10.0.0.2']));
  api.apply('endpointslices', endpointSlice('web-b', 'web', ['10.0.0.2']));
  const src = source(t, api);
  const log = watch(t, src, q('web'));
  t.deepEqual(addressesOf(await log.next(isReset)), ['10.0.0.1', '10.0.0.2']);
  await api.waitWatchers('endpointslices', 1);
  api.delete('endpointslices', 'web-b');
  api.apply('endpointslices', endpointSlice('web-c', 'web', ['10.0.0.3']));
  const next = await log.next(isUpdate);
  t.like(next, { type: 'update', update: { type: 'add' } });
  t.deepEqual(addressesOf(next), ['10.0.0.3']);
});

test('dual-stack slices: both families; headless Service endpoints are the pods', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web', { clusterIP: 'None', clusterIPs: ['None'], ipFamilies: ['IPv4', 'IPv6'] }));
  api.apply('endpointslices', endpointSlice('web-4', 'web', ['10.0.0.1']));
  api.apply('endpointslices', endpointSlice('web-6', 'web', ['fd00::1'], { addressType: 'IPv6' }));
  const src = source(t, api);
  const log = watch(t, src, q('web'));
  const svc = await log.next();
  t.true(svc.type === 'service' && svc.service?.headless === true);
  const reset = await log.next(isUpdate);
  if (reset.type === 'update' && reset.update.type === 'reset') {
    t.deepEqual(
      reset.update.endpoints.map((e) => `${e.addressType} ${e.address}`),
      ['IPv4 10.0.0.1', 'IPv6 fd00::1'],
    );
  } else t.fail();
});

test('explained empty states: no slices, port not in slices, no ready endpoints, port not found, ExternalName', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('empty'));
  api.apply('services', service('named', { ports: [{ name: 'http', port: 80, targetPort: 'web' }] }));
  api.apply('endpointslices', endpointSlice('named-a', 'named', ['10.0.0.1'], { portName: 'other' }));
  api.apply('services', service('down'));
  api.apply('endpointslices', endpointSlice('down-a', 'down', ['10.0.0.1'], { ready: false }));
  api.apply('services', service('ext', { type: 'ExternalName', externalName: 'db.example.com' }));
  // Every pod gone: the controller's placeholder slice has neither endpoints nor ports.
  api.apply('services', service('gone', { ports: [{ name: 'http', port: 80, targetPort: 'web' }] }));
  api.apply('endpointslices', { ...endpointSlice('gone-a', 'gone', []), ports: [] });
  const src = source(t, api);
  const cases: [string, number | string | undefined, string][] = [
    ['empty', 'http', 'no-endpoint-slices'],
    ['named', 'http', 'port-not-in-slices'],
    ['gone', 'http', 'no-endpoints'],
    ['down', 80, 'no-ready-endpoints'],
    ['down', 'grpc', 'port-not-found'],
    ['ext', undefined, 'external-name'],
  ];
  for (const [svc, port, code] of cases) {
    const log = watch(t, src, q(svc, port));
    const e = await log.next(isUpdate);
    t.is(reasonOf(e), code, `${svc}:${String(port)}`);
    if (e.type === 'update' && e.update.type === 'reset') t.truthy(e.update.reason?.message.includes(svc));
  }
  // no-ready-endpoints still lists the endpoints (for the serving-terminating fallback) and clears when one is ready.
  const log = watch(t, src, q('down', 'http'));
  const first = await log.next(isUpdate);
  t.deepEqual(addressesOf(first), ['10.0.0.1']);
  await api.waitWatchers('endpointslices', 4); // one per Service
  api.apply('endpointslices', endpointSlice('down-a', 'down', ['10.0.0.1']));
  const healed = await log.next(isUpdate);
  t.true(isReset(healed));
  t.is(reasonOf(healed), undefined);
});

test('endpoint names (hostname, else dashed IP), SRV names, and names the API cannot answer', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('db', { clusterIP: 'None' }));
  api.apply('endpointslices', endpointSlice('db-a', 'db', ['10.0.0.1', '10.0.0.2'], { hostnames: true }));
  api.apply('endpointslices', endpointSlice('db-z', 'db', ['10.0.0.99']));
  const src = source(t, api);
  const ep = (hostname: string) =>
    watch(t, src, q('db', undefined, { kind: 'endpoint', namespace: 'prod', service: 'db', hostname }));
  t.deepEqual(addressesOf(await ep('db-1').next(isUpdate)), ['10.0.0.2']);
  t.deepEqual(addressesOf(await ep('10-0-0-99').next(isUpdate)), ['10.0.0.99']);
  // CoreDNS names an endpoint by its hostname when it has one (endpointHostname, spec §1.3): not its dashed IP.
  t.like(await ep('10-0-0-1').next(isUpdate), { type: 'update', update: { type: 'not-found', reason: 'nxdomain' } });
  const missing = ep('db-7');
  t.like(await missing.next(isUpdate), { type: 'update', update: { type: 'not-found', reason: 'nxdomain' } });
  await api.waitWatchers('endpointslices', 1);
  api.apply(
    'endpointslices',
    endpointSlice(
      'db-b',
      'db',
      ['10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7', '10.0.0.8', '10.0.0.9', '10.0.0.10'],
      { hostnames: true },
    ),
  );
  t.deepEqual(addressesOf(await missing.next(isUpdate)), ['10.0.0.10']);

  const srv = watch(
    t,
    src,
    q('db', undefined, { kind: 'srv', namespace: 'prod', service: 'db', port: 'http', protocol: 'tcp' }),
  );
  t.is(addressesOf(await srv.next(isUpdate)).length, 11);
  const srvMissing = watch(
    t,
    src,
    q('db', undefined, { kind: 'srv', namespace: 'prod', service: 'db', port: 'grpc', protocol: 'tcp' }),
  );
  t.like(await srvMissing.next(isUpdate), { type: 'update', update: { type: 'not-found', reason: 'nxdomain' } });

  for (const [name, reason, detail] of [
    [{ kind: 'outside', fqdn: 'example.com.' }, 'nxdomain', 'outside the cluster domain'],
    [
      { kind: 'no-data', fqdn: 'prod.svc.cluster.local.', namespace: 'prod' },
      'nodata',
      'prod.svc.cluster.local. names namespace prod, not a service: it has no addresses',
    ],
    [
      { kind: 'no-data', fqdn: 'svc.cluster.local.' },
      'nodata',
      'svc.cluster.local. is a cluster DNS domain, not a service: it has no addresses',
    ],
    [{ kind: 'pod', namespace: 'prod', ip: '10.0.0.1' }, 'nxdomain', undefined],
    [
      { kind: 'invalid', fqdn: 'a.b.c.db.prod.svc.cluster.local.', reason: 'too many labels' },
      'nxdomain',
      'too many labels',
    ],
  ] as const) {
    const e = await watch(t, src, q('x', undefined, name as ClusterName)).next();
    t.like(e, { type: 'update', update: { type: 'not-found', reason, ...(detail ? { detail } : {}) } });
  }
});

test('ExternalName: names below it and SRV names are NXDOMAIN, as cluster DNS answers (spec 1.4)', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('ext', { type: 'ExternalName', externalName: 'db.example.com' }));
  const src = source(t, api);
  const names: ClusterName[] = [
    { kind: 'endpoint', namespace: 'prod', service: 'ext', hostname: 'x' },
    { kind: 'srv', namespace: 'prod', service: 'ext', port: 'http', protocol: 'tcp' },
  ];
  for (const name of names) {
    const e = await watch(t, src, q('ext', undefined, name)).next(isUpdate);
    t.like(e, { type: 'update', update: { type: 'not-found', reason: 'nxdomain' } }, name.kind);
  }
  t.is(reasonOf(await watch(t, src, q('ext')).next(isUpdate)), 'external-name');
});

test('watches are shared per Service and closed after the idle timeout', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply(
    'services',
    service('web', {
      ports: [
        { name: 'http', port: 80 },
        { name: 'admin', port: 9000 },
      ],
    }),
  );
  api.apply('endpointslices', {
    ...endpointSlice('web-a', 'web', ['10.0.0.1']),
    ports: [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'admin', port: 9001, protocol: 'TCP' },
    ],
  });
  const src = source(t, api, { idleTimeoutMs: 0 });
  const a = new EventLog();
  const b = new EventLog();
  const c = new EventLog();
  const wa = src.watch(q('web', 'http'), a.listener);
  const wb = src.watch(q('web', 'http'), b.listener);
  const wc = src.watch(q('web', 9000), c.listener);
  const [ea, eb, ec] = await Promise.all([a.next(isReset), b.next(isReset), c.next(isReset)]);
  t.deepEqual(addressesOf(ea), addressesOf(eb));
  if (ec.type === 'update' && ec.update.type === 'reset') t.is(ec.update.endpoints[0]?.port, 9001);
  await api.waitWatchers('endpointslices', 1);
  t.is(api.count('endpointslices', false), 1, 'one list for three watchers');
  t.is(api.count('services', false), 1);
  t.is(src.watchedServices, 1);
  await Promise.all([wa.close(), wb.close()]);
  t.is(wc.close(), wc.close(), 'close returns the same promise');
  await wc.close();
  await api.waitWatchers('endpointslices', 0);
  await api.waitWatchers('services', 0);
  t.is(src.watchedServices, 0);
  const n = a.events.length;
  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.5']));
  t.is(a.events.length, n, 'no event after close');
});

test('close(): idempotent, final, no listener call afterwards', async (t) => {
  const api = await ScriptedApi.start(t);
  api.apply('services', service('web'));
  const src = source(t, api);
  const log = watch(t, src, q('web'));
  await log.next(isReset);
  const p = src.close();
  t.is(src.close(), p);
  await p;
  t.true(src.closed);
  const n = log.events.length;
  api.apply('endpointslices', endpointSlice('web-a', 'web', ['10.0.0.1']));
  t.is(log.events.length, n);
  t.is((t.throws(() => src.watch(q('web'), () => {})) as unknown as { code: string }).code, 'CLUSTERIP_ERR_CLOSED');
});
