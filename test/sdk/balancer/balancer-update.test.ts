// balancer.update() matches endpoints by object identity first and by key only for new or replaced
// objects. These tests hold it to what a fresh match by key gives, over random sequences of the edits a
// resolver makes (and some it does not: reorders, duplicates, all-new objects).

import { type Endpoint, endpointKey } from '@clusterip/resolver';
import { type Balancer, type BalancerOptions, createBalancer, eligibleEndpoints } from '@clusterip/sdk';
import { seededRandom } from '@clusterip/sdk/internal/internal/random.js';
import test, { type ExecutionContext } from 'ava';
import { ep, NOT_READY, READY_C, svc } from '../fixtures.js';

type Random = () => number;

const index = (random: Random, n: number) => Math.floor(random() * n);

/** A copy of `e`: same key, a new object (what a changed condition or a relist gives). */
function replaced(e: Endpoint, random: Random): Endpoint {
  return ep(e.address, { port: e.port, conditions: random() < 0.5 ? READY_C : NOT_READY });
}

/** One random edit of `list` (a new array; `list` is left as it was). */
function edit(list: readonly Endpoint[], random: Random, fresh: () => Endpoint): Endpoint[] {
  const next = [...list];
  const at = index(random, next.length + 1);
  switch (index(random, 8)) {
    case 0: // a new endpoint, anywhere
      next.splice(at, 0, fresh());
      break;
    case 1: // one leaves
      if (next.length > 0) next.splice(at % next.length, 1);
      break;
    case 2: // one changes (same key, new object)
      if (next.length > 0) next[at % next.length] = replaced(next[at % next.length]!, random);
      break;
    case 3: // one moves
      if (next.length > 1) next.splice(index(random, next.length), 0, ...next.splice(at % next.length, 1));
      break;
    case 4: // the same object twice
      if (next.length > 0) next.splice(at, 0, next[index(random, next.length)]!);
      break;
    case 5: // the same key twice, another object
      if (next.length > 0) next.splice(at, 0, replaced(next[index(random, next.length)]!, random));
      break;
    case 6: // every object new (a relist that decodes everything again)
      for (let i = 0; i < next.length; i++) next[i] = replaced(next[i]!, random);
      break;
    default: // several at once: one leaves, one joins, one changes
      if (next.length > 0) next.splice(at % next.length, 1);
      next.splice(index(random, next.length + 1), 0, fresh());
      if (next.length > 0) {
        const i = index(random, next.length);
        next[i] = replaced(next[i]!, random);
      }
  }
  return next;
}

/** What a fresh match by key keeps: the first endpoint of each key, in order. */
function firstPerKey(list: readonly Endpoint[]): Endpoint[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const key = endpointKey(e);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function check(
  t: ExecutionContext,
  b: Balancer,
  list: readonly Endpoint[],
  inFlight: Map<string, number>,
  everSeen: ReadonlySet<string>,
  step: string,
) {
  const expected = firstPerKey(list);
  const status = b.endpoints();
  t.is(b.size, expected.length, `${step}: size`);
  t.is(status.length, expected.length, `${step}: endpoints()`);
  for (let i = 0; i < expected.length; i++) {
    const key = endpointKey(expected[i]!);
    // The very object the list holds first for this key (its conditions), in the list's order.
    t.is(status[i]!.endpoint, expected[i]!, `${step}: endpoint ${i} (${key})`);
    t.is(status[i]!.inFlight, inFlight.get(key) ?? 0, `${step}: load of ${key} kept`);
  }
  const keys = new Set(expected.map(endpointKey));
  for (const key of everSeen) t.is(b.has(key), keys.has(key), `${step}: has(${key})`);
}

const configs: readonly { name: string; options: BalancerOptions }[] = [
  { name: 'random', options: { policy: 'random' } },
  { name: 'least-request', options: { policy: 'least-request' } },
  // Affinity keeps bindings to states: one bound to an endpoint that left must not be picked again.
  { name: 'round-robin, ClientIP affinity', options: { policy: 'round-robin', sessionAffinity: { type: 'ClientIP' } } },
  // The ring is rebuilt whenever the membership changes, or keys still map to endpoints that left.
  { name: 'ring-hash', options: { policy: 'ring-hash' } },
];

for (const { name, options } of configs) {
  test(`random sequences of updates (${name}): the same states, order, objects and load as a match by key; picks only current endpoints`, (t) => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = seededRandom(seed);
      let n = 0;
      const fresh = () => ep(`10.${seed}.${(n >> 8) & 255}.${n++ & 255}`);
      const b = createBalancer({ ...options, random });
      t.teardown(() => b.close());
      let list: Endpoint[] = Array.from({ length: 12 }, fresh);
      /** Calls picked and not reported, per key: an endpoint that stays keeps its state and so its load. */
      const inFlight = new Map<string, number>();
      const everSeen = new Set<string>();
      b.update(list);
      for (let step = 0; step < 200; step++) {
        list = edit(list, random, fresh);
        const current = firstPerKey(list);
        const keys = new Set(current.map(endpointKey));
        for (const key of keys) everSeen.add(key);
        for (const key of inFlight.keys()) if (!keys.has(key)) inFlight.delete(key);
        b.update(list);
        check(t, b, list, inFlight, everSeen, `seed ${seed} step ${step}`);
        if (b.size === 0) continue;
        // Picks by a few keys (affinity and ring keys) and one without: each lands on a listed object.
        for (const affinityKey of ['k1', 'k2', 'k3', undefined]) {
          const r = b.pick(affinityKey === undefined ? undefined : { affinityKey });
          if (r.type !== 'pick') {
            t.fail(`seed ${seed} step ${step}: expected a pick, got ${r.type}`);
            return;
          }
          t.true(current.includes(r.endpoint), `seed ${seed} step ${step}: picked ${endpointKey(r.endpoint)}`);
          const key = endpointKey(r.endpoint);
          inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
        }
      }
    }
  });
}

test('an endpoint that leaves and comes back is a new state: its old load is gone', (t) => {
  const b = createBalancer({ policy: 'round-robin' });
  t.teardown(() => b.close());
  const a = ep('10.0.0.1');
  const c = ep('10.0.0.2');
  b.update([a, c]);
  const first = b.pick();
  const second = b.pick();
  t.is(first.type, 'pick');
  t.is(second.type, 'pick');
  t.deepEqual(
    b.endpoints().map((s) => s.inFlight),
    [1, 1],
  );
  b.update([c]);
  t.false(b.has(endpointKey(a)));
  b.update([a, c]); // the same object as before it left
  t.true(b.has(endpointKey(a)));
  t.deepEqual(
    b.endpoints().map((s) => s.inFlight),
    [0, 1],
  );
});

test('has() follows failing and empty updates, and close()', (t) => {
  const b = createBalancer({});
  t.teardown(() => b.close());
  const a = ep('10.0.0.1');
  t.false(b.has('10.0.0.1:8080'));
  b.update([a]);
  t.true(b.has('10.0.0.1:8080'));
  t.false(b.has('10.0.0.1:8081'));
  b.update([]);
  t.false(b.has('10.0.0.1:8080'));
  b.update([a]);
  t.true(b.has('10.0.0.1:8080'));
  // Nothing ready: a failing outcome, which empties the set.
  b.update(eligibleEndpoints([ep('10.0.0.1', { conditions: NOT_READY })], svc()));
  t.is(b.pick().type, 'fail');
  t.false(b.has('10.0.0.1:8080'));
  b.update([a]);
  t.true(b.has('10.0.0.1:8080'));
  void b.close();
  t.false(b.has('10.0.0.1:8080'));
});
