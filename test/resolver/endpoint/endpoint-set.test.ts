import { type Endpoint, EndpointSet, READY } from '@clusterip/resolver';
import test from 'ava';

const ep = (address: string, ready = true): Endpoint => ({
  address,
  port: 8080,
  protocol: 'TCP',
  addressType: 'IPv4',
  conditions: ready ? READY : { ready: false, serving: false, terminating: false },
});

test('a reset keeps the objects and places of endpoints it leaves equal, and takes the changed ones', (t) => {
  const a = ep('10.0.0.1');
  const b = ep('10.0.0.2');
  const c = ep('10.0.0.3');
  const set = EndpointSet.empty().apply({ type: 'reset', endpoints: [a, b, c] });
  // A relist decodes every endpoint again: equal copies of a and c, b no longer ready, d new.
  const b2 = ep('10.0.0.2', false);
  const d = ep('10.0.0.4');
  const next = set.apply({ type: 'reset', endpoints: [ep('10.0.0.1'), b2, ep('10.0.0.3'), d] });
  t.not(next, set);
  t.is(next.endpoints.length, 4);
  t.is(next.endpoints[0], a);
  t.is(next.endpoints[1], b2);
  t.is(next.endpoints[2], c);
  t.is(next.endpoints[3], d);
  // The old set is unchanged.
  t.deepEqual(set.endpoints, [a, b, c]);
  t.is(set.get('10.0.0.2:8080'), b);
});

test('a reset with only equal copies is no change: the same set', (t) => {
  const set = EndpointSet.empty().apply({ type: 'reset', endpoints: [ep('10.0.0.1'), ep('10.0.0.2')] });
  t.is(set.apply({ type: 'reset', endpoints: [ep('10.0.0.1'), ep('10.0.0.2')] }), set);
  t.not(set.apply({ type: 'reset', endpoints: [ep('10.0.0.1')] }), set);
});

test('add keeps the place of a changed endpoint and appends new ones; remove keeps the others', (t) => {
  const a = ep('10.0.0.1');
  const b = ep('10.0.0.2');
  const set = EndpointSet.empty().apply({ type: 'reset', endpoints: [a, b] });
  const a2 = ep('10.0.0.1', false);
  const c = ep('10.0.0.3');
  const added = set.apply({ type: 'add', endpoints: [c, a2] });
  t.deepEqual(added.endpoints, [a2, b, c]);
  t.is(added.endpoints[1], b);
  const removed = added.apply({ type: 'remove', keys: ['10.0.0.1:8080'] });
  t.is(removed.endpoints[0], b);
  t.is(removed.endpoints[1], c);
  t.is(removed.apply({ type: 'remove', keys: ['10.0.0.9:8080'] }), removed);
});

test('an older set keeps its contents after the sets that follow it change, and can be applied to again', (t) => {
  const a = ep('10.0.0.1');
  const b = ep('10.0.0.2');
  const c = ep('10.0.0.3');
  const first = EndpointSet.empty().apply({ type: 'reset', endpoints: [a, b] });
  const second = first.apply({ type: 'add', endpoints: [c] });
  const third = second.apply({ type: 'remove', keys: ['10.0.0.1:8080'] });
  const fourth = third.apply({ type: 'add', endpoints: [ep('10.0.0.2', false)] });
  t.deepEqual(first.endpoints, [a, b]);
  t.is(first.size, 2);
  t.false(first.has('10.0.0.3:8080'));
  t.is(first.get('10.0.0.2:8080'), b);
  t.deepEqual(second.endpoints, [a, b, c]);
  t.is(second.size, 3);
  t.true(second.has('10.0.0.1:8080'));
  t.deepEqual(third.endpoints, [b, c]);
  t.is(third.get('10.0.0.2:8080'), b);
  t.is(fourth.get('10.0.0.2:8080')?.conditions.ready, false);
  t.is(fourth.size, 2);
  // A second change to an older set: a branch of its own, the later sets untouched.
  const branch = first.apply({ type: 'remove', keys: ['10.0.0.2:8080'] });
  t.deepEqual(branch.endpoints, [a]);
  t.deepEqual(second.endpoints, [a, b, c]);
  t.deepEqual(
    fourth.endpoints.map((e) => e.address),
    ['10.0.0.2', '10.0.0.3'],
  );
  t.is(first.apply({ type: 'add', endpoints: [ep('10.0.0.1')] }), first);
});

test('an add that repeats a key takes the last of them, as one after the other would', (t) => {
  const set = EndpointSet.empty().apply({ type: 'reset', endpoints: [ep('10.0.0.1')] });
  const changed = ep('10.0.0.1', false);
  const back = ep('10.0.0.1');
  const next = set.apply({ type: 'add', endpoints: [changed, back] });
  t.not(next, set);
  t.is(next.get('10.0.0.1:8080'), back);
  t.deepEqual(set.get('10.0.0.1:8080')?.conditions, READY);
});

test('reset and not-found on a set that handed its map on', (t) => {
  const a = ep('10.0.0.1');
  const b = ep('10.0.0.2');
  const first = EndpointSet.empty().apply({ type: 'reset', endpoints: [a, b] });
  first.apply({ type: 'add', endpoints: [ep('10.0.0.3')] });
  t.is(first.apply({ type: 'reset', endpoints: [ep('10.0.0.2'), ep('10.0.0.1')] }), first, 'the same endpoints');
  const reset = first.apply({ type: 'reset', endpoints: [ep('10.0.0.2')] });
  t.deepEqual(reset.endpoints, [b]);
  t.is(reset.endpoints[0], b, 'the equal endpoint keeps its object');
  t.is(first.apply({ type: 'not-found', reason: 'nxdomain' }).size, 0);
  t.deepEqual(first.endpoints, [a, b]);
});
