import { createServer } from 'node:http';
import test from 'ava';
import { startCluster, webManifest } from './cluster-fixtures.js';

test('an address taken by another process is skipped: the pod moves to the next free one', async (t) => {
  const squatter = createServer((_req, res) => res.end('not a pod'));
  await new Promise<void>((resolve) => squatter.listen(8080, '127.0.98.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  const cluster = await startCluster(t, { addresses: { first: '127.0.98.1', last: '127.0.98.5' } });
  await cluster.apply(webManifest('shop', 1));
  const [pod] = cluster.pods({ namespace: 'shop' });
  t.is(pod?.ip, '127.0.98.2');
  t.true(pod?.ready);
  t.true(cluster.warnings.some((w) => w.includes('127.0.98.1 is in use by another process')));
  t.is((cluster.api.get('Pod', 'shop', pod!.name)?.status as { podIP: string } | undefined)?.podIP, '127.0.98.2');
  t.like(await (await fetch('http://127.0.98.2:8080/')).json(), { pod: pod!.name });
});

test('an exhausted address pool fails the wait with AddressPoolExhaustedError; the pod is placed once an address frees', async (t) => {
  const cluster = await startCluster(t, { addresses: { first: '127.0.98.11', last: '127.0.98.11' } });
  const error = await t.throwsAsync(cluster.apply(webManifest('shop', 2)), {
    code: 'CLUSTERIP_ERR_ADDRESS_POOL_EXHAUSTED',
  });
  t.regex(
    error!.message,
    /^local cluster: pod shop\/web-[a-z0-9]+-[a-z0-9]{5}: no free pod address in 127\.0\.98\.11-127\.0\.98\.11 \(1 in use\)/,
  );
  t.is(cluster.pods({ namespace: 'shop' }).length, 1);
  await cluster.scale('shop', 'web', 1);
  t.is(cluster.pods({ namespace: 'shop' }).filter((p) => p.ready && !p.terminating).length, 1);
  // A new template: the old pod must go before its replacement gets the only address.
  await cluster.apply(webManifest('shop', 1).replace('replicas: 1', 'replicas: 1\n  strategy: {type: Recreate}'));
  await cluster.rollout('shop', 'web', { env: { VERSION: '2' } });
  const [pod] = cluster.pods({ namespace: 'shop' });
  t.is(pod?.ip, '127.0.98.11');
  t.true(pod?.ready);
});
