// `clusterip cluster up`: start the local emulated cluster from manifests, print the kubeconfig line,
// serve the real kubectl (and the CLI itself), stop on SIGINT with exit 0; a second cluster on the same
// address range, and --addresses.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ClusterUpSummary } from '@clusterip/sdk/internal/cli/cluster-up.js';
import test from 'ava';
import { grpcManifest, webManifest } from '../cluster/cluster-fixtures.js';
import { runInProcess, spawnCli } from './cli-fixture.js';

const run = promisify(execFile);

test('cluster up: prints export KUBECONFIG, kubectl lists the pods, the CLI sees the endpoints, SIGINT stops it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-up-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'app.yaml'), webManifest('demo', 2));
  const env = { PATH: process.env.PATH, HOME: dir };
  const kubeconfig = join(dir, 'out', 'kubeconfig');
  const up = spawnCli(t, ['cluster', 'up', '-f', join(dir, 'app.yaml'), '--kubeconfig-out', kubeconfig], env);
  const line = await up.line(/^export KUBECONFIG=/);
  t.is(line, `export KUBECONFIG=${kubeconfig}`);
  await up.line(/^Running; Ctrl-C stops the cluster\.$/);
  t.is((await stat(kubeconfig)).mode & 0o777, 0o600);

  const pods = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'pods', '-n', 'demo', '--no-headers'], {
    env,
    timeout: 20_000,
  });
  const rows = pods.stdout.trim().split('\n');
  t.is(rows.length, 2, pods.stdout);
  for (const row of rows) t.regex(row, /^web-\S+\s+1\/1\s+Running\s+0\s+\S+$/);

  const endpoints = await spawnCli(t, ['endpoints', 'web', '-n', 'demo', '--kubeconfig', kubeconfig, '-o', 'json'], env)
    .exited;
  t.is(endpoints.code, 0, endpoints.stderr);
  const result = JSON.parse(endpoints.stdout) as { ports: { outcome: string; endpoints: { eligible: boolean }[] }[] };
  t.is(result.ports[0]?.outcome, 'ok');
  t.is(result.ports[0]?.endpoints.filter((e) => e.eligible).length, 2);

  up.child.kill('SIGINT');
  const done = await up.exited;
  t.is(done.code, 0, done.stderr);
  t.regex(done.stderr, /clusterip: cluster stopped/);
});

test('a second cluster up on the same address range starts too: its pods move off the addresses the first holds', async (t) => {
  t.timeout(30_000, 'before the fix the second cluster never finished starting');
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-up-twice-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'web.yaml'), webManifest('demo', 2));
  await writeFile(join(dir, 'grpc.yaml'), grpcManifest('grpc', 2));
  const env = { PATH: process.env.PATH, HOME: dir };
  const up = (name: string) =>
    spawnCli(
      t,
      [
        'cluster',
        'up',
        '-f',
        dir,
        '--addresses',
        '127.0.99.10-127.0.99.30',
        '--kubeconfig-out',
        join(dir, name),
        '-o',
        'json',
      ],
      env,
    );
  // The JSON summary ends with a lone "}" once every pod is ready.
  const first = up('first');
  await first.line(/^}$/);
  const second = up('second');
  await second.line(/^}$/);
  first.child.kill('SIGINT');
  second.child.kill('SIGINT');
  const [a, b] = await Promise.all([first.exited, second.exited]);
  t.is(a.code, 0, a.stderr);
  t.is(b.code, 0, b.stderr);
  const pods = (run: { stdout: string }) =>
    (JSON.parse(run.stdout) as ClusterUpSummary).pods.map((p) => {
      t.true(p.ready, p.name);
      return `${p.ip}:${p.ports.replace(/^\w+:/, '')}`;
    });
  const held = new Set(pods(a));
  t.is(held.size, 4);
  const moved = pods(b);
  t.is(moved.length, 4);
  for (const address of moved) t.false(held.has(address), `${address} is the first cluster's`);
  t.notRegex(b.stderr, /No address added/, 'grpc-js failed no bind');
});

test('cluster up --addresses: a malformed range is a usage error naming the flag', async (t) => {
  const env = { PATH: process.env.PATH, HOME: '/nonexistent' };
  const manifest = fileURLToPath(new URL('../../../../packages/examples/manifests', import.meta.url));
  for (const [value, pattern] of [
    [
      '127.0.1.20',
      /--addresses must be two loopback addresses first-last, e\.g\. 127\.0\.1\.20-127\.0\.1\.250, got "127\.0\.1\.20"/,
    ],
    ['10.0.0.1-10.0.0.9', /--addresses must be two loopback addresses first-last/],
    ['127.0.1.30-127.0.1.20', /--addresses 127\.0\.1\.30-127\.0\.1\.20: the last address comes before the first/],
  ] as const) {
    const run = await runInProcess(['cluster', 'up', '-f', manifest, '--addresses', value], env);
    t.is(run.code, 2, value);
    t.regex(run.stderr, pattern, value);
  }
});

test('cluster up whose only address is held by another process: exit 1 at once, naming ip:port and the fix', async (t) => {
  t.timeout(30_000, 'before the fix cluster up hung');
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(8080, '127.0.99.40', resolve));
  t.teardown(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-up-held-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'web.yaml'), webManifest('demo', 1));
  const env = { PATH: process.env.PATH, HOME: dir };
  const args = [
    'cluster',
    'up',
    '-f',
    dir,
    '--addresses',
    '127.0.99.40-127.0.99.40',
    '--kubeconfig-out',
    join(dir, 'k'),
  ];
  const run = await runInProcess(args, env);
  t.is(run.code, 1);
  t.regex(
    run.stderr,
    /address 127\.0\.99\.40:8080 is in use by another process \(another local cluster\?\): stop it, or give this cluster addresses of its own .*\(CLUSTERIP_ERR_ADDRESS_IN_USE\)\n/,
  );
  const json = await runInProcess([...args, '-o', 'json'], env);
  t.is(json.code, 1);
  t.is((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'CLUSTERIP_ERR_ADDRESS_IN_USE');
});

test('cluster --help says what pods are: servers inside this process, not processes', async (t) => {
  const run = await runInProcess(['cluster', 'up', '--help'], { PATH: process.env.PATH, HOME: '/nonexistent' });
  t.is(run.code, 0);
  t.notRegex(run.stdout, /real processes/);
  t.regex(run.stdout, /local emulated cluster inside this process/);
  t.regex(run.stdout, /Deployments as pods, each an HTTP or gRPC server in\s+this process/);
});
