import { type Endpoint, endpointKey, InvalidArgumentError, type ServiceInfo } from '@clusterip/resolver';
import { eligibleEndpoints, type TopologyMode } from '@clusterip/sdk';
import { eligibleUniqueEndpoints } from '@clusterip/sdk/internal/eligibility/eligibility.js';
import test from 'ava';
import { ep, NOT_READY, SERVING_NOT_READY, SERVING_TERMINATING, svc, TERMINATING_NOT_SERVING } from '../fixtures.js';

interface Row {
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
  readonly service?: Partial<ServiceInfo>;
  readonly client?: { nodeName?: string; zone?: string };
  /** Expected addresses, in order; or the outcome type for failures. */
  readonly expect: readonly string[] | 'no-endpoints' | 'no-local-endpoints';
  readonly topology?: TopologyMode;
  readonly terminatingFallback?: boolean;
  /** Expected `outcome.policy` when not the Service's `internalTrafficPolicy`. */
  readonly policy?: 'Cluster' | 'Local';
}

const LOCAL = { internalTrafficPolicy: 'Local' as const };

const rows: readonly Row[] = [
  // §6.2 Cluster policy, conditions
  { name: 'all ready: all used', endpoints: [ep('10.0.0.1'), ep('10.0.0.2')], expect: ['10.0.0.1', '10.0.0.2'] },
  {
    name: 'not-ready endpoints are dropped while one is ready',
    endpoints: [ep('10.0.0.1', { conditions: NOT_READY }), ep('10.0.0.2')],
    expect: ['10.0.0.2'],
  },
  {
    name: 'pitfall 1: nil conditions (defaulted to ready/serving/not terminating) are usable',
    endpoints: [ep('10.0.0.1', { conditions: { ready: true, serving: true, terminating: false } })],
    expect: ['10.0.0.1'],
  },
  {
    name: 'pitfall 2: the endpoint port is passed through untouched (no Service targetPort mapping)',
    endpoints: [ep('10.0.0.1', { port: 9001 }), ep('10.0.0.2', { port: 9002 })],
    expect: ['10.0.0.1', '10.0.0.2'],
  },
  {
    name: 'pitfall 3: duplicate address:port is used once',
    endpoints: [ep('10.0.0.1'), ep('10.0.0.1'), ep('10.0.0.2')],
    expect: ['10.0.0.1', '10.0.0.2'],
  },
  {
    name: 'pitfall 4: serving-terminating is not used while any endpoint is ready',
    endpoints: [ep('10.0.0.1', { conditions: SERVING_TERMINATING }), ep('10.0.0.2')],
    expect: ['10.0.0.2'],
    terminatingFallback: false,
  },
  {
    name: 'pitfall 4: serving-terminating is used when nothing is ready',
    endpoints: [
      ep('10.0.0.1', { conditions: SERVING_TERMINATING }),
      ep('10.0.0.2', { conditions: NOT_READY }),
      ep('10.0.0.3', { conditions: TERMINATING_NOT_SERVING }),
    ],
    expect: ['10.0.0.1'],
    terminatingFallback: true,
  },
  {
    name: 'pitfall 4: the terminating fallback ignores topology hints',
    endpoints: [
      ep('10.0.0.1', { conditions: SERVING_TERMINATING, forZones: ['b'] }),
      ep('10.0.0.2', { conditions: SERVING_TERMINATING, forZones: ['a'] }),
    ],
    client: { zone: 'a' },
    expect: ['10.0.0.1', '10.0.0.2'],
    topology: 'none',
    terminatingFallback: true,
  },
  {
    name: 'terminating and not serving: never used',
    endpoints: [ep('10.0.0.1', { conditions: TERMINATING_NOT_SERVING })],
    expect: 'no-endpoints',
  },
  {
    name: 'serving but not ready and not terminating: never used',
    endpoints: [ep('10.0.0.1', { conditions: SERVING_NOT_READY })],
    expect: 'no-endpoints',
  },
  { name: 'no endpoints at all: no-endpoints (REJECT)', endpoints: [], expect: 'no-endpoints' },
  {
    name: 'publishNotReadyAddresses: not-ready endpoints count as ready',
    endpoints: [ep('10.0.0.1', { conditions: NOT_READY }), ep('10.0.0.2', { conditions: SERVING_TERMINATING })],
    service: { publishNotReadyAddresses: true },
    expect: ['10.0.0.1', '10.0.0.2'],
    terminatingFallback: false,
  },
  // §6.1 topology
  {
    name: 'zone hints: every ready endpoint hinted and one matches → same zone only',
    endpoints: [
      ep('10.0.0.1', { forZones: ['a'] }),
      ep('10.0.0.2', { forZones: ['b'] }),
      ep('10.0.0.3', { forZones: ['a'] }),
    ],
    client: { zone: 'a' },
    expect: ['10.0.0.1', '10.0.0.3'],
    topology: 'PreferSameZone',
  },
  {
    name: 'pitfall 5: one unhinted ready endpoint disables topology',
    endpoints: [ep('10.0.0.1', { forZones: ['a'] }), ep('10.0.0.2')],
    client: { zone: 'a' },
    expect: ['10.0.0.1', '10.0.0.2'],
    topology: 'none',
  },
  {
    name: 'zone hints: no hint matches the client zone → all ready',
    endpoints: [ep('10.0.0.1', { forZones: ['b'] }), ep('10.0.0.2', { forZones: ['c'] })],
    client: { zone: 'a' },
    expect: ['10.0.0.1', '10.0.0.2'],
    topology: 'none',
  },
  {
    name: 'zone hints: client zone unknown → all ready',
    endpoints: [ep('10.0.0.1', { forZones: ['a'] }), ep('10.0.0.2', { forZones: ['b'] })],
    client: {},
    expect: ['10.0.0.1', '10.0.0.2'],
    topology: 'none',
  },
  {
    name: 'zone hints: unhinted not-ready endpoints do not disable topology',
    endpoints: [
      ep('10.0.0.1', { forZones: ['a'] }),
      ep('10.0.0.2', { forZones: ['b'] }),
      ep('10.0.0.3', { conditions: NOT_READY }),
    ],
    client: { zone: 'a' },
    expect: ['10.0.0.1'],
    topology: 'PreferSameZone',
  },
  {
    name: 'zone hints: an endpoint may be hinted for a zone it is not in (Auto mode)',
    endpoints: [ep('10.0.0.1', { zone: 'b', forZones: ['a'] }), ep('10.0.0.2', { zone: 'a', forZones: ['b'] })],
    client: { zone: 'a' },
    expect: ['10.0.0.1'],
    topology: 'PreferSameZone',
  },
  {
    name: 'node hints win over zone hints when every ready endpoint has one and one matches',
    endpoints: [
      ep('10.0.0.1', { forNodes: ['n1'], forZones: ['a'] }),
      ep('10.0.0.2', { forNodes: ['n2'], forZones: ['a'] }),
    ],
    client: { nodeName: 'n1', zone: 'a' },
    expect: ['10.0.0.1'],
    topology: 'PreferSameNode',
  },
  {
    name: 'node hints match no endpoint → zone hints apply',
    endpoints: [
      ep('10.0.0.1', { forNodes: ['n1'], forZones: ['a'] }),
      ep('10.0.0.2', { forNodes: ['n2'], forZones: ['b'] }),
    ],
    client: { nodeName: 'n9', zone: 'b' },
    expect: ['10.0.0.2'],
    topology: 'PreferSameZone',
  },
  {
    name: 'node hints on some ready endpoints only → zone hints apply',
    endpoints: [ep('10.0.0.1', { forNodes: ['n1'], forZones: ['a'] }), ep('10.0.0.2', { forZones: ['b'] })],
    client: { nodeName: 'n1', zone: 'b' },
    expect: ['10.0.0.2'],
    topology: 'PreferSameZone',
  },
  {
    name: 'node hints: client node unknown → node hints ignored',
    endpoints: [ep('10.0.0.1', { forNodes: ['n1'] }), ep('10.0.0.2', { forNodes: ['n2'] })],
    client: {},
    expect: ['10.0.0.1', '10.0.0.2'],
    topology: 'none',
  },
  {
    name: 'trafficDistribution alone (no hints) filters nothing: kube-proxy only reads hints',
    endpoints: [ep('10.0.0.1', { zone: 'a' }), ep('10.0.0.2', { zone: 'b' })],
    service: { trafficDistribution: 'PreferSameZone' },
    client: { zone: 'a' },
    expect: ['10.0.0.1', '10.0.0.2'],
    topology: 'none',
  },
  // §6.3 Local policy
  {
    name: 'Local: ready endpoints on the client node only',
    endpoints: [
      ep('10.0.0.1', { nodeName: 'n1' }),
      ep('10.0.0.2', { nodeName: 'n2' }),
      ep('10.0.0.3', { nodeName: 'n1' }),
    ],
    service: LOCAL,
    client: { nodeName: 'n1' },
    expect: ['10.0.0.1', '10.0.0.3'],
  },
  {
    name: 'Local: local serving-terminating used when no local endpoint is ready, even if remote ones are',
    endpoints: [
      ep('10.0.0.1', { nodeName: 'n1', conditions: SERVING_TERMINATING }),
      ep('10.0.0.2', { nodeName: 'n2' }),
    ],
    service: LOCAL,
    client: { nodeName: 'n1' },
    expect: ['10.0.0.1'],
    terminatingFallback: true,
  },
  {
    name: 'Local: local ready preferred over local serving-terminating',
    endpoints: [
      ep('10.0.0.1', { nodeName: 'n1', conditions: SERVING_TERMINATING }),
      ep('10.0.0.2', { nodeName: 'n1' }),
    ],
    service: LOCAL,
    client: { nodeName: 'n1' },
    expect: ['10.0.0.2'],
    terminatingFallback: false,
  },
  {
    name: 'pitfall 6: Local with endpoints only on other nodes → no-local-endpoints (DROP), never remote',
    endpoints: [ep('10.0.0.1', { nodeName: 'n2' }), ep('10.0.0.2', { nodeName: 'n3' })],
    service: LOCAL,
    client: { nodeName: 'n1' },
    expect: 'no-local-endpoints',
  },
  {
    name: 'Local: local endpoints exist but none usable, remote ready → no-local-endpoints',
    endpoints: [ep('10.0.0.1', { nodeName: 'n1', conditions: NOT_READY }), ep('10.0.0.2', { nodeName: 'n2' })],
    service: LOCAL,
    client: { nodeName: 'n1' },
    expect: 'no-local-endpoints',
  },
  {
    name: 'pitfall 6: Local with nothing usable anywhere → no-endpoints (REJECT)',
    endpoints: [ep('10.0.0.1', { nodeName: 'n1', conditions: NOT_READY })],
    service: LOCAL,
    client: { nodeName: 'n1' },
    expect: 'no-endpoints',
  },
  {
    name: 'Local: client node unknown → no local endpoints',
    endpoints: [ep('10.0.0.1', { nodeName: 'n1' })],
    service: LOCAL,
    client: {},
    expect: 'no-local-endpoints',
  },
  {
    name: 'Local: endpoints without nodeName are never local',
    endpoints: [ep('10.0.0.1')],
    service: LOCAL,
    client: { nodeName: 'n1' },
    expect: 'no-local-endpoints',
  },
  {
    name: 'Local ignores topology hints',
    endpoints: [
      ep('10.0.0.1', { nodeName: 'n1', forZones: ['b'] }),
      ep('10.0.0.2', { nodeName: 'n1', forZones: ['a'] }),
    ],
    service: LOCAL,
    client: { nodeName: 'n1', zone: 'a' },
    expect: ['10.0.0.1', '10.0.0.2'],
    topology: 'none',
  },
  // §1.3, §6.5: headless Services are not proxied; cluster DNS answers every ready endpoint
  {
    name: 'headless: internalTrafficPolicy Local does not apply, every ready endpoint on every node',
    endpoints: [ep('10.0.0.1', { nodeName: 'n2' }), ep('10.0.0.2', { nodeName: 'n3' })],
    service: { ...LOCAL, headless: true },
    client: { nodeName: 'n1' },
    expect: ['10.0.0.1', '10.0.0.2'],
    policy: 'Cluster',
  },
  {
    name: 'headless: topology hints do not filter',
    endpoints: [ep('10.0.0.1', { forZones: ['a'] }), ep('10.0.0.2', { forZones: ['b'] })],
    service: { headless: true },
    client: { zone: 'a' },
    expect: ['10.0.0.1', '10.0.0.2'],
    topology: 'none',
  },
  {
    name: 'headless: nothing ready → serving-terminating endpoints, as for a ClusterIP Service',
    endpoints: [
      ep('10.0.0.1', { nodeName: 'n2', conditions: SERVING_TERMINATING }),
      ep('10.0.0.2', { conditions: NOT_READY }),
    ],
    service: { ...LOCAL, headless: true },
    client: { nodeName: 'n1' },
    expect: ['10.0.0.1'],
    terminatingFallback: true,
    policy: 'Cluster',
  },
];

for (const row of rows) {
  test(`eligibility: ${row.name}`, (t) => {
    const result = eligibleEndpoints(row.endpoints, svc(row.service), row.client ?? {}, 'http');
    if (typeof row.expect === 'string') {
      t.is(result.outcome.type, row.expect);
      t.deepEqual(result.endpoints, []);
      if (result.outcome.type !== 'ok') {
        t.is(
          result.outcome.error.code,
          row.expect === 'no-endpoints' ? 'CLUSTERIP_ERR_NO_ENDPOINTS' : 'CLUSTERIP_ERR_NO_LOCAL_ENDPOINTS',
        );
      }
      return;
    }
    t.is(result.outcome.type, 'ok');
    t.deepEqual(
      result.endpoints.map((e) => e.address),
      row.expect,
    );
    if (result.outcome.type === 'ok') {
      t.is(result.outcome.policy, row.policy ?? row.service?.internalTrafficPolicy ?? 'Cluster');
      if (row.topology !== undefined) t.is(result.outcome.topology, row.topology);
      if (row.terminatingFallback !== undefined) t.is(result.outcome.terminatingFallback, row.terminatingFallback);
    }
  });
}

test('eligibility: for lists with each address:port once (snapshots), the variant without the duplicate merge agrees', (t) => {
  let compared = 0;
  for (const row of rows) {
    if (new Set(row.endpoints.map(endpointKey)).size !== row.endpoints.length) continue;
    const client = row.client ?? {};
    const merged = eligibleEndpoints(row.endpoints, svc(row.service), client, 'http');
    const unique = eligibleUniqueEndpoints(row.endpoints, svc(row.service), client, 'http');
    t.deepEqual(unique.endpoints, merged.endpoints, row.name);
    t.deepEqual(unique.outcome, merged.outcome, row.name);
    compared++;
  }
  t.true(compared >= rows.length - 2, `compared ${compared} of ${rows.length} rows`);
});

test('eligibility: a later duplicate replaces the first only when it is local to the client', (t) => {
  const remote = ep('10.0.0.1', { nodeName: 'n2' });
  const local = ep('10.0.0.1', { nodeName: 'n1' });
  t.is(eligibleEndpoints([remote, local], svc(), { nodeName: 'n1' }).endpoints[0], local);
  t.is(eligibleEndpoints([local, remote], svc(), { nodeName: 'n1' }).endpoints[0], local);
  t.is(eligibleEndpoints([remote, local], svc(), { nodeName: 'n3' }).endpoints[0], remote);
});

test('eligibility: same address on two ports is two endpoints', (t) => {
  const r = eligibleEndpoints([ep('10.0.0.1', { port: 1 }), ep('10.0.0.1', { port: 2 })], svc(), {});
  t.is(r.endpoints.length, 2);
});

test('eligibility: messages name the Service port, the count and the reason', (t) => {
  const none = eligibleEndpoints(
    [ep('10.0.0.1', { conditions: NOT_READY }), ep('10.0.0.2', { conditions: TERMINATING_NOT_SERVING })],
    svc(),
    {},
    'http',
  );
  t.is(none.outcome.type, 'no-endpoints');
  if (none.outcome.type === 'no-endpoints') {
    t.is(
      none.outcome.error.message,
      'service web.shop:http: no endpoints (2 known: 1 not ready, 1 terminating and not serving)',
    );
    t.is(none.outcome.error.known, 2);
  }
  const empty = eligibleEndpoints([], svc(), {}, { name: '', protocol: 'TCP', port: 80, targetPort: 80 });
  if (empty.outcome.type === 'no-endpoints') {
    t.regex(empty.outcome.error.message, /^service web\.shop:80: no endpoints \(0 known: .*selector/);
  } else t.fail();
  const local = eligibleEndpoints([ep('10.0.0.1', { nodeName: 'n2' })], svc(LOCAL), { nodeName: 'n1' }, 'grpc');
  if (local.outcome.type === 'no-local-endpoints') {
    t.is(
      local.outcome.error.message,
      'service web.shop:grpc: no local endpoints on node n1 (1 known, 1 usable on other nodes): internalTrafficPolicy Local never falls back to other nodes',
    );
  } else t.fail();
  const unknownNode = eligibleEndpoints([ep('10.0.0.1', { nodeName: 'n2' })], svc(LOCAL), {});
  if (unknownNode.outcome.type === 'no-local-endpoints') {
    t.regex(unknownNode.outcome.error.message, /client node unknown.*client\.nodeName/);
  } else t.fail();
});

test('eligibility: results are frozen and the input is not modified', (t) => {
  const input = [ep('10.0.0.2'), ep('10.0.0.1')];
  const copy = [...input];
  const r = eligibleEndpoints(input, svc(), {});
  t.true(Object.isFrozen(r));
  t.true(Object.isFrozen(r.endpoints));
  t.deepEqual(input, copy);
});

test('eligibility: an endpoint without conditions is CLUSTERIP_ERR_INVALID_ARG naming it and the field, not a TypeError', (t) => {
  const bad = (endpoints: unknown) =>
    t.throws(() => eligibleEndpoints(endpoints as Endpoint[], svc()), { instanceOf: InvalidArgumentError });
  const missing = bad([{ address: '10.0.0.1', port: 80 }]);
  t.is(missing.code, 'CLUSTERIP_ERR_INVALID_ARG');
  t.is(missing.option, 'endpoints[0].conditions');
  t.is(
    missing.message,
    'endpoints[0] 10.0.0.1:80: conditions is missing, got undefined: give { ready, serving, terminating } (unset in an EndpointSlice: ready and serving true, terminating false)',
  );
  const partial = bad([ep('10.0.0.1'), { ...ep('fd00::2'), conditions: { ready: true } }]);
  t.is(partial.option, 'endpoints[1].conditions.serving');
  t.regex(partial.message, /^endpoints\[1\] \[fd00::2\]:8080: conditions\.serving must be a boolean, got undefined: /);
  t.is(bad([null]).option, 'endpoints[0]');
  t.is(bad('10.0.0.1').option, 'endpoints');
});
