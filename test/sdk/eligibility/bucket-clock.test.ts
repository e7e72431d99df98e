// BucketClocks: the Service breakers of a Mesh share one rotation timer per bucket length instead of one
// each (opossum's rotateBucketController). Serial: the tests count the process's timers by origin.

import { EventEmitter, once } from 'node:events';
import { createServiceBreaker, Mesh } from '@clusterip/sdk';
import { BucketClocks } from '@clusterip/sdk/internal/eligibility/bucket-clock.js';
import test from 'ava';
import { createHttpTestServer, shopSource } from '../../helpers/http-test-server.js';
import { settle, trackResources } from '../../helpers/leak-check.js';

const CLOCK = /sdk\/(?:dist|src)\/eligibility\/bucket-clock\.[jt]s/;
const OPOSSUM = /opossum\/lib\//;

/**
 * The next `n` rotations of `controller`. Its timer is unref'd, so a ref'd deadline keeps the process up
 * meanwhile (and fails the test after 5 s).
 */
async function rotations(controller: EventEmitter, n: number): Promise<void> {
  const deadline = setTimeout(() => controller.emit('error', new Error(`fewer than ${n} rotations in 5 s`)), 5000);
  try {
    for (let i = 0; i < n; i++) await once(controller, 'rotate');
  } finally {
    clearTimeout(deadline);
  }
}

/** Live timers created by a file whose path matches `origin`. */
function timersFrom(tracker: ReturnType<typeof trackResources>, origin: RegExp): number {
  return tracker.origins().filter((stack) => origin.test(stack)).length;
}

test.serial(
  'leases of one bucket length share a clock; the last release stops its timer; release is idempotent',
  async (t) => {
    const tracker = trackResources(['Timeout']);
    t.teardown(() => tracker.stop());
    const clocks = new BucketClocks();
    const a = clocks.acquire(1000);
    const b = clocks.acquire(1000);
    const c = clocks.acquire(250);
    t.is(a.controller, b.controller);
    t.not(a.controller, c.controller);
    t.is(clocks.size, 2);
    t.is(timersFrom(tracker, CLOCK), 2);
    a.release();
    a.release(); // a second release must not end b's lease
    t.is(clocks.size, 2);
    b.release();
    c.release();
    t.is(clocks.size, 0);
    t.true(await settle(() => timersFrom(tracker, CLOCK) === 0), tracker.origins().join('\n'));
    const again = clocks.acquire(1000);
    t.not(again.controller, a.controller, 'a stopped clock is not reused');
    again.release();
  },
);

test.serial(
  "a shared clock rotates the breakers' windows: a failure older than the window no longer counts",
  async (t) => {
    const clocks = new BucketClocks();
    const lease = clocks.acquire(5);
    t.teardown(() => lease.release());
    const settings = { volumeThreshold: 2, errorThresholdPercent: 50, rollingWindowMs: 10, rollingBuckets: 2 };
    const fail = () => Promise.reject(new Error('boom'));
    const rotated = createServiceBreaker({
      ...settings,
      isFailure: () => true,
      rotateBucketController: lease.controller,
    });
    const frozen = createServiceBreaker({
      ...settings,
      isFailure: () => true,
      rotateBucketController: new EventEmitter(),
    });
    t.teardown(() => rotated.close());
    t.teardown(() => frozen.close());
    await t.throwsAsync(rotated.run(fail));
    await t.throwsAsync(frozen.run(fail));
    // Two rotations: the two-bucket window has moved past the first failure.
    await rotations(lease.controller, 2);
    await t.throwsAsync(rotated.run(fail));
    await t.throwsAsync(frozen.run(fail));
    t.is(rotated.state, 'closed', 'one failure in the window: below the volume threshold');
    t.is(frozen.state, 'open', 'without rotation both failures are in the window');
  },
);

test.serial(
  "a Mesh with breakers on many Services runs one timer per bucket length, none of opossum's, and stops them on close",
  async (t) => {
    const pods = await Promise.all(
      [1, 2, 3].map((i) => createHttpTestServer(t, { host: `127.0.242.${10 + i}`, name: `p${i}` })),
    );
    const tracker = trackResources(['Timeout']);
    t.teardown(() => tracker.stop());
    const mesh = new Mesh({
      source: shopSource({ a: [pods[0]!], b: [pods[1]!], c: [pods[2]!] }),
      context: { namespace: 'shop', resolvConf: '', env: {} },
      circuitBreaker: true, // 10 buckets of 1 s
      services: { 'c.shop': { circuitBreaker: { rollingWindowMs: 5000 } } }, // 10 buckets of 500 ms
    });
    t.teardown(() => mesh.destroy());
    for (const name of ['a', 'b', 'c', 'a.shop']) t.is((await mesh.fetch(`http://${name}/`)).status, 200);
    t.is(
      timersFrom(tracker, OPOSSUM),
      0,
      tracker
        .origins()
        .filter((s) => OPOSSUM.test(s))
        .join('\n'),
    );
    t.is(timersFrom(tracker, CLOCK), 2);
    await mesh.close();
    t.true(await settle(() => timersFrom(tracker, CLOCK) === 0), tracker.origins().join('\n'));
  },
);
