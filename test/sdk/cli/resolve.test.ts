// `clusterip resolve`: search candidates, the answer, Service, ports and virtual IP, against the
// emulated cluster's five scenarios; text and --output json; exit codes.

import type { ResolveResult } from '@clusterip/sdk/internal/cli/resolve.js';
import test from 'ava';
import { createCliCluster, json } from './cli-fixture.js';

test('healthy Service: the first candidate answers; Service, port and virtual IP are shown', async (t) => {
  const c = await createCliCluster(t, 61);
  const clusterIP = String(
    (c.cluster.api.get('Service', 'shop', 'backend')?.spec as { clusterIP?: string })?.clusterIP,
  );
  const run = await c.run(['resolve', 'backend:http', '-o', 'json']);
  t.is(run.code, 0, run.stderr);
  const r = json<ResolveResult>(run);
  t.is(r.status, 'ok');
  t.is(r.namespace, 'shop');
  t.is(r.answered, 'backend.shop.svc.cluster.local.');
  t.deepEqual(r.candidates[0], { fqdn: 'backend.shop.svc.cluster.local.', denotes: 'service', result: 'answered' });
  t.is(r.candidates[1]?.result, 'not tried');
  t.deepEqual(r.service?.clusterIPs, [clusterIP]);
  t.like(r.port, { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' });
  t.deepEqual(r.endpoints, { total: 2, ready: 2 });

  const text = await c.runHere(['resolve', 'backend', '--port', 'http']);
  t.is(text.code, 0);
  t.regex(text.stdout, /1\s+backend\.shop\.svc\.cluster\.local\.\s+service\s+answered/);
  t.regex(text.stdout, /^answered:\s+backend\.shop\.svc\.cluster\.local\.$/m);
  t.regex(text.stdout, new RegExp(`^virtual ip: ${clusterIP.replaceAll('.', '\\.')}$`, 'm'));
  t.regex(text.stdout, /^ports:\s+http 80→http\/TCP$/m);
  t.regex(text.stdout, /^endpoints:\s+2 \(2 ready\)$/m);
  // The same port in the name and in --port is no conflict.
  const both = await c.runHere(['resolve', 'backend:http', '--port', 'http']);
  t.is(both.code, 0, both.stderr);
  t.regex(both.stdout, /^port:\s+http → targetPort http\/TCP$/m);
});

test('selector mismatch: the name still resolves (DNS does not look at pods), with no endpoints', async (t) => {
  const c = await createCliCluster(t, 62);
  const run = await c.run(['resolve', 'typo:http', '-o', 'json']);
  t.is(run.code, 0);
  const r = json<ResolveResult>(run);
  t.is(r.answered, 'typo.shop.svc.cluster.local.');
  t.deepEqual(r.service?.selector, { app: 'backendd' });
  t.deepEqual(r.endpoints, { total: 0, ready: 0 });
});

test('wrong target port: resolves, shows targetPort web, no endpoints carry the port', async (t) => {
  const c = await createCliCluster(t, 63);
  const run = await c.run(['resolve', 'wrongport', '-o', 'json']);
  t.is(run.code, 0);
  const r = json<ResolveResult>(run);
  t.like(r.port, { name: 'http', targetPort: 'web' });
  t.deepEqual(r.endpoints, { total: 0, ready: 0 });
  const text = await c.runHere(['resolve', 'wrongport']);
  t.regex(text.stdout, /^port:\s+http → targetPort web\/TCP$/m);
});

test('cross-namespace name: the bare name is not found (exit 4) with the FQDN hint; name.namespace answers', async (t) => {
  const c = await createCliCluster(t, 64);
  const bare = await c.run(['resolve', 'payments']);
  t.is(bare.code, 4);
  t.regex(bare.stdout, /^result:\s+not found$/m);
  t.regex(bare.stdout, /^hint:\s+the Service payments lives in namespace prod, not shop: use payments\.prod/m);
  const r = json<ResolveResult>(await c.runHere(['resolve', 'payments', '-o', 'json']));
  t.is(r.status, 'not-found');
  t.is(r.error?.code, 'CLUSTERIP_ERR_SERVICE_NOT_FOUND');
  t.true(r.candidates.every((x) => x.result !== 'answered'));

  const qualified = json<ResolveResult>(await c.runHere(['resolve', 'payments.prod', '-o', 'json']));
  t.is(qualified.status, 'ok');
  t.deepEqual(
    qualified.candidates.slice(0, 2).map((x) => [x.fqdn, x.result]),
    [
      ['payments.prod.shop.svc.cluster.local.', 'no such name'],
      ['payments.prod.svc.cluster.local.', 'answered'],
    ],
  );
  t.is(qualified.service?.namespace, 'prod');
});

test('missing Service: every candidate tried, exit 4, no hint', async (t) => {
  const c = await createCliCluster(t, 65);
  const run = await c.run(['resolve', 'nothing', '-o', 'json']);
  t.is(run.code, 4);
  const r = json<ResolveResult>(run);
  t.is(r.status, 'not-found');
  t.is(r.hint, undefined);
  t.deepEqual(
    r.candidates.slice(0, 3).map((x) => [x.fqdn, x.result]),
    [
      ['nothing.shop.svc.cluster.local.', 'no such name'],
      ['nothing.svc.cluster.local.', 'no data'],
      ['nothing.cluster.local.', 'no such name'],
    ],
  );
  t.true(r.candidates.every((x) => x.result !== 'not tried' && x.result !== 'answered'));
});

test('a port the Service does not have: exit 4, the ports are listed', async (t) => {
  const c = await createCliCluster(t, 66);
  const run = await c.run(['resolve', 'backend:grpc']);
  t.is(run.code, 4);
  t.regex(run.stdout, /port "grpc" not found \(ports: http\/80\/TCP\)/);
});
