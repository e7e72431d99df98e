import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectClusterContext } from '@clusterip/resolver';
import test from 'ava';

const POD_RESOLV =
  'search shop.svc.k8s.local svc.k8s.local k8s.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n';
const MISSING = '/nonexistent/clusterip-test';

test('inside a pod: namespace and cluster domain from the search list, dns from the file', async (t) => {
  const ctx = await detectClusterContext({ resolvConf: POD_RESOLV, env: {}, namespaceFile: MISSING });
  t.is(ctx.namespace, 'shop');
  t.is(ctx.clusterDomain, 'k8s.local');
  t.is(ctx.dns.ndots, 5);
  t.deepEqual(ctx.dns.nameservers, ['10.96.0.10']);
  t.deepEqual(ctx.origin, { namespace: 'search', clusterDomain: 'search', dns: 'file' });
});

test('a pod in a namespace named svc: its search list still names the namespace and the cluster domain', async (t) => {
  const ctx = await detectClusterContext({
    resolvConf: 'search svc.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
    env: {},
    namespaceFile: MISSING,
  });
  t.is(ctx.namespace, 'svc');
  t.is(ctx.clusterDomain, 'cluster.local');
  t.is(ctx.origin.dns, 'file');
});

test('namespace order: option, POD_NAMESPACE, service-account file, search list, default', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-ctx-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'namespace');
  await writeFile(file, 'from-file\n');
  const base = { resolvConf: POD_RESOLV, namespaceFile: file };
  t.is(
    (await detectClusterContext({ ...base, env: { POD_NAMESPACE: 'from-env' }, namespace: 'opt' })).namespace,
    'opt',
  );
  t.is((await detectClusterContext({ ...base, env: { POD_NAMESPACE: 'from-env' } })).namespace, 'from-env');
  t.is((await detectClusterContext({ ...base, env: { NAMESPACE: 'ns2' } })).namespace, 'ns2');
  const fromFile = await detectClusterContext({ ...base, env: {} });
  t.is(fromFile.namespace, 'from-file');
  t.is(fromFile.origin.namespace, 'service-account');
  t.is((await detectClusterContext({ resolvConf: '', env: {}, namespaceFile: MISSING })).namespace, 'default');
});

test('off-cluster resolv.conf: search list synthesized as kubelet writes it for ClusterFirst', async (t) => {
  const ctx = await detectClusterContext({
    resolvConf: 'nameserver 192.168.1.1\nsearch home.lan\noptions ndots:1 edns0\n',
    env: { POD_NAMESPACE: 'dev' },
  });
  t.is(ctx.clusterDomain, 'cluster.local');
  t.deepEqual(ctx.dns.search, ['dev.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'home.lan']);
  t.is(ctx.dns.ndots, 5);
  t.deepEqual(ctx.dns.options, { ndots: '5' });
  t.deepEqual(ctx.dns.nameservers, ['192.168.1.1']);
  t.is(ctx.origin.dns, 'synthesized');
});

test('synthesized search list: at most 32 domains and 2048 characters, cut from the end as kubelet does', async (t) => {
  // 230 characters each: the three cluster entries (53 characters) and eight fit in 2048, the ninth does not.
  const long = (i: number) =>
    `${String(i).padStart(2, '0')}${'x'.repeat(59)}.${'y'.repeat(63)}.${'z'.repeat(63)}.${'w'.repeat(40)}`;
  const node = Array.from({ length: 9 }, (_, i) => long(i));
  const ctx = await detectClusterContext({ resolvConf: `search ${node.join(' ')}\n`, env: { POD_NAMESPACE: 'dev' } });
  t.deepEqual(ctx.dns.search, ['dev.svc.cluster.local', 'svc.cluster.local', 'cluster.local', ...node.slice(0, 8)]);
  t.true(ctx.dns.search.join(' ').length <= 2048);
  const many = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
  const capped = await detectClusterContext({
    resolvConf: `search ${many.join(' ')}\n`,
    env: { POD_NAMESPACE: 'dev' },
  });
  t.is(capped.dns.search.length, 32);
  t.is(capped.dns.search[31], 'd28.example');
});

test('node, zone and pod IP from the downward-API variables, or options', async (t) => {
  const ctx = await detectClusterContext({
    resolvConf: POD_RESOLV,
    env: { NODE_NAME: 'node-a', NODE_ZONE: 'zone-1', POD_IP: '10.244.0.7' },
  });
  t.is(ctx.nodeName, 'node-a');
  t.is(ctx.zone, 'zone-1');
  t.is(ctx.podIP, '10.244.0.7');
  const opt = await detectClusterContext({
    resolvConf: POD_RESOLV,
    env: {},
    nodeName: 'n2',
    zone: 'z2',
    podIP: '10.0.0.9',
  });
  t.deepEqual([opt.nodeName, opt.zone, opt.podIP], ['n2', 'z2', '10.0.0.9']);
});

test('a resolv.conf path that does not exist falls back to defaults', async (t) => {
  const ctx = await detectClusterContext({ resolvConfPath: MISSING, env: {}, namespaceFile: MISSING });
  t.is(ctx.namespace, 'default');
  t.deepEqual(ctx.dns.search, ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
});

test('bad input: invalid namespace, cluster domain, unknown option', async (t) => {
  const e1 = await t.throwsAsync(detectClusterContext({ resolvConf: '', env: { POD_NAMESPACE: 'Bad_NS' } }));
  t.is((e1 as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_NAME');
  const e2 = await t.throwsAsync(detectClusterContext({ resolvConf: '', clusterDomain: 'a..b' }));
  t.is((e2 as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_NAME');
  const e3 = await t.throwsAsync(detectClusterContext({ resolvConf: '', nameSpace: 'x' } as never));
  t.is((e3 as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
});
