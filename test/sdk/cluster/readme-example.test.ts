// The "Local cluster" example of packages/sdk/README.md cannot rot: readme-example.ts holds the same code
// (type-checked by tsc -b); this test checks both are identical, runs it and checks what it prints.

import { readFile } from 'node:fs/promises';
import test from 'ava';

const root = new URL('../../../../', import.meta.url);

/** The first ```ts block under "## Local cluster". */
function readmeBlock(markdown: string): string | undefined {
  return /^## Local cluster\n[\s\S]*?^```ts\n([\s\S]*?)^```$/m.exec(markdown)?.[1];
}

test('readme-example.ts is the README "Local cluster" example, verbatim', async (t) => {
  const readme = await readFile(new URL('packages/sdk/README.md', root), 'utf8');
  const source = await readFile(new URL('test/sdk/cluster/readme-example.ts', root), 'utf8');
  const block = readmeBlock(readme);
  if (block === undefined) return t.fail('no "## Local cluster" ts block in packages/sdk/README.md');
  t.is(
    source.replace(/^(?:\/\/.*\n)+\n/, ''),
    block,
    'edit packages/sdk/README.md and test/sdk/cluster/readme-example.ts together',
  );
});

test('the README example runs and prints what the README says', async (t) => {
  const lines: unknown[][] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    lines.push(args);
  };
  try {
    await import('./readme-example.js');
  } finally {
    console.log = log;
  }
  t.is(lines.length, 3);
  const ips = lines[0]?.[0] as string[];
  t.is(new Set(ips).size, 3);
  t.true(ips.every((ip) => ip.startsWith('127.0.96.')));
  t.is(lines[1]?.[0], 200);
  t.regex(String(lines[1]?.[1]), /^web-[a-z0-9]+-[a-z0-9]{5}$/);
  t.deepEqual(lines[2], [1]);
});
