// Example test (packages/examples/src/affinity-by-header): three cart pods in an emulated cluster; the
// compiled program sends interleaved requests for six users and must show each user pinned to one pod.

import test from 'ava';
import { createExampleService, exampleEnv, examplePath, runExample } from './run-example.js';

test('affinity by header: the same x-user-id always reaches the same pod, different users spread over all pods', async (t) => {
  const { cluster, pods } = await createExampleService(t, {
    service: 'cart',
    app: 'cart',
    count: 3,
    subnet: 93,
    handler: (_req, res, pod) => res.end(`${pod.name}\n`),
  });

  const env = await exampleEnv(t, cluster.api, 'shop', { REQUESTS_PER_USER: '5' });
  const { stdout } = await runExample(t, examplePath('affinity-by-header'), [], env);
  t.log(stdout);
  const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
  const podOf = new Map<string, string>();
  for (const user of users) {
    const m = new RegExp(`^${user}\\s+→ ((?:cart-\\d ?){5})$`, 'm').exec(stdout);
    t.truthy(m, `a line for ${user}`);
    const seen = new Set(m![1]!.trim().split(' '));
    t.is(seen.size, 1, `${user} stayed on one pod`);
    podOf.set(user, [...seen][0]!);
  }
  // Six new keys picked round-robin: two users per pod.
  t.deepEqual([...new Set(podOf.values())].sort(), ['cart-1', 'cart-2', 'cart-3']);
  t.regex(stdout, /^6 users over 3 pods; every user stayed on one pod$/m);
  t.regex(stdout, /^no x-user-id → cart-\d \(the process's own binding\)$/m);
  t.is(
    pods.reduce((sum, p) => sum + p.requests, 0),
    31,
  );
});

test("affinity by header: pods answering JSON (as the local cluster's echo-http) are told apart by their pod field", async (t) => {
  let call = 0;
  const { cluster } = await createExampleService(t, {
    service: 'cart',
    app: 'cart',
    count: 3,
    subnet: 250,
    // echo-http nests the pod its own downstream call reached, which differs from call to call.
    handler: (_req, res, pod) => res.end(JSON.stringify({ pod: pod.name, downstream: { pod: `db-${call++ % 2}` } })),
  });
  const env = await exampleEnv(t, cluster.api, 'shop', { REQUESTS_PER_USER: '3', USERS: 'alice,bob,carol' });
  const { stdout } = await runExample(t, examplePath('affinity-by-header'), [], env);
  t.log(stdout);
  for (const user of ['alice', 'bob', 'carol']) t.regex(stdout, new RegExp(`^${user}\\s+→ (cart-\\d) \\1 \\1$`, 'm'));
  t.regex(stdout, /^3 users over 3 pods; every user stayed on one pod$/m);
  t.regex(stdout, /^no x-user-id → cart-\d \(the process's own binding\)$/m);
});
