import { withHostHeader } from '@clusterip/sdk/internal/transport/http/request-headers.js';
import test from 'ava';

test('adds host to every header shape, keeps the caller host, never mutates the input', (t) => {
  t.deepEqual(withHostHeader(undefined, 'web:8080'), { host: 'web:8080' });
  const record = { accept: 'a' };
  t.deepEqual(withHostHeader(record, 'web'), { accept: 'a', host: 'web' });
  t.deepEqual(record, { accept: 'a' });
  t.deepEqual(withHostHeader(['accept', 'a', 'x', '1', 'x', '2'], 'web'), { accept: 'a', x: ['1', '2'], host: 'web' });
  t.deepEqual(withHostHeader(new Map([['accept', 'a']]), 'web'), { accept: 'a', host: 'web' });
  t.deepEqual(withHostHeader([['accept', 'a']], 'web'), { accept: 'a', host: 'web' });
  const own = { Host: 'virtual.example' };
  t.is(withHostHeader(own, 'web'), own);
  t.deepEqual(withHostHeader(['HOST', 'v'], 'web'), { HOST: 'v' });
});
