import type { ServiceSnapshot } from '@clusterip/resolver';
import test from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';

test('pods published by the emulated controller resolve through KubernetesSource with per-pod target ports', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'backend-service' },
    spec: { selector: { app: 'backend' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  cluster.addPod({ name: 'backend-1', ip: '127.0.0.11', labels: { app: 'backend' }, ports: { http: 40001 } });
  cluster.addPod({ name: 'backend-2', ip: '127.0.0.12', labels: { app: 'backend' }, ports: { http: 40002 } });

  const seen: ServiceSnapshot[] = [];
  const twoReady = new Promise<ServiceSnapshot>((resolve) => {
    const watch = cluster.resolver.watch('backend-service:http', (s) => {
      seen.push(s);
      if (s.endpoints.filter((e) => e.conditions.ready).length === 2) resolve(s);
    });
    t.teardown(() => watch.close());
  });
  const snap = await twoReady;
  t.is(snap.fqdn, 'backend-service.shop.svc.cluster.local.');
  t.deepEqual(snap.endpoints.map((e) => `${e.address}:${e.port}`).sort(), ['127.0.0.11:40001', '127.0.0.12:40002']);
  t.is(snap.service?.name, 'backend-service');

  const terminating = new Promise<ServiceSnapshot>((resolve) => {
    const watch = cluster.resolver.watch('backend-service:http', (s) => {
      const e = s.endpoints.find((x) => x.address === '127.0.0.11');
      if (e?.conditions.terminating) resolve(s);
    });
    t.teardown(() => watch.close());
  });
  cluster.terminate('backend-1');
  const after = await terminating;
  const e1 = after.endpoints.find((x) => x.address === '127.0.0.11');
  t.deepEqual(e1?.conditions, { ready: false, serving: true, terminating: true });
});
