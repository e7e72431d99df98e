#!/usr/bin/env node
// The full test suite: install dependencies, check the tools the tests need, build, lint, then run ava
// twice: the main suite (unit, integration, examples, CLI) and the reliability suite (load, faults,
// fuzzing, hygiene; reliability.ava.config.mjs). Works on a fresh machine with only Node and npm.
// Usage: npm test [-- <ava arguments>]: with arguments, only the main suite runs, with them
// (`npm run test:reliability` runs the other part alone).
// Writes a one-line JSON summary to $CLUSTERIP_SUMMARY_FILE when set (used by .ci/run).

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureKnot, pnpm, run, runAva } from './tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const started = Date.now();
const avaArgs = process.argv.slice(2);

pnpm(['install', '--frozen-lockfile']);
ensureKnot();
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b']);
run(process.execPath, [join(root, 'node_modules/@biomejs/biome/bin/biome'), 'ci', '.']);

console.log(`\n> main suite (ava) on node ${process.version}`);
const main = runAva(root, avaArgs);
let passed = main.passed;
let failed = main.failed;
if (avaArgs.length === 0) {
  console.log(`\n> reliability suite (ava) on node ${process.version}`);
  const reliability = runAva(root, ['--config', 'reliability.ava.config.mjs']);
  passed += reliability.passed;
  failed += reliability.failed;
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`\nnode ${process.version}: ${passed} tests passed, ${failed} failed (${seconds} s)`);
if (process.env.CLUSTERIP_SUMMARY_FILE) {
  writeFileSync(process.env.CLUSTERIP_SUMMARY_FILE, JSON.stringify({ node: process.version, passed, failed }));
}
process.exit(failed === 0 ? 0 : 1);
