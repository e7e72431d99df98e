import { EventEmitter, once } from 'node:events';
import { createServiceBreaker, type ServiceBreaker } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';

/**
 * Wait for opossum's reset timer through the state-change hook, not a sleep. That timer is unref'd, so a
 * ref'd deadline keeps the event loop alive meanwhile (and fails the test if it never fires).
 */
async function halfOpen(t: ExecutionContext, breaker: ServiceBreaker, changes: EventEmitter): Promise<void> {
  if (breaker.state === 'half-open') return;
  let deadline: NodeJS.Timeout | undefined;
  t.teardown(() => clearTimeout(deadline));
  await Promise.race([
    once(changes, 'half-open'),
    new Promise((_, reject) => {
      deadline = setTimeout(() => reject(new Error('breaker never half-opened')), 5000);
    }),
  ]);
  clearTimeout(deadline);
}

const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));

test('the Service breaker opens after failures, fails fast, half-opens and closes on a successful trial', async (t) => {
  const rotate = new EventEmitter();
  const changes = new EventEmitter();
  const states: string[] = [];
  const breaker = createServiceBreaker({
    service: 'web.shop:http',
    volumeThreshold: 4,
    errorThresholdPercent: 50,
    resetTimeoutMs: 20,
    rotateBucketController: rotate,
    onStateChange: (state) => {
      states.push(state);
      changes.emit(state);
    },
  });
  t.teardown(() => breaker.close());
  t.is(breaker.state, 'closed');
  t.is(await breaker.run(() => Promise.resolve(1)), 1);
  // 1 success + 3 failures: 4 calls reach the volume threshold, 75 % failed > 50 %.
  for (let i = 0; i < 3; i++) await t.throwsAsync(breaker.run(refused), { message: /ECONNREFUSED/ });
  t.is(breaker.state, 'open');
  let called = false;
  const err = await t.throwsAsync(
    breaker.run(async () => {
      called = true;
    }),
  );
  t.false(called);
  t.is((err as unknown as { code: string }).code, 'CLUSTERIP_ERR_CIRCUIT_OPEN');
  t.regex(err!.message, /^service web\.shop:http: circuit open \(\d+ of \d+ recent calls failed/);

  await halfOpen(t, breaker, changes);
  t.is(breaker.state, 'half-open');
  t.is(await breaker.run(() => Promise.resolve('trial')), 'trial');
  t.is(breaker.state, 'closed');
  t.deepEqual(states, ['open', 'half-open', 'closed']);
});

test('aborts do not count against the Service', async (t) => {
  const breaker = createServiceBreaker({ volumeThreshold: 2, rotateBucketController: new EventEmitter() });
  t.teardown(() => breaker.close());
  const abort = () => Promise.reject(Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ABORT_ERR' }));
  for (let i = 0; i < 10; i++) await t.throwsAsync(breaker.run(abort));
  t.is(breaker.state, 'closed');
});

test('close() is idempotent, and run() after close rejects with CLOSED', async (t) => {
  const breaker = createServiceBreaker({});
  const p = breaker.close();
  t.is(breaker.close(), p);
  await p;
  t.true(breaker.closed);
  const err = await t.throwsAsync(breaker.run(() => Promise.resolve(1)));
  t.is((err as unknown as { code: string }).code, 'CLUSTERIP_ERR_CLOSED');
});

test('invalid breaker options are rejected with the option path', (t) => {
  for (const [options, option] of [
    [{ errorThresholdPercent: 0 }, 'errorThresholdPercent'],
    [{ resetTimeoutMs: -1 }, 'resetTimeoutMs'],
    // A bucket shorter than 1 ms would make opossum rotate buckets on a 0 ms interval.
    [{ rollingWindowMs: 9, rollingBuckets: 10 }, 'rollingBuckets'],
    [{ bogus: 1 }, 'bogus'],
    [{ rotateBucketController: {} }, 'rotateBucketController'],
    [{ isFailure: 'yes' }, 'isFailure'],
    [{ onStateChange: 1 }, 'onStateChange'],
  ] as const) {
    const err = t.throws(() => createServiceBreaker(options as never));
    t.is((err as unknown as { code: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.is((err as unknown as { option: string }).option, option);
  }
});

test('the breaker leaves no active handle after close()', async (t) => {
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const breaker = createServiceBreaker({ resetTimeoutMs: 60_000, volumeThreshold: 1 });
  await t.throwsAsync(breaker.run(refused));
  t.is(breaker.state, 'open');
  await breaker.close();
  t.is(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, before);
});

test('calls refused while open do not count in the window: a closed breaker reopens on its first failures', async (t) => {
  const changes = new EventEmitter();
  const breaker = createServiceBreaker({
    volumeThreshold: 1,
    resetTimeoutMs: 20,
    rotateBucketController: new EventEmitter(), // never rotates: the window keeps every call
    onStateChange: (state) => changes.emit(state),
  });
  t.teardown(() => breaker.close());
  await t.throwsAsync(breaker.run(refused));
  t.is(breaker.state, 'open');
  for (let i = 0; i < 100; i++) {
    await t.throwsAsync(
      breaker.run(() => Promise.resolve()),
      { code: 'CLUSTERIP_ERR_CIRCUIT_OPEN' } as never,
    );
  }
  t.true(breaker.refusal() !== undefined);
  await halfOpen(t, breaker, changes);
  t.is(breaker.refusal(), undefined);
  t.is(await breaker.run(() => Promise.resolve('trial')), 'trial');
  t.is(breaker.state, 'closed');
  // 3 calls seen (the failure, the trial, this failure), 2 failed: open. Had the 100 refusals counted, 2 of 103.
  await t.throwsAsync(breaker.run(refused));
  t.is(breaker.state, 'open');
});
