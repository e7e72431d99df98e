// CLI rendering helpers: aligned tables, kubectl-style ages, one-line errors and JSON error documents.

import { InvalidArgumentError, ServiceNotFoundError } from '@clusterip/resolver';
import type { CliIo } from '@clusterip/sdk/internal/cli/io.js';
import { age, errorInfo, table, writeError } from '@clusterip/sdk/internal/cli/render.js';
import test from 'ava';

function io(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    env: {},
    cwd: '/',
    signal: new AbortController().signal,
  };
}

test('table pads every column but the last to its widest cell', (t) => {
  t.is(
    table(
      ['NAME', 'AGE'],
      [
        ['web-abc', '5m'],
        ['db', '12h'],
      ],
    ),
    'NAME      AGE\nweb-abc   5m\ndb        12h',
  );
});

test('age reads like kubectl', (t) => {
  const now = Date.parse('2026-01-03T00:00:00Z');
  t.is(age('2026-01-02T23:59:15Z', now), '45s');
  t.is(age('2026-01-02T23:30:00Z', now), '30m');
  t.is(age('2026-01-02T20:00:00Z', now), '4h');
  t.is(age('2026-01-01T00:00:00Z', now), '2d');
  t.is(age(undefined, now), '<unknown>');
});

test('errors: one line with the code, or a JSON document; unexpected errors never show a stack', (t) => {
  const text = io();
  writeError(text, new ServiceNotFoundError('web', ['web.default.svc.cluster.local.']), 'text');
  t.deepEqual(text.err, [
    'clusterip: error: service "web": not found (tried web.default.svc.cluster.local.) (CLUSTERIP_ERR_SERVICE_NOT_FOUND)\n',
  ]);
  const json = io();
  writeError(json, new Error('kaput\n    at somewhere'), 'json');
  t.deepEqual(JSON.parse(json.out.join('')), {
    error: { code: 'CLUSTERIP_ERR', message: 'clusterip: unexpected failure: kaput\n    at somewhere' },
  });
  t.deepEqual(errorInfo('x'), { code: 'CLUSTERIP_ERR', message: 'clusterip: unexpected failure: x' });
});

test('errors whose subject is the tool: the line says clusterip once, the JSON message stays whole', (t) => {
  const cases: [Error, string][] = [
    [
      new InvalidArgumentError(
        'command',
        'clusterip: unknown command "--versio": use one of resolve (clusterip --help)',
      ),
      'clusterip: error: unknown command "--versio": use one of resolve (clusterip --help) (CLUSTERIP_ERR_INVALID_ARG)\n',
    ],
    [
      new InvalidArgumentError('--bogus', 'clusterip resolve: unknown flag --bogus: see clusterip resolve --help'),
      'clusterip: error: resolve: unknown flag --bogus: see clusterip resolve --help (CLUSTERIP_ERR_INVALID_ARG)\n',
    ],
    [new Error('kaput'), 'clusterip: error: unexpected failure: kaput (CLUSTERIP_ERR)\n'],
    [
      new ServiceNotFoundError('clusterip-demo', []),
      'clusterip: error: service "clusterip-demo": not found (CLUSTERIP_ERR_SERVICE_NOT_FOUND)\n',
    ],
  ];
  for (const [error, line] of cases) {
    const text = io();
    writeError(text, error, 'text');
    t.deepEqual(text.err, [line]);
  }
  const json = io();
  writeError(json, cases[0]![0], 'json');
  t.is(
    (JSON.parse(json.out.join('')) as { error: { message: string } }).error.message,
    'clusterip: unknown command "--versio": use one of resolve (clusterip --help)',
  );
});
