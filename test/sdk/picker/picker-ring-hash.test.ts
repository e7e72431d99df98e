import { HashRing } from '@clusterip/sdk/internal/picker/picker-ring-hash.js';
import test from 'ava';
import fc from 'fast-check';
import { chiSquare } from '../fixtures.js';
import { states } from './states.js';

const all = () => true;

test('ring-hash maps a key to the same endpoint every time and for every ring built from the same set', (t) => {
  const s = states(10);
  const a = HashRing.build(s, 100);
  const b = HashRing.build([...s].reverse(), 100);
  fc.assert(fc.property(fc.string(), (key) => a.lookup(key, all) === b.lookup(key, all)));
  t.is(a.size, 1000);
});

test('ring-hash skips unusable endpoints and moves only their keys', (t) => {
  const s = states(8);
  const ring = HashRing.build(s, 100);
  const down = s[3]!;
  fc.assert(
    fc.property(fc.string(), (key) => {
      const owner = ring.lookup(key, all)!;
      const next = ring.lookup(key, (x) => x !== down)!;
      return next !== down && (owner === down || next === owner);
    }),
  );
  t.is(
    ring.lookup('k', () => false),
    undefined,
  );
});

test('ring-hash spreads keys roughly evenly over endpoints', (t) => {
  const s = states(8);
  const ring = HashRing.build(s, 100);
  const counts = new Array<number>(8).fill(0);
  for (let k = 0; k < 8000; k++) counts[ring.lookup(`user-${k}`, all)!.index]!++;
  // Consistent hashing is not perfectly even; within ±35 % of the mean is what 100 points per endpoint give.
  for (const c of counts) t.true(c > 650 && c < 1350, `count ${c}`);
  t.true(chiSquare(counts) < 400);
});
