import { LocalCluster } from '@clusterip/sdk/cluster';
import test from 'ava';
import { settle, trackResources } from '../../helpers/leak-check.js';
import { addressRange, webManifest } from './cluster-fixtures.js';

// Alone in its file: the resource tracker sees the whole worker process.
test('close() stops every container and the API server, leaving no handles', async (t) => {
  const tracker = trackResources(['TCPWRAP', 'TCPSERVERWRAP', 'Timeout']);
  t.teardown(() => tracker.stop());
  const cluster = await LocalCluster.start({ addresses: addressRange(93, 8), readyDelayMs: 5 });
  await cluster.apply(webManifest('shop', 2));
  const [pod] = cluster.pods({ namespace: 'shop' });
  await (await fetch(`http://${pod!.ip}:8080/`, { headers: { connection: 'close' } })).text();
  await cluster.crash(pod!.name);
  await cluster.close();
  const clean = await settle(() => tracker.live().size === 0);
  t.true(clean, `left behind: ${[...tracker.live()].join(', ')}\n${tracker.origins().join('\n---\n')}`);
  t.is((await fetch(`http://${pod!.ip}:8080/`).catch((e: Error) => e)) instanceof Error, true);
});
