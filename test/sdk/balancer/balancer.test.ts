import diagnosticsChannel from 'node:diagnostics_channel';
import type { Endpoint } from '@clusterip/resolver';
import {
  type Balancer,
  type BalancerOptions,
  type CallOutcome,
  CHANNEL_NAMES,
  createBalancer,
  eligibleEndpoints,
  type PickResult,
} from '@clusterip/sdk';
import { seededRandom } from '@clusterip/sdk/internal/internal/random.js';
import test, { type ExecutionContext } from 'ava';
import { ep, eps, manualClock, SERVING_TERMINATING, svc } from '../fixtures.js';

const A = ep('10.0.0.1');
const B = ep('10.0.0.2');
const C = ep('10.0.0.3');
const FAIL = { type: 'failure' } as const;
const OK = { type: 'success' } as const;

/** Random source cycling through `values`: makes "which endpoint a fresh pick chooses" explicit. */
function cycle(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

interface Picked {
  readonly address: string;
  readonly endpoint: Endpoint;
  done(outcome: CallOutcome): void;
}

function picked(t: ExecutionContext, r: PickResult): Picked {
  if (r.type !== 'pick') {
    t.fail(`expected a pick, got ${r.type}${'error' in r ? `: ${r.error.message}` : ''}`);
    throw new Error('not a pick');
  }
  return { address: r.endpoint.address, endpoint: r.endpoint, done: r.done };
}

function make(t: ExecutionContext, options: BalancerOptions): Balancer {
  const b = createBalancer(options);
  t.teardown(() => b.close());
  return b;
}

function address(t: ExecutionContext, b: Balancer, key?: string): string {
  const r = b.pick(key === undefined ? undefined : { affinityKey: key });
  const p = picked(t, r);
  p.done(OK);
  return p.address;
}

// ── basics ──────────────────────────────────────────────────────────────────────────────────────

test('pick before any update queues; an empty set fails fast with NO_ENDPOINTS', (t) => {
  const b = make(t, {});
  t.is(b.pick().type, 'queue');
  b.update([]);
  const r = b.pick();
  t.is(r.type, 'fail');
  if (r.type === 'fail') t.is(r.error.code, 'CLUSTERIP_ERR_NO_ENDPOINTS');
});

test('eligibility outcomes become fail (no endpoints, REJECT) and drop (none local, DROP)', (t) => {
  const b = make(t, {});
  b.update(eligibleEndpoints([], svc(), {}));
  const none = b.pick();
  t.is(none.type, 'fail');
  if (none.type === 'fail') t.is(none.error.code, 'CLUSTERIP_ERR_NO_ENDPOINTS');
  b.update(
    eligibleEndpoints([ep('10.0.0.1', { nodeName: 'n2' })], svc({ internalTrafficPolicy: 'Local' }), {
      nodeName: 'n1',
    }),
  );
  const local = b.pick();
  t.is(local.type, 'drop');
  if (local.type === 'drop') t.is(local.error.code, 'CLUSTERIP_ERR_NO_LOCAL_ENDPOINTS');
  b.update(eligibleEndpoints([A], svc(), {}));
  t.is(address(t, b), A.address);
});

test('duplicate endpoints are counted once', (t) => {
  const b = make(t, { random: seededRandom(1) });
  b.update([A, A, B, { ...B }]);
  t.is(b.size, 2);
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) seen.add(address(t, b));
  t.deepEqual([...seen].sort(), [A.address, B.address]);
});

test('picks without affinity reuse one pre-built result per endpoint (no allocation per pick)', (t) => {
  for (const policy of ['random', 'round-robin', 'least-request'] as const) {
    const b = make(t, { policy, random: seededRandom(2) });
    b.update([A]);
    const first = b.pick();
    const second = b.pick();
    t.is(first, second, policy);
  }
});

test('least-request sends less to an endpoint whose calls stay in flight', (t) => {
  const b = make(t, { policy: 'least-request', random: seededRandom(3) });
  b.update([A, B, C]);
  const counts = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const p = picked(t, b.pick());
    counts.set(p.address, (counts.get(p.address) ?? 0) + 1);
    if (p.address !== A.address) p.done(OK); // A never finishes: its in-flight count grows
  }
  t.true((counts.get(A.address) ?? 0) < 50, `A got ${counts.get(A.address)}`);
  t.is(b.endpoints().find((e) => e.endpoint.address === A.address)?.inFlight, counts.get(A.address));
});

test('endpoints that stay across updates keep their load', (t) => {
  const b = make(t, { policy: 'least-request', random: seededRandom(4) });
  b.update([A, B]);
  picked(t, b.pick());
  const before = b.endpoints().map((e) => e.inFlight);
  b.update([{ ...A }, { ...B }, C]);
  t.deepEqual(
    b
      .endpoints()
      .slice(0, 2)
      .map((e) => e.inFlight),
    before,
  );
});

// ── session affinity timelines (spec §7) ────────────────────────────────────────────────────────

const CLIENT_IP = { type: 'ClientIP', timeoutSeconds: 10 } as const;

test('affinity: sticks within the window, on every pick', (t) => {
  const clock = manualClock();
  const b = make(t, { sessionAffinity: CLIENT_IP, now: clock.now, random: seededRandom(5) });
  b.update([A, B, C]);
  const first = address(t, b);
  for (let i = 0; i < 100; i++) {
    clock.advance(50);
    t.is(address(t, b), first);
  }
});

test('affinity: elapsed == timeout still sticks (iptables), one ms more picks afresh; each use slides the window', (t) => {
  const clock = manualClock();
  const b = make(t, { sessionAffinity: CLIENT_IP, now: clock.now, random: cycle(0, 0.5) });
  b.update([A, B, C]);
  t.is(address(t, b), A.address); // random 0 → A
  clock.advance(10_000);
  t.is(address(t, b), A.address); // exactly at the timeout: sticks and refreshes
  clock.advance(10_000);
  t.is(address(t, b), A.address);
  clock.advance(10_001);
  t.is(address(t, b), B.address); // idle longer than the timeout: fresh pick (random 0.5 → B)
});

test('affinity: default timeout is 10800 s', (t) => {
  const clock = manualClock();
  const b = make(t, { sessionAffinity: { type: 'ClientIP' }, now: clock.now, random: cycle(0, 0.5) });
  b.update([A, B, C]);
  t.is(address(t, b), A.address);
  clock.advance(10_800_000);
  t.is(address(t, b), A.address);
  clock.advance(10_800_001);
  t.is(address(t, b), B.address);
});

test('affinity: an endpoint removed then re-added is not resurrected', (t) => {
  const clock = manualClock();
  const b = make(t, { sessionAffinity: CLIENT_IP, now: clock.now, random: cycle(0, 0.5) });
  b.update([A, B, C]);
  t.is(address(t, b), A.address);
  b.update([B, C]);
  b.update([A, B, C]); // back before any pick
  t.is(address(t, b), B.address); // fresh pick, not the old binding
  t.is(address(t, b), B.address); // and the new binding sticks
});

test('affinity: an endpoint turning terminating while others are ready loses its clients', (t) => {
  const clock = manualClock();
  const b = make(t, { sessionAffinity: CLIENT_IP, now: clock.now, random: cycle(0, 0.5) });
  const service = svc();
  b.update(eligibleEndpoints([A, B, C], service, {}));
  t.is(address(t, b), A.address);
  b.update(eligibleEndpoints([{ ...A, conditions: SERVING_TERMINATING }, B, C], service, {}));
  t.is(address(t, b), C.address); // fresh pick among B, C (random 0.5 → index 1)
});

test('affinity: when every endpoint is terminating the binding survives (serving-terminating fallback)', (t) => {
  const clock = manualClock();
  const b = make(t, { sessionAffinity: CLIENT_IP, now: clock.now, random: cycle(0.5, 0) });
  const service = svc();
  b.update(eligibleEndpoints([A, B, C], service, {}));
  t.is(address(t, b), B.address);
  const terminating = [A, B, C].map((e) => ({ ...e, conditions: SERVING_TERMINATING }));
  const eligible = eligibleEndpoints(terminating, service, {});
  t.true(eligible.outcome.type === 'ok' && eligible.outcome.terminatingFallback);
  b.update(eligible);
  for (let i = 0; i < 10; i++) t.is(address(t, b), B.address);
});

test('affinity: independent per Service port (one balancer per port)', (t) => {
  const clock = manualClock();
  const http = make(t, { sessionAffinity: CLIENT_IP, now: clock.now, random: cycle(0) });
  const grpc = make(t, { sessionAffinity: CLIENT_IP, now: clock.now, random: cycle(0.9) });
  http.update([A, B, C]);
  grpc.update([A, B, C]);
  t.is(address(t, http), A.address);
  t.is(address(t, grpc), C.address);
  grpc.update([B, C]); // A left the grpc port only
  t.is(address(t, http), A.address);
  t.is(address(t, grpc), C.address);
});

test('affinity: Local policy + affinity sticks to a local endpoint and drops when none is local', (t) => {
  const clock = manualClock();
  const b = make(t, { sessionAffinity: CLIENT_IP, now: clock.now, random: seededRandom(9) });
  const service = svc({ internalTrafficPolicy: 'Local' });
  const all = [
    ep('10.0.0.1', { nodeName: 'n1' }),
    ep('10.0.0.2', { nodeName: 'n1' }),
    ep('10.0.0.3', { nodeName: 'n2' }),
  ];
  b.update(eligibleEndpoints(all, service, { nodeName: 'n1' }));
  const first = address(t, b);
  t.not(first, '10.0.0.3');
  for (let i = 0; i < 20; i++) t.is(address(t, b), first);
  b.update(eligibleEndpoints([all[2]!], service, { nodeName: 'n1' }));
  t.is(b.pick().type, 'drop');
});

test('affinity: caller keys are independent; no key means the process identity', (t) => {
  const clock = manualClock();
  const b = make(t, { sessionAffinity: CLIENT_IP, now: clock.now, random: cycle(0, 0.5, 0.9) });
  b.update([A, B, C]);
  t.is(address(t, b), A.address);
  t.is(address(t, b, 'user-1'), B.address);
  t.is(address(t, b, 'user-2'), C.address);
  t.is(address(t, b), A.address);
  t.is(address(t, b, 'user-1'), B.address);
});

test('affinity: memory is bounded by maxEntries (least recently used evicted)', (t) => {
  const clock = manualClock();
  const b = make(t, {
    sessionAffinity: { type: 'ClientIP', timeoutSeconds: 100, maxEntries: 2 },
    now: clock.now,
    random: cycle(0, 0.5, 0.9, 0.5),
  });
  b.update([A, B, C]);
  t.is(address(t, b, 'k1'), A.address);
  t.is(address(t, b, 'k2'), B.address);
  t.is(address(t, b, 'k3'), C.address); // evicts k1
  t.is(address(t, b, 'k1'), B.address); // k1 forgotten: fresh pick (0.5 → B)
});

test('affinity: sessionAffinity None keeps no bindings', (t) => {
  const b = make(t, { sessionAffinity: { type: 'None' }, random: cycle(0, 0.5) });
  b.update([A, B]);
  t.is(address(t, b), A.address);
  t.is(address(t, b), B.address);
});

// ── session affinity that follows the Service (spec §7.4) ──────────────────────────────────────

const CLIENT_IP_SVC = svc({ sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10 } });

test('follows the Service by default: None → ClientIP binds on the next pick', (t) => {
  const clock = manualClock();
  const b = make(t, { now: clock.now, random: cycle(0, 0.5, 0.9) });
  b.update([A, B, C], svc());
  t.deepEqual(b.sessionAffinity, { type: 'None' });
  t.deepEqual([address(t, b), address(t, b), address(t, b)], [A.address, B.address, C.address]);
  b.update([A, B, C], CLIENT_IP_SVC);
  t.deepEqual(b.sessionAffinity, { type: 'ClientIP', timeoutSeconds: 10 });
  const first = address(t, b); // fresh pick (random 0 → A), now bound
  t.is(first, A.address);
  for (let i = 0; i < 10; i++) {
    clock.advance(1_000);
    t.is(address(t, b), first);
  }
});

test('follows the Service: no Service yet means no affinity; update() without one keeps the last', (t) => {
  const clock = manualClock();
  const b = make(t, { now: clock.now, random: cycle(0, 0.5) });
  b.update([A, B, C]);
  t.deepEqual([address(t, b), address(t, b)], [A.address, B.address]);
  b.update([A, B, C], CLIENT_IP_SVC);
  t.is(address(t, b), A.address);
  b.update([A, B]); // endpoints only: the Service's affinity stays
  t.is(b.sessionAffinity.type, 'ClientIP');
  t.is(address(t, b), A.address);
});

test('follows the Service: ClientIP → None drops every binding; back to ClientIP starts afresh', (t) => {
  const clock = manualClock();
  const b = make(t, { now: clock.now, random: cycle(0, 0.5, 0.5, 0.9) });
  b.update([A, B, C], CLIENT_IP_SVC);
  t.is(address(t, b), A.address); // random 0
  t.is(address(t, b, 'user-1'), B.address); // random 0.5
  b.update([A, B, C], svc());
  t.is(address(t, b), B.address); // None: no stickiness (random 0.5)
  t.is(address(t, b), C.address); // random 0.9
  b.update([A, B, C], CLIENT_IP_SVC);
  // The old bindings are gone: both keys pick afresh (random 0, then 0.5) instead of A and B.
  t.is(address(t, b, 'user-1'), A.address);
  t.is(address(t, b), B.address);
  t.is(address(t, b, 'user-1'), A.address);
});

test('follows the Service: a shorter timeout applies to the next check, bindings are kept', (t) => {
  const clock = manualClock();
  const b = make(t, { now: clock.now, random: cycle(0.5, 0, 0.9) });
  b.update([A, B, C], svc({ sessionAffinity: { type: 'ClientIP', timeoutSeconds: 100 } }));
  t.is(address(t, b), B.address);
  t.is(address(t, b, 'idle'), A.address);
  clock.advance(30_000);
  t.is(address(t, b), B.address); // refreshed at +30 s; 'idle' last used at 0
  clock.advance(20_000);
  b.update([A, B, C], svc({ sessionAffinity: { type: 'ClientIP', timeoutSeconds: 20 } }));
  t.deepEqual(b.sessionAffinity, { type: 'ClientIP', timeoutSeconds: 20 });
  t.is(address(t, b), B.address); // elapsed 20 s ≤ 20 s: the binding survived the change (a fresh pick → C)
  t.is(address(t, b, 'idle'), C.address); // elapsed 50 s > 20 s: expired at once, fresh pick (random 0.9)
});

test('follows the Service: a longer timeout keeps a binding that the old one would have expired', (t) => {
  const clock = manualClock();
  const b = make(t, { now: clock.now, random: cycle(0, 0.5) });
  b.update([A, B, C], CLIENT_IP_SVC);
  t.is(address(t, b), A.address);
  b.update([A, B, C], svc({ sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } }));
  clock.advance(60_000);
  t.is(address(t, b), A.address); // 60 s > the old 10 s, ≤ the new 60 s
  clock.advance(60_001);
  t.is(address(t, b), B.address);
});

test('an explicit sessionAffinity overrides the Service', (t) => {
  const clock = manualClock();
  const none = make(t, { sessionAffinity: { type: 'None' }, now: clock.now, random: cycle(0, 0.5) });
  none.update([A, B], CLIENT_IP_SVC);
  t.deepEqual(none.sessionAffinity, { type: 'None' });
  t.deepEqual([address(t, none), address(t, none)], [A.address, B.address]);

  const fixed = make(t, {
    sessionAffinity: { type: 'ClientIP', timeoutSeconds: 5 },
    now: clock.now,
    random: cycle(0, 0.5),
  });
  fixed.update([A, B], svc());
  fixed.update([A, B], svc({ sessionAffinity: { type: 'ClientIP', timeoutSeconds: 100 } }));
  t.deepEqual(fixed.sessionAffinity, { type: 'ClientIP', timeoutSeconds: 5 });
  t.is(address(t, fixed), A.address);
  clock.advance(5_000);
  t.is(address(t, fixed), A.address);
  clock.advance(5_001);
  t.is(address(t, fixed), B.address); // the option's 5 s, not the Service's 100 s
});

test('following the Service honours maxEntries and clientIP of { type: Service }', (t) => {
  const clock = manualClock();
  const b = make(t, {
    sessionAffinity: { type: 'Service', maxEntries: 1, clientIP: '10.9.9.9' },
    now: clock.now,
    random: cycle(0, 0.5, 0.9),
  });
  b.update([A, B, C], CLIENT_IP_SVC);
  t.is(address(t, b), A.address);
  t.is(address(t, b, '10.9.9.9'), A.address); // the process key is the configured clientIP
  t.is(address(t, b, 'k1'), B.address); // evicts the process key (maxEntries 1)
  t.is(address(t, b), C.address);
});

test('update() validates the Service and a rejected update changes nothing', (t) => {
  const clock = manualClock();
  const b = make(t, { now: clock.now, random: cycle(0, 0.5) });
  b.update([A, B], CLIENT_IP_SVC);
  t.is(address(t, b), A.address);
  const bad: ReadonlyArray<[unknown, string]> = [
    [null, 'service'],
    [{}, 'service.sessionAffinity'],
    [{ sessionAffinity: {} }, 'service.sessionAffinity.type'],
    [{ sessionAffinity: { type: 'Cookie' } }, 'service.sessionAffinity.type'],
    [{ sessionAffinity: { type: 'ClientIP', timeoutSeconds: 0 } }, 'service.sessionAffinity.timeoutSeconds'],
    [{ sessionAffinity: { type: 'ClientIP', timeoutSeconds: 86_401 } }, 'service.sessionAffinity.timeoutSeconds'],
  ];
  for (const [service, option] of bad) {
    const err = t.throws(() => b.update([C], service as never));
    t.is((err as unknown as { code: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.is((err as unknown as { option: string }).option, option);
  }
  t.is(b.size, 2); // neither the endpoints nor the affinity changed
  t.deepEqual(b.sessionAffinity, { type: 'ClientIP', timeoutSeconds: 10 });
  t.is(address(t, b), A.address);
  // A Service without a timeout gets Kubernetes' default; other Service fields are not our business.
  b.update([A, B], { sessionAffinity: { type: 'ClientIP' }, extra: 1 } as never);
  t.deepEqual(b.sessionAffinity, { type: 'ClientIP', timeoutSeconds: 10_800 });
});

test('the Service affinity applies with a failing outcome too and survives until endpoints return', (t) => {
  const clock = manualClock();
  const b = make(t, { now: clock.now, random: cycle(0.5, 0) });
  const service = CLIENT_IP_SVC;
  b.update(eligibleEndpoints([], service, {}), service);
  t.is(b.pick().type, 'fail');
  t.is(b.sessionAffinity.type, 'ClientIP');
  b.update(eligibleEndpoints([A, B, C], service, {}));
  t.is(address(t, b), B.address);
  t.is(address(t, b), B.address);
});

// ── outlier detection, probing, panic ───────────────────────────────────────────────────────────

function failN(t: ExecutionContext, b: Balancer, target: string, n: number): void {
  let failed = 0;
  for (let i = 0; i < 10_000 && failed < n; i++) {
    const p = picked(t, b.pick());
    if (p.address === target) {
      p.done(FAIL);
      failed++;
    } else p.done(OK);
  }
  t.is(failed, n);
}

function health(b: Balancer, address: string) {
  return b.endpoints().find((e) => e.endpoint.address === address)?.health;
}

test('ejection: 5 consecutive failures eject; after the ejection time one probe is sent; success readmits', (t) => {
  const clock = manualClock();
  const b = make(t, { now: clock.now, random: seededRandom(11) });
  b.update([A, B, C]);
  failN(t, b, A.address, 4);
  t.is(health(b, A.address), 'healthy');
  failN(t, b, A.address, 1);
  t.is(health(b, A.address), 'ejected');
  for (let i = 0; i < 200; i++) t.not(address(t, b), A.address);

  clock.advance(30_000); // base ejection time
  let probe: Picked | undefined;
  for (let i = 0; i < 200 && probe === undefined; i++) {
    const p = picked(t, b.pick());
    if (p.address === A.address) probe = p;
    else p.done(OK);
  }
  if (probe === undefined) return t.fail('no probe was sent');
  t.is(health(b, A.address), 'probing');
  for (let i = 0; i < 100; i++) t.not(address(t, b), A.address); // exactly one trial in flight
  probe.done(OK);
  t.is(health(b, A.address), 'healthy');
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) seen.add(address(t, b));
  t.true(seen.has(A.address));
});

test('ejection: a failed probe re-ejects for twice as long', (t) => {
  const clock = manualClock();
  const b = make(t, { now: clock.now, random: seededRandom(12) });
  b.update([A, B, C]);
  failN(t, b, A.address, 5);
  const first = b.endpoints().find((e) => e.endpoint.address === A.address)!.ejectedUntil! - clock.now();
  t.is(first, 30_000);
  clock.advance(30_000);
  failN(t, b, A.address, 1); // the probe fails
  t.is(health(b, A.address), 'ejected');
  t.is(b.endpoints().find((e) => e.endpoint.address === A.address)!.ejectedUntil! - clock.now(), 60_000);
});

test('ejection: a probe that never reports is retried after the base ejection time', (t) => {
  const clock = manualClock();
  const b = make(t, { now: clock.now, random: seededRandom(13) });
  b.update([A, B, C]);
  failN(t, b, A.address, 5);
  clock.advance(30_000);
  for (let i = 0; i < 200 && health(b, A.address) !== 'probing'; i++) {
    const p = picked(t, b.pick());
    if (p.address !== A.address) p.done(OK);
  }
  t.is(health(b, A.address), 'probing');
  clock.advance(30_000);
  b.pick();
  t.not(health(b, A.address), 'ejected');
});

/** Pick until `target` comes up (others report success); the pick of `target` is returned unreported. */
function pickOf(t: ExecutionContext, b: Balancer, target: string): Picked {
  for (let i = 0; i < 10_000; i++) {
    const p = picked(t, b.pick());
    if (p.address === target) return p;
    p.done(OK);
  }
  throw new Error(`${target} was never picked`);
}

test('probe correlation: calls picked before the ejection that end late do not decide the probe', (t) => {
  const clock = manualClock();
  const r = { v: 0 };
  const b = make(t, { now: clock.now, random: () => r.v });
  b.update([A, B, C]);
  const earlyOk = pickOf(t, b, A.address); // in flight across the ejection
  const earlyFail = pickOf(t, b, A.address);
  for (let i = 0; i < 5; i++) pickOf(t, b, A.address).done(FAIL);
  t.is(health(b, A.address), 'ejected');

  clock.advance(30_000);
  r.v = 0.5;
  t.is(address(t, b), B.address); // the ejection expires; this pick goes elsewhere
  t.is(health(b, A.address), 'half-open');
  earlyOk.done(OK); // not a probe: must not readmit
  t.is(health(b, A.address), 'half-open');

  r.v = 0;
  const probe = pickOf(t, b, A.address);
  t.is(health(b, A.address), 'probing');
  earlyFail.done(FAIL); // not the probe: must not re-eject
  t.is(health(b, A.address), 'probing');
  probe.done(OK);
  t.is(health(b, A.address), 'healthy');
});

test('probe correlation: a probe that timed out does not decide the next one', (t) => {
  const clock = manualClock();
  const r = { v: 0 };
  const b = make(t, { now: clock.now, random: () => r.v });
  b.update([A, B, C]);
  for (let i = 0; i < 5; i++) pickOf(t, b, A.address).done(FAIL);
  clock.advance(30_000);
  const first = pickOf(t, b, A.address);
  t.is(health(b, A.address), 'probing');
  clock.advance(30_000); // no verdict within the base ejection time: the probe is void
  const second = pickOf(t, b, A.address);
  t.is(health(b, A.address), 'probing');
  first.done(OK); // late result of the void probe
  t.is(health(b, A.address), 'probing');
  second.done(FAIL);
  t.is(health(b, A.address), 'ejected');
  t.is(b.endpoints().find((e) => e.endpoint.address === A.address)!.ejectedUntil! - clock.now(), 60_000);
});

test('ejection: a Service of 2 endpoints never goes to zero', (t) => {
  const clock = manualClock();
  const b = make(t, { now: clock.now, random: seededRandom(14), outlierDetection: { maxEjectionPercent: 100 } });
  b.update([A, B]);
  for (let i = 0; i < 100; i++) picked(t, b.pick()).done(FAIL);
  const states = b.endpoints().map((e) => e.health);
  t.is(states.filter((h) => h === 'ejected').length, 1);
  for (let i = 0; i < 50; i++) t.is(b.pick().type, 'pick');
  t.false(b.panic);
});

test('ejection: failure-rate rule ejects at the threshold once the minimum volume is seen', (t) => {
  const clock = manualClock();
  const b = make(t, {
    now: clock.now,
    random: seededRandom(15),
    outlierDetection: { consecutiveFailures: 0, failureRate: { thresholdPercent: 50, minimumRequests: 10 } },
  });
  b.update([A, B, C]);
  let seen = 0;
  for (let i = 0; i < 10_000 && seen < 9; i++) {
    const p = picked(t, b.pick());
    if (p.address === A.address) {
      p.done(seen % 2 === 0 ? FAIL : OK);
      seen++;
    } else p.done(OK);
  }
  t.is(health(b, A.address), 'healthy'); // 9 calls: below the minimum volume
  for (let i = 0; i < 10_000 && seen < 10; i++) {
    const p = picked(t, b.pick());
    if (p.address === A.address) {
      p.done(FAIL);
      seen++;
    } else p.done(OK);
  }
  t.is(health(b, A.address), 'ejected'); // 6 of 10 failed
});

test('ejection: cancelled calls and HTTP 4xx do not count; 5xx and connect errors do', (t) => {
  const clock = manualClock();
  const b = make(t, { now: clock.now, random: seededRandom(22), outlierDetection: { consecutiveFailures: 3 } });
  b.update([A, B]);
  const pickA = () => {
    for (let i = 0; i < 1000; i++) {
      const p = picked(t, b.pick());
      if (p.address === A.address) return p;
      p.done(OK);
    }
    throw new Error('A was never picked');
  };
  for (let i = 0; i < 10; i++) pickA().done({ type: 'cancelled' });
  for (let i = 0; i < 10; i++) pickA().done({ type: 'http', status: 404 });
  t.is(health(b, A.address), 'healthy');
  pickA().done({ type: 'http', status: 503 });
  pickA().done({ type: 'grpc', code: 14 });
  pickA().done({ type: 'error', error: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) });
  t.is(health(b, A.address), 'ejected');
});

test('ejection: outcomes reported after removal, during ejection or after close are ignored', (t) => {
  const clock = manualClock();
  const b = createBalancer({ now: clock.now, random: seededRandom(16) });
  b.update([A, B, C]);
  const late: Array<Picked> = [];
  for (let i = 0; i < 30; i++) late.push(picked(t, b.pick()));
  b.update([A, B]);
  for (const p of late) if (p.address === C.address) p.done(FAIL);
  b.update([A, B, C]);
  t.is(health(b, C.address), 'healthy');
  failN(t, b, A.address, 5);
  for (const p of late) if (p.address === A.address) p.done(OK); // stragglers do not readmit
  t.is(health(b, A.address), 'ejected');
  void b.close();
  for (const p of late) p.done(FAIL);
  t.is(b.pick().type, 'fail');
});

test('panic mode engages when most endpoints are ejected, balances over all, and disengages', (t) => {
  const clock = manualClock();
  const events: Array<{ panic: boolean }> = [];
  const listener = (m: unknown) => events.push(m as { panic: boolean });
  diagnosticsChannel.subscribe(CHANNEL_NAMES.balancerPanic, listener);
  t.teardown(() => diagnosticsChannel.unsubscribe(CHANNEL_NAMES.balancerPanic, listener));
  const D = ep('10.0.0.4');
  const b = make(t, {
    service: 'panic.test:http',
    now: clock.now,
    random: seededRandom(17),
    outlierDetection: { maxEjectionPercent: 100, panicThresholdPercent: 50 },
  });
  b.update([A, B, C, D]);
  failN(t, b, A.address, 5);
  failN(t, b, B.address, 5);
  t.false(b.panic); // 2 of 4 healthy = 50 %, not below
  failN(t, b, C.address, 5);
  t.true(b.panic); // 1 of 4 healthy
  t.deepEqual(
    events.map((e) => e.panic),
    [true],
  );
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(address(t, b));
  t.is(seen.size, 4); // ejected endpoints get traffic again
  clock.advance(30_000);
  b.pick(); // ejections expire: half-open endpoints count as in rotation
  t.false(b.panic);
  t.deepEqual(
    events.map((e) => e.panic),
    [true, false],
  );
});

test('panic disabled: nothing eligible fails with NO_ELIGIBLE_ENDPOINTS', (t) => {
  const clock = manualClock();
  const b = make(t, {
    now: clock.now,
    random: seededRandom(18),
    outlierDetection: { maxEjectionPercent: 100, panicThresholdPercent: 0 },
  });
  b.update([A, B]);
  failN(t, b, A.address, 5);
  b.update([A]); // the healthy one leaves; only the ejected one is left
  const r = b.pick();
  t.is(r.type, 'fail');
  if (r.type === 'fail') t.is(r.error.code, 'CLUSTERIP_ERR_NO_ELIGIBLE_ENDPOINTS');
  clock.advance(30_000);
  t.is(b.pick().type, 'pick');
});

test('affinity moves off an ejected endpoint', (t) => {
  const clock = manualClock();
  const b = make(t, { sessionAffinity: CLIENT_IP, now: clock.now, random: cycle(0, 0.5) });
  b.update([A, B, C]);
  for (let i = 0; i < 5; i++) {
    const p = picked(t, b.pick());
    t.is(p.address, A.address);
    p.done(FAIL);
  }
  t.is(health(b, A.address), 'ejected');
  const next = address(t, b);
  t.not(next, A.address);
  t.is(address(t, b), next);
});

test('breaker state changes are published on clusterip:breaker:state', (t) => {
  const clock = manualClock();
  const events: Array<{ endpoint: string; state: string }> = [];
  const listener = (m: unknown) => events.push(m as { endpoint: string; state: string });
  diagnosticsChannel.subscribe(CHANNEL_NAMES.breakerState, listener);
  t.teardown(() => diagnosticsChannel.unsubscribe(CHANNEL_NAMES.breakerState, listener));
  const b = make(t, { service: 'events.test:http', now: clock.now, random: seededRandom(19) });
  b.update([A, B, C]);
  failN(t, b, A.address, 5);
  clock.advance(30_000);
  b.pick();
  const mine = events.filter((e) => e.endpoint === '10.0.0.1:8080').map((e) => e.state);
  t.deepEqual(mine, ['ejected', 'half-open']);
});

// ── ring-hash and slow start ───────────────────────────────────────────────────────────────────

test('ring-hash: same key, same endpoint; an ejected owner hands over its keys only', (t) => {
  const clock = manualClock();
  const b = make(t, { policy: 'ring-hash', now: clock.now, random: seededRandom(20) });
  const all = eps(10);
  b.update(all);
  const owner = new Map<string, string>();
  for (let k = 0; k < 200; k++) owner.set(`user-${k}`, address(t, b, `user-${k}`));
  for (const [key, addr] of owner) t.is(address(t, b, key), addr);
  const victim = owner.get('user-0')!;
  failN(t, b, victim, 0);
  for (let i = 0; i < 5; i++) {
    const p = picked(t, b.pick({ affinityKey: 'user-0' }));
    p.done(FAIL);
  }
  t.is(health(b, victim), 'ejected');
  for (const [key, addr] of owner) {
    const now = address(t, b, key);
    if (addr === victim) t.not(now, victim);
    else t.is(now, addr);
  }
});

test('slow start: a new endpoint ramps up over the window', (t) => {
  const clock = manualClock();
  const b = make(t, {
    policy: 'round-robin',
    now: clock.now,
    random: seededRandom(21),
    slowStart: { windowMs: 10_000, minWeightPercent: 10 },
  });
  b.update([A, B]);
  b.update([A, B, C]); // C joins: starts at 10 %
  const share = () => {
    let c = 0;
    for (let i = 0; i < 3000; i++) if (address(t, b) === C.address) c++;
    return c / 3000;
  };
  const early = share();
  clock.advance(10_000);
  const late = share();
  t.true(early < 0.15, `early share ${early}`);
  t.true(Math.abs(late - 1 / 3) < 0.02, `late share ${late}`);
});

// ── bad input and lifecycle ────────────────────────────────────────────────────────────────────

const invalid: ReadonlyArray<[string, unknown, string]> = [
  ['timeoutSeconds 0', { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 0 } }, 'sessionAffinity.timeoutSeconds'],
  [
    'timeoutSeconds 86401',
    { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 86_401 } },
    'sessionAffinity.timeoutSeconds',
  ],
  [
    'timeoutSeconds 1.5',
    { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 1.5 } },
    'sessionAffinity.timeoutSeconds',
  ],
  ['unknown policy', { policy: 'weighted-magic' }, 'policy'],
  ['unknown option', { polcy: 'random' }, 'polcy'],
  ['unknown affinity type', { sessionAffinity: { type: 'Cookie' } }, 'sessionAffinity.type'],
  ['affinity without type', { sessionAffinity: { timeoutSeconds: 5 } }, 'sessionAffinity.type'],
  ['unknown affinity key', { sessionAffinity: { type: 'ClientIP', timeout: 5 } }, 'sessionAffinity.timeout'],
  [
    'timeout while following the Service',
    { sessionAffinity: { type: 'Service', timeoutSeconds: 5 } },
    'sessionAffinity.timeoutSeconds',
  ],
  [
    'maxEntries 0 following the Service',
    { sessionAffinity: { type: 'Service', maxEntries: 0 } },
    'sessionAffinity.maxEntries',
  ],
  ['maxEntries 0', { sessionAffinity: { type: 'ClientIP', maxEntries: 0 } }, 'sessionAffinity.maxEntries'],
  [
    'max ejection below base',
    { outlierDetection: { baseEjectionTimeMs: 10, maxEjectionTimeMs: 5 } },
    'outlierDetection.maxEjectionTimeMs',
  ],
  ['panic above 100', { outlierDetection: { panicThresholdPercent: 101 } }, 'outlierDetection.panicThresholdPercent'],
  [
    'unknown failureRate key',
    { outlierDetection: { failureRate: { percent: 5 } } },
    'outlierDetection.failureRate.percent',
  ],
  ['now not a function', { now: 5 }, 'now'],
  ['random not a function', { random: 'x' }, 'random'],
  ['slow start without window', { slowStart: {} }, 'slowStart.windowMs'],
  ['options not an object', 'random', 'options'],
  ['empty service label', { service: '' }, 'service'],
];

for (const [name, options, option] of invalid) {
  test(`invalid options: ${name}`, (t) => {
    const err = t.throws(() => createBalancer(options as BalancerOptions));
    t.is((err as unknown as { code: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.is((err as unknown as { option: string }).option, option);
  });
}

test('valid boundaries: timeoutSeconds 1 and 86400 are accepted; the Service object fits as is', (t) => {
  t.notThrows(() => createBalancer({ sessionAffinity: { type: 'ClientIP', timeoutSeconds: 1 } }).close());
  t.notThrows(() => createBalancer({ sessionAffinity: { type: 'ClientIP', timeoutSeconds: 86_400 } }).close());
  t.notThrows(() => createBalancer({ sessionAffinity: svc().sessionAffinity }).close());
});

test('update() rejects what is not an eligible set, with INVALID_ARG', (t) => {
  const b = make(t, {});
  for (const bad of [null, 5, {}, { endpoints: [], outcome: 1 }, [{ address: '10.0.0.1' }], [null]]) {
    const err = t.throws(() => b.update(bad as never));
    t.is((err as unknown as { code: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  }
  t.is(b.pick().type, 'queue'); // a rejected update changes nothing
});

test('close() is idempotent and final', async (t) => {
  const b = createBalancer({});
  b.update([A]);
  const p1 = b.close();
  t.is(b.close(), p1);
  await p1;
  t.true(b.closed);
  const r = b.pick();
  t.is(r.type, 'fail');
  if (r.type === 'fail') t.is(r.error.code, 'CLUSTERIP_ERR_CLOSED');
  const err = t.throws(() => b.update([A]));
  t.is((err as unknown as { code: string }).code, 'CLUSTERIP_ERR_CLOSED');
  await b[Symbol.asyncDispose]();
});

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;

test.serial('no handles are left behind: the balancer starts no timers', async (t) => {
  const before = timers();
  const clock = manualClock();
  const b = createBalancer({ now: clock.now, sessionAffinity: CLIENT_IP, random: cycle(0) });
  b.update([A, B, C]);
  failN(t, b, A.address, 5); // the process key is bound to A (random 0) until A is ejected
  clock.advance(30_000);
  b.pick();
  t.is(timers(), before);
  await b.close();
  t.is(timers(), before);
});

test('onEject is told the key of each endpoint outlier detection ejects, once per ejection; a throwing one is ignored', (t) => {
  const clock = manualClock();
  const ejected: string[] = [];
  const b = make(t, {
    now: clock.now,
    random: seededRandom(23),
    outlierDetection: { consecutiveFailures: 2 },
    onEject: (endpoint) => {
      ejected.push(endpoint);
      throw new Error('listener failure');
    },
  });
  b.update([A, B, C]);
  failN(t, b, A.address, 2);
  t.deepEqual(ejected, [`${A.address}:${A.port}`]);
  t.is(health(b, A.address), 'ejected');
  t.throws(() => createBalancer({ onEject: 'no' as unknown as () => void }), {
    code: 'CLUSTERIP_ERR_INVALID_ARG',
    message: /onEject must be a function/,
  });
});
