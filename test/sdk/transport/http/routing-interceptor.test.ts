import type { ParsedOrigin } from '@clusterip/sdk/internal/transport/http/http-route.js';
import { createRoutingInterceptor, parseOrigin } from '@clusterip/sdk/internal/transport/http/routing-interceptor.js';
import test from 'ava';
import type { Dispatcher } from 'undici';

test('parseOrigin: default ports, brackets, trailing dot, case; null for other schemes and junk', (t) => {
  t.deepEqual(parseOrigin('http://Backend-Service'), {
    protocol: 'http:',
    hostname: 'backend-service',
    port: 80,
    host: 'backend-service',
    hostHeaders: { host: 'backend-service' },
    servername: 'backend-service',
    key: 'backend-service:80',
  });
  t.is(parseOrigin('https://web.shop:8443')?.key, 'web.shop:8443');
  t.is(parseOrigin('https://web.shop')?.port, 443);
  t.is(parseOrigin('http://web.shop.svc.cluster.local.:3000')?.hostname, 'web.shop.svc.cluster.local');
  t.is(parseOrigin('http://[fd00::1]:80')?.hostname, 'fd00::1');
  t.is(parseOrigin('https://[fd00::1]:443')?.servername, undefined, 'no TLS server name for IP literals');
  t.is(parseOrigin('https://10.0.0.1')?.servername, undefined);
  t.is(parseOrigin('ws://web'), null);
  t.is(parseOrigin('not a url'), null);
});

/** An interceptor over `below` whose lookup passes everything through and records each parsed origin's key. */
function passingInterceptor(below: Dispatcher.Dispatch = () => true): {
  dispatch: Dispatcher.Dispatch;
  seen: string[];
} {
  const seen: string[] = [];
  const lookup = {
    lookup: (origin: ParsedOrigin) => {
      seen.push(origin.key);
      return { type: 'pass' } as const;
    },
  };
  const host = { now: () => 0, random: () => 0, closed: false, destroyedBy: undefined, schedule: () => () => {} };
  return { dispatch: createRoutingInterceptor(lookup, host)(below), seen };
}

test('the interceptor parses each origin it sees, whatever the order (last-origin cache and map)', (t) => {
  const below: unknown[] = [];
  const { dispatch, seen } = passingInterceptor((opts) => {
    below.push(opts.origin);
    return true;
  });
  const origins = [
    'http://a:1',
    'http://a:1',
    'http://b:2',
    'http://a:1',
    'ws://c',
    'ws://c',
    'http://b:2',
    'http://b:2',
  ];
  for (const origin of origins) dispatch({ origin, path: '/', method: 'GET' }, {});
  t.deepEqual(seen, ['a:1', 'a:1', 'b:2', 'a:1', 'b:2', 'b:2']);
  t.deepEqual(below, origins, 'every request reached the layer below, the unparsable ones too');
});

test('the interceptor reads the origin of any options object: URL, non-enumerable, getter, null prototype', (t) => {
  const { dispatch, seen } = passingInterceptor();
  const hidden = Object.defineProperty({ path: '/', method: 'GET' }, 'origin', { value: 'http://hidden:3' });
  class Options {
    readonly path = '/';
    readonly method = 'GET';
    get origin(): string {
      return 'http://getter:4';
    }
  }
  const bare = Object.assign(Object.create(null) as object, { origin: 'http://bare:5', path: '/', method: 'GET' });
  const all = [
    { origin: new URL('http://url:6/x'), path: '/', method: 'GET' },
    hidden,
    new Options(),
    bare,
  ] as unknown as Parameters<typeof dispatch>[0][];
  for (const opts of all) dispatch(opts, {});
  t.deepEqual(seen, ['url:6', 'hidden:3', 'getter:4', 'bare:5']);
});
