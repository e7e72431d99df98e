import { seededRandom } from '@clusterip/sdk/internal/internal/random.js';
import { pickRoundRobin, RoundRobinCursor } from '@clusterip/sdk/internal/picker/picker-round-robin.js';
import test from 'ava';
import fc from 'fast-check';
import { chiSquare, chiSquareBound } from '../fixtures.js';
import { replay, states } from './states.js';

test('round robin visits every endpoint in turn: counts never differ by more than one', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.nat(500), fc.integer(), (n, picks, seed) => {
      const s = states(n);
      const rr = new RoundRobinCursor();
      rr.reset(n, seededRandom(seed));
      const counts = new Array<number>(n).fill(0);
      let prev = -1;
      for (let k = 0; k < picks; k++) {
        const i = pickRoundRobin(s, rr).index;
        if (prev >= 0 && i !== (prev + 1) % n) return false;
        prev = i;
        counts[i]!++;
      }
      return Math.max(...counts) - Math.min(...counts) <= 1;
    }),
  );
  t.pass();
});

test('round robin start index is randomised uniformly across resets', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 20 }), fc.integer(), (n, seed) => {
      const s = states(n);
      const random = seededRandom(seed);
      const rr = new RoundRobinCursor();
      const counts = new Array<number>(n).fill(0);
      for (let k = 0; k < 300 * n; k++) {
        rr.reset(n, random);
        counts[pickRoundRobin(s, rr).index]!++;
      }
      return chiSquare(counts) < chiSquareBound(n - 1);
    }),
    { numRuns: 20 },
  );
  t.pass();
});

test('round robin tolerates the set shrinking between picks', (t) => {
  const rr = new RoundRobinCursor();
  rr.reset(5, replay([0.99]));
  t.is(pickRoundRobin(states(5), rr).index, 4);
  t.is(pickRoundRobin(states(3), rr).index, 0);
  t.is(pickRoundRobin(states(3), rr).index, 1);
});
