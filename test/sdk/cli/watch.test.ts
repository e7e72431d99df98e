// `clusterip watch`: one timestamped line per endpoint change until --count, --timeout-seconds or
// SIGINT/SIGTERM, against the emulated cluster's five scenarios; text and NDJSON; exit codes.

import type { WatchEvent } from '@clusterip/sdk/internal/cli/watch.js';
import test from 'ava';
import { createHttpTestServer } from '../../helpers/http-test-server.js';
import { createCliCluster, json } from './cli-fixture.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const events = (stdout: string): WatchEvent[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as WatchEvent);

test('healthy Service: a readiness flip and a removal, each with an ISO timestamp; exits after --count', async (t) => {
  const c = await createCliCluster(t, 81);
  const cli = c.start(['watch', 'backend', '--count', '2', '-o', 'json']);
  await cli.line(/"type":"watching"/);
  c.cluster.setReady('backend-2', false);
  await cli.line(/"type":"changed"/);
  c.cluster.deletePod('backend-1');
  const run = await cli.exited;
  t.is(run.code, 0, run.stderr);
  const [watching, ...rest] = events(run.stdout);
  t.is(watching?.message, 'backend.shop:http: 2 endpoints (2 ready)');
  t.deepEqual(
    rest.map((e) => [e.type, e.pod, e.changes]),
    [
      ['initial', 'backend-1', undefined],
      ['initial', 'backend-2', undefined],
      ['changed', 'backend-2', ['ready true→false', 'serving true→false']],
      ['removed', 'backend-1', undefined],
    ],
  );
  for (const e of [watching, ...rest]) t.regex(e?.time ?? '', ISO);
  t.is(rest[2]?.endpoint, `${c.backends[1]?.host}:${c.backends[1]?.port}`);
});

test('text lines; SIGINT stops the watch with exit 0', async (t) => {
  const c = await createCliCluster(t, 82);
  const cli = c.start(['watch', 'backend']);
  await cli.line(/ watching /);
  c.cluster.terminate('backend-1');
  const line = await cli.line(/ changed /);
  t.regex(
    line,
    /^\d{4}-\d{2}-\d{2}T[\d:.]+Z {2}changed {3}127\.0\.82\.11:\d+ {2}pod backend-1 node node-a zone zone-a {2}ready true→false, terminating false→true$/,
  );
  cli.child.kill('SIGINT');
  const run = await cli.exited;
  t.is(run.code, 0);
  t.is(run.stderr, '');
});

test('selector mismatch: starts empty with the reason, then reports the pod that fixes it', async (t) => {
  const c = await createCliCluster(t, 83);
  const cli = c.start(['watch', 'typo', '--count', '1', '-o', 'json']);
  const first = JSON.parse(await cli.line(/"type":"watching"/)) as WatchEvent;
  t.regex(first.message ?? '', /^typo\.shop:http: 0 endpoints \(0 ready\); /);
  const pod = await createHttpTestServer(t, { host: '127.0.83.31' });
  c.cluster.addPod({ name: 'fixed-1', ip: pod.host, labels: { app: 'backendd' }, ports: { http: pod.port } });
  const run = await cli.exited;
  t.is(run.code, 0);
  const added = events(run.stdout).filter((e) => e.type === 'added');
  t.like(added, [{ pod: 'fixed-1', endpoint: `127.0.83.31:${pod.port}`, ready: true }]);
});

test('wrong target port: empty until a pod names its container port web', async (t) => {
  const c = await createCliCluster(t, 84);
  const cli = c.start(['watch', 'wrongport', '--count', '1', '-o', 'json']);
  await cli.line(/"type":"watching"/);
  const pod = await createHttpTestServer(t, { host: '127.0.84.31' });
  c.cluster.addPod({ name: 'named-1', ip: pod.host, labels: { app: 'backend' }, ports: { web: pod.port } });
  const run = await cli.exited;
  t.is(run.code, 0);
  t.like(
    events(run.stdout).filter((e) => e.type === 'added'),
    [{ pod: 'named-1', endpoint: `127.0.84.31:${pod.port}` }],
  );
});

test('cross-namespace name: exit 4 with the namespace hint, before watching anything', async (t) => {
  const c = await createCliCluster(t, 85);
  const run = await c.run(['watch', 'payments', '-o', 'json']);
  t.is(run.code, 4);
  const error = json<{ error: { code: string; message: string } }>(run).error;
  t.is(error.code, 'CLUSTERIP_ERR_SERVICE_NOT_FOUND');
  t.regex(error.message, /use payments\.prod/);
});

test('missing Service: exit 4; --timeout-seconds ends a quiet watch with exit 0', async (t) => {
  const c = await createCliCluster(t, 86);
  const missing = await c.run(['watch', 'nothing']);
  t.is(missing.code, 4);
  t.regex(missing.stderr, /^clusterip: error: service "nothing": not found/);
  const quiet = await c.run(['watch', 'backend', '--timeout-seconds', '1']);
  t.is(quiet.code, 0);
  t.is(quiet.stdout.trim().split('\n').length, 3); // watching + 2 initial
});
