#!/usr/bin/env node
// The benchmarks: install, build, then run every test/bench/*.bench.ts (compiled) one after another,
// each in its own process. Usage: npm run bench [-- [--quick] [<name filter>…] [--<option>…]], e.g.
// `npm run bench -- picker`, `npm run bench -- --quick`, `npm run bench -- compare-http --only=mesh,direct`.
// Words are name filters (a benchmark runs when its name contains any of them; none: every benchmark);
// options (`--…`) are passed to every benchmark run (each reads the ones it knows, e.g. `--quick`).

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureKnot, pnpm, run } from './tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const args = process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith('--'));
const options = args.filter((a) => a.startsWith('--'));
pnpm(['install', '--frozen-lockfile']);
ensureKnot();
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b']);
const dir = join(root, 'build/test/bench');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js') && (filters.length === 0 || filters.some((w) => f.includes(w))))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${JSON.stringify(filters)}`);
  process.exit(1);
}
if (files.some((f) => f.startsWith('compare-http'))) ensureProxyTools();
for (const file of files) {
  console.log(`\n=== ${file.replace(/\.bench\.js$/, '')} (node ${process.version}, ${new Date().toISOString()})`);
  run(process.execPath, ['--conditions=clusterip-internal', '--expose-gc', join(dir, file), ...options]);
}

/**
 * The HTTP comparison's contenders from Debian: HAProxy (the sidecar proxy) and iptables/nftables (the
 * ClusterIP DNAT path), and valgrind (http-instructions counts the client's work with it). Installed
 * when missing and we are root with apt-get; otherwise the benchmarks skip those rows and print why.
 */
function ensureProxyTools() {
  process.env.PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
  const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
  const missing = [
    ['haproxy', 'haproxy'],
    ['iptables-restore', 'iptables'],
    ['nft', 'nftables'],
    ['valgrind', 'valgrind'],
  ].filter(([command]) => !has(command));
  if (missing.length === 0) return;
  const packages = missing.map(([, pkg]) => pkg);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !has('apt-get')) {
    console.log(
      `> not installed: ${packages.join(', ')} (apt-get install -y ${packages.join(' ')}): those rows are skipped`,
    );
    return;
  }
  console.log(`> installing ${packages.join(', ')} for the HTTP comparison`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install =
    update.status === 0 &&
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env })
      .status === 0;
  if (!install) console.log(`> could not install ${packages.join(', ')}: those rows are skipped`);
}
