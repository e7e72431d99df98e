// @clusterip/sdk/testing createMockUpstream: bad options fail before any pod starts, and close() leaves
// nothing behind. Serial: both count the process's resources, which other tests' servers would change.

import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { createMockUpstream, type MockUpstreamOptions } from '@clusterip/sdk/testing';
import test from 'ava';
import { activeResources, grownResources, settle, trackResources } from '../../helpers/leak-check.js';

test.serial('options are validated before any pod starts', async (t) => {
  const cases: [unknown, string][] = [
    [undefined, 'CLUSTERIP_ERR_INVALID_ARG'],
    [{}, 'CLUSTERIP_ERR_INVALID_ARG'],
    [{ name: 'Orders' }, 'CLUSTERIP_ERR_INVALID_NAME'],
    [{ name: 'orders', namespace: 'a_b' }, 'CLUSTERIP_ERR_INVALID_NAME'],
    [{ name: 'orders', replicas: 101 }, 'CLUSTERIP_ERR_INVALID_ARG'],
    [{ name: 'orders', replicas: 1.5 }, 'CLUSTERIP_ERR_INVALID_ARG'],
    [{ name: 'orders', port: 0 }, 'CLUSTERIP_ERR_INVALID_ARG'],
    [{ name: 'orders', portName: 'HTTP' }, 'CLUSTERIP_ERR_INVALID_NAME'],
    [{ name: 'orders', host: 'localhost' }, 'CLUSTERIP_ERR_INVALID_ARG'],
    [{ name: 'orders', handler: 'echo' }, 'CLUSTERIP_ERR_INVALID_ARG'],
    [{ name: 'orders', spec: 'ClientIP' }, 'CLUSTERIP_ERR_INVALID_ARG'],
    [{ name: 'orders', source: {} }, 'CLUSTERIP_ERR_INVALID_ARG'],
    [{ name: 'orders', drainDelayMs: -1 }, 'CLUSTERIP_ERR_INVALID_ARG'],
    [{ name: 'orders', terminationGraceMs: '1s' }, 'CLUSTERIP_ERR_INVALID_ARG'],
    [{ name: 'orders', replica: 2 }, 'CLUSTERIP_ERR_INVALID_ARG'],
  ];
  const before = activeResources();
  for (const [options, code] of cases) {
    await t.throwsAsync(createMockUpstream(options as MockUpstreamOptions), { code }, JSON.stringify(options));
  }
  t.deepEqual(grownResources(before, activeResources()), []);
});

test.serial(
  'close() is idempotent, leaves no socket or timer behind, and later commands reject with CLUSTERIP_ERR_CLOSED',
  async (t) => {
    const tracker = trackResources();
    t.teardown(() => tracker.stop());
    let arrived!: () => void;
    const firstRequest = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const svc = await createMockUpstream({
      name: 'closing',
      replicas: 2,
      drainDelayMs: 60_000,
      handler: () => arrived(),
    });
    const [first, second] = svc.pods;
    const req = httpRequest({ host: first?.address, port: first?.port, path: '/' });
    const failed = once(req, 'error');
    req.end();
    await firstRequest; // and never answered
    const draining = second?.terminate(); // sleeps 60 s in its drain delay
    while (second?.state !== 'terminating') await new Promise((resolve) => setImmediate(resolve));

    const closing = svc.close();
    t.is(svc.close(), closing);
    t.true(svc.closed);
    await closing;
    await draining;
    t.is(((await failed) as [NodeJS.ErrnoException])[0].code, 'ECONNRESET');
    t.true(svc.source.closed);
    t.deepEqual(
      svc.pods.map((p) => p.state),
      [],
    );
    await t.throwsAsync(svc.scale(1), { code: 'CLUSTERIP_ERR_CLOSED' });
    t.true(await settle(() => tracker.live().size === 0), tracker.origins().join('\n'));
  },
);
