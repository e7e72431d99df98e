// Test helper for README examples kept as compiled modules: finds a README's ```ts block, compares it with
// the module's source, and captures what the module prints. Consumes files of this repository; produces assertions.

import { readFile } from 'node:fs/promises';
import type { ExecutionContext } from 'ava';

/** The repository root (this file runs from build/test/helpers/). */
const root = new URL('../../../', import.meta.url);

/**
 * The first ```ts block after the line `## <heading>` of `markdown`, or undefined when there is none.
 *
 * @example
 * ```ts
 * readmeBlock('## Example\n\n```ts\nconst a = 1;\n```\n', 'Example') // 'const a = 1;\n'
 * ```
 */
export function readmeBlock(markdown: string, heading: string): string | undefined {
  const title = heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^## ${title}\\n[\\s\\S]*?^\`\`\`ts\\n([\\s\\S]*?)^\`\`\`$`, 'm').exec(markdown)?.[1];
}

/**
 * A module's source without its header comment (leading `//` lines and one blank line).
 *
 * @example
 * ```ts
 * withoutHeader('// header\n\nimport x;\n') // 'import x;\n'
 * ```
 */
export function withoutHeader(source: string): string {
  return source.replace(/^(?:\/\/.*\n)+\n/, '');
}

/**
 * Assert that `example` (a path from the repository root) below its header is, to the letter, the first
 * ts block under `## <heading>` of `readme`.
 *
 * @example
 * ```ts
 * await assertReadmeExample(t, { readme: 'packages/sdk/README.md', heading: 'Example', example: 'test/sdk/readme-example.ts' })
 * ```
 */
export async function assertReadmeExample(
  t: ExecutionContext,
  options: { readme: string; heading: string; example: string },
): Promise<void> {
  const readme = await readFile(new URL(options.readme, root), 'utf8');
  const source = await readFile(new URL(options.example, root), 'utf8');
  const block = readmeBlock(readme, options.heading);
  if (block === undefined) {
    t.fail(`no "## ${options.heading}" ts block in ${options.readme}`);
    return;
  }
  t.is(withoutHeader(source), block, `edit ${options.readme} and ${options.example} together`);
}

/**
 * Run `body` (typically importing the example) and return the argument lists of every `console.log`
 * call it made meanwhile; console.log is restored afterwards, also when `body` throws.
 *
 * @example
 * ```ts
 * const lines = await captureConsoleLog(() => import('./readme-example.js'))
 * ```
 */
export async function captureConsoleLog(body: () => Promise<unknown>): Promise<unknown[][]> {
  const lines: unknown[][] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    lines.push(args);
  };
  try {
    await body();
  } finally {
    console.log = log;
  }
  return lines;
}
