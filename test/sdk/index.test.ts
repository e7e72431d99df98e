// Public entries of @clusterip/sdk (`.` and `./testing`): every export is documented (TSDoc), and every exported
// function, class and constant shows an @example (conventions §18). Reads their sources with the TypeScript compiler.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const entries = ['index.ts', 'testing/index.ts'];

interface Finding {
  readonly name: string;
  /** `value`: a function, class or constant (needs an @example); `type`: an interface or type alias. */
  readonly kind: 'value' | 'type';
  readonly documented: boolean;
  readonly example: boolean;
}

function exportsOf(file: string): Finding[] {
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  if (source === undefined) throw new Error(`cannot read ${file}`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (moduleSymbol === undefined) throw new Error(`${file} is not a module`);
  return checker.getExportsOfModule(moduleSymbol).map((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declarations = symbol.getDeclarations() ?? [];
    const kind =
      symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable) ? 'value' : 'type';
    const tags = declarations.flatMap((d) => ts.getJSDocTags(d));
    return {
      name: exported.getName(),
      kind,
      documented: ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== '',
      example: tags.some((tag) => tag.tagName.text === 'example'),
    };
  });
}

const findings = entries.flatMap((entry) =>
  exportsOf(`${root}packages/sdk/src/${entry}`).map((f) => ({ ...f, name: `${entry}: ${f.name}` })),
);

test('the entry exports what the API promises', (t) => {
  const names = findings.map((f) => f.name);
  for (const name of ['createBalancer', 'eligibleEndpoints', 'affinityKeyFrom', 'classify', 'CHANNEL_NAMES']) {
    t.true(names.includes(`index.ts: ${name}`), name);
  }
  for (const name of ['createMockUpstream', 'StaticSource', 'MockUpstream', 'MockPod', 'MockRequest']) {
    t.true(names.includes(`testing/index.ts: ${name}`), name);
  }
});

test('every export has TSDoc', (t) => {
  t.deepEqual(
    findings.filter((f) => !f.documented).map((f) => f.name),
    [],
  );
});

test('every exported function, class and constant has an @example', (t) => {
  t.deepEqual(
    findings.filter((f) => f.kind === 'value' && !f.example).map((f) => f.name),
    [],
  );
});

test('the check itself sees a missing comment and a missing example', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-docs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'entry.ts');
  await writeFile(
    file,
    [
      '/** Documented. */ export function a(): void {}',
      'export function b(): void {}',
      '/**\n * @example\n * c()\n */ export function c(): void {}',
      '/** Documented. */ export interface D {}',
      '/** Documented. */ export const E = 1;',
    ].join('\n'),
  );
  t.deepEqual(
    exportsOf(file).map((x) => [x.name, x.kind, x.documented, x.example]),
    [
      ['a', 'value', true, false],
      ['b', 'value', false, false],
      ['c', 'value', false, true],
      ['D', 'type', true, false],
      ['E', 'value', true, false],
    ],
  );
});
