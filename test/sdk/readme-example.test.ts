// The README example of @clusterip/sdk cannot rot: readme-example.ts holds the same code (compiled, so
// type-checked, by tsc -b), this test checks it is identical to the README's block, runs it and checks
// what it prints against the comments in the README.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const root = new URL('../../../', import.meta.url);

/** The first ```ts block under "## Example". */
function readmeBlock(markdown: string): string | undefined {
  return /^## Example\n\n```ts\n([\s\S]*?)^```$/m.exec(markdown)?.[1];
}

/** The module's source without its header comment (leading `//` lines and one blank line). */
function withoutHeader(source: string): string {
  return source.replace(/^(?:\/\/.*\n)+\n/, '');
}

test('readme-example.ts is the README example, verbatim', async (t) => {
  const readme = await readFile(new URL('packages/sdk/README.md', root), 'utf8');
  const source = await readFile(new URL('test/sdk/readme-example.ts', root), 'utf8');
  const block = readmeBlock(readme);
  if (block === undefined) return t.fail(`no "## Example" ts block in ${fileURLToPath(root)}packages/sdk/README.md`);
  t.is(withoutHeader(source), block, 'edit packages/sdk/README.md and test/sdk/readme-example.ts together');
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
  t.is(lines.length, 5);
  t.deepEqual(lines[0], ['ok', ['10.0.1.5', '10.0.2.7']]);
  for (const line of lines.slice(1, 4)) {
    t.is(line[0], 'send to');
    t.true(['10.0.1.5:8080', '10.0.2.7:8080'].includes(line[1] as string), String(line[1]));
  }
  t.deepEqual(lines[4], ['fail', 'CLUSTERIP_ERR_NO_ENDPOINTS']);
});

test('the block finder and header stripper do what the first test relies on', (t) => {
  t.is(readmeBlock('# x\n\n## Example\n\n```ts\nconst a = 1;\n```\n\n```ts\nb\n```\n'), 'const a = 1;\n');
  t.is(readmeBlock('## Other\n\n```ts\nx\n```\n'), undefined);
  t.is(withoutHeader('// header\n// two\n\nimport x;\n'), 'import x;\n');
});
