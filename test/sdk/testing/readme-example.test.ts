// The "Testing your code" example of packages/sdk/README.md cannot rot: readme-example.ts holds the same code
// (type-checked by tsc -b); this test checks both are identical, runs it and checks what it prints.

import test from 'ava';
import { assertReadmeExample, captureConsoleLog } from '../../helpers/readme-example.js';

test('readme-example.ts is the README "Testing your code" example, verbatim', async (t) => {
  await assertReadmeExample(t, {
    readme: 'packages/sdk/README.md',
    heading: 'Testing your code',
    example: 'test/sdk/testing/readme-example.ts',
  });
});

test('the README example runs and prints what the README says', async (t) => {
  const lines = await captureConsoleLog(() => import('./readme-example.js'));
  t.is(lines.length, 3);
  t.is(lines[0]?.[0], 200);
  const body = lines[0]?.[1] as { path: string; pod: string };
  t.is(body.path, '/items/42');
  t.regex(body.pod, /^orders-[0-2]$/);
  const pods = lines[1]?.[0] as [string, string, number][];
  const first = body.pod === 'orders-0' ? 1 : 0;
  const second = body.pod === 'orders-1' ? 1 : 0;
  const third = body.pod === 'orders-2' ? 1 : 0;
  t.deepEqual(pods, [
    ['orders-0', 'crashed', first],
    ['orders-1', 'not-ready', second],
    ['orders-2', 'ready', third + 5],
  ]);
  t.deepEqual(lines[2], [6, 1]);
});
