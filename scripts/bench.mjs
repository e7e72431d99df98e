#!/usr/bin/env node
// The benchmarks: install, build, then run every test/bench/*.bench.ts (compiled) one after another,
// each in its own process. Usage: npm run bench [-- <name filter>], e.g. `npm run bench -- picker`.

import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureKnot, pnpm, run } from './tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const filter = process.argv[2] ?? '';
pnpm(['install', '--frozen-lockfile']);
ensureKnot();
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b']);
const dir = join(root, 'build/test/bench');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js') && f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${JSON.stringify(filter)}`);
  process.exit(1);
}
for (const file of files) {
  console.log(`\n=== ${file.replace(/\.bench\.js$/, '')} (node ${process.version}, ${new Date().toISOString()})`);
  run(process.execPath, ['--conditions=clusterip-internal', '--expose-gc', join(dir, file)]);
}
