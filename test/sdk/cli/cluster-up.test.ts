// `clusterip cluster up`: start the local emulated cluster from manifests, print the kubeconfig line,
// serve the real kubectl (and the CLI itself), stop on SIGINT with exit 0.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { webManifest } from '../cluster/cluster-fixtures.js';
import { spawnCli } from './cli-fixture.js';

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
