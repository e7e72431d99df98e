#!/usr/bin/env node
// The full test suite: install dependencies, check the tools the tests need, build, lint, run ava.
// Usage: npm test [-- <ava arguments>]. Works on a fresh machine with only Node and npm.
// Writes a one-line JSON summary to $CLUSTERIP_SUMMARY_FILE when set (used by .ci/run).

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureKnot, pnpm, run } from './tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const started = Date.now();

pnpm(['install', '--frozen-lockfile']);
ensureKnot();
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b']);
run(process.execPath, [join(root, 'node_modules/@biomejs/biome/bin/biome'), 'ci', '.']);

console.log(`\n> ava on node ${process.version}`);
const ava = spawnSync(
  process.execPath,
  [join(root, 'node_modules/ava/entrypoints/cli.mjs'), ...process.argv.slice(2)],
  {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
    maxBuffer: 256 * 1024 * 1024,
  },
);
process.stdout.write(ava.stdout ?? '');
process.stderr.write(ava.stderr ?? '');

const output = `${ava.stdout ?? ''}\n${ava.stderr ?? ''}`;
const count = (pattern) => [...output.matchAll(pattern)].reduce((n, m) => n + Number(m[1]), 0);
// ava prints "N tests passed" only when nothing failed; otherwise count the ✔ lines it printed per test.
const passed = Math.max(count(/^\s*(\d+) tests? passed/gm), (output.match(/^\s*✔ /gm) ?? []).length);
let failed =
  count(/^\s*(\d+) tests? failed/gm) +
  count(/^\s*(\d+) uncaught exceptions?/gm) +
  count(/^\s*(\d+) unhandled rejections?/gm) +
  count(/^\s*(\d+) tests? remained pending/gm) +
  count(/^\s*(\d+) tests? timed out/gm);
if (ava.status !== 0 && failed === 0) failed = 1;
if (passed === 0 && failed === 0) failed = 1; // a run that executed nothing is a failure

const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`\nnode ${process.version}: ${passed} tests passed, ${failed} failed (${seconds} s)`);
if (process.env.CLUSTERIP_SUMMARY_FILE) {
  writeFileSync(process.env.CLUSTERIP_SUMMARY_FILE, JSON.stringify({ node: process.version, passed, failed }));
}
process.exit(failed === 0 ? 0 : 1);
