// The CLI's connection with a kubeconfig user that runs an exec credential plugin (through the optional
// @kubernetes/client-node): the plugin's token reaches the API server and the command answers.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createFakeKubeApi } from '../../helpers/fake-kube-api.js';
import { runInProcess } from './cli-fixture.js';

const PLUGIN = `
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
const dir = process.argv[2];
const countFile = dir + '/count';
writeFileSync(countFile, String((existsSync(countFile) ? Number(readFileSync(countFile, 'utf8')) : 0) + 1));
process.stdout.write(JSON.stringify({
  apiVersion: 'client.authentication.k8s.io/v1',
  kind: 'ExecCredential',
  status: { token: 'cli-exec-t0ken', expirationTimestamp: new Date(Date.now() + 3600000).toISOString() },
}));
`;

test('exec kubeconfig user: the plugin runs, its token is accepted, the command answers; no token in output', async (t) => {
  const api = await createFakeKubeApi(t, { token: 'cli-exec-t0ken' });
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image: 'web', ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: '127.0.0.2', conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-cli-exec-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'plugin.mjs'), PLUGIN);
  const kubeconfig = join(dir, 'config');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: fake',
      'clusters:',
      `- {name: fake, cluster: {server: ${JSON.stringify(api.url)}}}`,
      'contexts:',
      '- {name: fake, context: {cluster: fake, user: sso, namespace: shop}}',
      'users:',
      '- name: sso',
      '  user:',
      '    exec:',
      '      apiVersion: client.authentication.k8s.io/v1',
      `      command: ${JSON.stringify(process.execPath)}`,
      `      args: [${JSON.stringify(join(dir, 'plugin.mjs'))}, ${JSON.stringify(dir)}]`,
      '',
    ].join('\n'),
  );
  const run = await runInProcess(['endpoints', 'web', '--kubeconfig', kubeconfig, '-o', 'json'], {});
  t.is(run.code, 0, run.stderr);
  t.true(run.stdout.includes('127.0.0.2'));
  t.false(`${run.stdout}${run.stderr}`.includes('cli-exec-t0ken'));
  t.true(Number(await readFile(join(dir, 'count'), 'utf8')) >= 1);
  t.false(api.requests.some((r) => r.status === 401));
});
