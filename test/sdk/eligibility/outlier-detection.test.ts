import {
  canEject,
  eject,
  ejectionTimeMs,
  isPanic,
  newHealth,
  outlierDetectionConfig,
  readmit,
  recordOutcome,
} from '@clusterip/sdk/internal/eligibility/outlier-detection.js';
import test from 'ava';
import fc from 'fast-check';

const config = outlierDetectionConfig(undefined)!;

test('defaults: 5 consecutive failures, 30 s base, 300 s max, 50 % max ejection, 50 % panic', (t) => {
  t.like(config, {
    consecutiveFailures: 5,
    baseEjectionTimeMs: 30_000,
    maxEjectionTimeMs: 300_000,
    maxEjectionPercent: 50,
    panicThresholdPercent: 50,
    failureRate: { thresholdPercent: 85, minimumRequests: 50, intervalMs: 10_000 },
  });
  t.true(Object.isFrozen(config));
  t.is(outlierDetectionConfig(false), undefined);
});

test('ejection time doubles per consecutive ejection up to the cap', (t) => {
  t.deepEqual(
    [1, 2, 3, 4, 5, 6].map((k) => ejectionTimeMs(30_000, 300_000, k)),
    [30_000, 60_000, 120_000, 240_000, 300_000, 300_000],
  );
});

test('canEject never allows ejecting the last endpoint and always allows one of two', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 500 }), fc.nat(500), fc.integer({ min: 0, max: 100 }), (total, e, pct) => {
      const ejected = Math.min(e, total - 1);
      return !(canEject(ejected, total, pct) && ejected + 1 >= total);
    }),
  );
  t.true(canEject(0, 2, 10));
  t.false(canEject(1, 2, 100));
  t.false(canEject(0, 1, 100));
  t.true(canEject(4, 10, 50));
  t.false(canEject(5, 10, 50));
});

test('panic when healthy share is strictly below the threshold; 0 disables', (t) => {
  t.true(isPanic(1, 3, 50));
  t.false(isPanic(1, 2, 50));
  t.false(isPanic(0, 10, 0));
  t.false(isPanic(0, 0, 50));
});

test('a success resets the consecutive-failure count', (t) => {
  const h = newHealth(0);
  for (let i = 0; i < 4; i++) t.is(recordOutcome(h, true, i, config), 'none');
  t.is(recordOutcome(h, false, 5, config), 'none');
  for (let i = 0; i < 4; i++) t.is(recordOutcome(h, true, 6 + i, config), 'none');
  t.is(recordOutcome(h, true, 10, config), 'eject');
});

test('failure-rate window resets after intervalMs', (t) => {
  const c = outlierDetectionConfig({
    consecutiveFailures: 0,
    failureRate: { thresholdPercent: 50, minimumRequests: 4, intervalMs: 100 },
  })!;
  const h = newHealth(0);
  t.is(recordOutcome(h, true, 0, c), 'none');
  t.is(recordOutcome(h, true, 10, c), 'none');
  t.is(recordOutcome(h, false, 20, c), 'none');
  t.is(recordOutcome(h, true, 200, c), 'none'); // new window: 1 call
  t.is(h.windowTotal, 1);
});

test('eject / probe / readmit cycle and multiplier reset after a long healthy spell', (t) => {
  const h = newHealth(0);
  t.true(eject(h, 0, 0, 3, config));
  t.is(h.ejectedUntil, 30_000);
  t.is(recordOutcome(h, false, 1, config), 'none'); // straggler while ejected
  h.health = 'half-open';
  t.is(recordOutcome(h, true, 30_000, config, true), 'eject');
  t.true(eject(h, 30_000, 1, 3, config)); // already counted as out: no budget needed
  t.is(h.ejectedUntil, 30_000 + 60_000);
  h.health = 'probing';
  t.is(recordOutcome(h, false, 90_000, config), 'none'); // not the probe: a straggler decides nothing
  t.is(recordOutcome(h, true, 90_000, config), 'none');
  t.is(h.health, 'probing');
  t.is(recordOutcome(h, false, 90_000, config, true), 'readmit');
  readmit(h, 90_000);
  t.is(h.health as string, 'healthy');
  t.true(eject(h, 90_000 + 300_000, 0, 3, config)); // healthy for maxEjectionTimeMs: back to base
  t.is(h.ejectedUntil - (90_000 + 300_000), 30_000);
  const other = newHealth(0);
  t.false(eject(other, 0, 1, 2, config)); // never the last
  t.is(other.health, 'healthy');
});
