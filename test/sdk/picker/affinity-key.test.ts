import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AffinityKeyOptions, type AffinityRequest, affinityKeyFrom, createBalancer } from '@clusterip/sdk';
import test from 'ava';
import { eps } from '../fixtures.js';

// ── extraction table ───────────────────────────────────────────────────────────────────────────

const cases: ReadonlyArray<[string, AffinityKeyOptions, AffinityRequest, string | undefined]> = [
  // headers
  ['header, lower-case record', { header: 'x-user' }, { headers: { 'x-user': 'u1' } }, 'u1'],
  ['header name is case-insensitive (option)', { header: 'X-User' }, { headers: { 'x-user': 'u1' } }, 'u1'],
  ['header name is case-insensitive (request)', { header: 'x-user' }, { headers: { 'X-USER': 'u1' } }, 'u1'],
  ['header: several values, the first wins', { header: 'x-user' }, { headers: { 'x-user': ['u1', 'u2'] } }, 'u1'],
  ['header: whitespace trimmed', { header: 'x-user' }, { headers: { 'x-user': ' \tu1 ' } }, 'u1'],
  ['header: empty counts as absent', { header: 'x-user' }, { headers: { 'x-user': '  ' } }, undefined],
  ['header: an empty first value is skipped', { header: 'x-user' }, { headers: { 'x-user': ['', 'u2'] } }, 'u2'],
  ['header: undefined value', { header: 'x-user' }, { headers: { 'x-user': undefined } }, undefined],
  ['header: missing', { header: 'x-user' }, { headers: { other: 'x' } }, undefined],
  ['header: no headers at all', { header: 'x-user' }, {}, undefined],
  [
    'header: pairs, first match wins',
    { header: 'x-user' },
    {
      headers: [
        ['X-User', 'u1'],
        ['x-user', 'u2'],
      ],
    },
    'u1',
  ],
  ['header: a Map of pairs', { header: 'x-user' }, { headers: new Map([['x-user', 'u1']]) }, 'u1'],
  [
    'header: malformed pairs are skipped',
    { header: 'x-user' },
    { headers: ['x-user', ['x-user', 'u1']] as never },
    'u1',
  ],
  ['header: non-string values are skipped', { header: 'x-user' }, { headers: { 'x-user': 5 } as never }, undefined],
  // cookies
  ['cookie', { cookie: 'sid' }, { headers: { cookie: 'a=1; sid=abc; b=2' } }, 'abc'],
  ['cookie: first of that name wins', { cookie: 'sid' }, { headers: { cookie: 'sid=one; sid=two' } }, 'one'],
  ['cookie: names are case-sensitive', { cookie: 'sid' }, { headers: { cookie: 'SID=abc' } }, undefined],
  ['cookie: no prefix match', { cookie: 'sid' }, { headers: { cookie: 'xsid=1; sidx=2' } }, undefined],
  ['cookie: quoted value is unquoted', { cookie: 'sid' }, { headers: { cookie: 'sid="abc"' } }, 'abc'],
  ['cookie: value kept as sent (no decoding)', { cookie: 'sid' }, { headers: { cookie: 'sid=a%20b=c' } }, 'a%20b=c'],
  ['cookie: lenient whitespace', { cookie: 'sid' }, { headers: { cookie: ' a=1 ;sid = abc ;' } }, 'abc'],
  ['cookie: pair without = is ignored', { cookie: 'sid' }, { headers: { cookie: 'sid; sid=abc' } }, 'abc'],
  ['cookie: empty value counts as absent', { cookie: 'sid' }, { headers: { cookie: 'sid=' } }, undefined],
  ['cookie: every Cookie field is searched', { cookie: 'sid' }, { headers: { cookie: ['a=1', 'sid=abc'] } }, 'abc'],
  [
    'cookie: Cookie pairs',
    { cookie: 'sid' },
    {
      headers: [
        ['Cookie', 'a=1'],
        ['cookie', 'sid=abc'],
      ],
    },
    'abc',
  ],
  ['cookie: no Cookie header', { cookie: 'sid' }, { headers: { 'set-cookie': 'sid=abc' } }, undefined],
  // metadata
  ['metadata', { metadata: 'x-user' }, { metadata: (k) => (k === 'x-user' ? ['u1', 'u2'] : []) }, 'u1'],
  ['metadata key lower-cased', { metadata: 'X-User' }, { metadata: (k) => (k === 'x-user' ? ['u1'] : []) }, 'u1'],
  ['metadata: Buffers and empties skipped', { metadata: 'k' }, { metadata: () => [Buffer.from('x'), '', 'u1'] }, 'u1'],
  ['metadata: absent', { metadata: 'k' }, { metadata: () => [] }, undefined],
  ['metadata: headers are not metadata', { metadata: 'k' }, { headers: { k: 'v' } }, undefined],
  // client address
  ['clientIp', { clientIp: true }, { clientAddress: '10.0.0.9' }, '10.0.0.9'],
  ['clientIp: IPv6', { clientIp: true }, { clientAddress: 'fd00::9' }, 'fd00::9'],
  ['clientIp: IPv4-mapped IPv6 is the IPv4 key', { clientIp: true }, { clientAddress: '::ffff:10.0.0.9' }, '10.0.0.9'],
  ['clientIp: false is off', { clientIp: false, header: 'h' }, { clientAddress: '10.0.0.9' }, undefined],
  ['clientIp: missing address', { clientIp: true }, {}, undefined],
  // precedence: header, cookie, metadata, clientIp
  [
    'header before cookie',
    { cookie: 'sid', header: 'x-user' },
    { headers: { cookie: 'sid=abc', 'x-user': 'u1' } },
    'u1',
  ],
  ['cookie when the header is absent', { cookie: 'sid', header: 'x-user' }, { headers: { cookie: 'sid=abc' } }, 'abc'],
  [
    'metadata before the client address',
    { metadata: 'k', clientIp: true },
    { metadata: () => ['m'], clientAddress: '10.0.0.9' },
    'm',
  ],
  [
    'client address as the last resort',
    { header: 'x-user', cookie: 'sid', metadata: 'k', clientIp: true },
    { headers: { cookie: 'other=1' }, metadata: () => [], clientAddress: '10.0.0.9' },
    '10.0.0.9',
  ],
];

for (const [name, options, request, expected] of cases) {
  test(`key: ${name}`, (t) => {
    t.is(affinityKeyFrom(options)(request), expected);
  });
}

test('key: a WHATWG Headers object works (repeated fields arrive joined)', (t) => {
  const headers = new Headers();
  headers.append('X-User', 'u1');
  headers.append('Cookie', 'a=1; sid=abc');
  t.is(affinityKeyFrom({ header: 'x-user' })({ headers }), 'u1');
  t.is(affinityKeyFrom({ cookie: 'sid' })({ headers }), 'abc');
  headers.append('X-User', 'u2');
  t.is(affinityKeyFrom({ header: 'x-user' })({ headers }), 'u1, u2');
});

// ── options and request validation ─────────────────────────────────────────────────────────────

const invalid: ReadonlyArray<[string, unknown, string]> = [
  ['not an object', 'x-user', 'options'],
  ['no source', {}, 'options'],
  ['only clientIp false', { clientIp: false }, 'options'],
  ['unknown key', { headers: 'x-user' }, 'headers'],
  ['empty header', { header: '' }, 'header'],
  ['header with a space', { header: 'x user' }, 'header'],
  ['header with a colon', { header: 'x-user:' }, 'header'],
  ['header not a string', { header: 5 }, 'header'],
  ['cookie with =', { cookie: 'sid=1' }, 'cookie'],
  ['cookie with ;', { cookie: 'a;b' }, 'cookie'],
  ['metadata with a slash', { metadata: 'a/b' }, 'metadata'],
  ['metadata binary key', { metadata: 'trace-bin' }, 'metadata'],
  ['clientIp not a boolean', { clientIp: 'yes' }, 'clientIp'],
];

for (const [name, options, option] of invalid) {
  test(`invalid options: ${name}`, (t) => {
    const err = t.throws(() => affinityKeyFrom(options as AffinityKeyOptions));
    t.is((err as unknown as { code: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.is((err as unknown as { option: string }).option, option);
  });
}

test('a malformed request view throws INVALID_ARG naming the field', (t) => {
  const keyOf = affinityKeyFrom({ header: 'x-user', metadata: 'k' });
  const bad: ReadonlyArray<[unknown, string]> = [
    [null, 'request'],
    ['x', 'request'],
    [{ headers: 'x-user: u1' }, 'request.headers'],
    [{ headers: null }, 'request.headers'],
    [{ metadata: ['u1'] }, 'request.metadata'],
  ];
  for (const [request, option] of bad) {
    const err = t.throws(() => keyOf(request as AffinityRequest));
    t.is((err as unknown as { code: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.is((err as unknown as { option: string }).option, option);
  }
});

// ── with a real HTTP exchange on loopback ─────────────────────────────────────────────────────

test('keys from a real IncomingMessage: duplicate headers, split cookies, client address', async (t) => {
  const seen: Array<Record<string, string | undefined>> = [];
  const byHeader = affinityKeyFrom({ header: 'x-user' });
  const byCookie = affinityKeyFrom({ cookie: 'sid' });
  const byAddress = affinityKeyFrom({ clientIp: true });
  const server = http.createServer((req, res) => {
    const view = { headers: req.headersDistinct, clientAddress: req.socket.remoteAddress };
    seen.push({
      distinct: byHeader(view),
      combined: byHeader({ headers: req.headers }),
      cookie: byCookie(view),
      cookieCombined: byCookie({ headers: req.headers }),
      address: byAddress(view),
    });
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: false });
  t.teardown(() => agent.destroy());
  await new Promise<void>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      agent,
      // Raw header list (Node then adds no Host itself): two X-User fields and two Cookie fields, as a
      // client or an HTTP/2 peer may send.
      headers: ['Host', 'test', 'X-User', 'u1', 'X-User', 'u2', 'Cookie', 'theme=dark', 'Cookie', 'sid=abc'],
    });
    req.on('error', reject);
    req.on('response', (res) => {
      t.is(res.statusCode, 200);
      res.resume();
      res.on('end', resolve);
    });
    req.end();
  });
  t.deepEqual(seen, [
    { distinct: 'u1', combined: 'u1, u2', cookie: 'abc', cookieCombined: 'abc', address: '127.0.0.1' },
  ]);
});

test('a computed key drives ClientIP affinity: one binding per key', (t) => {
  const keyOf = affinityKeyFrom({ cookie: 'sid' });
  const b = createBalancer({ sessionAffinity: { type: 'ClientIP' } });
  t.teardown(() => b.close());
  b.update(eps(50));
  const bound = new Map<string, string>();
  for (let i = 0; i < 200; i++) {
    const sid = `s${i % 20}`;
    const r = b.pick({ affinityKey: keyOf({ headers: { cookie: `sid=${sid}` } }) });
    if (r.type !== 'pick') return t.fail(r.type);
    r.done({ type: 'success' });
    const before = bound.get(sid);
    if (before === undefined) bound.set(sid, r.endpoint.address);
    else t.is(r.endpoint.address, before);
  }
  t.is(bound.size, 20);
});
