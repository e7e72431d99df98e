import { RetryBudget } from '@clusterip/sdk/internal/transport/http/retry-budget.js';
import test from 'ava';

test('retries are bounded by ratio × requests plus the per-second reserve, and the window slides', (t) => {
  let now = 0;
  const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0, windowMs: 10_000 }, () => now);
  for (let i = 0; i < 100; i++) budget.onRequest();
  let allowed = 0;
  while (budget.tryRetry()) allowed++;
  t.is(allowed, 20);
  now = 5_000; // one half-window later the old counts still weigh
  t.false(budget.tryRetry());
  now = 10_000; // two half-windows: forgotten
  t.false(budget.tryRetry(), 'no requests, no reserve');
  for (let i = 0; i < 10; i++) budget.onRequest();
  t.true(budget.tryRetry());
  t.true(budget.tryRetry());
  t.false(budget.tryRetry());
});

test('the reserve lets a quiet service retry', (t) => {
  const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 1, windowMs: 2000 }, () => 0);
  t.true(budget.tryRetry());
  t.true(budget.tryRetry());
  t.false(budget.tryRetry());
});
