// Its own file (its own worker): handle counts are per worker, and other tests' sockets must not
// blur them. Collectability (WeakRef + gc) is not checked: ava runs files in worker threads of one
// process and gc cannot be exposed for one file alone.

import { KubernetesSource, Resolver, type ServiceSnapshot } from '@clusterip/resolver';
import { FakeKubernetesApi } from '@clusterip/resolver/testing';
import test from 'ava';
import { activeResources, grownResources, settle, trackResources } from '../../helpers/leak-check.js';

test('Resolver over a KubernetesSource: close() leaves no handles, timers or sockets behind', async (t) => {
  const api = await FakeKubernetesApi.start();
  t.teardown(() => api.close());
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image: 'web', ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: '127.0.0.2', conditions: [{ type: 'Ready', status: 'True' }] },
  });

  const before = activeResources();
  const tracker = trackResources();
  t.teardown(() => tracker.stop());
  const source = new KubernetesSource({ server: api.url, idleTimeoutMs: 60_000 });
  const resolver = new Resolver({ source, context: { namespace: 'shop' }, idleTimeoutMs: 60_000 });
  // A found name (its shared watch stays cached, idle timer armed), a missing one (every search
  // candidate watched), and a watch still open at close time.
  t.is((await resolver.resolve('web:http')).endpoints[0]?.address, '127.0.0.2');
  await t.throwsAsync(resolver.resolve('nope:http'), { code: 'CLUSTERIP_ERR_SERVICE_NOT_FOUND' });
  const seen: ServiceSnapshot[] = [];
  const open = resolver.watch('web.shop:http', (s) => seen.push(s));
  await open.ready;
  await api.waitForWatches({ namespace: 'shop', kind: 'EndpointSlice' });
  t.true((activeResources().get('TCPSocketWrap') ?? 0) > (before.get('TCPSocketWrap') ?? 0), 'connections are open');

  t.true((tracker.live().get('Timeout') ?? 0) > 0, "the tracker sees the armed (unref'd) idle timers");

  const closing = resolver.close();
  t.is(resolver.close(), closing, 'close() returns the same promise');
  await closing;
  t.true(open.closed, 'the resolver closed its watches');
  await source.close(); // the resolver does not close the source it was given
  const count = seen.length;
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-2', namespace: 'shop', labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image: 'web', ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: '127.0.0.3', conditions: [{ type: 'Ready', status: 'True' }] },
  });
  await settle(() => grownResources(before, activeResources()).length === 0 && tracker.live().size === 0);
  t.deepEqual(grownResources(before, activeResources()), [], 'getActiveResourcesInfo(): no new handles');
  t.deepEqual([...tracker.live()], [], `still alive (unref'd included), created at:\n${tracker.origins().join('\n')}`);
  t.is(seen.length, count, 'no snapshot after close()');
  await t.throwsAsync(resolver.resolve('web:http'), { code: 'CLUSTERIP_ERR_CLOSED' });
});
