// Its own file (its own worker): handle counts are per worker, and other tests' sockets must not
// blur them. Collectability (WeakRef + gc) is not checked: ava runs files in worker threads of one
// process and gc cannot be exposed for one file alone.

import { KubernetesSource, type SourceEvent } from '@clusterip/resolver';
import { FakeKubernetesApi } from '@clusterip/resolver/testing';
import test from 'ava';
import { activeResources, grownResources, settle, trackResources } from '../../../helpers/leak-check.js';
import { EventLog, isReset } from './scripted-api.js';

function applyService(api: FakeKubernetesApi, namespace: string, name: string) {
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${name}-1`, namespace, labels: { app: name } },
    spec: { containers: [{ name: 'app', image: name, ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: '127.0.0.2', conditions: [{ type: 'Ready', status: 'True' }] },
  });
}

test('close() with open watches, a stalled list, a pending backoff and an idle timer leaves nothing behind', async (t) => {
  const api = await FakeKubernetesApi.start();
  t.teardown(() => api.close());
  applyService(api, 'shop', 'web');
  applyService(api, 'stalled', 'web');
  applyService(api, 'flaky', 'web');
  const stall = api.stall({ path: '/api/v1/namespaces/stalled/services', watch: false });
  api.failNext({ status: 503, path: /\/namespaces\/flaky\//, count: 1_000_000 });

  const before = activeResources();
  const tracker = trackResources();
  t.teardown(() => tracker.stop());
  const source = new KubernetesSource({
    server: api.url,
    idleTimeoutMs: 60_000,
    backoff: { initialMs: 50, maxMs: 100 },
    requestTimeoutMs: 30_000,
  });
  const delivered: SourceEvent[] = [];
  const watchOf = (namespace: string) => {
    const log = new EventLog();
    const w = source.watch(
      {
        fqdn: `web.${namespace}.svc.cluster.local.`,
        name: { kind: 'service', namespace, service: 'web' },
        port: 'http',
      },
      (event) => {
        delivered.push(event);
        log.listener(event);
      },
    );
    return { log, w };
  };
  const web = watchOf('shop');
  await web.log.next(isReset);
  await api.waitForWatches({ namespace: 'shop' }, 2);
  const stalled = watchOf('stalled');
  await stall.waitForStalled();
  const flaky = watchOf('flaky');
  t.is((await flaky.log.next()).type, 'stale', 'the flaky service is backing off');
  await web.w.close(); // arms the idle timer of web.shop
  t.is(source.watchedServices, 3);
  t.true((activeResources().get('TCPSocketWrap') ?? 0) > (before.get('TCPSocketWrap') ?? 0), 'connections are open');

  t.true((tracker.live().get('Timeout') ?? 0) > 0, "the tracker sees the armed (unref'd) timers");

  const closing = source.close();
  t.is(source.close(), closing, 'close() returns the same promise');
  await closing;
  const count = delivered.length;
  const clean = await settle(() => grownResources(before, activeResources()).length === 0 && tracker.live().size === 0);
  t.deepEqual(grownResources(before, activeResources()), [], 'getActiveResourcesInfo(): no new handles');
  t.deepEqual([...tracker.live()], [], `still alive (unref'd included), created at:\n${tracker.origins().join('\n')}`);
  t.true(clean);
  t.is(delivered.length, count, 'no event after close()');
  await stalled.w.close();
  await flaky.w.close();
});
