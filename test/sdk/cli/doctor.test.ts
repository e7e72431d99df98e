// `clusterip doctor`: the "Debug Services" checks with a verdict and a fix each, against the emulated
// cluster's five scenarios (plus a dead endpoint); text and --output json; exit codes.

import type { DoctorCheck, DoctorResult } from '@clusterip/sdk/internal/cli/doctor.js';
import test from 'ava';
import { createCliCluster, json } from './cli-fixture.js';

const verdicts = (r: DoctorResult) => Object.fromEntries(r.checks.map((c) => [c.id, c.verdict]));
const byId = (r: DoctorResult, id: DoctorCheck['id']) => r.checks.find((c) => c.id === id);

test('healthy Service: every check passes, each endpoint answers TCP and GET /, exit 0', async (t) => {
  const c = await createCliCluster(t, 91);
  const run = await c.run(['doctor', 'backend:http', '--http', '-o', 'json']);
  t.is(run.code, 0, run.stdout + run.stderr);
  const r = json<DoctorResult>(run);
  t.is(r.verdict, 'pass');
  t.deepEqual(verdicts(r), {
    'name-resolves': 'pass',
    'service-exists': 'pass',
    port: 'pass',
    selector: 'pass',
    'pods-ready': 'pass',
    'target-port': 'pass',
    endpoints: 'pass',
    connect: 'pass',
  });
  t.deepEqual(
    byId(r, 'connect')?.endpoints?.map((e) => [e.pod, e.endpoint, e.verdict]),
    c.backends.map((b, i) => [`backend-${i + 1}`, `${b.host}:${b.port}`, 'pass']),
  );
  t.regex(byId(r, 'connect')?.endpoints?.[0]?.detail ?? '', /^HTTP 200 in \d+ ms$/);
  t.true(c.backends.every((b) => b.requests === 1));

  const text = await c.runHere(['doctor', 'backend']);
  t.is(text.code, 0);
  t.regex(text.stdout, /^\[pass\] name resolves\s+backend → backend\.shop\.svc\.cluster\.local\. \(candidate 1 /m);
  t.regex(text.stdout, /^\[pass\] endpoints reachable\s+2 of 2 endpoints accept TCP connections$/m);
  t.regex(text.stdout, /^verdict: no problem found$/m);
});

test('a dead endpoint: the connect check fails for that endpoint only, with the fix, exit 1', async (t) => {
  const c = await createCliCluster(t, 92);
  await c.backends[1]?.kill();
  const run = await c.run(['doctor', 'backend', '--connect-timeout-ms', '1000']);
  t.is(run.code, 1);
  t.regex(run.stdout, /^\[fail\] endpoints reachable\s+1 of 2 endpoints accept TCP connections$/m);
  t.regex(run.stdout, /^\s+ok {3}127\.0\.92\.11:\d+ backend-1 \(port http\): connected in \d+ ms$/m);
  t.regex(run.stdout, /^\s+FAIL 127\.0\.92\.12:\d+ backend-2 \(port http\): ECONNREFUSED$/m);
  t.regex(run.stdout, /^\s+fix: nothing answers on 127\.0\.92\.12:\d+: check that the container listens/m);
  t.regex(run.stdout, /^verdict: 1 check failed$/m);
});

test('selector mismatch: the fix names the selector and the labels the pods carry, exit 1', async (t) => {
  const c = await createCliCluster(t, 93);
  c.cluster.addPod({ name: 'frontend-1', ip: '127.0.93.31', labels: { app: 'frontend' }, ports: { http: 8080 } });
  const run = await c.run(['doctor', 'typo', '-o', 'json']);
  t.is(run.code, 1);
  const r = json<DoctorResult>(run);
  t.like(byId(r, 'selector'), {
    verdict: 'fail',
    fix: "the Service selects app=backendd but pods are labelled app=backend (others: app=frontend): fix the Service's selector or the pods' labels",
  });
  t.is(byId(r, 'pods-ready')?.verdict, 'skip');
  t.is(byId(r, 'endpoints')?.verdict, 'fail');
  const text = await c.runHere(['doctor', 'typo']);
  t.regex(text.stdout, /^\[fail\] selector matches pods\s+the selector app=backendd matches no pod in namespace shop/m);
  t.regex(text.stdout, /^\s+fix: the Service selects app=backendd but pods are labelled app=backend/m);
});

test('wrong target port: the named targetPort is not a containerPort name on the pods, exit 1', async (t) => {
  const c = await createCliCluster(t, 94);
  const run = await c.run(['doctor', 'wrongport', '-o', 'json']);
  t.is(run.code, 1);
  const r = json<DoctorResult>(run);
  const check = byId(r, 'target-port');
  t.is(check?.verdict, 'fail');
  t.regex(
    check?.detail ?? '',
    /^targetPort web \(port http\) is not a containerPort name on pods backend-1, backend-2 \(they declare: http\/\d+\/TCP/,
  );
  t.is(check?.fix, 'name the container port web/TCP in the pod template, or set targetPort to its number');
  t.is(byId(r, 'selector')?.verdict, 'pass');
  t.is(byId(r, 'endpoints')?.verdict, 'fail');
  t.is(byId(r, 'connect')?.verdict, 'skip');
});

test('cross-namespace name: the name check fails with the FQDN to use; the rest runs against prod', async (t) => {
  const c = await createCliCluster(t, 95);
  const run = await c.run(['doctor', 'payments', '-o', 'json']);
  t.is(run.code, 1);
  const r = json<DoctorResult>(run);
  t.like(byId(r, 'name-resolves'), {
    verdict: 'fail',
    fix: 'the Service payments lives in namespace prod, not shop: use payments.prod (or -n prod)',
  });
  t.is(r.service?.namespace, 'prod');
  t.is(byId(r, 'service-exists')?.verdict, 'pass');
  t.is(byId(r, 'connect')?.verdict, 'pass');
  const fixed = await c.runHere(['doctor', 'payments.prod']);
  t.is(fixed.code, 0, fixed.stdout);
});

test('missing Service: no such Service anywhere, exit 4, later checks skipped', async (t) => {
  const c = await createCliCluster(t, 96);
  const run = await c.run(['doctor', 'nothing', '-o', 'json']);
  t.is(run.code, 4);
  const r = json<DoctorResult>(run);
  t.false(r.found);
  t.like(byId(r, 'service-exists'), { verdict: 'fail', detail: 'no Service named nothing in any namespace' });
  t.true(r.checks.slice(2).every((x) => x.verdict === 'skip'));
  const port = json<DoctorResult>(await c.runHere(['doctor', 'backend:grpc', '-o', 'json']));
  t.like(byId(port, 'port'), {
    verdict: 'fail',
    detail: 'service backend.shop: port "grpc" not found (ports: http/80/TCP)',
  });
});
