import { seededRandom } from '@clusterip/sdk/internal/internal/random.js';
import { pickLeastRequest } from '@clusterip/sdk/internal/picker/picker-p2c.js';
import { p2cSecond, uniformIndex } from '@clusterip/sdk/internal/picker/selection.js';
import test from 'ava';
import fc from 'fast-check';
import { replay, states } from './states.js';

test('P2C returns the less loaded of the two endpoints it drew', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.nat(20), { minLength: 2, maxLength: 30 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (loads, r1, r2) => {
        const s = states(loads.length, (i) => loads[i]!);
        const i = uniformIndex(s.length, r1);
        const j = p2cSecond(s.length, i, r2);
        const picked = pickLeastRequest(s, replay([r1, r2]));
        return picked.inFlight === Math.min(loads[i]!, loads[j]!) && (picked.index === i || picked.index === j);
      },
    ),
  );
  t.pass();
});

test('P2C never picks the single most loaded endpoint', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 30 }), fc.nat(29), fc.integer(), (n, hot, seed) => {
      const h = hot % n;
      const s = states(n, (i) => (i === h ? 10 : 0));
      const random = seededRandom(seed);
      for (let k = 0; k < 200; k++) if (pickLeastRequest(s, random).index === h) return false;
      return true;
    }),
  );
  t.pass();
});

test('P2C prefers less-loaded endpoints in proportion to their rank', (t) => {
  // Loads 0..9: the lightest is chosen whenever it is drawn (2/n of picks), the heaviest never.
  const s = states(10, (i) => i);
  const random = seededRandom(7);
  const counts = new Array<number>(10).fill(0);
  for (let k = 0; k < 20_000; k++) counts[pickLeastRequest(s, random).index]!++;
  t.true(Math.abs(counts[0]! / 20_000 - 0.2) < 0.02);
  t.is(counts[9], 0);
  for (let i = 1; i < 9; i++) t.true(counts[i]! > counts[i + 1]!, `rank ${i}`);
});

test('P2C with one endpoint returns it', (t) => {
  t.is(pickLeastRequest(states(1), () => 0.5).index, 0);
});
