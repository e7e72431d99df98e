import type { SourceEvent } from '@clusterip/resolver';
import { StaticSource } from '@clusterip/resolver/testing';
import { DeferredSource } from '@clusterip/sdk/internal/mesh/deferred-source.js';
import test from 'ava';

const query = {
  fqdn: 'web.shop.svc.cluster.local.',
  name: { kind: 'service', namespace: 'shop', service: 'web' },
  port: 80,
} as const;

test('watches start once the real source exists and see its events', async (t) => {
  let resolve!: (s: StaticSource) => void;
  const deferred = new DeferredSource(new Promise((r) => (resolve = r)));
  t.is(deferred.kind, 'deferred');
  const events: SourceEvent[] = [];
  const got = new Promise<void>((done) => {
    deferred.watch(query, (e) => {
      events.push(e);
      if (e.type === 'update') done();
    });
  });
  resolve(
    new StaticSource([{ namespace: 'shop', name: 'web', ports: [{ port: 80 }], endpoints: [{ address: '10.0.0.1' }] }]),
  );
  await got;
  t.is(deferred.kind, 'static');
  t.true(events.some((e) => e.type === 'update' && e.update.type === 'reset'));
  await deferred.close();
  t.is(deferred.close(), deferred.close());
});

test('a source that cannot be created reports a stale event to each watch, never a throw', async (t) => {
  const deferred = new DeferredSource(Promise.reject(new Error('no kubeconfig')));
  const event = await new Promise<SourceEvent>((done) => deferred.watch(query, done));
  t.is(event.type, 'stale');
  t.is(event.type === 'stale' ? event.error.code : '', 'CLUSTERIP_ERR_WATCH_FAILED');
  await deferred.close();
});

test('a watch closed before the source exists never calls back', async (t) => {
  let resolve!: (s: StaticSource) => void;
  const deferred = new DeferredSource(new Promise((r) => (resolve = r)));
  let calls = 0;
  const watch = deferred.watch(query, () => calls++);
  await watch.close();
  resolve(new StaticSource());
  await deferred.ready;
  await new Promise((r) => setImmediate(r));
  t.is(calls, 0);
  await deferred.close();
});
