import {
  buildRing,
  hash32,
  p2cSecond,
  peakEwmaLoad,
  peakEwmaObserve,
  ringOwner,
  slowStartWeight,
  uniformIndex,
} from '@clusterip/sdk/internal/picker/selection.js';
import test from 'ava';
import fc from 'fast-check';

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

test('uniformIndex stays in [0, n)', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10_000 }), unit, (n, r) => {
      const i = uniformIndex(n, r);
      return Number.isInteger(i) && i >= 0 && i < n;
    }),
  );
  t.pass();
});

test('p2cSecond gives a distinct index in [0, n) for n ≥ 2 and the first for n = 1', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 10_000 }), unit, unit, (n, r1, r2) => {
      const i = uniformIndex(n, r1);
      const j = p2cSecond(n, i, r2);
      return j !== i && j >= 0 && j < n && Number.isInteger(j);
    }),
  );
  t.is(p2cSecond(1, 0, 0.7), 0);
});

test('p2cSecond covers every other index with equal width', (t) => {
  const n = 5;
  const hits = new Map<number, number>();
  for (let k = 0; k < 400; k++) {
    const j = p2cSecond(n, 2, (k + 0.5) / 400);
    hits.set(j, (hits.get(j) ?? 0) + 1);
  }
  t.deepEqual([...hits.keys()].sort(), [0, 1, 3, 4]);
  t.deepEqual([...hits.values()], [100, 100, 100, 100]);
});

test('peakEwmaObserve takes peaks at once and decays towards lower samples', (t) => {
  t.is(peakEwmaObserve(10, 5, 500, 10_000), 500);
  t.is(peakEwmaObserve(500, 0, 10, 10_000), 500);
  const after = peakEwmaObserve(500, 10_000, 10, 10_000);
  t.true(Math.abs(after - (500 / Math.E + 10 * (1 - 1 / Math.E))) < 1e-9);
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1e5, noNaN: true }),
      fc.double({ min: 0, max: 1e6, noNaN: true }),
      fc.double({ min: 0, max: 1e5, noNaN: true }),
      (cost, elapsed, rtt) => {
        const next = peakEwmaObserve(cost, elapsed, rtt, 10_000);
        return next >= Math.min(cost, rtt) - 1e-9 && next <= Math.max(cost, rtt) + 1e-9;
      },
    ),
  );
  t.is(peakEwmaLoad(20, 3), 80);
});

test('slowStartWeight ramps from the minimum to 1 and is monotone', (t) => {
  t.is(slowStartWeight(0, 1000, 0.1), 0.1);
  t.is(slowStartWeight(500, 1000, 0.1), 0.5);
  t.is(slowStartWeight(1000, 1000, 0.1), 1);
  fc.assert(
    fc.property(fc.nat(2000), fc.nat(2000), (a, b) => {
      const [lo, hi] = a < b ? [a, b] : [b, a];
      return slowStartWeight(lo, 1000, 0.1) <= slowStartWeight(hi, 1000, 0.1);
    }),
  );
});

test('hash32 is stable and spreads consecutive keys', (t) => {
  t.is(hash32('user-42'), hash32('user-42'));
  t.not(hash32('user-42'), hash32('user-43'));
  // Top 4 bits of 1600 consecutive keys fall evenly into 16 buckets (within ±50 %).
  const buckets = new Array<number>(16).fill(0);
  for (let i = 0; i < 1600; i++) buckets[hash32(`k${i}`) >>> 28]!++;
  for (const b of buckets) t.true(b > 50 && b < 150, `bucket ${b}`);
});

test('buildRing does not depend on key order and every point has a valid owner', (t) => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 20 }), (keys) => {
      const a = buildRing(keys, 64);
      const reversed = [...keys].reverse();
      const b = buildRing(reversed, 64);
      for (let p = 0; p < a.hashes.length; p++) {
        if (a.hashes[p] !== b.hashes[p] || keys[a.owners[p]!] !== reversed[b.owners[p]!]) return false;
        if (p > 0 && a.hashes[p - 1]! > a.hashes[p]!) return false;
      }
      return a.hashes.length === 64 * keys.length && a.owners.every((o) => o < keys.length);
    }),
  );
  t.pass();
});

test('adding a key to the ring only moves keys to the new owner (consistency)', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 30 }),
      fc.array(fc.string(), { minLength: 50, maxLength: 50 }),
      (n, probes) => {
        const keys = Array.from({ length: n }, (_, i) => `10.0.0.${i}:80`);
        const before = buildRing(keys, 100);
        const after = buildRing([...keys, '10.0.1.1:80'], 100);
        return probes.every((k) => {
          const h = hash32(k);
          const a = ringOwner(after, h);
          return a === n || a === ringOwner(before, h);
        });
      },
    ),
  );
  t.is(ringOwner(buildRing([], 16), 1), -1);
});
