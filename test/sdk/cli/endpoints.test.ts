// `clusterip endpoints`: the EndpointSlice table and each endpoint's eligibility for this client,
// against the emulated cluster's five scenarios; text and --output json; exit codes.

import type { EndpointsResult } from '@clusterip/sdk/internal/cli/endpoints.js';
import test from 'ava';
import { createCliCluster, json } from './cli-fixture.js';

test('healthy Service: slices like kubectl, both endpoints eligible, exit 0', async (t) => {
  const c = await createCliCluster(t, 71);
  const run = await c.run(['endpoints', 'backend', '-o', 'json']);
  t.is(run.code, 0, run.stderr);
  const r = json<EndpointsResult>(run);
  t.is(r.service.name, 'backend');
  t.true(r.slices.length >= 1);
  t.deepEqual(r.slices.flatMap((s) => s.endpoints).sort(), ['127.0.71.11', '127.0.71.12']);
  const [port] = r.ports;
  t.is(port?.outcome, 'ok');
  t.deepEqual(
    port?.endpoints.map((e) => [e.pod, e.address, e.port, e.node, e.zone, e.eligible, e.reason]),
    c.backends.map((b, i) => [
      `backend-${i + 1}`,
      b.host,
      b.port,
      i === 0 ? 'node-a' : 'node-b',
      i === 0 ? 'zone-a' : 'zone-b',
      true,
      'ready',
    ]),
  );
  const text = await c.runHere(['endpoints', 'backend']);
  t.is(text.code, 0);
  t.regex(text.stdout, /^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE$/m);
  t.regex(text.stdout, /^backend-\S+\s+IPv4\s+\d+\s+127\.0\.71\.1[12](,127\.0\.71\.1[12])?\s+\d+s$/m);
  t.regex(text.stdout, /^port http \(80→http\/TCP\): ok: policy Cluster, topology none$/m);
  t.regex(
    text.stdout,
    new RegExp(
      `^\\s+127\\.0\\.71\\.11:${c.backends[0]?.port}\\s+true\\s+true\\s+false\\s+node-a\\s+zone-a\\s+backend-1\\s+yes$`,
      'm',
    ),
  );
});

test('eligibility for this client: not-ready and other-node endpoints say why they are excluded', async (t) => {
  const c = await createCliCluster(t, 72);
  c.cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'local', namespace: 'shop' },
    spec: {
      selector: { app: 'backend' },
      internalTrafficPolicy: 'Local',
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    },
  });
  const local = json<EndpointsResult>(await c.runHere(['endpoints', 'local', '--node', 'node-b', '-o', 'json']));
  t.deepEqual(local.client, { nodeName: 'node-b', zone: 'zone-b' });
  const rows = local.ports[0]?.endpoints ?? [];
  t.like(
    rows.find((e) => e.pod === 'backend-1'),
    {
      eligible: false,
      reason: 'other-node',
      why: 'internalTrafficPolicy Local: on node node-a, this client is on node-b',
    },
  );
  t.like(
    rows.find((e) => e.pod === 'backend-2'),
    { eligible: true, reason: 'ready' },
  );

  c.cluster.setReady('backend-2', false);
  c.cluster.setReady('backend-1', false);
  const none = await c.runHere(['endpoints', 'local', '--node', 'node-b', '-o', 'json']);
  t.is(none.code, 1);
  const r = json<EndpointsResult>(none);
  t.is(r.ports[0]?.outcome, 'no-endpoints');
  t.like(
    r.ports[0]?.endpoints.find((e) => e.pod === 'backend-2'),
    {
      eligible: false,
      reason: 'not-ready',
      why: 'not ready (readiness probe failing?)',
    },
  );
  t.like(
    r.ports[0]?.endpoints.find((e) => e.pod === 'backend-1'),
    { eligible: false, reason: 'other-node' },
  );
});

test("selector mismatch: only the controller's empty placeholder slice, no usable endpoint, exit 1", async (t) => {
  const c = await createCliCluster(t, 73);
  const run = await c.run(['endpoints', 'typo', '-o', 'json']);
  t.is(run.code, 1);
  const r = json<EndpointsResult>(run);
  t.deepEqual(
    r.slices.map((s) => s.endpoints),
    r.slices.map(() => []),
  );
  t.is(r.ports[0]?.outcome, 'no-endpoints');
  t.deepEqual(r.ports[0]?.endpoints, []);
  const text = await c.runHere(['endpoints', 'typo']);
  t.is(text.code, 1);
  t.regex(text.stdout, /^typo-\S+\s+IPv4\s+<unset>\s+<unset>\s+\d+s$/m);
  t.regex(text.stdout, /^port http \(80→http\/TCP\): no-endpoints: service typo\.shop:http: no endpoints/m);
  t.regex(text.stdout, /^ {2}no endpoints$/m);
});

test('wrong target port: the pods are in slices without the port, so the Service port has no endpoint, exit 1', async (t) => {
  const c = await createCliCluster(t, 74);
  const run = await c.run(['endpoints', 'wrongport', '--port', 'http', '-o', 'json']);
  t.is(run.code, 1);
  const r = json<EndpointsResult>(run);
  t.is(r.ports[0]?.outcome, 'no-endpoints');
  t.deepEqual(r.ports[0]?.endpoints, []);
});

test('cross-namespace name: not found here (exit 4) with the namespace hint; -n prod lists it', async (t) => {
  const c = await createCliCluster(t, 75);
  const text = await c.runHere(['endpoints', 'payments']);
  t.is(text.code, 4);
  t.is(text.stdout, '');
  t.regex(
    text.stderr,
    /^clusterip: error: service "payments": not found \(tried .*\): the Service payments lives in namespace prod, not shop: use payments\.prod \(or -n prod\) \(CLUSTERIP_ERR_SERVICE_NOT_FOUND\)\n$/,
  );
  const run = await c.run(['endpoints', 'payments', '-o', 'json']);
  t.is(run.code, 4);
  t.is(json<{ error: { code: string } }>(run).error.code, 'CLUSTERIP_ERR_SERVICE_NOT_FOUND');
  const there = await c.runHere(['endpoints', 'payments', '-n', 'prod', '-o', 'json']);
  t.is(there.code, 0);
  t.is(json<EndpointsResult>(there).ports[0]?.endpoints[0]?.pod, 'payments-1');
});

test('missing Service: exit 4, one error line', async (t) => {
  const c = await createCliCluster(t, 76);
  const run = await c.run(['endpoints', 'nothing']);
  t.is(run.code, 4);
  t.is(run.stderr.trim().split('\n').length, 1);
  t.regex(run.stderr, /service "nothing": not found/);
  const bad = await c.runHere(['endpoints', 'backend', '--port', 'grpc', '-o', 'json']);
  t.is(bad.code, 4);
  t.is(json<{ error: { code: string } }>(bad).error.code, 'CLUSTERIP_ERR_PORT_NOT_FOUND');
});
