import { FakeKubernetesApi } from '@clusterip/resolver/testing';
import test from 'ava';
import { call, watch } from './http-client.js';

function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

test('close() leaves no sockets, servers or timers behind', async (t) => {
  const before = handles();
  const api = await FakeKubernetesApi.start({ bookmarkIntervalMs: 10 });
  api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } });
  const w = await watch(`${api.url}/api/v1/services?watch=1&allowWatchBookmarks=true`);
  api.slow({ delayMs: 60_000, path: '/slow' });
  const slowCall = call(`${api.url}/slow`).catch(() => 'failed');
  api.stall({ path: '/stalled' });
  const stalledCall = call(`${api.url}/stalled`).catch(() => 'failed');
  await api.waitForRequest({ path: '/stalled' });
  await api.waitForRequest({ path: '/slow' });
  t.true((handles().TCPSocketWrap ?? 0) > (before.TCPSocketWrap ?? 0));
  await api.close();
  t.is(await slowCall, 'failed');
  t.is(await stalledCall, 'failed');
  await w.rest();
  // Destroyed sockets release their handles in close callbacks a few turns later; poll a bounded
  // number of event-loop turns (no timers).
  const settled = () => (handles().TCPSocketWrap ?? 0) <= (before.TCPSocketWrap ?? 0);
  for (let i = 0; i < 1000 && !settled(); i++) await new Promise<void>((resolve) => setImmediate(resolve));
  const after = handles();
  t.is(after.TCPServerWrap ?? 0, before.TCPServerWrap ?? 0);
  t.is(after.TCPSocketWrap ?? 0, before.TCPSocketWrap ?? 0);
  t.is(after.Timeout ?? 0, before.Timeout ?? 0);
});
