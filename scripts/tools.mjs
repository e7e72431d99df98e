// Shared helpers of the project scripts: run a command or fail loudly, pinned pnpm, system tools.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Run a command with inherited stdio; exit the script with its status when it fails. */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) {
    console.error(`${command}: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) {
    console.error(`${[command, ...args].join(' ')} exited with ${result.status ?? result.signal}`);
    process.exit(result.status || 1);
  }
}

/** The pnpm version pinned in package.json `packageManager`, run through npx (no corepack needed). */
export function pnpm(args) {
  const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager;
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  run(npx, ['--yes', pinned, ...args], { env: { ...process.env, npm_config_update_notifier: 'false' } });
}

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * The DNS tests run a real Knot DNS server (Debian package `knot`). Install it when it is missing and
 * we are root on a Debian-like machine; otherwise stop with the command to run.
 */
export function ensureKnot() {
  const path = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
  process.env.PATH = path;
  if (has('knotd')) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && has('apt-get')) {
    console.log('> installing Knot DNS (Debian package knot) for the DNS tests');
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'knot'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return;
  }
  console.error('the DNS tests need Knot DNS (knotd): install it with `apt-get install -y knot`, then run again');
  process.exit(1);
}

/**
 * Count passed and failed tests in ava's output (`status`: ava's exit status). ava prints "N tests passed"
 * only when nothing failed; otherwise the ✔ lines it printed per test are counted. Uncaught exceptions,
 * unhandled rejections, pending and timed-out tests count as failures; a failing exit status with no
 * counted failure counts one, and a run that executed nothing is a failure.
 */
export function avaSummary(output, status) {
  const count = (pattern) => [...output.matchAll(pattern)].reduce((n, m) => n + Number(m[1]), 0);
  const passed = Math.max(count(/^\s*(\d+) tests? passed/gm), (output.match(/^\s*✔ /gm) ?? []).length);
  let failed =
    count(/^\s*(\d+) tests? failed/gm) +
    count(/^\s*(\d+) uncaught exceptions?/gm) +
    count(/^\s*(\d+) unhandled rejections?/gm) +
    count(/^\s*(\d+) tests? remained pending/gm) +
    count(/^\s*(\d+) tests? timed out/gm);
  if (status !== 0 && failed === 0) failed = 1;
  if (passed === 0 && failed === 0) failed = 1;
  return { passed, failed };
}

/**
 * Run ava (compiled tests, see package.json "ava" or the `--config` in `args`) with its output streamed
 * through, and return its counts (`avaSummary`). Colour is off so the counts can be read.
 */
export function runAva(cwd, args) {
  const ava = spawnSync(process.execPath, [join(cwd, 'node_modules/ava/entrypoints/cli.mjs'), ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
    maxBuffer: 256 * 1024 * 1024,
  });
  process.stdout.write(ava.stdout ?? '');
  process.stderr.write(ava.stderr ?? '');
  return avaSummary(`${ava.stdout ?? ''}\n${ava.stderr ?? ''}`, ava.status);
}
