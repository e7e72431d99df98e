import { normalizeService } from '@clusterip/resolver';
import test from 'ava';

const base = { metadata: { name: 'web', namespace: 'prod' } };

test('defaults: ClusterIP, TCP, targetPort = port, None affinity, Cluster policy', (t) => {
  const info = normalizeService({ ...base, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] } });
  t.is(info.type, 'ClusterIP');
  t.deepEqual(info.clusterIPs, ['10.96.0.10']);
  t.false(info.headless);
  t.deepEqual(info.ipFamilies, ['IPv4']);
  t.deepEqual(info.ports, [{ name: '', protocol: 'TCP', port: 80, targetPort: 80 }]);
  t.deepEqual(info.sessionAffinity, { type: 'None' });
  t.is(info.internalTrafficPolicy, 'Cluster');
  t.false(info.publishNotReadyAddresses);
  t.is(info.selector, undefined);
  t.deepEqual(info.labels, {});
  t.true(Object.isFrozen(info));
  t.true(Object.isFrozen(info.ports[0]));
});

const targetPorts: [unknown, number | string][] = [
  [undefined, 80],
  [0, 80],
  ['', 80],
  [8080, 8080],
  ['http-web', 'http-web'],
];
for (const [given, expected] of targetPorts) {
  test(`targetPort ${JSON.stringify(given)} → ${JSON.stringify(expected)}`, (t) => {
    const info = normalizeService({ ...base, spec: { ports: [{ name: 'http', port: 80, targetPort: given }] } });
    t.is(info.ports[0]?.targetPort, expected);
  });
}

test('headless: clusterIP None → headless, no clusterIPs', (t) => {
  const info = normalizeService({
    ...base,
    spec: { clusterIP: 'None', clusterIPs: ['None'], selector: { app: 'web' } },
  });
  t.true(info.headless);
  t.deepEqual(info.clusterIPs, []);
  t.deepEqual(info.selector, { app: 'web' });
});

test('dual-stack: clusterIPs and ipFamilies kept in order', (t) => {
  const info = normalizeService({
    ...base,
    spec: { clusterIP: 'fd00::10', clusterIPs: ['fd00::10', '10.96.0.10'], ipFamilies: ['IPv6', 'IPv4'] },
  });
  t.deepEqual(info.clusterIPs, ['fd00::10', '10.96.0.10']);
  t.deepEqual(info.ipFamilies, ['IPv6', 'IPv4']);
});

test('ipFamilies derived from clusterIPs when absent', (t) => {
  t.deepEqual(normalizeService({ ...base, spec: { clusterIP: 'fd00::1' } }).ipFamilies, ['IPv6']);
});

test('ClientIP affinity defaults its timeout to 10800 s and keeps an explicit one', (t) => {
  t.deepEqual(normalizeService({ ...base, spec: { sessionAffinity: 'ClientIP' } }).sessionAffinity, {
    type: 'ClientIP',
    timeoutSeconds: 10_800,
  });
  const info = normalizeService({
    ...base,
    spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } },
  });
  t.deepEqual(info.sessionAffinity, { type: 'ClientIP', timeoutSeconds: 60 });
});

test('ExternalName: target without trailing dot, no clusterIPs, no families', (t) => {
  const info = normalizeService({ ...base, spec: { type: 'ExternalName', externalName: 'db.example.com.' } });
  t.is(info.type, 'ExternalName');
  t.is(info.externalName, 'db.example.com');
  t.deepEqual(info.clusterIPs, []);
  t.deepEqual(info.ipFamilies, []);
  t.false(info.headless);
});

test('optional fields: trafficDistribution, Local policy, publishNotReadyAddresses, metadata', (t) => {
  const info = normalizeService({
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'prod',
      resourceVersion: '42',
      uid: 'u1',
      labels: { a: 'b' },
      annotations: { x: 'y' },
    },
    spec: {
      internalTrafficPolicy: 'Local',
      trafficDistribution: 'PreferSameZone',
      publishNotReadyAddresses: true,
      ports: [{ name: 'grpc', port: 9000, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c', nodePort: 30000 }],
    },
  });
  t.is(info.internalTrafficPolicy, 'Local');
  t.is(info.trafficDistribution, 'PreferSameZone');
  t.true(info.publishNotReadyAddresses);
  t.is(info.resourceVersion, '42');
  t.is(info.uid, 'u1');
  t.deepEqual(info.labels, { a: 'b' });
  t.deepEqual(info.annotations, { x: 'y' });
  t.is(info.ports[0]?.appProtocol, 'kubernetes.io/h2c');
  t.is(info.ports[0]?.nodePort, 30000);
});

test('unknown trafficDistribution from a newer server is ignored, empty selector means none', (t) => {
  const info = normalizeService({ ...base, spec: { trafficDistribution: 'PreferSomethingNew', selector: {} } });
  t.is(info.trafficDistribution, undefined);
  t.is(info.selector, undefined);
});

test('missing namespace defaults to "default"', (t) => {
  t.is(normalizeService({ metadata: { name: 'web' } }).namespace, 'default');
});

const invalid: [string, unknown, string][] = [
  ['not an object', 42, 'service'],
  ['wrong kind', { kind: 'Pod', ...base }, 'service.kind'],
  ['no metadata', { spec: {} }, 'service.metadata'],
  ['no name', { metadata: { namespace: 'x' } }, 'service.metadata.name'],
  ['bad type', { ...base, spec: { type: 'Weird' } }, 'service.spec.type'],
  ['ports not an array', { ...base, spec: { ports: {} } }, 'service.spec.ports'],
  ['port 0', { ...base, spec: { ports: [{ port: 0 }] } }, 'service.spec.ports[0].port'],
  ['port missing', { ...base, spec: { ports: [{ name: 'x' }] } }, 'service.spec.ports[0].port'],
  ['bad protocol', { ...base, spec: { ports: [{ port: 1, protocol: 'ICMP' }] } }, 'service.spec.ports[0].protocol'],
  [
    'bad targetPort',
    { ...base, spec: { ports: [{ port: 1, targetPort: 70000 }] } },
    'service.spec.ports[0].targetPort',
  ],
  [
    'affinity timeout 0',
    { ...base, spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } } },
    'service.spec.sessionAffinityConfig.clientIP.timeoutSeconds',
  ],
  [
    'affinity timeout > 86400',
    { ...base, spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86_401 } } } },
    'service.spec.sessionAffinityConfig.clientIP.timeoutSeconds',
  ],
  ['ExternalName without target', { ...base, spec: { type: 'ExternalName' } }, 'service.spec.externalName'],
  ['bad policy', { ...base, spec: { internalTrafficPolicy: 'Node' } }, 'service.spec.internalTrafficPolicy'],
  ['labels not strings', { metadata: { name: 'w', labels: { a: 1 } } }, 'service.metadata.labels'],
];
for (const [title, object, option] of invalid) {
  test(`invalid: ${title} → CLUSTERIP_ERR_INVALID_ARG at ${option}`, (t) => {
    const err = t.throws(() => normalizeService(object)) as { code?: string; option?: string };
    t.is(err.code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.is(err.option, option);
  });
}
