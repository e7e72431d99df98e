#!/usr/bin/env node
// The reliability suite alone (`npm test` runs it after the main suite): install dependencies, check the
// tools the tests need, build, run ava with reliability.ava.config.mjs (test/reliability/**: load,
// faults, fuzzing, hygiene). Usage: npm run test:reliability [-- <ava arguments>].
// Prints "node vX: N tests passed, N failed" and writes the same JSON summary as scripts/test.mjs to
// $CLUSTERIP_SUMMARY_FILE when set.

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureKnot, pnpm, run, runAva } from './tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const started = Date.now();

pnpm(['install', '--frozen-lockfile']);
ensureKnot();
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b']);

console.log(`\n> reliability suite (ava) on node ${process.version}`);
const { passed, failed } = runAva(root, ['--config', 'reliability.ava.config.mjs', ...process.argv.slice(2)]);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`\nnode ${process.version}: ${passed} tests passed, ${failed} failed (${seconds} s)`);
if (process.env.CLUSTERIP_SUMMARY_FILE) {
  writeFileSync(process.env.CLUSTERIP_SUMMARY_FILE, JSON.stringify({ node: process.version, passed, failed }));
}
process.exit(failed === 0 ? 0 : 1);
