// `clusterip` dispatch: help for every command, usage errors (exit 2), unreachable or unconfigured
// clusters (exit 3), one-line errors and JSON error documents, secrets kept out of output, the bin, --version.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { createFakeKubeApi } from '../../helpers/fake-kube-api.js';
import { createCliCluster, json, runInProcess, spawnCli } from './cli-fixture.js';

const env = (home: string): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: home });

test('--help for the tool and each command: usage, flags and exit codes, exit 0', async (t) => {
  for (const args of [
    ['--help'],
    ['resolve', '--help'],
    ['endpoints', '-h'],
    ['watch', '--help'],
    ['doctor', '--help'],
    ['cluster', '--help'],
  ]) {
    const run = await runInProcess(args, env('/nonexistent'));
    t.is(run.code, 0, args.join(' '));
    t.regex(run.stdout, /^Usage: clusterip /, args.join(' '));
    t.regex(
      run.stdout,
      /Exit codes:\n {2}0 {2}ok\n {2}1 .*\n {2}2 {2}usage error\n {2}3 {2}cannot reach the API server \/ cluster\n {2}4 {2}not found/,
    );
    t.regex(run.stdout, /--output text\|json/);
  }
  const none = await spawnCli(t, [], env('/nonexistent')).exited;
  t.is(none.code, 2);
  t.regex(none.stdout, /^Usage: clusterip <command>/);
});

test('--version prints the version of @clusterip/sdk, exit 0, through the bin too', async (t) => {
  const pkg = JSON.parse(
    await readFile(fileURLToPath(new URL('../../../../packages/sdk/package.json', import.meta.url)), 'utf8'),
  ) as { version: string };
  t.regex(pkg.version, /^\d+\.\d+\.\d+/);
  const run = await runInProcess(['--version'], env('/nonexistent'));
  t.deepEqual(run, { code: 0, signal: null, stdout: `${pkg.version}\n`, stderr: '' });
  const bin = await spawnCli(t, ['--version'], env('/nonexistent')).exited;
  t.is(bin.code, 0, bin.stderr);
  t.is(bin.stdout, `${pkg.version}\n`);
});

test('usage errors exit 2 with one line naming the problem, or a JSON error document', async (t) => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /^clusterip: error: unknown command "frobnicate": use one of resolve, endpoints, watch, doctor/],
    [['resolve', 'web', '--bogus'], /^clusterip: error: resolve: unknown flag --bogus: see clusterip resolve --help/],
    [['resolve'], /^clusterip: error: resolve: expected <name>, got none/],
    [['resolve', 'web', '-o', 'yaml'], /--output must be text or json, got "yaml"/],
    [['endpoints', 'web', '-n', 'Bad_NS'], /^clusterip: error: namespace "Bad_NS": /],
    [['watch', 'web', '--count', '0'], /--count must be an integer from 1 to/],
    [['doctor', 'web', '--port', '70000'], /--port must be from 1 to 65535, got 70000/],
    [['resolve', 'web..x'], /CLUSTERIP_ERR_INVALID_NAME/],
    [
      ['resolve', 'web:http', '--port', '80'],
      /resolve: the port is given twice, "http" in "web:http" and --port 80: give one/,
    ],
    [
      ['endpoints', 'web:8080', '--port', '80'],
      /endpoints: the port is given twice, "8080" in "web:8080" and --port 80/,
    ],
    [['cluster'], /^clusterip: error: cluster: expected "up", e\.g\. clusterip cluster up -f manifests\//],
    [['cluster', 'up'], /^clusterip: error: cluster up: give the manifests with -f <dir\|file>/],
    [['cluster', 'up', '-f', '/nonexistent/manifests'], /manifest path \/nonexistent\/manifests does not exist/],
  ];
  for (const [args, pattern] of cases) {
    const run = await runInProcess(args, env('/nonexistent'));
    t.is(run.code, 2, args.join(' '));
    t.is(run.stdout, '', args.join(' '));
    t.regex(run.stderr, pattern, args.join(' '));
    t.is(run.stderr.split('\n').filter(Boolean).length, 1, args.join(' '));
    t.notRegex(run.stderr, /^clusterip: error: clusterip\b/, `${args.join(' ')}: the prefix once`);
    t.notRegex(run.stderr, /\n\s+at /, 'no stack trace');
  }
  const asJson = await runInProcess(['resolve', 'web', '--bogus', '-o', 'json'], env('/nonexistent'));
  t.is(asJson.code, 2);
  t.deepEqual(json(asJson), {
    error: {
      code: 'CLUSTERIP_ERR_INVALID_ARG',
      message: 'clusterip resolve: unknown flag --bogus: see clusterip resolve --help',
    },
  });
});

test('no cluster configured, or an unusable kubeconfig: exit 3 with CLUSTERIP_ERR_CLUSTER_CONFIG and the fix', async (t) => {
  const c = await createCliCluster(t, 101);
  const run = await c.run(['resolve', 'backend'], { kubeconfig: false });
  t.is(run.code, 3);
  t.regex(
    run.stderr,
    /^clusterip: error: no cluster configured: no kubeconfig at .*: pass --kubeconfig <file> or set KUBECONFIG \(CLUSTERIP_ERR_CLUSTER_CONFIG\)\n$/,
  );
  const missing = await runInProcess(['endpoints', 'backend', '--kubeconfig', `${c.dir}/nope`, '-o', 'json'], c.env);
  t.is(missing.code, 3);
  const error = json<{ error: { code: string; message: string } }>(missing).error;
  t.is(error.code, 'CLUSTERIP_ERR_CLUSTER_CONFIG');
  t.regex(error.message, /^kubeconfig \S+\/nope: cannot read: ENOENT$/);
  const context = await runInProcess(['doctor', 'backend', '--kubeconfig', c.kubeconfig, '--context', 'nosuch'], c.env);
  t.is(context.code, 3);
  t.regex(context.stderr, /nosuch.* \(CLUSTERIP_ERR_CLUSTER_CONFIG\)\n$/);
});

test('API server unreachable: exit 3 with CLUSTERIP_ERR_API_REQUEST, for every command', async (t) => {
  const c = await createCliCluster(t, 102);
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const file = `${c.dir}/down`;
  const text = await readFile(c.kubeconfig, 'utf8');
  await writeFile(file, text.replace(/server: "[^"]+"/, `server: "http://127.0.0.1:${port}"`));
  for (const command of ['resolve', 'endpoints', 'watch', 'doctor']) {
    const run = await runInProcess([command, 'backend', '--kubeconfig', file, '-o', 'json'], c.env);
    t.is(run.code, 3, command);
    const error = json<{ error: { code: string; message: string } }>(run).error;
    t.is(error.code, 'CLUSTERIP_ERR_API_REQUEST', command);
    t.regex(
      error.message,
      new RegExp(`^kubernetes api http://127\\.0\\.0\\.1:${port}: GET /version: ECONNREFUSED`),
      command,
    );
  }
});

test('a rejected token: exit 3, and neither token appears in the output', async (t) => {
  const api = await createFakeKubeApi(t, { token: 'server-secret-token' });
  const dir = await mkdtemp(`${tmpdir()}/clusterip-cli-`);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(`${dir}/kubeconfig`, api.kubeconfig({ token: 'client-wrong-token' }));
  for (const output of ['text', 'json']) {
    const run = await runInProcess(['doctor', 'web', '--kubeconfig', `${dir}/kubeconfig`, '-o', output], env(dir));
    t.is(run.code, 3);
    t.regex(run.stdout + run.stderr, /HTTP 401/);
    t.notRegex(run.stdout + run.stderr, /server-secret-token|client-wrong-token/);
  }
});

test('the workspace bin: node_modules/.bin/clusterip runs the built CLI', async (t) => {
  const bin = fileURLToPath(new URL('../../../../node_modules/.bin/clusterip', import.meta.url));
  const child = spawn(bin, ['--help'], { env: env('/nonexistent'), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  t.is(code, 0);
  t.regex(out, /^Usage: clusterip <command>/);
});
