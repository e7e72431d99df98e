import { Backoff, resolveBackoffOptions } from '@clusterip/resolver/internal/internal/backoff.js';
import test from 'ava';

test('client-go defaults: 800 ms, ×2, cap 30 s, jitter adds up to 100 %', (t) => {
  let now = 0;
  const b = new Backoff(
    resolveBackoffOptions(undefined, 'backoff'),
    () => now,
    () => 0,
  );
  const delays = Array.from({ length: 8 }, () => b.next());
  t.deepEqual(delays, [800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000]);
  const j = new Backoff(
    resolveBackoffOptions(undefined, 'backoff'),
    () => now,
    () => 0.5,
  );
  t.is(j.next(), 1200);
  now += 1; // keep using b without a healthy gap
  t.is(b.next(), 30_000);
});

test('resets after a healthy period', (t) => {
  let now = 0;
  const b = new Backoff(
    resolveBackoffOptions({ resetAfterMs: 1000 }, 'backoff'),
    () => now,
    () => 0,
  );
  b.next();
  b.next();
  now = 500;
  t.is(b.next(), 3200);
  now = 1600;
  t.is(b.next(), 800);
});

test('options are validated, unknown keys rejected', (t) => {
  t.is(
    (t.throws(() => resolveBackoffOptions({ initialMs: -1 }, 'backoff')) as unknown as { option: string }).option,
    'backoff.initialMs',
  );
  t.is(
    (t.throws(() => resolveBackoffOptions({ nope: 1 } as never, 'backoff')) as unknown as { code: string }).code,
    'CLUSTERIP_ERR_INVALID_ARG',
  );
  t.is(
    (t.throws(() => resolveBackoffOptions({ initialMs: 100, maxMs: 50 }, 'backoff')) as unknown as { option: string })
      .option,
    'backoff.maxMs',
  );
});
