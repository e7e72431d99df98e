import { mergeEndpointSlices } from '@clusterip/resolver';
import {
  decodeEndpointSlice,
  EndpointSliceCache,
} from '@clusterip/resolver/internal/source/endpoint-source-kubernetes/endpoint-slice-merge.js';
import test from 'ava';
import fc from 'fast-check';

interface Ep {
  addresses: string[];
  conditions?: Record<string, boolean | null>;
  nodeName?: string;
  zone?: string;
  hostname?: string;
  hints?: unknown;
  targetRef?: unknown;
}

function slice(
  name: string,
  endpoints: Ep[],
  ports: { name?: string | null; port?: number | null; protocol?: string }[] = [{ name: 'http', port: 8080 }],
  addressType = 'IPv4',
) {
  return {
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'prod', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType,
    ports,
    endpoints,
  };
}

test('pitfall 1: nil conditions mean ready, serving, not terminating', (t) => {
  const eps = mergeEndpointSlices(
    [
      slice('a', [
        { addresses: ['10.0.0.1'] },
        { addresses: ['10.0.0.2'], conditions: {} },
        { addresses: ['10.0.0.3'], conditions: { ready: null, serving: null, terminating: null } },
        { addresses: ['10.0.0.4'], conditions: { ready: false, serving: true, terminating: true } },
      ]),
    ],
    { portName: 'http' },
  );
  t.deepEqual(
    eps.map((e) => [e.address, e.conditions.ready, e.conditions.serving, e.conditions.terminating]),
    [
      ['10.0.0.1', true, true, false],
      ['10.0.0.2', true, true, false],
      ['10.0.0.3', true, true, false],
      ['10.0.0.4', false, true, true],
    ],
  );
});

test('pitfall 2: the target port comes from each slice, not from the Service', (t) => {
  const eps = mergeEndpointSlices(
    [
      slice('a', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }]),
      slice('b', [{ addresses: ['10.0.0.2'] }], [{ name: 'http', port: 9090 }]),
      slice('c', [{ addresses: ['10.0.0.3'] }], [{ name: 'metrics', port: 9100 }]),
    ],
    { portName: 'http' },
  );
  t.deepEqual(
    eps.map((e) => `${e.address}:${e.port}`),
    ['10.0.0.1:8080', '10.0.0.2:9090'],
  );
});

test('pitfall 3: the same address:port in two slices is kept once, first wins', (t) => {
  const eps = mergeEndpointSlices(
    [
      slice('a', [{ addresses: ['10.0.0.1'], nodeName: 'n1', zone: 'a' }]),
      slice('b', [{ addresses: ['10.0.0.1'], nodeName: 'n2', zone: 'b' }]),
    ],
    { portName: 'http' },
  );
  t.is(eps.length, 1);
  t.is(eps[0]?.zone, 'a');
});

test('a duplicate on the client node replaces the earlier one', (t) => {
  const eps = mergeEndpointSlices(
    [
      slice('a', [{ addresses: ['10.0.0.1'], nodeName: 'n1' }]),
      slice('b', [{ addresses: ['10.0.0.1'], nodeName: 'me' }]),
    ],
    { portName: 'http', nodeName: 'me' },
  );
  t.is(eps[0]?.nodeName, 'me');
});

test('first address only; empty addresses and wrong family skipped; FQDN slices ignored', (t) => {
  const eps = mergeEndpointSlices(
    [
      slice('a', [{ addresses: ['10.0.0.1', '10.0.0.99'] }, { addresses: [] }, { addresses: ['fd00::1'] }]),
      slice('f', [{ addresses: ['example.com'] }], undefined, 'FQDN'),
    ],
    { portName: 'http' },
  );
  t.deepEqual(
    eps.map((e) => e.address),
    ['10.0.0.1'],
  );
});

test('ports with nil name or nil/0 port are ignored; protocol must match', (t) => {
  const ports = [
    { name: null, port: 80 },
    { name: 'http', port: null },
  ];
  t.deepEqual(mergeEndpointSlices([slice('a', [{ addresses: ['10.0.0.1'] }], ports)], { portName: 'http' }), []);
  t.deepEqual(
    mergeEndpointSlices([slice('a', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 0 }])], { portName: 'http' }),
    [],
  );
  const udp = [{ name: 'dns', port: 53, protocol: 'UDP' }];
  t.deepEqual(mergeEndpointSlices([slice('a', [{ addresses: ['10.0.0.1'] }], udp)], { portName: 'dns' }), []);
  t.is(
    mergeEndpointSlices([slice('a', [{ addresses: ['10.0.0.1'] }], udp)], { portName: 'dns', protocol: 'UDP' }).length,
    1,
  );
});

test('the unnamed port is the empty name', (t) => {
  const eps = mergeEndpointSlices([slice('a', [{ addresses: ['10.0.0.1'] }], [{ name: '', port: 8080 }])], {
    portName: '',
  });
  t.is(eps[0]?.port, 8080);
});

test('dual-stack: both families by default, one with addressType; sorted by key', (t) => {
  const slices = [
    slice('v6', [{ addresses: ['fd00::2'] }, { addresses: ['fd00::1'] }], undefined, 'IPv6'),
    slice('v4', [{ addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.10'] }]),
  ];
  t.deepEqual(
    mergeEndpointSlices(slices, { portName: 'http' }).map((e) => `${e.addressType} ${e.address}`),
    ['IPv4 10.0.0.10', 'IPv4 10.0.0.2', 'IPv6 fd00::1', 'IPv6 fd00::2'],
  );
  t.deepEqual(
    mergeEndpointSlices(slices, { portName: 'http', addressType: 'IPv6' }).map((e) => e.address),
    ['fd00::1', 'fd00::2'],
  );
});

test('endpoints carry nodeName, zone, hostname, hints and targetRef', (t) => {
  const [e] = mergeEndpointSlices(
    [
      slice('a', [
        {
          addresses: ['10.0.0.1'],
          nodeName: 'n1',
          zone: 'z1',
          hostname: 'web-0',
          hints: { forZones: [{ name: 'z1' }], forNodes: [{ name: 'n1' }] },
          targetRef: { kind: 'Pod', name: 'web-0', namespace: 'prod', uid: 'u' },
        },
      ]),
    ],
    { portName: 'http' },
  );
  t.deepEqual(e, {
    address: '10.0.0.1',
    port: 8080,
    protocol: 'TCP',
    addressType: 'IPv4',
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: 'n1',
    zone: 'z1',
    hostname: 'web-0',
    hints: { forZones: ['z1'], forNodes: ['n1'] },
    targetRef: { kind: 'Pod', name: 'web-0', namespace: 'prod', uid: 'u' },
  });
});

const malformed: [string, unknown][] = [
  ['not an object', 'x'],
  ['wrong kind', { ...slice('a', []), kind: 'Service' }],
  ['no name', { ...slice('a', []), metadata: {} }],
  ['no addressType', { ...slice('a', []), addressType: undefined }],
  ['endpoints not an array', { ...slice('a', []), endpoints: {} }],
  ['addresses missing', slice('a', [{} as Ep])],
  ['ready not a boolean', slice('a', [{ addresses: ['10.0.0.1'], conditions: { ready: 'yes' as never } }])],
  ['port out of range', slice('a', [], [{ name: 'http', port: 70000 }])],
];
for (const [title, raw] of malformed) {
  test(`malformed slice: ${title} → CLUSTERIP_ERR_INVALID_ARG`, (t) => {
    const err = t.throws(() => mergeEndpointSlices([raw], { portName: 'http' })) as unknown as { code: string };
    t.is(err.code, 'CLUSTERIP_ERR_INVALID_ARG');
  });
}

test('options validated, unknown keys rejected', (t) => {
  for (const bad of [
    {},
    { portName: 1 },
    { portName: 'x', protocol: 'ICMP' },
    { portName: 'x', addressType: 'FQDN' },
    { portName: 'x', extra: 1 },
  ]) {
    t.is(
      (t.throws(() => mergeEndpointSlices([], bad as never)) as unknown as { code: string }).code,
      'CLUSTERIP_ERR_INVALID_ARG',
    );
  }
});

test('EndpointSliceCache: incremental updates equal a fresh merge (property)', (t) => {
  const addr = fc.integer({ min: 1, max: 12 }).map((i) => `10.0.0.${i}`);
  const endpoint = fc.record({
    addresses: fc.tuple(addr).map((a) => [...a]),
    conditions: fc.record({ ready: fc.boolean() }),
    nodeName: fc.constantFrom('n1', 'me', 'n2'),
  });
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('upsert' as const),
      name: fc.constantFrom('s1', 's2', 's3', 's4'),
      port: fc.constantFrom(8080, 8080, 9090),
      endpoints: fc.array(endpoint, { maxLength: 6 }),
    }),
    fc.record({ kind: fc.constant('delete' as const), name: fc.constantFrom('s1', 's2', 's3', 's4') }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      const cache = new EndpointSliceCache({ portName: 'http', protocol: 'TCP', nodeName: 'me' });
      const state = new Map<string, ReturnType<typeof slice>>();
      const visible = new Map<string, unknown>();
      for (const o of ops) {
        let diff: { added: { address: string; port: number }[]; removed: string[] };
        if (o.kind === 'upsert') {
          const s = slice(o.name, o.endpoints, [{ name: 'http', port: o.port }]);
          state.set(o.name, s);
          diff = cache.update(decodeEndpointSlice(s));
        } else {
          state.delete(o.name);
          diff = cache.delete(o.name);
        }
        for (const e of diff.added) visible.set(`${e.address}:${e.port}`, e);
        for (const k of diff.removed) visible.delete(k);
        const sorted = [...state.keys()].sort().map((k) => state.get(k));
        const fresh = mergeEndpointSlices(sorted, { portName: 'http', nodeName: 'me' });
        t.deepEqual(cache.endpoints, fresh);
        t.deepEqual(
          [...visible.keys()].sort(),
          fresh.map((e) => `${e.address}:${e.port}`),
        );
        t.is(cache.readyCount, fresh.filter((e) => e.conditions.ready).length);
      }
    }),
    { numRuns: 200 },
  );
});

test('EndpointSliceCache addressOnly: every IP slice contributes its addresses on port 0, whatever its ports', (t) => {
  const cache = new EndpointSliceCache({ portName: '', protocol: 'TCP', addressOnly: true });
  cache.reset([
    decodeEndpointSlice(slice('a', [{ addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.1'] }], [])),
    decodeEndpointSlice(slice('b', [{ addresses: ['fd00::1'] }], [], 'IPv6')),
    decodeEndpointSlice(slice('c', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }])),
    decodeEndpointSlice(slice('d', [{ addresses: ['db.example'] }], [], 'FQDN')),
  ]);
  t.deepEqual(
    cache.endpoints.map((e) => [e.address, e.port, e.protocol]),
    [
      ['10.0.0.1', 0, 'TCP'],
      ['10.0.0.2', 0, 'TCP'],
      ['fd00::1', 0, 'TCP'],
    ],
  );
  t.is(cache.slicesWithPort, 3, 'FQDN slices are ignored');
  const diff = cache.delete('a');
  t.deepEqual(diff.removed, ['10.0.0.2:0'], '10.0.0.1 is still listed by slice c');
  // Without addressOnly, a ports: [] slice contributes nothing.
  const byPort = new EndpointSliceCache({ portName: '', protocol: 'TCP' });
  byPort.reset([decodeEndpointSlice(slice('a', [{ addresses: ['10.0.0.2'] }], []))]);
  t.is(byPort.slicesWithPort, 0);
});
