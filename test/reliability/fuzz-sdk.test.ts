// Reliability (fuzzing) of the sdk's parsers: affinity keys from headers/cookies/metadata, the mesh's host
// classifier, Retry-After, gRPC targets, and the options of createBalancer and Mesh. Typed errors only.

import { isIP } from 'node:net';
import { type Endpoint, parseServiceTarget, READY, StaticSource } from '@clusterip/resolver';
import { affinityKeyFrom, createBalancer, Mesh } from '@clusterip/sdk';
import { classifyHost } from '@clusterip/sdk/internal/mesh/host-classifier.js';
import { defaultAuthority, parseGrpcTarget } from '@clusterip/sdk/internal/transport/grpc/grpc-resolver.js';
import { retryAfterMs } from '@clusterip/sdk/internal/transport/http/routed-call.js';
import test from 'ava';
import fc from 'fast-check';
import { anyName, anyValue, dottedName, label, nameChars, portText } from './fuzz/arbitraries.js';
import { printSummary, runFuzz, typed, typedAsync } from './fuzz/budget.js';

test.after.always(() => printSummary('fuzz-sdk'));

const headerName = fc.constantFrom('x-user-id', 'X-User-Id', 'cookie', 'Cookie', 'COOKIE', 'x-other', '', 'x user');
const headerValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(' ', '\t u-1 \t', 'u-42', ''),
  fc
    .tuple(
      fc.array(
        fc.tuple(fc.constantFrom('session', 'theme', 'Session', ' session', '', '='), fc.string({ maxLength: 8 })),
        { maxLength: 4 },
      ),
      fc.constantFrom('; ', ';', ' ;'),
    )
    .map(([pairs, separator]) => pairs.map(([k, v]) => `${k}=${v}`).join(separator)),
  fc.constantFrom('session="quoted"', 'session=""', 'session="', 'session', ';;;', 'a=b; session=s1; session=s2'),
);
const headers = fc.oneof(
  fc.dictionary(headerName, fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 }), fc.constant(undefined)), {
    maxKeys: 4,
  }),
  fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 }).map((pairs) => new Map(pairs)),
  fc.array(fc.oneof(fc.tuple(headerName, headerValue), anyValue), { maxLength: 4 }),
);
const affinityOptions = fc.oneof(
  fc.record(
    {
      header: fc.oneof(headerName, nameChars),
      cookie: fc.constantFrom('session', 'Session', 'a b', '', 'theme'),
      metadata: fc.constantFrom('x-user-id', 'X-USER-ID', 'key-bin', 'a b', ''),
      clientIp: fc.oneof(fc.boolean(), anyValue),
    },
    { requiredKeys: [] },
  ),
  anyValue,
);
const affinityRequest = fc.record(
  {
    headers: fc.oneof(headers, anyValue),
    metadata: fc.oneof(
      fc.array(fc.oneof(fc.string({ maxLength: 6 }), anyValue), { maxLength: 3 }).map((values) => () => values),
      anyValue,
    ),
    clientAddress: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('::ffff:10.0.0.9', '::FFFF:1.2.3.4', ''), anyValue),
  },
  { requiredKeys: [] },
);

test.serial('affinityKeyFrom: options are INVALID_ARG or a function; keys are non-empty trimmed strings', async (t) => {
  await runFuzz(
    t,
    'affinity-key',
    { weight: 0.03, runs: 5000 },
    fc.tuple(affinityOptions, affinityRequest),
    ([options, request]) => {
      const made = typed('affinityKeyFrom', () => affinityKeyFrom(options as never));
      if (!made.ok) {
        if (made.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${made.code}`);
        return;
      }
      const key = typed('affinity key', () => made.value(request as never));
      if (!key.ok) {
        if (key.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${key.code}`);
        return;
      }
      const k = key.value;
      if (k !== undefined && (typeof k !== 'string' || k === '')) throw new Error(`key ${JSON.stringify(k)}`);
    },
  );
});

test.serial('affinityKeyFrom: the first cookie or header of that name is the key, whatever surrounds it', async (t) => {
  const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
  const cookieValue = fc.stringMatching(/^[A-Za-z0-9!#$%&'()*+\-./:<>?@[\]^_`{|}~]{1,16}$/);
  const input = fc.record({
    before: fc.array(
      fc.tuple(
        token.filter((k) => k !== 'session'),
        cookieValue,
      ),
      { maxLength: 3 },
    ),
    value: cookieValue,
    after: fc.array(fc.tuple(token, cookieValue), { maxLength: 3 }),
    separator: fc.constantFrom('; ', ';', ' ; ', ';\t'),
    headerValue: cookieValue,
    pad: fc.constantFrom('', ' ', '\t', ' \t '),
    headerCase: fc.constantFrom('x-user-id', 'X-User-Id', 'X-USER-ID'),
  });
  const byCookie = affinityKeyFrom({ cookie: 'session' });
  const byHeader = affinityKeyFrom({ header: 'x-user-id' });
  await runFuzz(t, 'affinity-key-extraction', { weight: 0.01, runs: 3000 }, input, (c) => {
    const cookie = [...c.before, ['session', c.value] as const, ...c.after]
      .map(([k, v]) => `${k}=${v}`)
      .join(c.separator);
    const unquoted =
      c.value.length >= 2 && c.value.startsWith('"') && c.value.endsWith('"') ? c.value.slice(1, -1) : c.value;
    const got = byCookie({ headers: { cookie } });
    if (unquoted !== '' && got !== unquoted) throw new Error(`cookie ${JSON.stringify(cookie)}: got ${got}`);
    const header = byHeader({ headers: { [c.headerCase]: `${c.pad}${c.headerValue}${c.pad}` } });
    if (header !== c.headerValue) throw new Error(`header: got ${header}, expected ${c.headerValue}`);
  });
});

test.serial('classifyHost: one of four classes; ip exactly for IP literals', async (t) => {
  const input = fc.tuple(
    fc.oneof(anyName, fc.ipV4(), fc.ipV6()).map((h) => h.toLowerCase()),
    fc.oneof(dottedName, fc.constant('cluster.local')),
  );
  await runFuzz(t, 'classify-host', { weight: 0.01, runs: 5000 }, input, ([host, domain]) => {
    const c = typed('classifyHost', () => classifyHost(host, domain));
    if (!c.ok) throw new Error('classifyHost threw');
    if (!['ip', 'cluster', 'candidate', 'outside'].includes(c.value)) throw new Error(`class ${c.value}`);
    if ((c.value === 'ip') !== (isIP(host) !== 0)) throw new Error(`ip class for ${host}`);
  });
});

test.serial('retryAfterMs: undefined or a non-negative number of milliseconds, never NaN or a throw', async (t) => {
  const value = fc.oneof(
    fc.nat().map(String),
    fc.constantFrom(
      '99999999999999999999',
      '-1',
      '1.5',
      ' 3 ',
      '',
      'Wed, 21 Oct 2015 07:28:00 GMT',
      'Sun, 06 Nov 1994',
    ),
    fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
  );
  const name = fc.constantFrom('retry-after', 'Retry-After', 'RETRY-AFTER', 'retry-afte', 'x', '');
  const raw = fc.oneof(
    fc.array(fc.oneof(name, value), { maxLength: 8 }),
    fc.array(fc.oneof(name, value), { maxLength: 8 }).map((a) => a.map((s) => Buffer.from(s))),
    fc.constant(null),
  );
  await runFuzz(t, 'retry-after', { weight: 0.01, runs: 5000 }, fc.tuple(raw, fc.nat()), ([headers, now]) => {
    const r = typed('retryAfterMs', () => retryAfterMs(headers as string[] | null, now));
    if (!r.ok) throw new Error(`threw ${r.code}`);
    const ms = r.value;
    if (ms !== undefined && (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0)) throw new Error(`ms ${ms}`);
  });
});

test.serial('parseGrpcTarget: INVALID_NAME/INVALID_ARG or a named target whose default authority parses', async (t) => {
  const input = fc.record({
    scheme: fc.constantFrom('kubernetes', undefined, 'dns'),
    authority: fc.oneof(fc.constant(undefined), fc.constant(''), label, nameChars),
    path: fc.oneof(
      fc.tuple(anyName, fc.option(portText, { nil: undefined })).map(([h, p]) => (p === undefined ? h : `${h}:${p}`)),
      fc.constantFrom('', '/', 'a/b', '[::1]:80', '10.0.0.1:80'),
      fc.string({ maxLength: 30 }),
    ),
  });
  await runFuzz(t, 'grpc-target', { weight: 0.02, runs: 5000 }, input, (uri) => {
    const r = typed('parseGrpcTarget', () => parseGrpcTarget(uri as never));
    if (!r.ok) {
      if (r.code !== 'CLUSTERIP_ERR_INVALID_NAME' && r.code !== 'CLUSTERIP_ERR_INVALID_ARG') {
        throw new Error(`code ${r.code}`);
      }
      return;
    }
    if (r.value.ipVersion !== 0) throw new Error('an IP target was accepted');
    const authority = defaultAuthority(r.value);
    // `<name>.<namespace>` may exceed a DNS name (it names nothing then, and resolving it fails typed).
    if (authority.replace(/:\d+$/, '').length > 253) return;
    const again = typed('parse default authority', () => parseServiceTarget(authority));
    if (!again.ok) throw new Error(`default authority ${JSON.stringify(authority)} does not parse`);
  });
});

/** Option-shaped values: the keys an option parser knows, nested, with values of every type. */
function optionsLike(keys: readonly string[], depth: number): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(
    fc.constantFrom(undefined, null, true, false, 0, -1, 1, 3, 100, 1e9, 1.5, Number.NaN, Infinity, '', 'None'),
    fc.constantFrom('ClientIP', 'Service', 'random', 'round-robin', 'least-request', 'peak-ewma', 'ring-hash', 'bogus'),
    fc.constantFrom('pass-through', 'error', 'x-user-id', 'session', 'web.shop', 'a.b.c'),
    fc.array(fc.constantFrom(502, 503, 99, 'ECONNRESET', ''), { maxLength: 3 }),
    fc.constant(() => 0.5),
    fc.integer(),
  );
  if (depth === 0) return leaf;
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    {
      weight: 2,
      arbitrary: fc.dictionary(
        fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...keys) }, fc.string({ maxLength: 5 })),
        optionsLike(keys, depth - 1),
        { maxKeys: 5 },
      ),
    },
  );
}

const BALANCER_KEYS = [
  'policy',
  'sessionAffinity',
  'type',
  'timeoutSeconds',
  'maxEntries',
  'clientIP',
  'outlierDetection',
  'consecutiveFailures',
  'failureRate',
  'thresholdPercent',
  'minimumRequests',
  'intervalMs',
  'baseEjectionTimeMs',
  'maxEjectionTimeMs',
  'maxEjectionPercent',
  'panicThresholdPercent',
  'peakEwma',
  'decayMs',
  'initialLatencyMs',
  'ringHash',
  'pointsPerEndpoint',
  'slowStart',
  'windowMs',
  'minWeightPercent',
  'service',
  'now',
  'random',
];

function endpoint(i: number): Endpoint {
  return { address: `10.0.0.${i + 1}`, port: 8080, protocol: 'TCP', addressType: 'IPv4', conditions: READY };
}

test.serial('createBalancer: arbitrary options are INVALID_ARG or a balancer whose pick() never throws', async (t) => {
  const input = fc.tuple(
    fc.oneof(optionsLike(BALANCER_KEYS, 3), anyValue),
    fc.integer({ min: 0, max: 6 }),
    fc.array(fc.option(fc.oneof(fc.string({ maxLength: 6 }), fc.constant('u-1')), { nil: undefined }), {
      maxLength: 6,
    }),
    fc.option(optionsLike(['sessionAffinity', 'type', 'timeoutSeconds'], 2), { nil: undefined }),
  );
  let built = 0;
  await runFuzz(t, 'create-balancer', { weight: 0.04, runs: 5000 }, input, async ([options, n, keys, service]) => {
    const r = typed('createBalancer', () => createBalancer(options as never));
    if (!r.ok) {
      if (r.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${r.code}`);
      return;
    }
    built++;
    const balancer = r.value;
    const endpoints = Array.from({ length: n }, (_, i) => endpoint(i));
    const updated = typed('update', () => balancer.update(endpoints, service as never));
    if (!updated.ok && updated.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`update code ${updated.code}`);
    for (const affinityKey of keys) {
      const pick = typed('pick', () => balancer.pick(affinityKey === undefined ? {} : { affinityKey }));
      if (!pick.ok) throw new Error(`pick threw ${pick.code}`);
      const p = pick.value;
      if (p.type === 'pick') {
        if (!endpoints.some((e) => e.address === p.endpoint.address)) throw new Error('picked an unknown endpoint');
        p.done({ type: 'http', status: 200 });
      }
    }
    await balancer.close();
    if (balancer.pick().type !== 'fail') throw new Error('pick after close did not fail');
  });
  t.log(`balancers built: ${built}`);
  t.true(built > 0, 'no generated option set was valid: the fuzz never reached the success path');
});

const MESH_KEYS = [
  'policy',
  'sessionAffinity',
  'affinityKey',
  'header',
  'cookie',
  'retry',
  'attempts',
  'statuses',
  'errorCodes',
  'backoff',
  'baseMs',
  'maxMs',
  'retryAfterMaxMs',
  'budget',
  'ratioPercent',
  'outlierDetection',
  'timeouts',
  'connectMs',
  'headersMs',
  'bodyMs',
  'resolveMs',
  'context',
  'namespace',
  'clusterDomain',
  'dns',
  'origin',
  'search',
  'ndots',
  'pool',
  'connections',
  'keepAliveTimeoutMs',
  'pipelining',
  'connect',
  'notFound',
  'negativeCacheTtlMs',
  'maxServices',
  'routeIdleTimeoutMs',
  'services',
  'web.shop',
  'telemetry',
  'type',
  'timeoutSeconds',
];

test.serial('new Mesh(): arbitrary options are INVALID_ARG or a mesh that resolves (typed) and closes', async (t) => {
  const source = new StaticSource([
    {
      namespace: 'default',
      name: 'web',
      ports: [{ name: 'http', port: 80 }],
      endpoints: [{ address: '127.0.0.1' }],
    },
  ]);
  t.teardown(() => source.close());
  let built = 0;
  const input = fc.oneof(optionsLike(MESH_KEYS, 3), anyValue);
  await runFuzz(t, 'mesh-options', { weight: 0.05, runs: 2000 }, input, async (options) => {
    const withSource =
      typeof options === 'object' && options !== null && !Array.isArray(options)
        ? { source, telemetry: false, context: { namespace: 'default', env: {}, resolvConf: '' }, ...options }
        : options;
    const r = typed('new Mesh', () => new Mesh(withSource as never));
    if (!r.ok) {
      if (r.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${r.code}`);
      return;
    }
    built++;
    const mesh = r.value;
    try {
      // Lazily used options (the context) must fail typed too, never as a TypeError on first use. Only with
      // the static source: `new Mesh(undefined)` would ask the machine's own DNS.
      if (withSource !== options) await typedAsync('mesh.resolve', () => mesh.resolve('web:80'));
    } finally {
      await mesh.close();
    }
    const again = mesh.close();
    if (again !== mesh.close()) throw new Error('close() is not the same promise');
  });
  t.log(`meshes built: ${built}`);
  t.true(built > 0, 'no generated option set was valid: the fuzz never reached the success path');
});
