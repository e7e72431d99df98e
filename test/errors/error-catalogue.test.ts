import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as resolver from '@clusterip/resolver';
import * as sdk from '@clusterip/sdk';
import test from 'ava';

// build/test/errors/ → repository root
const root = fileURLToPath(new URL('../../../', import.meta.url));

async function codesInSource(): Promise<Map<string, string>> {
  const codes = new Map<string, string>();
  for (const pkg of ['resolver', 'sdk']) {
    const dir = join(root, 'packages', pkg, 'src', 'errors');
    let files: string[] = [];
    try {
      files = await readdir(dir);
    } catch {
      continue;
    }
    for (const file of files) {
      const text = await readFile(join(dir, file), 'utf8');
      for (const match of text.matchAll(/readonly code = '(CLUSTERIP_ERR_[A-Z_]+)'/g))
        codes.set(match[1]!, `${pkg}/${file}`);
    }
  }
  return codes;
}

test('every error code in the source has an entry in docs/errors.md, and every entry is a live code', async (t) => {
  const doc = await readFile(join(root, 'docs', 'errors.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/^## (CLUSTERIP_ERR_[A-Z_]+)$/gm)].map((m) => m[1]!));
  const used = await codesInSource();
  t.true(used.size >= 7);
  for (const [code, file] of used) t.true(documented.has(code), `${code} (${file}) is missing from docs/errors.md`);
  for (const code of documented) t.true(used.has(code), `docs/errors.md documents ${code}, which no error uses`);
});

test('every exported error class is a ClusterIPError with a documented code', async (t) => {
  const used = await codesInSource();
  const classes = Object.entries({ ...resolver, ...sdk }).filter(
    ([name, value]) => typeof value === 'function' && /^[A-Z]\w*Error$/.test(name) && name !== 'ClusterIPError',
  );
  t.true(classes.length >= 7);
  for (const [name, value] of classes) {
    const proto = (value as { prototype: unknown }).prototype;
    t.true(proto instanceof resolver.ClusterIPError, `${name} extends ClusterIPError`);
  }
  t.true(used.has('CLUSTERIP_ERR_CLOSED'));
});

const samples: [Error, string, string, string][] = [
  [
    new resolver.InvalidArgumentError('ndots', 'ndots must be a non-negative integer, got -1'),
    'InvalidArgumentError',
    'CLUSTERIP_ERR_INVALID_ARG',
    'ndots must be a non-negative integer, got -1',
  ],
  [
    new resolver.InvalidNameError('namespace', 'Prod', 'must be lowercase'),
    'InvalidNameError',
    'CLUSTERIP_ERR_INVALID_NAME',
    'namespace "Prod": must be lowercase',
  ],
  [
    new resolver.ServiceNotFoundError('web', ['web.prod.svc.cluster.local.']),
    'ServiceNotFoundError',
    'CLUSTERIP_ERR_SERVICE_NOT_FOUND',
    'service "web": not found (tried web.prod.svc.cluster.local.)',
  ],
  [
    new resolver.PortNotFoundError('web.prod', 'grpc', 'http/80/TCP'),
    'PortNotFoundError',
    'CLUSTERIP_ERR_PORT_NOT_FOUND',
    'service web.prod: port "grpc" not found (ports: http/80/TCP)',
  ],
  [
    new resolver.DnsUnavailableError('web.', ['127.0.0.1:53'], 'timeout', 'queryA ETIMEOUT'),
    'DnsUnavailableError',
    'CLUSTERIP_ERR_DNS_UNAVAILABLE',
    'dns web.: temporary failure: queryA ETIMEOUT (servers 127.0.0.1:53)',
  ],
  [
    new resolver.WatchFailedError('endpointslices prod/web', 'HTTP 500'),
    'WatchFailedError',
    'CLUSTERIP_ERR_WATCH_FAILED',
    'watch endpointslices prod/web: HTTP 500',
  ],
  [new resolver.ClosedError('resolver'), 'ClosedError', 'CLUSTERIP_ERR_CLOSED', 'resolver: closed'],
];
for (const [error, name, code, message] of samples) {
  test(`${name}: name, code, message, brand`, (t) => {
    t.is(error.name, name);
    t.is((error as resolver.ClusterIPError).code, code);
    t.is(error.message, message);
    t.true(resolver.isClusterIPError(error));
    t.true(error instanceof Error);
    t.is(error.message.charAt(0), error.message.charAt(0).toLowerCase(), 'messages start lowercase');
    t.false(error.message.endsWith('.'), 'messages have no trailing period');
  });
}

test('the brand survives a second copy: a foreign object with the brand is a ClusterIPError', (t) => {
  const foreign = Object.assign(new Error('x'), { [Symbol.for('clusterip.error')]: true, code: 'CLUSTERIP_ERR_X' });
  t.true(foreign instanceof resolver.ClusterIPError);
  t.false(new Error('plain') instanceof resolver.ClusterIPError);
  t.false((null as unknown) instanceof resolver.ClusterIPError);
});

test('cause is kept when wrapping', (t) => {
  const cause = new Error('ECONNREFUSED');
  t.is(new resolver.WatchFailedError('x', 'y', { cause }).cause, cause);
});
