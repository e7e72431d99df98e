// CLI exit codes: each typed error maps to the documented status, and the README's exit-code table names
// exactly the codes that lead to each status.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ApiRequestError, InvalidArgumentError, PortNotFoundError, ServiceNotFoundError } from '@clusterip/resolver';
import { NoEndpointsError } from '@clusterip/sdk';
import { EXIT, exitCodeFor } from '@clusterip/sdk/internal/cli/exit-codes.js';
import { ClusterConfigError } from '@clusterip/sdk/internal/errors/cluster-config-error.js';
import test from 'ava';

// build/test/sdk/cli/ → repository root
const root = new URL('../../../../', import.meta.url);

test('typed errors map to the documented exit codes', (t) => {
  t.deepEqual({ ...EXIT }, { ok: 0, problems: 1, usage: 2, unreachable: 3, notFound: 4 });
  t.is(exitCodeFor(new InvalidArgumentError('--port', 'bad')), 2);
  t.is(exitCodeFor(new ApiRequestError('https://k', '/version', 'network', 'refused')), 3);
  t.is(exitCodeFor(new ClusterConfigError('clusterip: no cluster configured', undefined)), 3);
  t.is(exitCodeFor(new ServiceNotFoundError('web', [])), 4);
  t.is(exitCodeFor(new PortNotFoundError('web.prod', 'grpc', 'http/80/TCP')), 4);
  t.is(exitCodeFor(new NoEndpointsError('web.prod:http', 0, '')), 1);
  t.is(exitCodeFor(new Error('boom')), 1);
});

test("the README's exit-code table agrees with exitCodeFor for every documented error code", async (t) => {
  const readme = await readFile(fileURLToPath(new URL('packages/sdk/README.md', root)), 'utf8');
  const errors = await readFile(fileURLToPath(new URL('docs/errors.md', root)), 'utf8');
  const table = readme.slice(readme.indexOf('| code | meaning'));
  const listed = new Map<string, number>();
  for (const row of table.matchAll(/^\| (\d) +\|(.*)\|$/gm)) {
    for (const code of row[2]!.matchAll(/`(CLUSTERIP_ERR_[A-Z_]+)`/g)) listed.set(code[1]!, Number(row[1]));
  }
  t.true(listed.size >= 5, 'the table names codes');
  const codes = [...errors.matchAll(/^## (CLUSTERIP_ERR_[A-Z_]+)$/gm)].map((m) => m[1]!);
  t.true(codes.length >= 10);
  for (const code of listed.keys()) t.true(codes.includes(code), `${code} in the README is a documented code`);
  for (const code of codes) {
    // A ClusterIPError from any copy of the packages is recognised by its brand, then mapped by code alone.
    const error = Object.assign(new Error(code), { [Symbol.for('clusterip.error')]: true, code });
    t.is(exitCodeFor(error), listed.get(code) ?? EXIT.problems, `${code}: README row ${listed.get(code) ?? 1}`);
  }
});
