import { createBalancer } from '@clusterip/sdk';
import { seededRandom } from '@clusterip/sdk/internal/internal/random.js';
import { decayedCost, observeLatency, pickPeakEwma } from '@clusterip/sdk/internal/picker/picker-peak-ewma.js';
import test from 'ava';
import fc from 'fast-check';
import { eps, manualClock } from '../fixtures.js';
import { states } from './states.js';

test('peak-EWMA avoids a slow endpoint (property over seeds, sizes and which endpoint is slow)', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 12 }), fc.nat(11), fc.integer(), (n, slowAt, seed) => {
      const slow = slowAt % n;
      const clock = manualClock();
      const b = createBalancer({
        policy: 'peak-ewma',
        random: seededRandom(seed),
        now: clock.now,
        outlierDetection: false,
      });
      const endpoints = eps(n);
      b.update(endpoints);
      const slowAddress = endpoints[slow]!.address;
      let slowPicks = 0;
      const total = 300 * n;
      for (let k = 0; k < total; k++) {
        const r = b.pick();
        if (r.type !== 'pick') return false;
        const isSlow = r.endpoint.address === slowAddress;
        if (isSlow && k >= 100) slowPicks++;
        r.done({ type: 'success', latencyMs: isSlow ? 200 : 10 });
        clock.advance(1);
      }
      // A fair share would be (total - 100) / n; the slow endpoint gets well under a quarter of it.
      return slowPicks < (total - 100) / n / 4;
    }),
    { numRuns: 25 },
  );
  t.pass();
});

test('peak-EWMA measures latency from pick to done when the outcome carries none', (t) => {
  const clock = manualClock();
  const b = createBalancer({ policy: 'peak-ewma', now: clock.now, random: seededRandom(1), outlierDetection: false });
  b.update(eps(1));
  const r = b.pick();
  if (r.type !== 'pick') return t.fail();
  clock.advance(250);
  r.done({ type: 'success' });
  t.is(b.endpoints()[0]!.latencyMs, 250);
});

test('peak-EWMA weighs in-flight calls: a busy fast endpoint loses to an idle slower one', (t) => {
  const [fast, slower] = states(2);
  fast!.cost = 10;
  fast!.inFlight = 5; // load 60
  slower!.cost = 40; // load 40
  const random = seededRandom(3);
  for (let k = 0; k < 20; k++) t.is(pickPeakEwma([fast!, slower!], random, 0, 10_000), slower!);
});

test('peak-EWMA estimate decays towards zero without samples, so a slow endpoint is retried later', (t) => {
  const [s] = states(1);
  s!.cost = 1000;
  s!.stamp = 0;
  t.is(decayedCost(s!, 0, 10_000), 1000);
  t.true(Math.abs(decayedCost(s!, 10_000, 10_000) - 1000 / Math.E) < 1e-9);
  t.true(decayedCost(s!, 100_000, 10_000) < 1);
});

test('a fast failure does not make an endpoint look faster', (t) => {
  const [s] = states(1);
  s!.cost = 100;
  s!.stamp = 0;
  observeLatency(s!, 1, true, 50_000, 10_000);
  t.is(s!.cost, 100);
  observeLatency(s!, 1, false, 100_000, 10_000);
  t.true(s!.cost < 100);
  observeLatency(s!, Number.NaN, false, 200_000, 10_000);
  t.true(Number.isFinite(s!.cost));
});
