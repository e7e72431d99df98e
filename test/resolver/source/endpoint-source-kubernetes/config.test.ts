import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubernetesSource } from '@clusterip/resolver';
import {
  inClusterConfig,
  kubeconfigOptions,
  resolveKubernetesSourceOptions,
} from '@clusterip/resolver/internal/source/endpoint-source-kubernetes/config.js';
import test from 'ava';

const SECRET = 'sekret-token-value-123';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-kcfg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('explicit options: defaults applied and frozen', (t) => {
  const c = resolveKubernetesSourceOptions({ server: 'https://127.0.0.1:6443', token: SECRET });
  t.is(c.idleTimeoutMs, 30_000);
  t.is(c.requestTimeoutMs, 30_000);
  t.is(c.minWatchTimeoutSeconds, 300);
  t.is(c.client.tokenRefreshIntervalMs, 60_000);
  t.is(c.namespaceWatchServices, 16);
  t.deepEqual({ ...c.backoff }, { initialMs: 800, maxMs: 30_000, factor: 2, jitter: 1, resetAfterMs: 120_000 });
  t.true(Object.isFrozen(c));
  t.true(Object.isFrozen(c.client));
});

const invalid: [string, unknown, string][] = [
  ['unknown key', { server: 'https://a', kubeconfig: 'x' }, 'kubeconfig'],
  ['no server', {}, 'server'],
  ['bad scheme', { server: 'ftp://a' }, 'server'],
  ['credentials in URL', { server: `https://user:${SECRET}@a` }, 'server'],
  ['token and tokenFile', { server: 'https://a', token: SECRET, tokenFile: '/t' }, 'token'],
  ['cert without key', { server: 'https://a', cert: 'PEM' }, 'key'],
  ['negative timeout', { server: 'https://a', requestTimeoutMs: -1 }, 'requestTimeoutMs'],
  ['token not a string', { server: 'https://a', token: 42 }, 'token'],
  ['bad backoff key', { server: 'https://a', backoff: { foo: 1 } }, 'backoff.foo'],
  ['namespaceWatchServices 0', { server: 'https://a', namespaceWatchServices: 0 }, 'namespaceWatchServices'],
  ['namespaceWatchServices 2.5', { server: 'https://a', namespaceWatchServices: 2.5 }, 'namespaceWatchServices'],
  ['namespaceWatchServices NaN', { server: 'https://a', namespaceWatchServices: Number.NaN }, 'namespaceWatchServices'],
  ['namespaceWatchServices "16"', { server: 'https://a', namespaceWatchServices: '16' }, 'namespaceWatchServices'],
];
test('namespaceWatchServices: whole numbers from 1, or Infinity; the error says what is allowed', (t) => {
  const at = (n: unknown) =>
    resolveKubernetesSourceOptions({ server: 'https://a', namespaceWatchServices: n as number }).namespaceWatchServices;
  t.is(at(1), 1);
  t.is(at(500), 500);
  t.is(at(Number.POSITIVE_INFINITY), Number.POSITIVE_INFINITY);
  const err = t.throws(() => at(-3));
  t.regex(
    err?.message ?? '',
    /namespaceWatchServices must be a whole number of Services from 1 .* or Infinity \(never\), got -3/,
  );
});

for (const [title, options, option] of invalid) {
  test(`invalid options: ${title} → CLUSTERIP_ERR_INVALID_ARG at ${option}`, (t) => {
    const err = t.throws(() => new KubernetesSource(options as never)) as unknown as {
      code: string;
      option: string;
      message: string;
    };
    t.is(err.code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.is(err.option, option);
    t.false(err.message.includes(SECRET));
  });
}

test('inCluster: server from env, default service-account paths, namespace from POD_NAMESPACE or file', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'namespace'), 'shop\n');
  const caFile = join(dir, 'ca.crt');
  await writeFile(caFile, PEM);
  const r = inClusterConfig({
    env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
    namespaceFile: join(dir, 'namespace'),
    caFile,
  });
  t.is(r.options.server, 'https://[fd00::1]:443');
  t.is(r.options.tokenFile, '/var/run/secrets/kubernetes.io/serviceaccount/token');
  t.is(r.options.caFile, caFile);
  t.is(r.namespace, 'shop');
  const r2 = inClusterConfig({
    env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', POD_NAMESPACE: 'env-ns' },
    tokenFile: '/x/token',
    caFile,
  });
  t.is(r2.namespace, 'env-ns');
  t.is(r2.options.tokenFile, '/x/token');
  const src = KubernetesSource.inCluster({
    env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
    namespaceFile: join(dir, 'missing'),
    caFile,
  });
  t.teardown(() => src.close());
  t.is(src.namespace, 'default');
});

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

test('inCluster: a CA bundle that cannot be read or holds no certificate is left out with a warning (system roots, as client-go)', async (t) => {
  const dir = await tempDir(t);
  const garbage = join(dir, 'garbage.crt');
  await writeFile(garbage, 'not a certificate');
  const missing = join(dir, 'missing.crt');
  const warnings: string[] = [];
  const seen = new Promise<void>((resolve) => {
    const onWarning = (w: Error) => {
      if (w.name === 'ClusterIPWarning' && w.message.includes(dir)) warnings.push(w.message);
      if (warnings.length === 2) {
        process.off('warning', onWarning);
        resolve();
      }
    };
    process.on('warning', onWarning);
  });
  const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', POD_NAMESPACE: 'x' };
  t.false('caFile' in inClusterConfig({ env, caFile: join(dir, 'skipped.crt'), insecureSkipTlsVerify: true }).options);
  t.false('caFile' in inClusterConfig({ env, caFile: missing }).options);
  t.false('caFile' in inClusterConfig({ env, caFile: garbage }).options);
  await seen;
  // Warnings come in call order: the first is not about skipped.crt, whose verification is off.
  t.regex(warnings[0] ?? '', /missing\.crt cannot be read \(ENOENT\): .*system's roots/);
  t.regex(warnings[1] ?? '', /garbage\.crt holds no PEM certificate/);
});

test('inCluster outside a cluster → InvalidArgumentError suggesting fromKubeconfig', (t) => {
  const err = t.throws(() => KubernetesSource.inCluster({ env: {} })) as unknown as { code: string; message: string };
  t.is(err.code, 'CLUSTERIP_ERR_INVALID_ARG');
  t.regex(err.message, /fromKubeconfig/);
});

function kubeconfig(user: string, extraCluster = ''): string {
  return `apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: c1, user: u1, namespace: shop}
- name: other
  context: {cluster: c1, user: u2}
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.pem
${extraCluster}
users:
- name: u1
  user:
${user}
- name: u2
  user:
    client-certificate-data: ${Buffer.from('CERT').toString('base64')}
    client-key-data: ${Buffer.from('KEY').toString('base64')}
`;
}

test('kubeconfig: current context, token, relative CA path, namespace', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'config');
  await writeFile(file, kubeconfig(`    token: ${SECRET}`));
  const r = await kubeconfigOptions({ path: file });
  t.is(r.options.server, 'https://127.0.0.1:6443');
  t.is(r.options.token, SECRET);
  t.is(r.options.caFile, join(dir, 'ca.pem'));
  t.is(r.namespace, 'shop');
});

test('kubeconfig: explicit context with client certificate data; KUBECONFIG env', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'config');
  await writeFile(file, kubeconfig(`    token: ${SECRET}`, '    insecure-skip-tls-verify: true'));
  const r = await kubeconfigOptions({ context: 'other', env: { KUBECONFIG: file } });
  t.is(Buffer.from(r.options.cert as Uint8Array).toString(), 'CERT');
  t.is(Buffer.from(r.options.key as Uint8Array).toString(), 'KEY');
  t.true(r.options.insecureSkipTlsVerify);
  t.is(r.options.token, undefined);
});

test('kubeconfig: exec and auth-provider users → a credentials provider (through @kubernetes/client-node), no static secret', async (t) => {
  const dir = await tempDir(t);
  for (const [user, method] of [
    ['    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}', 'exec'],
    [`    auth-provider: {name: oidc, config: {id-token: ${SECRET}}}`, 'auth-provider'],
  ] as const) {
    const file = join(dir, `config-${method}`);
    await writeFile(file, kubeconfig(user));
    const r = await kubeconfigOptions({ path: file });
    t.is(typeof r.options.credentials, 'function', method);
    t.is(r.options.token, undefined);
    t.false(JSON.stringify(r.options).includes(SECRET));
  }
});

test('kubeconfig: missing file, bad YAML, unknown context → typed errors', async (t) => {
  const dir = await tempDir(t);
  const bad = join(dir, 'bad');
  await writeFile(bad, `token: ${SECRET}\n  : : [`);
  for (const options of [{ path: join(dir, 'nope') }, { path: bad }]) {
    const err = (await t.throwsAsync(kubeconfigOptions(options))) as unknown as { code: string; message: string };
    t.is(err.code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.false(err.message.includes(SECRET));
  }
  const file = join(dir, 'config');
  await writeFile(file, kubeconfig(`    token: ${SECRET}`));
  const err = (await t.throwsAsync(kubeconfigOptions({ path: file, context: 'nope' }))) as unknown as {
    message: string;
  };
  t.regex(err.message, /context "nope" not found/);
});
