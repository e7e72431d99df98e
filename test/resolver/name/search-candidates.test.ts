import { MAX_NAME_LENGTH, searchCandidates } from '@clusterip/resolver';
import test from 'ava';

const POD = ['prod.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];

const table: [string, { search: string[]; ndots: number; mode?: 'glibc' | 'musl' }, string[]][] = [
  // spec §2.3: bare names go through the search list, then as-is.
  [
    'web',
    { search: POD, ndots: 5 },
    ['web.prod.svc.cluster.local.', 'web.svc.cluster.local.', 'web.cluster.local.', 'web.'],
  ],
  [
    'web.other',
    { search: POD, ndots: 5 },
    ['web.other.prod.svc.cluster.local.', 'web.other.svc.cluster.local.', 'web.other.cluster.local.', 'web.other.'],
  ],
  // 4 dots < ndots 5: the FQDN without a trailing dot still pays three search queries first (§2.4).
  [
    'web.other.svc.cluster.local',
    { search: POD, ndots: 5 },
    [
      'web.other.svc.cluster.local.prod.svc.cluster.local.',
      'web.other.svc.cluster.local.svc.cluster.local.',
      'web.other.svc.cluster.local.cluster.local.',
      'web.other.svc.cluster.local.',
    ],
  ],
  // dots >= ndots: as-is first, then the search list (glibc).
  ['a.b', { search: ['x.test'], ndots: 1 }, ['a.b.', 'a.b.x.test.']],
  // musl: dots >= ndots means the name as-is only.
  ['a.b', { search: ['x.test'], ndots: 1, mode: 'musl' }, ['a.b.']],
  ['a', { search: ['x.test'], ndots: 1, mode: 'musl' }, ['a.x.test.', 'a.']],
  // trailing dot: absolute, no search at all (both modes).
  ['web.prod.svc.cluster.local.', { search: POD, ndots: 5 }, ['web.prod.svc.cluster.local.']],
  ['web.', { search: POD, ndots: 5, mode: 'musl' }, ['web.']],
  // search entries with a trailing dot, and the root domain "." (= as-is, counted once).
  ['api', { search: ['corp.example.', '.'], ndots: 1 }, ['api.corp.example.', 'api.']],
  // duplicate search entries collapse.
  ['api', { search: ['a.test', 'a.test'], ndots: 1 }, ['api.a.test.', 'api.']],
  // ndots 0: every name is tried as-is first.
  ['api', { search: ['a.test'], ndots: 0 }, ['api.', 'api.a.test.']],
  // empty search list.
  ['api', { search: [], ndots: 5 }, ['api.']],
];

for (const [i, [name, options, expected]] of table.entries()) {
  test(`searchCandidates #${i} (${JSON.stringify(name)}, ndots ${options.ndots}, ${options.mode ?? 'glibc'})`, (t) => {
    t.deepEqual(searchCandidates(name, options), expected);
  });
}

test('candidates longer than 253 characters are skipped, not fatal', (t) => {
  const label = 'a'.repeat(60);
  const name = [label, label, label].join('.'); // 182 characters
  const long = ['b'.repeat(60), 'c'.repeat(20)].join('.'); // 81: 182 + 1 + 81 = 264 > 253
  const out = searchCandidates(name, { search: [long, 'short.test'], ndots: 5 });
  t.deepEqual(out, [`${name}.short.test.`, `${name}.`]);
  for (const c of out) t.true(c.length - 1 <= MAX_NAME_LENGTH);
});

const bad: [string, string][] = [
  ['', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['.', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['web..prod', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['.web', 'CLUSTERIP_ERR_INVALID_NAME'],
  [`${'a'.repeat(64)}.prod`, 'CLUSTERIP_ERR_INVALID_NAME'],
  [
    Array.from({ length: 64 }, () => 'abc')
      .join('.')
      .slice(0, 254),
    'CLUSTERIP_ERR_INVALID_NAME',
  ],
  ['web prod', 'CLUSTERIP_ERR_INVALID_NAME'],
  ['wéb', 'CLUSTERIP_ERR_INVALID_NAME'],
];
for (const [name, code] of bad) {
  test(`searchCandidates rejects ${JSON.stringify(name.length > 30 ? `${name.slice(0, 30)}…` : name)}`, (t) => {
    t.is((t.throws(() => searchCandidates(name, { search: POD, ndots: 5 })) as { code?: string }).code, code);
  });
}

test('searchCandidates rejects bad options with the option named', (t) => {
  const e1 = t.throws(() => searchCandidates('a', { search: [], ndots: -1 }));
  t.is((e1 as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  const e2 = t.throws(() => searchCandidates('a', { search: [], ndots: 1, mode: 'uclibc' as 'glibc' }));
  t.is((e2 as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  t.regex(e2?.message ?? '', /mode/);
});
