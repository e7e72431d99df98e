// Reliability (fuzzing) of stage ① name and ② identity parsers: names, targets, search lists,
// cluster names, resolv.conf, kubelet service variables, cluster context. Typed errors only, invariants hold.

import { isIP } from 'node:net';
import {
  type DetectClusterContextOptions,
  detectClusterContext,
  envVariableName,
  interpretClusterName,
  isClusterIPError,
  MAX_NAME_LENGTH,
  parseResolvConf,
  parseServiceTarget,
  readServiceFromEnv,
  type ServiceTarget,
  searchCandidates,
  validateDnsName,
  validateNamespace,
  validatePortName,
  validatePortNumber,
  validateServiceName,
  validateServicePortName,
} from '@clusterip/resolver';
import { isDns1123Label } from '@clusterip/resolver/internal/name/validate-names.js';
import test from 'ava';
import fc from 'fast-check';
import {
  anyName,
  anyValue,
  dottedName,
  label,
  nameChars,
  portText,
  shortLabel,
  targetText,
} from './fuzz/arbitraries.js';
import { printSummary, runFuzz, typed, typedAsync } from './fuzz/budget.js';

test.after.always(() => printSummary('fuzz-names'));

const NOWHERE = '/nonexistent/clusterip-fuzz/none';

test.serial('name validators accept or throw INVALID_NAME / INVALID_ARG, and agree with the label rule', async (t) => {
  const input = fc.oneof({ weight: 6, arbitrary: anyName }, { weight: 1, arbitrary: anyValue });
  await runFuzz(t, 'validate-names', { weight: 0.02, runs: 4000 }, input, (value) => {
    const v = value as string;
    const results = [
      typed('validateServiceName', () => validateServiceName(v)),
      typed('validateServiceName strict', () => validateServiceName(v, { strict: true })),
      typed('validateNamespace', () => validateNamespace(v)),
      typed('validateServicePortName', () => validateServicePortName(v)),
      typed('validatePortName', () => validatePortName(v)),
      typed('validateDnsName', () => validateDnsName(v)),
    ];
    for (const r of results) if (!r.ok && r.code !== 'CLUSTERIP_ERR_INVALID_NAME') throw new Error(`code ${r.code}`);
    if (typeof value === 'string' && results[2]!.ok !== isDns1123Label(value)) {
      throw new Error(`validateNamespace and isDns1123Label disagree on ${JSON.stringify(value)}`);
    }
    // A strict (DNS-1035) name is always a relaxed (DNS-1123) one.
    if (results[1]!.ok && !results[0]!.ok) throw new Error('strict accepts what relaxed rejects');
    const port = typed('validatePortNumber', () => validatePortNumber(value as number));
    if (!port.ok && port.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${port.code}`);
  });
});

function formatTarget(p: ServiceTarget): string {
  const port = p.port === undefined ? '' : `:${p.port}`;
  const host = p.ipVersion === 6 && (port !== '' || p.namespace !== undefined) ? `[${p.host}]` : p.host;
  if (p.namespace !== undefined) return `kubernetes://${p.namespace}/${host}${port}`;
  return `${host}${port}`;
}

test.serial('parseServiceTarget: typed errors only, and a parsed target round-trips', async (t) => {
  const input = fc.oneof({ weight: 8, arbitrary: targetText }, { weight: 1, arbitrary: anyValue });
  await runFuzz(t, 'parse-service-target', { weight: 0.04, runs: 6000 }, input, (value) => {
    const r = typed('parseServiceTarget', () => parseServiceTarget(value as string));
    if (!r.ok) {
      if (r.code !== 'CLUSTERIP_ERR_INVALID_NAME' && r.code !== 'CLUSTERIP_ERR_INVALID_ARG') {
        throw new Error(`code ${r.code}`);
      }
      return;
    }
    const p = r.value;
    if (!Object.isFrozen(p)) throw new Error('target not frozen');
    if (p.host !== p.host.toLowerCase()) throw new Error(`host not lowercased: ${p.host}`);
    if (p.ipVersion !== isIP(p.host)) throw new Error(`ipVersion ${p.ipVersion} for ${p.host}`);
    if (typeof p.port === 'number' && !(Number.isInteger(p.port) && p.port >= 1 && p.port <= 65_535)) {
      throw new Error(`port ${p.port}`);
    }
    const again = typed('parseServiceTarget (round trip)', () => parseServiceTarget(formatTarget(p)));
    if (!again.ok)
      throw new Error(`${formatTarget(p)} (from ${JSON.stringify(value)}) no longer parses: ${again.error.message}`);
    const q = again.value;
    if (q.host !== p.host || q.port !== p.port || q.namespace !== p.namespace || q.ipVersion !== p.ipVersion) {
      throw new Error(`round trip of ${JSON.stringify(value)}: ${JSON.stringify(p)} → ${JSON.stringify(q)}`);
    }
  });
});

test.serial('searchCandidates: absolute, unique, at most 253 characters, glibc/musl order rules', async (t) => {
  const search = fc.array(fc.oneof(dottedName, anyName, fc.constantFrom('.', '', 'svc.cluster.local')), {
    maxLength: 7,
  });
  const input = fc.record({
    name: fc.oneof(dottedName, anyName),
    search,
    ndots: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.constantFrom(-1, 1.5, Number.NaN)),
    mode: fc.constantFrom('glibc', 'musl', undefined, 'bsd'),
  });
  await runFuzz(t, 'search-candidates', { weight: 0.03, runs: 5000 }, input, ({ name, search, ndots, mode }) => {
    const r = typed('searchCandidates', () =>
      searchCandidates(name, { search, ndots, ...(mode === undefined ? {} : { mode: mode as 'glibc' }) }),
    );
    if (!r.ok) return;
    const out = r.value;
    if (out.length === 0) throw new Error('no candidate at all');
    if (new Set(out).size !== out.length) throw new Error(`duplicates in ${JSON.stringify(out)}`);
    for (const c of out) {
      if (!c.endsWith('.')) throw new Error(`not absolute: ${c}`);
      if (c.length - 1 > MAX_NAME_LENGTH) throw new Error(`over ${MAX_NAME_LENGTH} characters: ${c.length - 1}`);
    }
    if (name.endsWith('.') && (out.length !== 1 || out[0] !== name)) throw new Error('absolute name expanded');
    if (out.length > search.length + 1) throw new Error('more candidates than search entries + 1');
    const dots = name.split('.').length - 1;
    if (!name.endsWith('.') && dots >= ndots) {
      if (out[0] !== `${name}.`) throw new Error('dots >= ndots: the name as-is must come first');
      if (mode === 'musl' && out.length !== 1) throw new Error('musl: dots >= ndots means only the name as-is');
    }
  });
});

test.serial('interpretClusterName: typed errors only, and the parts rebuild the name', async (t) => {
  const zone = fc.constantFrom('cluster.local', 'CLUSTER.local.', 'k8s', 'a.b.c');
  const inCluster = fc
    .tuple(
      fc.array(fc.oneof(shortLabel, fc.constantFrom('svc', 'pod', '_http', '_tcp', '10-0-0-1', 'fe80--1')), {
        maxLength: 6,
      }),
      zone,
    )
    .map(([labels, z]) => [[...labels, z].join('.'), z] as const);
  const input = fc.oneof(inCluster, fc.tuple(anyName, fc.oneof(zone, anyName)));
  await runFuzz(t, 'interpret-cluster-name', { weight: 0.02, runs: 5000 }, input, ([fqdn, clusterDomain]) => {
    const r = typed('interpretClusterName', () => interpretClusterName(fqdn, clusterDomain));
    if (!r.ok) {
      if (r.code !== 'CLUSTERIP_ERR_INVALID_NAME') throw new Error(`code ${r.code}`);
      return;
    }
    const z = clusterDomain.toLowerCase().replace(/\.$/, '');
    const n = fqdn.toLowerCase().replace(/\.$/, '');
    const c = r.value;
    switch (c.kind) {
      case 'service':
        if (n !== `${c.service}.${c.namespace}.svc.${z}`) throw new Error(`service parts of ${fqdn}`);
        break;
      case 'endpoint':
        if (n !== `${c.hostname}.${c.service}.${c.namespace}.svc.${z}`) throw new Error(`endpoint parts of ${fqdn}`);
        break;
      case 'srv':
        if (n !== `_${c.port}._${c.protocol}.${c.service}.${c.namespace}.svc.${z}`)
          throw new Error(`srv parts of ${fqdn}`);
        break;
      case 'pod':
        if (isIP(c.ip) === 0) throw new Error(`pod ip ${c.ip}`);
        break;
      case 'outside':
        if (n === z || n.endsWith(`.${z}`)) throw new Error(`${fqdn} is inside ${z}`);
        break;
      case 'no-data':
      case 'invalid':
        if (!c.fqdn.endsWith('.')) throw new Error('fqdn not absolute');
        break;
    }
  });
});

const resolvLine = fc.oneof(
  fc
    .tuple(fc.constantFrom('nameserver', 'nameserver ', 'NAMESERVER'), fc.oneof(fc.ipV4(), fc.ipV6(), anyName))
    .map(([k, v]) => `${k} ${v}`),
  fc.array(fc.oneof(dottedName, anyName), { maxLength: 8 }).map((d) => `search ${d.join(' ')}`),
  fc.oneof(dottedName, anyName).map((d) => `domain ${d}`),
  fc
    .array(
      fc.oneof(
        fc
          .tuple(fc.constantFrom('ndots', 'timeout', 'attempts', 'rotate', 'edns0', 'x'), portText)
          .map(([k, v]) => `${k}:${v}`),
        fc.constantFrom('rotate', 'ndots', 'ndots:', ':5', 'single-request'),
      ),
      { maxLength: 5 },
    )
    .map((o) => `options ${o.join(' ')}`),
  fc.constantFrom('# comment', '; comment', '', '   ', 'search', 'options', 'nameserver'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

test.serial('parseResolvConf never throws and keeps libc limits', async (t) => {
  const input = fc.tuple(fc.array(resolvLine, { maxLength: 12 }), fc.constantFrom('\n', '\r\n', '\t\n'));
  await runFuzz(t, 'parse-resolv-conf', { weight: 0.03, runs: 4000 }, input, ([lines, eol]) => {
    const c = parseResolvConf(lines.join(eol));
    if (c.nameservers.length > 3) throw new Error('more than 3 nameservers');
    for (const ns of c.nameservers) if (isIP(ns.replace(/%.*$/, '')) === 0) throw new Error(`nameserver ${ns}`);
    if (!Number.isInteger(c.ndots) || c.ndots < 0 || c.ndots > 15) throw new Error(`ndots ${c.ndots}`);
    if (!Number.isInteger(c.timeoutSeconds) || c.timeoutSeconds < 0 || c.timeoutSeconds > 30)
      throw new Error('timeout');
    if (!Number.isInteger(c.attempts) || c.attempts < 0 || c.attempts > 5) throw new Error('attempts');
    if (!Object.isFrozen(c) || !Object.isFrozen(c.search) || !Object.isFrozen(c.options)) throw new Error('not frozen');
  });
});

test.serial('readServiceFromEnv: typed errors only; whatever it returns is an IP and valid ports', async (t) => {
  const service = fc.oneof(label, shortLabel, nameChars);
  const value = fc.oneof(portText, fc.ipV4(), fc.ipV6(), fc.constantFrom('TCP', 'UDP', ''), nameChars);
  const input = service.chain((name) => {
    const p = envVariableName(name);
    const key = fc.oneof(
      fc.constantFrom(`${p}_SERVICE_HOST`, `${p}_SERVICE_PORT`),
      fc.oneof(label, nameChars).map((n) => `${p}_SERVICE_PORT_${n.toUpperCase()}`),
      fc
        .tuple(portText, fc.constantFrom('TCP', 'UDP', 'SCTP', 'tcp', 'X'))
        .map(([n, proto]) => `${p}_PORT_${n}_${proto}_PROTO`),
      fc.string({ maxLength: 10 }),
    );
    return fc.tuple(fc.constant(name), fc.dictionary(key, value, { maxKeys: 8 }));
  });
  await runFuzz(t, 'read-service-from-env', { weight: 0.02, runs: 4000 }, input, ([name, env]) => {
    const r = typed('readServiceFromEnv', () => readServiceFromEnv(name, env));
    if (!r.ok || r.value === undefined) return;
    const s = r.value;
    if (isIP(s.host) === 0) throw new Error(`host ${s.host}`);
    for (const p of [s.port, ...s.ports.map((x) => x.port)]) {
      if (!Number.isInteger(p) || p < 1 || p > 65_535) throw new Error(`port ${p}`);
    }
    if (!s.ports.some((x) => x.port === s.port)) throw new Error('the first port is missing from ports');
  });
});

test.serial('detectClusterContext: typed errors only; a detected namespace is a DNS-1123 label', async (t) => {
  const resolvConf = fc.array(resolvLine, { maxLength: 6 }).map((l) => l.join('\n'));
  const podSearch = fc
    .tuple(fc.oneof(label, nameChars), fc.oneof(dottedName, anyName))
    .map(([ns, zone]) => `search ${ns}.svc.${zone} svc.${zone} ${zone}\noptions ndots:5`);
  const env = fc.dictionary(
    fc.constantFrom('POD_NAMESPACE', 'NAMESPACE', 'KUBERNETES_NAMESPACE', 'NODE_NAME', 'NODE_ZONE', 'POD_IP'),
    fc.oneof(label, nameChars, fc.constant('')),
    { maxKeys: 4 },
  );
  const options = fc.record(
    {
      resolvConf: fc.oneof(resolvConf, podSearch),
      env,
      namespace: fc.oneof(label, nameChars),
      clusterDomain: fc.oneof(dottedName, anyName),
    },
    { requiredKeys: ['resolvConf', 'env'] },
  );
  const input = fc.oneof(
    { weight: 8, arbitrary: options },
    { weight: 1, arbitrary: anyValue },
    {
      weight: 2,
      arbitrary: fc.dictionary(
        fc.constantFrom('namespace', 'clusterDomain', 'nodeName', 'zone', 'podIP', 'dns', 'resolvConf', 'env', 'x'),
        anyValue,
        { maxKeys: 3 },
      ),
    },
  );
  await runFuzz(t, 'detect-cluster-context', { weight: 0.03, runs: 3000 }, input, async (raw) => {
    // Never the machine's own files or environment: what is read is what was generated.
    const withFiles =
      typeof raw === 'object' && raw !== null && !Array.isArray(raw)
        ? { env: {}, podIP: '10.0.0.1', ...raw, namespaceFile: NOWHERE, resolvConfPath: NOWHERE }
        : raw;
    const r = await typedAsync('detectClusterContext', () =>
      detectClusterContext(withFiles as DetectClusterContextOptions),
    );
    if (!r.ok) return;
    if (!isDns1123Label(r.value.namespace)) throw new Error(`namespace ${JSON.stringify(r.value.namespace)}`);
    if (r.value.clusterDomain === '') throw new Error('empty cluster domain');
  });
});

test('a typed error is a ClusterIPError subclass instance (the brand the fuzz checks rely on)', (t) => {
  const error = t.throws(() => parseServiceTarget('a b'));
  t.true(isClusterIPError(error));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_NAME');
});

test('regression (fuzz): a dns option of the wrong shape is INVALID_ARG, not a TypeError', async (t) => {
  const error = await t.throwsAsync(detectClusterContext({ dns: 0 as never, env: {} }));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
});

test('regression (fuzz): a malformed search entry does not make the cluster domain empty', async (t) => {
  const context = await detectClusterContext({
    resolvConf: 'search a.svc.. svc.. .\noptions ndots:5',
    env: {},
    namespaceFile: NOWHERE,
    podIP: '10.0.0.1',
  });
  t.is(context.clusterDomain, 'cluster.local');
});

test('regression (fuzz): with an explicit namespace a trailing dot is dropped, not doubled into "<name>..<ns>"', (t) => {
  const target = parseServiceTarget('kubernetes://prod/web.:http');
  t.is(target.host, 'web');
  t.is(target.namespace, 'prod');
});
