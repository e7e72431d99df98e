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

test('host comes first, the caller headers follow in their order', (t) => {
  t.deepEqual(Object.keys(withHostHeader({ b: '1', a: '2' }, 'web')), ['host', 'b', 'a']);
  t.deepEqual(Object.keys(withHostHeader(['b', '1', 'a', '2'], 'web')), ['host', 'b', 'a']);
});

test('an own __proto__ header is copied as a header, never as the prototype', (t) => {
  const headers = JSON.parse('{"__proto__": "x", "accept": "a"}') as Record<string, string>;
  const copy = withHostHeader(headers, 'web');
  t.is(Object.getPrototypeOf(copy), Object.prototype);
  t.deepEqual(Object.entries(copy), [
    ['host', 'web'],
    ['__proto__', 'x'],
    ['accept', 'a'],
  ]);
});

test('own headers only: a caller host after other keys is kept, inherited keys are not copied', (t) => {
  const late = { accept: 'a', HoSt: 'v' };
  t.is(withHostHeader(late, 'web'), late);
  const inherited = Object.assign(Object.create({ inherited: 'yes', host: 'proto-host' }) as object, { accept: 'a' });
  t.deepEqual(Object.entries(withHostHeader(inherited, 'web')), [
    ['host', 'web'],
    ['accept', 'a'],
  ]);
});

test('a __proto__ header in the array shape is kept as a header', (t) => {
  const copy = withHostHeader(['__proto__', 'x', 'accept', 'a'], 'web');
  t.deepEqual(Object.entries(copy), [
    ['host', 'web'],
    ['__proto__', 'x'],
    ['accept', 'a'],
  ]);
});
