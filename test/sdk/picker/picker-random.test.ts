import { seededRandom } from '@clusterip/sdk/internal/internal/random.js';
import { pickRandom } from '@clusterip/sdk/internal/picker/picker-random.js';
import test from 'ava';
import fc from 'fast-check';
import { chiSquare, chiSquareBound } from '../fixtures.js';
import { replay, states } from './states.js';

test('random is uniform: chi-square under the bound for any seed and size', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 40 }), fc.integer(), (n, seed) => {
      const s = states(n);
      const random = seededRandom(seed);
      const counts = new Array<number>(n).fill(0);
      for (let k = 0; k < 500 * n; k++) counts[pickRandom(s, random).index]!++;
      return chiSquare(counts) < chiSquareBound(n - 1);
    }),
    { numRuns: 30 },
  );
  t.pass();
});

test('random maps [0, 1) onto the endpoints in order', (t) => {
  const s = states(4);
  const picks = [0, 0.24, 0.25, 0.5, 0.99].map((r) => pickRandom(s, replay([r])).index);
  t.deepEqual(picks, [0, 0, 1, 2, 3]);
});

test('the chi-square check catches a biased picker', (t) => {
  // Sanity check of the test itself: 10 % extra weight on one endpoint fails the bound.
  const n = 10;
  const random = seededRandom(1);
  const counts = new Array<number>(n).fill(0);
  for (let k = 0; k < 500 * n; k++) {
    const r = random();
    counts[r < 0.1 ? 0 : (random() * n) | 0]!++;
  }
  t.true(chiSquare(counts) > chiSquareBound(n - 1));
});
