// Reliability (fuzzing) of stage ③'s object decoding: EndpointSlice and Service JSON from the API →
// decoded slices, ServiceInfo, merged endpoints. Typed errors only; the incremental merge equals a fresh one.

import { endpointKey, mergeEndpointSlices, normalizeService, type Protocol } from '@clusterip/resolver';
import {
  decodeEndpointSlice,
  EndpointSliceCache,
} from '@clusterip/resolver/internal/source/endpoint-source-kubernetes/endpoint-slice-merge.js';
import test from 'ava';
import fc from 'fast-check';
import { anyValue, jsonLike } from './fuzz/arbitraries.js';
import { printSummary, runFuzz, typed } from './fuzz/budget.js';

test.after.always(() => printSummary('fuzz-kubernetes-objects'));

const SLICE_KEYS = [
  'kind',
  'metadata',
  'name',
  'namespace',
  'labels',
  'kubernetes.io/service-name',
  'resourceVersion',
  'addressType',
  'ports',
  'port',
  'protocol',
  'endpoints',
  'addresses',
  'conditions',
  'ready',
  'serving',
  'terminating',
  'nodeName',
  'zone',
  'hostname',
  'hints',
  'forZones',
  'forNodes',
  'targetRef',
  'uid',
];

const SERVICE_KEYS = [
  'kind',
  'metadata',
  'name',
  'namespace',
  'labels',
  'annotations',
  'uid',
  'resourceVersion',
  'spec',
  'type',
  'clusterIP',
  'clusterIPs',
  'ipFamilies',
  'ports',
  'port',
  'targetPort',
  'nodePort',
  'protocol',
  'appProtocol',
  'selector',
  'sessionAffinity',
  'sessionAffinityConfig',
  'clientIP',
  'timeoutSeconds',
  'internalTrafficPolicy',
  'trafficDistribution',
  'publishNotReadyAddresses',
  'externalName',
];

/** A slice that mostly decodes: every field present with a plausible or hostile value. */
const sliceish = fc.record(
  {
    kind: fc.constantFrom('EndpointSlice', undefined, 'Service', 3),
    metadata: fc.record(
      {
        name: fc.constantFrom('s-a', 's-b', 's-c', '', 7),
        namespace: fc.constantFrom('prod', undefined, null, 1),
        labels: fc.oneof(
          fc.constant({ 'kubernetes.io/service-name': 'web' }),
          jsonLike(['kubernetes.io/service-name'], 1),
        ),
        resourceVersion: fc.constantFrom('1', undefined, 2),
      },
      { requiredKeys: ['name'] },
    ),
    addressType: fc.constantFrom('IPv4', 'IPv6', 'FQDN', '', 'ipv4', null),
    ports: fc.oneof(
      fc.array(
        fc.record({
          name: fc.constantFrom('http', 'HTTP', '', null, undefined, 5),
          port: fc.constantFrom(8080, 9090, 0, null, -1, 65_536, 1.5, '80'),
          protocol: fc.constantFrom('TCP', 'UDP', undefined, 0),
        }),
        { maxLength: 3 },
      ),
      jsonLike(SLICE_KEYS, 2),
    ),
    endpoints: fc.oneof(
      fc.array(
        fc.record(
          {
            addresses: fc.oneof(
              fc.array(fc.constantFrom('10.0.0.1', '10.0.0.2', 'fd00::1', 'garbage', '', 3), { maxLength: 2 }),
              anyValue,
            ),
            conditions: fc.oneof(
              fc.record(
                { ready: fc.constantFrom(true, false, null, 'yes'), serving: fc.boolean(), terminating: fc.boolean() },
                { requiredKeys: [] },
              ),
              anyValue,
            ),
            nodeName: fc.constantFrom('n1', 'n2', undefined, 4),
            zone: fc.constantFrom('z1', undefined),
            hostname: fc.constantFrom('web-0', undefined, ''),
            hints: fc.oneof(fc.constant({ forZones: [{ name: 'z1' }] }), jsonLike(SLICE_KEYS, 2)),
            targetRef: fc.oneof(fc.constant({ kind: 'Pod', name: 'p', uid: 'u' }), jsonLike(SLICE_KEYS, 2)),
          },
          { requiredKeys: ['addresses'] },
        ),
        { maxLength: 4 },
      ),
      jsonLike(SLICE_KEYS, 2),
    ),
  },
  { requiredKeys: ['metadata'] },
);

const anySlice = fc.oneof({ weight: 3, arbitrary: sliceish }, { weight: 1, arbitrary: jsonLike(SLICE_KEYS, 4) });

test.serial(
  'decodeEndpointSlice: INVALID_ARG naming the field, or a decoded slice with nil rules applied',
  async (t) => {
    await runFuzz(t, 'decode-endpoint-slice', { weight: 0.03, runs: 5000 }, anySlice, (raw) => {
      const r = typed('decodeEndpointSlice', () => decodeEndpointSlice(raw));
      if (!r.ok) {
        if (r.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${r.code}`);
        if (r.error.message.length > 400) throw new Error(`message of ${r.error.message.length} characters`);
        return;
      }
      for (const e of r.value.endpoints) {
        const c = e.conditions;
        if (typeof c.ready !== 'boolean' || typeof c.serving !== 'boolean' || typeof c.terminating !== 'boolean') {
          throw new Error('conditions not defaulted');
        }
      }
    });
  },
);

const serviceish = fc.record(
  {
    kind: fc.constantFrom('Service', undefined, 'Pod'),
    metadata: fc.oneof(
      fc.record({ name: fc.constantFrom('web', '', 3), namespace: fc.constantFrom('prod', undefined, '', 2) }),
      jsonLike(SERVICE_KEYS, 2),
    ),
    spec: fc.oneof(
      fc.record(
        {
          type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName', 'Headless', 1),
          clusterIP: fc.constantFrom('10.96.0.1', 'None', '', undefined, 5),
          clusterIPs: fc.oneof(fc.constant(['10.96.0.1', 'fd00::1']), jsonLike(SERVICE_KEYS, 1)),
          ipFamilies: fc.oneof(fc.constant(['IPv4']), fc.constant(['IPv6', 'IPv4']), jsonLike(SERVICE_KEYS, 1)),
          ports: fc.oneof(
            fc.array(
              fc.record(
                {
                  name: fc.constantFrom('http', '', undefined, 1),
                  port: fc.constantFrom(80, 0, 65_536, '80', 443),
                  targetPort: fc.constantFrom(8080, 0, '', 'http', -1, null, true),
                  protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'tcp', undefined),
                  nodePort: fc.constantFrom(undefined, 0, 30_000, 70_000),
                  appProtocol: fc.constantFrom(undefined, 'h2c', 4),
                },
                { requiredKeys: ['port'] },
              ),
              { maxLength: 3 },
            ),
            jsonLike(SERVICE_KEYS, 2),
          ),
          selector: fc.oneof(fc.constant({ app: 'web' }), jsonLike(SERVICE_KEYS, 1)),
          sessionAffinity: fc.constantFrom('None', 'ClientIP', undefined, 'Cookie'),
          sessionAffinityConfig: fc.oneof(
            fc.record({ clientIP: fc.record({ timeoutSeconds: fc.constantFrom(1, 0, 86_400, 86_401, 10.5, null) }) }),
            jsonLike(SERVICE_KEYS, 2),
          ),
          internalTrafficPolicy: fc.constantFrom('Cluster', 'Local', undefined, 'Node'),
          trafficDistribution: fc.constantFrom('PreferClose', 'PreferSameNode', 'Nearest', undefined, 1),
          publishNotReadyAddresses: fc.constantFrom(true, false, undefined, 'true'),
          externalName: fc.constantFrom('db.example.com.', '', '.', undefined, 7),
        },
        { requiredKeys: [] },
      ),
      jsonLike(SERVICE_KEYS, 3),
    ),
  },
  { requiredKeys: ['metadata'] },
);

test.serial('normalizeService: INVALID_ARG naming the field path, or a frozen ServiceInfo with defaults', async (t) => {
  const input = fc.oneof({ weight: 3, arbitrary: serviceish }, { weight: 1, arbitrary: jsonLike(SERVICE_KEYS, 4) });
  await runFuzz(t, 'normalize-service', { weight: 0.03, runs: 5000 }, input, (raw) => {
    const r = typed('normalizeService', () => normalizeService(raw));
    if (!r.ok) {
      if (r.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${r.code}`);
      const option = (r.error as { option?: unknown }).option;
      if (typeof option !== 'string' || !option.startsWith('service')) throw new Error(`option path ${option}`);
      return;
    }
    const s = r.value;
    if (!Object.isFrozen(s) || !Object.isFrozen(s.ports)) throw new Error('not frozen');
    for (const p of s.ports) {
      if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65_535) throw new Error(`port ${p.port}`);
      if (p.targetPort === 0 || p.targetPort === '') throw new Error('targetPort not defaulted');
    }
    if (s.sessionAffinity.type === 'ClientIP') {
      const t = s.sessionAffinity.timeoutSeconds;
      if (!Number.isInteger(t) || t < 1 || t > 86_400) throw new Error(`affinity timeout ${t}`);
    }
    if (s.headless && s.clusterIPs.length > 0) throw new Error('headless with clusterIPs');
  });
});

test.serial('mergeEndpointSlices: typed errors only; sorted, unique, one family per slice, no port 0', async (t) => {
  const options = fc.oneof(
    fc.record(
      {
        portName: fc.constantFrom('http', 'HTTP', '', 3),
        protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'tcp', undefined),
        addressType: fc.constantFrom('IPv4', 'IPv6', undefined, 'FQDN'),
        nodeName: fc.constantFrom('n1', undefined, 2),
      },
      { requiredKeys: ['portName'] },
    ),
    anyValue,
  );
  const input = fc.tuple(fc.oneof(fc.array(anySlice, { maxLength: 4 }), anyValue), options);
  await runFuzz(t, 'merge-endpoint-slices', { weight: 0.03, runs: 4000 }, input, ([slices, o]) => {
    const r = typed('mergeEndpointSlices', () => mergeEndpointSlices(slices as unknown[], o as { portName: string }));
    if (!r.ok) {
      if (r.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${r.code}`);
      return;
    }
    const keys = r.value.map(endpointKey);
    const sorted = [...keys].sort();
    if (keys.join('|') !== sorted.join('|')) throw new Error('not sorted by address:port');
    if (new Set(keys).size !== keys.length) throw new Error('duplicate address:port');
    for (const e of r.value) {
      if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65_535) throw new Error(`port ${e.port}`);
      if (e.address.includes(':') !== (e.addressType === 'IPv6')) throw new Error(`family of ${e.address}`);
    }
  });
});

/** Slices over a tiny space of names and addresses, so collisions between slices are frequent. */
const collidingSlice = fc.record({
  kind: fc.constant('EndpointSlice'),
  metadata: fc.record({
    name: fc.constantFrom('s-a', 's-b', 's-c', 's-d'),
    namespace: fc.constant('prod'),
    labels: fc.constant({ 'kubernetes.io/service-name': 'web' }),
  }),
  addressType: fc.constantFrom('IPv4', 'IPv4', 'IPv6', 'FQDN'),
  ports: fc.array(
    fc.record({
      name: fc.constantFrom('http', 'metrics', null),
      port: fc.constantFrom(8080, 9090, 0, null),
      protocol: fc.constantFrom('TCP', 'TCP', 'UDP'),
    }),
    { maxLength: 2 },
  ),
  endpoints: fc.array(
    fc.record(
      {
        addresses: fc.array(fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', 'fd00::1'), { maxLength: 2 }),
        conditions: fc.record({ ready: fc.boolean(), serving: fc.boolean(), terminating: fc.boolean() }),
        nodeName: fc.constantFrom('n1', 'n2'),
        zone: fc.constantFrom('z1', 'z2'),
      },
      { requiredKeys: ['addresses'] },
    ),
    { maxLength: 4 },
  ),
});

type Op = { readonly type: 'upsert'; readonly slice: unknown } | { readonly type: 'delete'; readonly name: string };

test.serial('EndpointSliceCache: after any sequence of slice events it equals a fresh merge', async (t) => {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: collidingSlice.map((slice) => ({ type: 'upsert' as const, slice })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('s-a', 's-b', 's-c', 's-d').map((name) => ({ type: 'delete' as const, name })),
    },
  );
  const input = fc.tuple(
    fc.array(op, { minLength: 1, maxLength: 25 }),
    fc.constantFrom('http', 'metrics'),
    fc.constantFrom<Protocol>('TCP', 'UDP'),
    fc.constantFrom('n1', undefined),
  );
  await runFuzz(
    t,
    'endpoint-slice-cache',
    { weight: 0.04, runs: 2500 },
    input,
    ([ops, portName, protocol, nodeName]) => {
      const cache = new EndpointSliceCache({ portName, protocol, nodeName });
      const current = new Map<string, unknown>();
      for (const o of ops) {
        if (o.type === 'upsert') {
          const decoded = decodeEndpointSlice(o.slice);
          current.set(decoded.name, o.slice);
          cache.update(decoded);
        } else {
          current.delete(o.name);
          cache.delete(o.name);
        }
        const byName = [...current.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s);
        const fresh = mergeEndpointSlices(byName, {
          portName,
          protocol,
          ...(nodeName === undefined ? {} : { nodeName }),
        });
        const got = JSON.stringify(cache.endpoints);
        if (got !== JSON.stringify(fresh)) throw new Error(`incremental ${got}\nfresh       ${JSON.stringify(fresh)}`);
        const ready = fresh.filter((e) => e.conditions.ready).length;
        if (cache.readyCount !== ready || cache.size !== fresh.length) throw new Error('size or readyCount drifted');
      }
    },
  );
});
