import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { kubectlFor } from '../../resolver/testing/fake-kubernetes-api/kubectl-runner.js';
import { addressRange, startCluster, waitUntil, webManifest } from './cluster-fixtures.js';

// The real kubectl against the local cluster: what `clusterip cluster up` promises users.
const BLOCK = 94;

function rows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

test('kubectl apply -f, get deploy,po,svc, scale deployment, rollout restart + status, delete pod', async (t) => {
  const cluster = await startCluster(t, { addresses: addressRange(BLOCK, 0) });
  const kubectl = await kubectlFor(t, cluster.api, { namespace: 'shop' });
  const file = join(kubectl.dir, 'web.yaml');
  await writeFile(file, webManifest('shop', 2));

  // apply -f: server-side objects; the controller and kubelet take it from there.
  const applied = await kubectl.run(['apply', '-f', file]);
  t.is(applied.code, 0, applied.stderr);
  t.regex(applied.stdout, /deployment\.apps\/web created/);
  t.regex(applied.stdout, /service\/web created/);
  await cluster.waitForRollout('shop', 'web');

  const got = await kubectl.run(['get', 'deploy,po,svc']);
  t.is(got.code, 0, got.stderr);
  const table = rows(got.stdout);
  t.deepEqual(table[0], ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
  t.deepEqual(table[1]?.slice(0, 4), ['deployment.apps/web', '2/2', '2', '2']);
  const podRows = table.filter((r) => r[0]?.startsWith('pod/'));
  t.is(podRows.length, 2);
  t.true(podRows.every((r) => r[1] === '1/1' && r[2] === 'Running'));
  t.true(table.some((r) => r[0] === 'service/web' && r[1] === 'ClusterIP'));
  const wide = await kubectl.run(['get', 'po', '-o', 'wide']);
  const ips = cluster.pods({ namespace: 'shop' }).map((p) => p.ip);
  t.true(ips.every((ip) => wide.stdout.includes(ip)));

  // apply again with a change: kubectl's three-way strategic merge patch of the template.
  await writeFile(
    file,
    webManifest('shop', 2).replace(
      'containerPort: 8080}',
      'containerPort: 8080}\n        env: [{name: VERSION, value: "2"}]',
    ),
  );
  const reapplied = await kubectl.run(['apply', '-f', file]);
  t.is(reapplied.code, 0, reapplied.stderr);
  t.regex(reapplied.stdout, /deployment\.apps\/web configured/);
  await cluster.waitForRollout('shop', 'web');
  const template = cluster.api.get('Deployment', 'shop', 'web')?.spec as {
    template: { spec: { containers: { env?: unknown }[] } };
  };
  t.deepEqual(template.template.spec.containers[0]?.env, [{ name: 'VERSION', value: '2' }]);

  // scale through the scale subresource.
  const scaled = await kubectl.run(['scale', 'deployment', 'web', '--replicas=3']);
  t.is(scaled.code, 0, scaled.stderr);
  t.regex(scaled.stdout, /deployment\.apps\/web scaled/);
  await cluster.waitForRollout('shop', 'web');
  t.is(cluster.pods({ namespace: 'shop' }).filter((p) => p.ready).length, 3);
  const replicas = await kubectl.run([
    'get',
    'deploy',
    'web',
    '-o',
    'jsonpath={.status.readyReplicas}/{.spec.replicas}',
  ]);
  t.is(replicas.stdout, '3/3');

  // rollout restart patches a template annotation; rollout status watches until it is done.
  const before = new Set(cluster.pods({ namespace: 'shop' }).map((p) => p.name));
  const restarted = await kubectl.run(['rollout', 'restart', 'deployment/web']);
  t.is(restarted.code, 0, restarted.stderr);
  const status = await kubectl.run(['rollout', 'status', 'deployment/web', '--timeout=20s']);
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, /successfully rolled out/);
  await cluster.waitForRollout('shop', 'web');
  t.false(cluster.pods({ namespace: 'shop' }).some((p) => before.has(p.name)));

  // delete pod: graceful, kubectl waits until it is gone; the Deployment replaces it.
  const victim = cluster.pods({ namespace: 'shop' })[0]!.name;
  const deleted = await kubectl.run(['delete', 'pod', victim]);
  t.is(deleted.code, 0, deleted.stderr);
  t.regex(deleted.stdout, new RegExp(`pod "${victim}" deleted`));
  t.is(cluster.api.get('Pod', 'shop', victim), undefined);
  await waitUntil(
    cluster,
    () => cluster.pods({ namespace: 'shop' }).filter((p) => p.ready && !p.terminating).length === 3,
    'the replacement pod',
  );
  t.false(cluster.pods({ namespace: 'shop' }).some((p) => p.name === victim));
});
