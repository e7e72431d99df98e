// The README example of @clusterip/sdk cannot rot: readme-example.ts holds the same code (compiled, so
// type-checked, by tsc -b), this test checks it is identical to the README's block, runs it and checks
// what it prints against the comments in the README.

import test from 'ava';
import { assertReadmeExample, captureConsoleLog, readmeBlock, withoutHeader } from '../helpers/readme-example.js';

test('readme-example.ts is the README example, verbatim', async (t) => {
  await assertReadmeExample(t, {
    readme: 'packages/sdk/README.md',
    heading: 'Example',
    example: 'test/sdk/readme-example.ts',
  });
});

test('the README example runs and prints what the README says', async (t) => {
  const lines = await captureConsoleLog(() => import('./readme-example.js'));
  t.is(lines.length, 5);
  t.deepEqual(lines[0], ['ok', ['10.0.1.5', '10.0.2.7']]);
  for (const line of lines.slice(1, 4)) {
    t.is(line[0], 'send to');
    t.true(['10.0.1.5:8080', '10.0.2.7:8080'].includes(line[1] as string), String(line[1]));
  }
  t.deepEqual(lines[4], ['fail', 'CLUSTERIP_ERR_NO_ENDPOINTS']);
});

test('the block finder and header stripper do what the first test relies on', (t) => {
  t.is(readmeBlock('# x\n\n## Example\n\n```ts\nconst a = 1;\n```\n\n```ts\nb\n```\n', 'Example'), 'const a = 1;\n');
  t.is(readmeBlock('## Other\n\n```ts\nx\n```\n', 'Example'), undefined);
  t.is(readmeBlock('## Local cluster\n\nSome text.\n\n```ts\ny\n```\n', 'Local cluster'), 'y\n');
  t.is(withoutHeader('// header\n// two\n\nimport x;\n'), 'import x;\n');
});
