import type { Endpoint } from '@clusterip/resolver';
import { countEndpoints } from '@clusterip/sdk/internal/telemetry/endpoint-counts.js';
import test from 'ava';

const ep = (ip: string, c: Partial<Endpoint['conditions']> = {}, nodeName = 'node-a'): Endpoint => ({
  address: ip,
  port: 8080,
  protocol: 'TCP',
  addressType: 'IPv4',
  conditions: { ready: true, serving: true, terminating: false, ...c },
  nodeName,
});

const cluster = { internalTrafficPolicy: 'Cluster', publishNotReadyAddresses: false } as const;

test('conditions overlap as in Kubernetes; skipped endpoints are explained', (t) => {
  const ready = ep('10.0.0.1');
  const terminating = ep('10.0.0.2', { ready: false, serving: true, terminating: true });
  const notReady = ep('10.0.0.3', { ready: false, serving: false });
  const otherZone = ep('10.0.0.4');
  const counts = countEndpoints([ready, terminating, notReady, otherZone], [ready], cluster, {});
  t.deepEqual(counts, {
    total: 4,
    ready: 2,
    serving: 3,
    terminating: 1,
    eligible: 1,
    skipped: { notReady: 1, terminating: 1, otherNode: 0, otherZone: 1 },
  });
});

test('Local policy: endpoints on other nodes are skipped as other-node', (t) => {
  const local = ep('10.0.0.1', {}, 'node-a');
  const remote = ep('10.0.0.2', {}, 'node-b');
  const counts = countEndpoints(
    [local, remote],
    [local],
    { ...cluster, internalTrafficPolicy: 'Local' },
    { nodeName: 'node-a' },
  );
  t.is(counts.skipped.otherNode, 1);
  t.is(counts.eligible, 1);
});

test('terminating endpoints used as fallback count as eligible', (t) => {
  const a = ep('10.0.0.1', { ready: false, serving: true, terminating: true });
  const counts = countEndpoints([a], [a], cluster, {});
  t.is(counts.eligible, 1);
  t.is(counts.skipped.terminating, 0);
});

test('headless Service: no proxy applies its Local policy, so a skipped endpoint on another node is not ready, not other-node', (t) => {
  const remote = ep('10.0.0.1', {}, 'node-b');
  const remoteNotReady = ep('10.0.0.2', { ready: false, serving: false }, 'node-b');
  const counts = countEndpoints(
    [remote, remoteNotReady],
    [remote],
    { ...cluster, internalTrafficPolicy: 'Local', headless: true },
    { nodeName: 'node-a' },
  );
  t.deepEqual(counts.skipped, { notReady: 1, terminating: 0, otherNode: 0, otherZone: 0 });
});
