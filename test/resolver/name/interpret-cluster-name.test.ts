import { interpretClusterName } from '@clusterip/resolver';
import test from 'ava';

const Z = 'cluster.local';
const table: [string, unknown][] = [
  ['web.prod.svc.cluster.local.', { kind: 'service', namespace: 'prod', service: 'web' }],
  ['WEB.Prod.SVC.Cluster.Local', { kind: 'service', namespace: 'prod', service: 'web' }],
  ['db-0.db.prod.svc.cluster.local.', { kind: 'endpoint', namespace: 'prod', service: 'db', hostname: 'db-0' }],
  [
    '10-1-2-3.web.prod.svc.cluster.local.',
    { kind: 'endpoint', namespace: 'prod', service: 'web', hostname: '10-1-2-3' },
  ],
  [
    '_grpc._tcp.db.prod.svc.cluster.local.',
    { kind: 'srv', namespace: 'prod', service: 'db', port: 'grpc', protocol: 'tcp' },
  ],
  [
    '_HTTP._TCP.web.prod.svc.cluster.local.',
    { kind: 'srv', namespace: 'prod', service: 'web', port: 'http', protocol: 'tcp' },
  ],
  ['10-244-1-7.prod.pod.cluster.local.', { kind: 'pod', namespace: 'prod', ip: '10.244.1.7' }],
  ['fd00-0-0-0-0-0-0-7.prod.pod.cluster.local.', { kind: 'pod', namespace: 'prod', ip: 'fd00:0:0:0:0:0:0:7' }],
  ['prod.svc.cluster.local.', { kind: 'no-data', fqdn: 'prod.svc.cluster.local.', namespace: 'prod' }],
  ['prod.pod.cluster.local.', { kind: 'no-data', fqdn: 'prod.pod.cluster.local.', namespace: 'prod' }],
  ['svc.cluster.local.', { kind: 'no-data', fqdn: 'svc.cluster.local.' }],
  ['pod.cluster.local.', { kind: 'no-data', fqdn: 'pod.cluster.local.' }],
  ['cluster.local.', { kind: 'no-data', fqdn: 'cluster.local.' }],
  ['example.com.', { kind: 'outside', fqdn: 'example.com.' }],
  ['notcluster.local.', { kind: 'outside', fqdn: 'notcluster.local.' }],
  ['web.prod.svc.cluster.local.example.com', { kind: 'outside', fqdn: 'web.prod.svc.cluster.local.example.com.' }],
];
for (const [fqdn, expected] of table) {
  test(`interpretClusterName(${JSON.stringify(fqdn)})`, (t) => {
    t.deepEqual(interpretClusterName(fqdn, Z), expected);
  });
}

const invalid = [
  'a.b.c.web.prod.svc.cluster.local.', // too many labels (CoreDNS: NXDOMAIN)
  'x._tcp.web.prod.svc.cluster.local.', // five labels that are not _port._proto
  '_http.web.prod.svc.cluster.local.', // endpoint label starting with _
  'web.prod.foo.cluster.local.', // neither svc nor pod
  'not-an-ip.prod.pod.cluster.local.',
  '1-2-3.prod.pod.cluster.local.',
  'x.10-0-0-1.prod.pod.cluster.local.',
];
for (const fqdn of invalid) {
  test(`interpretClusterName(${JSON.stringify(fqdn)}) is invalid (NXDOMAIN)`, (t) => {
    const result = interpretClusterName(fqdn, Z);
    t.is(result.kind, 'invalid');
    t.true('reason' in result && result.reason.length > 0);
  });
}

test('custom cluster domains, with or without a trailing dot', (t) => {
  t.deepEqual(interpretClusterName('web.prod.svc.k8s.corp.example', 'k8s.corp.example.'), {
    kind: 'service',
    namespace: 'prod',
    service: 'web',
  });
});

test('bad input is a typed error', (t) => {
  t.is((t.throws(() => interpretClusterName('a..b', Z)) as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_NAME');
  t.is((t.throws(() => interpretClusterName('web', '')) as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_NAME');
});
