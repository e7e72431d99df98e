// Example test (packages/examples/src/testing-with-fake-api): runs the example's own node:test suite (a user
// testing their service against FakeKubernetesApi), then the checkout program itself against an emulated cluster.

import test from 'ava';
import { createExampleService, exampleEnv, examplePath, runExample } from './run-example.js';

test("the example's node:test suite passes: all four tests against the fake API and loopback pods", async (t) => {
  const { stdout } = await runExample(
    t,
    examplePath('testing-with-fake-api', 'checkout.test.js'),
    [],
    { PATH: process.env.PATH ?? '' },
    { nodeArgs: ['--test', '--test-reporter=tap'], timeoutMs: 30_000 },
  );
  t.log(stdout.split('\n').filter((l) => /^(not )?ok |^# (pass|fail)/.test(l)));
  t.regex(stdout, /^ok 1 - prices a cart with the inventory Service$/m);
  t.regex(stdout, /^ok 2 - calls are balanced over every inventory pod$/m);
  t.regex(stdout, /^ok 3 - an unknown sku or too little stock is a CheckoutError with its code$/m);
  t.regex(stdout, /^ok 4 - no ready inventory pod: INVENTORY_UNAVAILABLE, caused by CLUSTERIP_ERR_NO_ENDPOINTS$/m);
  t.regex(stdout, /^# pass 4$/m);
  t.regex(stdout, /^# fail 0$/m);
});

test('the checkout program prices a cart through KUBECONFIG, and reports a missing inventory by its code', async (t) => {
  const { cluster } = await createExampleService(t, {
    service: 'inventory',
    app: 'inventory',
    count: 2,
    subnet: 95,
    handler: (req, res) => {
      const prices: Record<string, number> = { '/items/apple': 120, '/items/pear': 95 };
      const price = prices[req.url ?? ''];
      res.writeHead(price === undefined ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(price === undefined ? {} : { price, stock: 5 }));
    },
  });
  const env = await exampleEnv(t, cluster.api, 'shop');
  const main = examplePath('testing-with-fake-api');

  const { stdout } = await runExample(t, main, ['apple:3', 'pear:1'], env);
  t.log(stdout);
  t.is(stdout, '3 × apple at 120\n1 × pear at 95\ntotal 455\n');

  const failed = await runExample(t, main, ['kiwi:1'], env).then(
    () => '',
    (error: Error) => error.message,
  );
  t.regex(failed, /UNKNOWN_SKU: checkout: unknown sku "kiwi"/);
});
