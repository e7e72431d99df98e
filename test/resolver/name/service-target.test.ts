import { parseServiceTarget } from '@clusterip/resolver';
import test from 'ava';

const table: [string, Record<string, unknown>][] = [
  ['backend-service', { host: 'backend-service', ipVersion: 0 }],
  ['backend-service.production:3000', { host: 'backend-service.production', port: 3000 }],
  ['web:http', { host: 'web', port: 'http' }],
  ['Web.Prod:HTTP', { host: 'web.prod', port: 'http' }],
  ['web.prod.svc.cluster.local.:80', { host: 'web.prod.svc.cluster.local.', port: 80 }],
  ['http://backend-service/path?q=1', { host: 'backend-service', port: 80, scheme: 'http' }],
  ['https://backend-service.production:3000/x', { host: 'backend-service.production', port: 3000, scheme: 'https' }],
  ['kubernetes:///api.prod:grpc', { host: 'api.prod', port: 'grpc', scheme: 'kubernetes' }],
  ['kubernetes://prod/api:50051', { host: 'api', namespace: 'prod', port: 50051, scheme: 'kubernetes' }],
  ['clusterip://shop/checkout:http', { host: 'checkout', namespace: 'shop', port: 'http', scheme: 'clusterip' }],
  // DNS names are case-insensitive: lower-cased, then valid labels.
  ['kubernetes:///Web.Prod:grpc', { host: 'web.prod', port: 'grpc', scheme: 'kubernetes' }],
  ['kubernetes:///_grpc._tcp.web.prod.svc.cluster.local.', { host: '_grpc._tcp.web.prod.svc.cluster.local.' }],
  // Outside these schemes names are plain DNS names (they may pass through to system DNS).
  ['Bad_Name:80', { host: 'bad_name', port: 80 }],
  ['10.96.45.200:4000', { host: '10.96.45.200', port: 4000, ipVersion: 4 }],
  ['[fd00::1]:8080', { host: 'fd00::1', port: 8080, ipVersion: 6 }],
  ['fd00::1', { host: 'fd00::1', ipVersion: 6 }],
  ['http://[fd00::1]:81/', { host: 'fd00::1', port: 81, ipVersion: 6 }],
];
for (const [input, expected] of table) {
  test(`parseServiceTarget(${JSON.stringify(input)})`, (t) => {
    const target = parseServiceTarget(input);
    t.is(target.input, input);
    for (const [key, value] of Object.entries(expected)) t.deepEqual(target[key as keyof typeof target], value, key);
  });
}

const bad: [string, string][] = [
  ['', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['web:0', 'CLUSTERIP_ERR_INVALID_ARG'],
  ['web:65536', 'CLUSTERIP_ERR_INVALID_ARG'],
  ['web:', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['web:http_alt', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['a:b:c', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['[fd00::1', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['http://', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['kubernetes://prod', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['kubernetes://Prod/web', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['kubernetes:///a/b', 'CLUSTERIP_ERR_INVALID_NAME'],
  // No Kubernetes object has a label with '_' or a hyphen at an end.
  ['kubernetes:///Bad_Name', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['kubernetes:///-web', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['kubernetes:///web-:80', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['kubernetes:///web.bad_ns:grpc', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['kubernetes://prod/-web', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['clusterip:///Bad_Name', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['web..prod:80', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['web prod', 'CLUSTERIP_ERR_INVALID_NAME'],
];
for (const [input, code] of bad) {
  test(`parseServiceTarget rejects ${JSON.stringify(input)}`, (t) => {
    t.is((t.throws(() => parseServiceTarget(input)) as { code?: string }).code, code);
  });
}

test('parseServiceTarget: a kubernetes: label that no object can have is named in the message', (t) => {
  const error = t.throws(() => parseServiceTarget('kubernetes:///Bad_Name:grpc'));
  t.is(
    error?.message,
    `target "kubernetes:///Bad_Name:grpc": label "bad_name" is not a DNS-1123 label: no Service, namespace or endpoint can be named so (lower case alphanumeric characters or '-', starting and ending with an alphanumeric character, e.g. 'my-name')`,
  );
});

test('parseServiceTarget: a port out of range names the target it came from', (t) => {
  for (const input of ['web:0', 'kubernetes://prod/web:65536']) {
    const error = t.throws(() => parseServiceTarget(input), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
    t.is((error as { option?: string }).option, 'port');
    t.regex(error?.message ?? '', /^target "[^"]+": port must be between 1 and 65535, inclusive, got \d+$/, input);
    t.true(error?.message.includes(JSON.stringify(input)), input);
  }
});
