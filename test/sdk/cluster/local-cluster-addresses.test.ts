// Pod addresses of the local cluster: one taken by another process is skipped (HTTP and gRPC images), a
// taken one with nowhere to go fails the waits with AddressInUseError, an exhausted pool with
// AddressPoolExhaustedError.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressInUseError, LocalCluster } from '@clusterip/sdk/cluster';
import test, { type ExecutionContext } from 'ava';
import { grpcManifest, startCluster, webManifest } from './cluster-fixtures.js';

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

/** A plain TCP listener on `host:port` standing for another process; closed in teardown. */
async function squat(t: ExecutionContext, host: string, port: number): Promise<void> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

test('a gRPC pod whose address is taken moves to the next free one too', async (t) => {
  t.timeout(20_000, 'before the fix the pod crash-looped and the rollout never completed');
  await squat(t, '127.0.98.21', 9090);
  const cluster = await startCluster(t, { addresses: { first: '127.0.98.21', last: '127.0.98.25' } });
  await cluster.apply(grpcManifest('grpc', 1));
  const [pod] = cluster.pods({ namespace: 'grpc' });
  t.is(pod?.ip, '127.0.98.22');
  t.true(pod?.ready);
  t.true(cluster.warnings.some((w) => w.includes('127.0.98.21 is in use by another process: moved to 127.0.98.22')));
});

test('an address in use with nowhere to move: the wait fails at once with AddressInUseError naming ip:port', async (t) => {
  t.timeout(20_000, 'before the fix the pod crash-looped and the wait hung');
  await squat(t, '127.0.98.31', 8080);
  await squat(t, '127.0.98.32', 8080);
  const cluster = await startCluster(t, { addresses: { first: '127.0.98.31', last: '127.0.98.32' } });
  const error = await t.throwsAsync(cluster.apply(webManifest('shop', 1)), { instanceOf: AddressInUseError });
  t.is(error?.code, 'CLUSTERIP_ERR_ADDRESS_IN_USE');
  t.is(error?.address, '127.0.98.32:8080');
  t.regex(error?.pod ?? '', /^shop\/web-/);
  t.regex(
    error?.message ?? '',
    /^local cluster: pod shop\/web-\S+: address 127\.0\.98\.32:8080 is in use by another process \(another local cluster\?\): stop it, or give this cluster addresses of its own \(options\.addresses, or clusterip cluster up --addresses /,
  );
  t.is((error?.cause as NodeJS.ErrnoException | undefined)?.code, 'EADDRINUSE');
});

test('starting a cluster whose manifests cannot be placed rejects instead of hanging', async (t) => {
  t.timeout(20_000, 'before the fix LocalCluster.start never settled');
  await squat(t, '127.0.98.41', 9090);
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-addresses-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'grpc.yaml'), grpcManifest('grpc', 1));
  await t.throwsAsync(
    LocalCluster.start({
      manifests: [dir],
      addresses: { first: '127.0.98.41', last: '127.0.98.41' },
      readyDelayMs: 10,
    }),
    { code: 'CLUSTERIP_ERR_ADDRESS_IN_USE', message: /address 127\.0\.98\.41:9090 is in use/ },
  );
});
