// The "Local cluster" example of packages/sdk/README.md cannot rot: readme-example.ts holds the same code
// (type-checked by tsc -b); this test checks both are identical, runs it and checks what it prints.

import test from 'ava';
import { assertReadmeExample, captureConsoleLog } from '../../helpers/readme-example.js';

test('readme-example.ts is the README "Local cluster" example, verbatim', async (t) => {
  await assertReadmeExample(t, {
    readme: 'packages/sdk/README.md',
    heading: 'Local cluster',
    example: 'test/sdk/cluster/readme-example.ts',
  });
});

test('the README example runs and prints what the README says', async (t) => {
  const lines = await captureConsoleLog(() => import('./readme-example.js'));
  t.is(lines.length, 3);
  const ips = lines[0]?.[0] as string[];
  t.is(new Set(ips).size, 3);
  t.true(ips.every((ip) => ip.startsWith('127.0.96.')));
  t.is(lines[1]?.[0], 200);
  t.regex(String(lines[1]?.[1]), /^web-[a-z0-9]+-[a-z0-9]{5}$/);
  t.deepEqual(lines[2], [1]);
});
