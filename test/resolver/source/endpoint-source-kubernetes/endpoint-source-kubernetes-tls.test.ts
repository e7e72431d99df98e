// KubernetesSource over https against FakeKubernetesApi's `tls` option: CA verification (file and
// inline), a wrong CA, bearer tokens and their rotation over TLS, insecureSkipTlsVerify, kubeconfig.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EndpointSet,
  isClusterIPError,
  KubernetesSource,
  type KubernetesSourceOptions,
  Resolver,
  type SourceEvent,
  WatchFailedError,
} from '@clusterip/resolver';
import type { FakeKubernetesApi } from '@clusterip/resolver/testing';
import test, { type ExecutionContext } from 'ava';
import { createFakeKubeApi } from '../../../helpers/fake-kube-api.js';
import { createSelfSignedCert, type SelfSignedCert } from '../../../helpers/self-signed-cert.js';
import { EventLog, isReset, isUpdate } from './scripted-api.js';

const NS = 'shop';
const TOKEN = 'tls-s3cret-t0ken';

/** An https fake API server (its own self-signed certificate) holding Service web with one ready pod. */
async function startApi(t: ExecutionContext): Promise<{ api: FakeKubernetesApi; server: SelfSignedCert }> {
  const server = await createSelfSignedCert(t);
  const api = await createFakeKubeApi(t, { token: TOKEN, tls: { key: server.key, cert: server.cert } });
  t.regex(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: NS },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: NS, labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image: 'web', ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: '127.0.0.2', conditions: [{ type: 'Ready', status: 'True' }] },
  });
  return { api, server };
}

function source(t: ExecutionContext, options: KubernetesSourceOptions): KubernetesSource {
  const s = new KubernetesSource({
    backoff: { initialMs: 5, maxMs: 20, jitter: 0 },
    requestTimeoutMs: 5000,
    idleTimeoutMs: 0,
    ...options,
  });
  t.teardown(() => s.close());
  return s;
}

function watch(t: ExecutionContext, src: KubernetesSource, svc = 'web', port: string | number = 'http'): EventLog {
  const log = new EventLog();
  const w = src.watch(
    { fqdn: `${svc}.${NS}.svc.cluster.local.`, name: { kind: 'service', namespace: NS, service: svc }, port },
    log.listener,
  );
  t.teardown(() => w.close());
  return log;
}

function addresses(event: SourceEvent): string[] {
  return event.type === 'update'
    ? EndpointSet.empty()
        .apply(event.update)
        .endpoints.map((e) => e.address)
    : [];
}

test('caFile: the server certificate verifies, the token is sent over TLS, endpoints arrive', async (t) => {
  const { api, server } = await startApi(t);
  const src = source(t, { server: api.url, token: TOKEN, caFile: server.certFile });
  const log = watch(t, src);
  const reset = await log.next(isUpdate);
  t.true(isReset(reset));
  t.deepEqual(addresses(reset), ['127.0.0.2']);
  const lists = api.requests.filter((r) => !r.watch);
  t.true(lists.length >= 2, 'services and endpointslices were listed');
  t.true(
    lists.every((r) => r.authenticated && r.status === 200),
    'every list carried the token and was accepted',
  );
  t.false(log.events.some((e) => e.type === 'stale'));
});

test('inline ca (string and bytes) verifies the server too', async (t) => {
  const { api, server } = await startApi(t);
  for (const ca of [server.cert.toString('utf8'), new Uint8Array(server.cert)]) {
    const src = source(t, { server: api.url, token: TOKEN, ca });
    const reset = await watch(t, src).next(isUpdate);
    t.deepEqual(addresses(reset), ['127.0.0.2'], typeof ca);
  }
});

test('a wrong CA (or none, with the system roots) → stale WatchFailedError without the token, never a crash', async (t) => {
  const { api } = await startApi(t);
  const stranger = await createSelfSignedCert(t);
  for (const options of [{ caFile: stranger.certFile }, {}]) {
    const src = source(t, { server: api.url, token: TOKEN, ...options });
    const log = watch(t, src);
    const stale = await log.next();
    t.is(stale.type, 'stale');
    if (stale.type !== 'stale') return;
    t.true(stale.error instanceof WatchFailedError);
    t.true(isClusterIPError(stale.error));
    t.is(stale.error.code, 'CLUSTERIP_ERR_WATCH_FAILED');
    t.regex(stale.error.message, /certificate|self.signed|verify/i);
    t.false(stale.error.message.includes(TOKEN), 'the token never appears in the message');
    t.false(JSON.stringify(stale.error).includes(TOKEN));
    t.false(String(stale.error.stack).includes(TOKEN));
    // The resolver turns it into a typed rejection, not a hang or a crash.
    const resolver = new Resolver({ source: src, context: { namespace: NS } });
    t.teardown(() => resolver.close());
    const error = await t.throwsAsync(resolver.resolve('web:http'));
    t.is((error as { code?: string } | undefined)?.code, 'CLUSTERIP_ERR_WATCH_FAILED');
    t.false(String(error?.message).includes(TOKEN));
  }
  t.false(
    api.requests.some((r) => r.authenticated),
    'the handshake failed before any request (and the token) reached the wire',
  );
});

test('token file rotation over TLS: a 401 re-reads the file and the retry is accepted', async (t) => {
  const { api, server } = await startApi(t);
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-tls-tok-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  const src = source(t, { server: api.url, tokenFile, caFile: server.certFile });
  t.true(isReset(await watch(t, src).next(isUpdate)));
  // Rotate: the server accepts only the new token, the file holds it, the client still caches the old one.
  await writeFile(tokenFile, 'rotated-t0ken');
  api.setToken('rotated-t0ken');
  api.clearRequests();
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'api', namespace: NS },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  const log = watch(t, src, 'api');
  const reset = await log.next(isUpdate);
  t.deepEqual(addresses(reset), ['127.0.0.2']);
  const services = api.requests.filter((r) => !r.watch && r.path.endsWith('/services'));
  t.deepEqual(
    services.map((r) => r.status),
    [401, 200],
    'the cached token was refused, the re-read one accepted',
  );
  t.false(log.events.some((e) => e.type === 'stale'));
  t.false(JSON.stringify(api.requests).includes('rotated-t0ken'));
});

test('insecureSkipTlsVerify connects without any CA', async (t) => {
  const { api } = await startApi(t);
  const src = source(t, { server: api.url, token: TOKEN, insecureSkipTlsVerify: true });
  t.deepEqual(addresses(await watch(t, src).next(isUpdate)), ['127.0.0.2']);
});

test('fromKubeconfig with the kubeconfig FakeKubernetesApi writes (https, CA data, token) end to end', async (t) => {
  const { api } = await startApi(t);
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-tls-kc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'config');
  const text = api.kubeconfig({ namespace: NS });
  t.regex(text, /certificate-authority-data/);
  await writeFile(path, text);
  const src = await KubernetesSource.fromKubeconfig({ path, env: {}, idleTimeoutMs: 0 });
  t.teardown(() => src.close());
  t.is(src.namespace, NS);
  t.is(src.config.client.server.protocol, 'https:');
  t.false(src.config.client.insecureSkipTlsVerify);
  const resolver = new Resolver({ source: src, context: { namespace: src.namespace } });
  t.teardown(() => resolver.close());
  const snapshot = await resolver.resolve('web:http');
  t.is(snapshot.status, 'ok');
  t.is(snapshot.fqdn, 'web.shop.svc.cluster.local.');
  t.deepEqual(
    snapshot.endpoints.map((e) => `${e.address}:${e.port}`),
    ['127.0.0.2:8080'],
  );
  t.true(api.requests.every((r) => r.authenticated && r.status === 200));
});
