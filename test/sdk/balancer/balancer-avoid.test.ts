import { createBalancer, type PickResult } from '@clusterip/sdk';
import test from 'ava';
import { ep } from '../fixtures.js';

const A = ep('10.0.0.1');
const B = ep('10.0.0.2');
const C = ep('10.0.0.3');
const key = (e: { address: string; port: number }) => `${e.address}:${e.port}`;

function picked(r: PickResult): string {
  if (r.type !== 'pick') return r.type;
  r.done({ type: 'success' });
  return r.endpoint.address;
}

// A retried call must go to an endpoint it has not failed on whenever one exists, whatever the policy:
// a probabilistic re-pick would send it back to the failing pod now and then (1 in 32 with 2 pods and 5 tries).
for (const policy of ['random', 'round-robin', 'least-request', 'peak-ewma', 'ring-hash'] as const) {
  test(`${policy}: avoid steers every pick away from the listed endpoints while another is usable`, (t) => {
    const b = createBalancer({ policy, outlierDetection: false });
    b.update([A, B]);
    for (let i = 0; i < 500; i++) {
      t.is(picked(b.pick({ avoid: [key(A)], affinityKey: `k${i}` })), B.address);
    }
    b.update([A, B, C]);
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) seen.add(picked(b.pick({ avoid: [key(A)], affinityKey: `k${i}` })));
    t.false(seen.has(A.address));
    t.true(seen.has(B.address) || seen.has(C.address));
  });
}

test('with every endpoint avoided the pick is made as if nothing were avoided', (t) => {
  const b = createBalancer({ policy: 'round-robin' });
  b.update([A, B]);
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) seen.add(picked(b.pick({ avoid: [key(A), key(B)] })));
  t.deepEqual([...seen].sort(), [A.address, B.address]);
});

test('ClientIP affinity with a fresh key also honours avoid', (t) => {
  const b = createBalancer({ policy: 'random', sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } });
  b.update([A, B]);
  for (let i = 0; i < 200; i++) t.is(picked(b.pick({ affinityKey: `retry-${i}`, avoid: [key(B)] })), A.address);
});
