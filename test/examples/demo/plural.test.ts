// The demo's counts in words (packages/examples/src/demo/plural.ts): singular for 1, plural otherwise.

import test from 'ava';

type PluralModule = typeof import('../../../packages/examples/dist/demo/plural.js');
// build/test/examples/demo/ → packages/examples/dist/demo/ (the examples package exports nothing).
const { plural } = (await import(
  new URL('../../../../packages/examples/dist/demo/plural.js', import.meta.url).href
)) as PluralModule;

test('plural: one for 1, many for 0 and more', (t) => {
  const cases: [number, string, string | undefined, string][] = [
    [1, 'attempt', undefined, '1 attempt'],
    [0, 'attempt', undefined, '0 attempts'],
    [3, 'failed request', undefined, '3 failed requests'],
    [1, 'miss', 'misses', '1 miss'],
    [2, 'miss', 'misses', '2 misses'],
  ];
  for (const [n, one, many, expected] of cases) t.is(plural(n, one, many), expected);
});
