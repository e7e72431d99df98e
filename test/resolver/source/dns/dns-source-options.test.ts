import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DnsSource } from '@clusterip/resolver';
import { resolveDnsSourceOptions } from '@clusterip/resolver/internal/source/dns/dns-source-options.js';
import test, { type ExecutionContext } from 'ava';

async function resolvConf(t: ExecutionContext, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-resolv-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'resolv.conf');
  await writeFile(path, text);
  return path;
}

const table: [string, string, { timeoutMs: number; tries: number }][] = [
  ['no options: our defaults', 'nameserver 10.96.0.10\n', { timeoutMs: 2000, tries: 2 }],
  [
    'timeout and attempts',
    'nameserver 10.96.0.10\noptions ndots:5 timeout:1 attempts:3\n',
    { timeoutMs: 1000, tries: 3 },
  ],
  ['only timeout', 'nameserver 10.96.0.10\noptions timeout:7\n', { timeoutMs: 7000, tries: 2 }],
  ['only attempts', 'nameserver 10.96.0.10\noptions attempts:1\n', { timeoutMs: 2000, tries: 1 }],
  [
    'later options lines win',
    'options timeout:3\nnameserver 10.96.0.10\noptions timeout:4\n',
    { timeoutMs: 4000, tries: 2 },
  ],
  [
    'glibc caps (30 s, 5 attempts)',
    'nameserver 10.96.0.10\noptions timeout:99 attempts:9\n',
    { timeoutMs: 30_000, tries: 5 },
  ],
  [
    'zero: at least 1 s and 1 try',
    'nameserver 10.96.0.10\noptions timeout:0 attempts:0\n',
    { timeoutMs: 1000, tries: 1 },
  ],
  [
    'malformed values keep our defaults',
    'nameserver 10.96.0.10\noptions timeout:x attempts:-1\n',
    { timeoutMs: 2000, tries: 2 },
  ],
];

for (const [title, text, expected] of table) {
  test(`resolv.conf defaults timeoutMs and tries: ${title}`, async (t) => {
    const config = resolveDnsSourceOptions({ resolvConfPath: await resolvConf(t, text) });
    t.deepEqual(config.servers, ['10.96.0.10:53']);
    t.like(config, expected);
  });
}

test('explicit timeoutMs and tries win over resolv.conf options', async (t) => {
  const path = await resolvConf(t, 'nameserver 10.96.0.10\noptions timeout:1 attempts:3\n');
  t.like(resolveDnsSourceOptions({ resolvConfPath: path, timeoutMs: 250, tries: 4 }), { timeoutMs: 250, tries: 4 });
  t.like(resolveDnsSourceOptions({ resolvConfPath: path, tries: 1 }), { timeoutMs: 1000, tries: 1 });
});

test('explicit servers: resolv.conf is not consulted, our defaults apply', (t) => {
  t.like(resolveDnsSourceOptions({ servers: ['127.0.0.1:5353'] }), { timeoutMs: 2000, tries: 2 });
});

test('explicit options are still validated when resolv.conf sets them', async (t) => {
  const path = await resolvConf(t, 'nameserver 10.96.0.10\noptions timeout:1 attempts:3\n');
  t.throws(() => resolveDnsSourceOptions({ resolvConfPath: path, tries: 0 }), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
  t.throws(() => resolveDnsSourceOptions({ resolvConfPath: path, timeoutMs: -1 }), {
    code: 'CLUSTERIP_ERR_INVALID_ARG',
  });
});

test('DnsSource built from resolv.conf uses the file servers', async (t) => {
  const path = await resolvConf(t, 'nameserver 127.0.0.9\noptions timeout:1 attempts:1\n');
  const source = new DnsSource({ resolvConfPath: path });
  t.teardown(() => source.close());
  t.deepEqual(source.servers, ['127.0.0.9:53']);
});
