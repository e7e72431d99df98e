// KubernetesSource with credentials obtained on demand: a kubeconfig user running a real exec plugin (through
// the optional @kubernetes/client-node peer) and the `credentials` option, against FakeKubernetesApi over TLS.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isClusterIPError,
  type KubernetesCredentialRequest,
  KubernetesSource,
  kubeconfigOptions,
  type SourceEvent,
} from '@clusterip/resolver';
import { bounded } from '@clusterip/resolver/internal/source/endpoint-source-kubernetes/kube-api-client.js';
import type { FakeKubernetesApi } from '@clusterip/resolver/testing';
import test, { type ExecutionContext } from 'ava';
import { createFakeKubeApi } from '../../../helpers/fake-kube-api.js';
import { createSelfSignedCert, type SelfSignedCert } from '../../../helpers/self-signed-cert.js';
import { addressesOf, EventLog, isReset } from './scripted-api.js';

const NS = 'shop';

/** An exec credential plugin: prints the token in `token` with an expiry `ttl` ms away, counts its runs. */
const PLUGIN = `
import { appendFileSync, readFileSync } from 'node:fs';
const dir = process.argv[2];
// One byte appended per run (O_APPEND): runs that overlap cannot lose a count, as read-increment-write could.
appendFileSync(dir + '/count', '.');
const token = readFileSync(dir + '/token', 'utf8').trim();
const ttl = Number(readFileSync(dir + '/ttl', 'utf8'));
process.stdout.write(JSON.stringify({
  apiVersion: 'client.authentication.k8s.io/v1',
  kind: 'ExecCredential',
  status: { token, expirationTimestamp: new Date(Date.now() + ttl).toISOString() },
}));
`;

interface Setup {
  readonly api: FakeKubernetesApi;
  readonly server: SelfSignedCert;
  readonly dir: string;
  readonly kubeconfig: string;
  runs(): Promise<number>;
  setPluginToken(token: string): Promise<void>;
}

function pod(name: string, ip: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image: 'web', ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

async function setup(t: ExecutionContext, token: string, ttlMs: number): Promise<Setup> {
  const server = await createSelfSignedCert(t);
  const api = await createFakeKubeApi(t, { token, tls: { key: server.key, cert: server.cert } });
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: NS },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  api.apply(pod('web-1', '127.0.0.2'));
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-exec-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'plugin.mjs'), PLUGIN);
  await writeFile(join(dir, 'token'), token);
  await writeFile(join(dir, 'ttl'), String(ttlMs));
  const kubeconfig = join(dir, 'config');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: fake',
      'clusters:',
      '- name: fake',
      '  cluster:',
      `    server: ${JSON.stringify(api.url)}`,
      `    certificate-authority: ${JSON.stringify(server.certFile)}`,
      'contexts:',
      '- name: fake',
      `  context: {cluster: fake, user: plugin-user, namespace: ${NS}}`,
      'users:',
      '- name: plugin-user',
      '  user:',
      '    exec:',
      '      apiVersion: client.authentication.k8s.io/v1',
      `      command: ${JSON.stringify(process.execPath)}`,
      `      args: [${JSON.stringify(join(dir, 'plugin.mjs'))}, ${JSON.stringify(dir)}]`,
      '      interactiveMode: Never',
      '',
    ].join('\n'),
  );
  return {
    api,
    server,
    dir,
    kubeconfig,
    runs: async () => (await readFile(join(dir, 'count'), 'utf8').catch(() => '')).length,
    setPluginToken: (next) => writeFile(join(dir, 'token'), next),
  };
}

function watch(t: ExecutionContext, src: KubernetesSource): EventLog {
  const log = new EventLog();
  const w = src.watch(
    { fqdn: `web.${NS}.svc.cluster.local.`, name: { kind: 'service', namespace: NS, service: 'web' }, port: 'http' },
    log.listener,
  );
  t.teardown(() => w.close());
  return log;
}

const has = (ip: string) => (e: SourceEvent) => addressesOf(e).includes(ip);

async function fromKubeconfig(t: ExecutionContext, path: string): Promise<KubernetesSource> {
  const src = await KubernetesSource.fromKubeconfig({
    path,
    backoff: { initialMs: 5, maxMs: 20, jitter: 0 },
    requestTimeoutMs: 5000,
    idleTimeoutMs: 0,
  });
  t.teardown(() => src.close());
  return src;
}

test('exec plugin: the watch works with its token; after the server rotates it (401) the plugin runs again and the watch resumes', async (t) => {
  const s = await setup(t, 'exec-token-1', 3_600_000);
  const src = await fromKubeconfig(t, s.kubeconfig);
  t.is(src.namespace, NS);
  t.is(src.config.client.token, undefined);
  const log = watch(t, src);
  t.deepEqual(addressesOf(await log.next(isReset)), ['127.0.0.2']);
  const before = await s.runs();
  t.true(before >= 1);
  t.false(s.api.requests.some((r) => r.status === 401));

  // Rotation: the server now wants another token, which the plugin will print on its next run. Cached by
  // client-node until its expiry (an hour away), the old token earns a 401, and the client must run the plugin.
  s.api.setToken('exec-token-2');
  await s.setPluginToken('exec-token-2');
  s.api.disconnectWatches();
  s.api.apply(pod('web-2', '127.0.0.3'));
  await log.next(has('127.0.0.3'));
  t.true(s.api.requests.some((r) => r.status === 401));
  t.true((await s.runs()) > before);
});

test('exec plugin: an expired credential runs the plugin again before the next request, without a 401', async (t) => {
  // Every credential the plugin prints has already expired: client-node must run it for each request.
  const s = await setup(t, 'exec-token-x', -1000);
  const src = await fromKubeconfig(t, s.kubeconfig);
  const log = watch(t, src);
  t.deepEqual(addressesOf(await log.next(isReset)), ['127.0.0.2']);
  const before = await s.runs();
  s.api.dropWatches();
  s.api.apply(pod('web-2', '127.0.0.3'));
  await log.next(has('127.0.0.3'));
  t.true((await s.runs()) > before);
  t.false(s.api.requests.some((r) => r.status === 401));
});

test('exec plugin without @kubernetes/client-node → InvalidArgumentError naming the user, the method and the fix', async (t) => {
  const s = await setup(t, 'exec-token-3', 3_600_000);
  const err = await t.throwsAsync(
    kubeconfigOptions(
      { path: s.kubeconfig },
      {
        importClientNode: () => Promise.reject(Object.assign(new Error('not found'), { code: 'ERR_MODULE_NOT_FOUND' })),
      },
    ),
  );
  t.true(isClusterIPError(err));
  t.is((err as unknown as { code: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  t.regex(err?.message ?? '', /user "plugin-user" uses exec authentication/);
  t.regex(err?.message ?? '', /npm install @kubernetes\/client-node/);
  t.is(await s.runs(), 0);
});

test('credentials option: asked before the first request, again with reason "unauthorized" after a 401, never echoed', async (t) => {
  const server = await createSelfSignedCert(t);
  const api = await createFakeKubeApi(t, { token: 'provided-1', tls: { key: server.key, cert: server.cert } });
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: NS },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  api.apply(pod('web-1', '127.0.0.2'));
  const reasons: KubernetesCredentialRequest['reason'][] = [];
  let current = 'provided-1';
  const src = new KubernetesSource({
    server: api.url,
    caFile: server.certFile,
    backoff: { initialMs: 5, maxMs: 20, jitter: 0 },
    idleTimeoutMs: 0,
    credentials: async ({ reason }) => {
      reasons.push(reason);
      return { token: current };
    },
  });
  t.teardown(() => src.close());
  const log = watch(t, src);
  await log.next(isReset);
  t.is(reasons[0], 'initial');
  t.false(reasons.includes('unauthorized'));
  current = 'provided-2';
  api.setToken('provided-2');
  api.disconnectWatches();
  api.apply(pod('web-2', '127.0.0.3'));
  await log.next(has('127.0.0.3'));
  t.true(reasons.includes('unauthorized'));
});

test('credentials option: a failing provider makes the watch stale without its message; validation rejects clashes', async (t) => {
  const server = await createSelfSignedCert(t);
  const api = await createFakeKubeApi(t, { token: 'x', tls: { key: server.key, cert: server.cert } });
  const src = new KubernetesSource({
    server: api.url,
    caFile: server.certFile,
    backoff: { initialMs: 5, maxMs: 20, jitter: 0 },
    idleTimeoutMs: 0,
    credentials: () => Promise.reject(new Error('plugin said s3cret-value')),
  });
  t.teardown(() => src.close());
  const log = watch(t, src);
  const stale = await log.next((e) => e.type === 'stale');
  t.true(stale.type === 'stale' && /credentials provider failed/.test(stale.error.message));
  t.false(stale.type === 'stale' && stale.error.message.includes('s3cret-value'));

  for (const options of [
    { server: api.url, token: 's3cret-value', credentials: async () => ({}) },
    { server: api.url, certFile: 'c', keyFile: 'k', credentials: async () => ({}) },
    { server: api.url, credentials: 's3cret-value' },
    { server: api.url, runRequest: 1 },
  ]) {
    const err = t.throws(() => new KubernetesSource(options as never));
    t.is((err as unknown as { code: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.false(err?.message.includes('s3cret-value'));
  }
});

test('credentials option: a provider that never answers makes the watch stale after requestTimeoutMs; close() does not wait for it', async (t) => {
  const api = await createFakeKubeApi(t);
  let calls = 0;
  const src = new KubernetesSource({
    server: api.url,
    backoff: { initialMs: 5, maxMs: 20, jitter: 0 },
    requestTimeoutMs: 200,
    idleTimeoutMs: 0,
    credentials: () => {
      calls++;
      return new Promise(() => {}); // an exec plugin waiting for a login that never comes
    },
  });
  t.teardown(() => src.close());
  const log = watch(t, src);
  const stale = await log.next((e) => e.type === 'stale');
  t.regex(stale.type === 'stale' ? stale.error.message : '', /credentials: no answer within 200 ms/);
  t.is(calls, 1, 'one provider call at a time: later attempts wait for the same one');
  const closed = await Promise.race([
    src.close().then(() => 'closed'),
    new Promise((resolve) => setTimeout(resolve, 2000, 'close() still pending')).then(String),
  ]);
  t.is(closed, 'closed');
});

test('the bounded wait for credentials handles a provider that rejects after its request was aborted (nothing unhandled)', async (t) => {
  const aborted = AbortSignal.abort();
  let rejectLate: (error: Error) => void = () => {};
  const late = new Promise<never>((_resolve, reject) => {
    rejectLate = reject;
  });
  await t.throwsAsync(bounded(late, aborted, 1000, 'credentials'), { message: 'credentials: request aborted' });
  // The provider fails afterwards: an unhandled rejection here would fail this test file.
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  rejectLate(new Error('token file unreadable'));
  await new Promise((resolve) => setImmediate(resolve));
  process.off('unhandledRejection', onUnhandled);
  t.deepEqual(unhandled, []);
});

test('runRequest option and wrapRequests(): every request starts inside the wrappers, each added once', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: NS },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  const calls: string[] = [];
  const src = new KubernetesSource({
    server: api.url,
    idleTimeoutMs: 0,
    runRequest: (start) => {
      calls.push('option');
      return start();
    },
  });
  t.teardown(() => src.close());
  const wrapper = <T>(start: () => T): T => {
    calls.push('wrapper');
    return start();
  };
  src.wrapRequests(wrapper);
  src.wrapRequests(wrapper);
  t.throws(() => src.wrapRequests(undefined as never), { code: 'CLUSTERIP_ERR_INVALID_ARG' } as never);
  const log = watch(t, src);
  await log.next(isReset);
  const requests = api.requests.length;
  t.true(requests >= 2);
  t.is(calls.filter((c) => c === 'option').length, calls.filter((c) => c === 'wrapper').length);
  t.true(calls.filter((c) => c === 'option').length >= 2);
  // Option outermost, then the wrapper, then the request.
  t.deepEqual(calls.slice(0, 2), ['option', 'wrapper']);
});
