import test from 'ava';
import { distribution, median, medianInterval, quantile, quantileSorted } from './bench-stats.js';
import { fmtBytes, fmtMs, ratio } from './bench-util.js';

test('median: odd and even counts, unsorted input left as it was, NaN when empty', (t) => {
  const input = [5, 1, 3];
  t.is(median(input), 3);
  t.deepEqual(input, [5, 1, 3]);
  t.is(median([4, 1, 3, 2]), 2.5);
  t.true(Number.isNaN(median([])));
});

test('quantile: nearest rank', (t) => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
  t.is(quantile(xs, 0.5), 50);
  t.is(quantile(xs, 0.99), 99);
  t.is(quantile(xs, 1), 100);
  t.is(quantile(xs, 0), 1);
  t.is(quantile([7], 0.99), 7);
  t.true(Number.isNaN(quantile([], 0.5)));
  t.is(quantileSorted([1, 2, 3, 4], 0.5), 2);
  t.is(quantileSorted([1, 2, 3, 4], 0.51), 3);
  t.true(Number.isNaN(quantileSorted([], 0.5)));
});

test('distribution: p50, p99, max and count', (t) => {
  t.deepEqual(distribution([3, 1, 2]), { p50: 2, p99: 3, max: 3, n: 3 });
  const empty = distribution([]);
  t.is(empty.n, 0);
  t.true(Number.isNaN(empty.max));
});

test('formatting: ratios, milliseconds and bytes', (t) => {
  t.is(ratio(3, 2), '1.50×');
  t.is(ratio(1, 0), '–');
  t.is(ratio(Number.NaN, 1), '–');
  t.is(fmtMs(0.25), '250 µs');
  t.is(fmtMs(2.5), '2.50 ms');
  t.is(fmtMs(125), '125 ms');
  t.is(fmtMs(12_500), '12.5 s');
  t.is(fmtBytes(100), '100 B');
  t.is(fmtBytes(10 * 1024), '10.0 KiB');
  t.is(fmtBytes(8 * 1024 * 1024), '8.0 MiB');
});

test('medianInterval: order statistics with the binomial coverage', (t) => {
  const xs = Array.from({ length: 20 }, (_, i) => 20 - i); // 20 … 1
  const ci = medianInterval(xs);
  // n = 20: P(X ≤ 5) = 0.0207 ≤ 0.025 < P(X ≤ 6) = 0.0577, so [x(6), x(15)], coverage 1 − 2 × 0.0207.
  t.deepEqual([ci.low, ci.high], [6, 15]);
  t.is(ci.coverage.toFixed(4), '0.9586');
  t.is(xs[0], 20); // input left as it was
  // Too few values for 95 %: the whole range, with its own coverage.
  const small = medianInterval([3, 1, 2]);
  t.deepEqual([small.low, small.high, small.coverage], [1, 3, 0.75]);
  // Large n: no underflow, and the interval narrows around the median.
  const big = medianInterval(Array.from({ length: 2001 }, (_, i) => i));
  t.true(big.low > 950 && big.low < 1000 && big.high > 1000 && big.high < 1050);
  t.true(big.coverage >= 0.95 && big.coverage < 0.96);
  t.true(Number.isNaN(medianInterval([]).low));
});
