#!/usr/bin/env node
// The demo: install, build, then run packages/examples' demo against the embedded local cluster.
// Usage: npm run demo [-- --once]

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpm, run } from './tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
pnpm(['install', '--frozen-lockfile']);
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b']);
run(process.execPath, [join(root, 'packages/examples/dist/demo/main.js'), ...process.argv.slice(2)]);
