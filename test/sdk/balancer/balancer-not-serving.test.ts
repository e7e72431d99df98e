import { createBalancer, type PickResult } from '@clusterip/sdk';
import test from 'ava';
import { ep } from '../fixtures.js';

const A = ep('10.0.0.1');
const B = ep('10.0.0.2');
const C = ep('10.0.0.3');
const key = (e: { address: string; port: number }) => `${e.address}:${e.port}`;

/** The distinct addresses picked, sorted. */
function addresses(picks: PickResult[]): string[] {
  return [...new Set(picks.map((p) => (p.type === 'pick' ? p.endpoint.address : p.type)))].sort();
}

function pickMany(b: ReturnType<typeof createBalancer>, n: number): PickResult[] {
  const out: PickResult[] = [];
  for (let i = 0; i < n; i++) {
    const r = b.pick();
    if (r.type === 'pick') r.done({ type: 'success' });
    out.push(r);
  }
  return out;
}

test('setNotServing() takes endpoints out of rotation, keeps them in the set and survives update()', (t) => {
  const b = createBalancer({ policy: 'round-robin' });
  b.update([A, B, C]);
  b.setNotServing([key(B)]);
  t.deepEqual(addresses(pickMany(b, 30)), [A.address, C.address]);
  t.is(b.size, 3);
  t.deepEqual(
    b.endpoints().map((s) => [s.endpoint.address, s.serving, s.health]),
    [
      [A.address, true, 'healthy'],
      [B.address, false, 'healthy'],
      [C.address, true, 'healthy'],
    ],
  );
  b.update([A, B, C]);
  t.false(addresses(pickMany(b, 30)).includes(B.address));
  b.setNotServing([]);
  t.deepEqual(addresses(pickMany(b, 30)), [A.address, B.address, C.address]);
});

test('not serving follows the panic rule: below panicThresholdPercent serving, all endpoints take picks', (t) => {
  const b = createBalancer({ policy: 'round-robin' });
  b.update([A, B]);
  b.setNotServing([key(A)]); // 1 of 2 serving: 50 % is not below 50 %
  t.false(b.panic);
  t.deepEqual(addresses(pickMany(b, 10)), [B.address]);
  b.setNotServing([key(A), key(B)]);
  t.true(b.panic);
  t.deepEqual(addresses(pickMany(b, 10)), [A.address, B.address]);
});

test('without panic mode nothing serving fails with NO_ELIGIBLE_ENDPOINTS saying why', (t) => {
  for (const outlierDetection of [false, { panicThresholdPercent: 0 }] as const) {
    const b = createBalancer({ outlierDetection, service: 'echo.default:grpc' });
    b.update([A, B]);
    b.setNotServing([key(A), key(B)]);
    const r = b.pick();
    t.is(r.type, 'fail');
    if (r.type !== 'fail') continue;
    t.is(r.error.code, 'CLUSTERIP_ERR_NO_ELIGIBLE_ENDPOINTS');
    t.regex(r.error.message, /2 not serving \(health check\)/);
  }
});

test('not serving leaves outlier statistics alone, and ejection never takes the last endpoint in rotation', (t) => {
  const b = createBalancer({
    policy: 'round-robin',
    outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 100 },
  });
  b.update([A, B, C]);
  b.setNotServing([key(A), key(B)]);
  t.true(b.panic); // 1 of 3 serving
  b.setNotServing([key(A)]);
  t.false(b.panic);
  // B fails once: ejected (A is out for not serving, C stays).
  for (let i = 0; i < 6; i++) {
    const r = b.pick();
    if (r.type === 'pick') r.done(r.endpoint.address === B.address ? { type: 'failure' } : { type: 'success' });
  }
  const states = new Map(b.endpoints().map((s) => [s.endpoint.address, s]));
  t.is(states.get(B.address)?.health, 'ejected');
  t.is(states.get(A.address)?.health, 'healthy');
  t.false(states.get(A.address)?.serving);
  // C, the last endpoint in rotation, is never ejected by its failures.
  for (let i = 0; i < 6; i++) {
    const r = b.pick();
    if (r.type === 'pick') r.done({ type: 'failure' });
  }
  t.is(new Map(b.endpoints().map((s) => [s.endpoint.address, s.health])).get(C.address), 'healthy');
});

test('setNotServing() after close is a no-op', async (t) => {
  const b = createBalancer();
  b.update([A]);
  await b.close();
  t.notThrows(() => b.setNotServing([key(A)]));
  t.is(b.pick().type, 'fail');
});

test('setUnreachable() keeps an endpoint’s affinity binding and ejection, and leaves it out of picks and the panic rule', (t) => {
  let now = 0;
  const b = createBalancer({
    sessionAffinity: { type: 'ClientIP' },
    outlierDetection: { consecutiveFailures: 1, baseEjectionTimeMs: 60_000 },
    now: () => now,
  });
  b.update([A, B, C]);
  const first = b.pick();
  if (first.type !== 'pick') return t.fail(first.type);
  first.done({ type: 'success' });
  const bound = first.endpoint;
  // The bound endpoint reconnects: picks go elsewhere meanwhile, and back to it afterwards.
  b.setUnreachable([key(bound)]);
  b.update([A, B, C]);
  t.false(addresses(pickMany(b, 20)).includes(bound.address));
  b.setUnreachable([]);
  t.deepEqual(addresses(pickMany(b, 20)), [bound.address]);
  // Ejected, then reconnecting: still ejected when it is back.
  const failed = b.pick();
  if (failed.type === 'pick') failed.done({ type: 'grpc', code: 14 });
  t.is(b.endpoints().find((s) => s.endpoint === bound)?.health, 'ejected');
  b.setUnreachable([key(bound)]);
  b.setUnreachable([]);
  now += 1000;
  t.false(addresses(pickMany(b, 20)).includes(bound.address));
  // One reconnecting, one ejected: the panic rule counts the two reachable ones (1 of 2 healthy: no panic).
  const rest = [A, B, C].filter((e) => e !== bound);
  b.setUnreachable([key(rest[0]!)]);
  t.false(b.panic);
  t.deepEqual(addresses(pickMany(b, 20)), [rest[1]!.address]);
});

test('ejection while other endpoints reconnect: a failing endpoint is ejected, never the last connected one, and ejected ones still count against maxEjectionPercent', (t) => {
  const failOnce = (b: ReturnType<typeof createBalancer>, target: typeof A) => {
    for (let i = 0; i < 30; i++) {
      const r = b.pick();
      if (r.type !== 'pick') return;
      r.done(r.endpoint === target ? { type: 'grpc', code: 14 } : { type: 'success' });
      if (r.endpoint === target) return;
    }
  };
  const health = (b: ReturnType<typeof createBalancer>) =>
    b.endpoints().map((s) => `${s.endpoint.address} ${s.health}`);
  const options = {
    policy: 'round-robin',
    outlierDetection: { consecutiveFailures: 1, baseEjectionTimeMs: 60_000 },
  } as const;

  // C reconnects, A fails: A goes (1 of the 2 connected), B serves.
  const b = createBalancer(options);
  b.update([A, B, C]);
  b.setUnreachable([key(C)]);
  failOnce(b, A);
  t.deepEqual(health(b), ['10.0.0.1 ejected', '10.0.0.2 healthy', '10.0.0.3 healthy']);
  t.deepEqual(addresses(pickMany(b, 10)), [B.address]);
  // B, the last one connected, fails too: it stays.
  failOnce(b, B);
  t.deepEqual(health(b), ['10.0.0.1 ejected', '10.0.0.2 healthy', '10.0.0.3 healthy']);

  // A ejected, then reconnecting; B fails: 1 of 3 is out already, a second would pass 50 %.
  const c = createBalancer(options);
  c.update([A, B, C]);
  failOnce(c, A);
  c.setUnreachable([key(A)]);
  failOnce(c, B);
  t.deepEqual(health(c), ['10.0.0.1 ejected', '10.0.0.2 healthy', '10.0.0.3 healthy']);
});
