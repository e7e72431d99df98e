import { parseOrigin } from '@clusterip/sdk/internal/transport/http/routing-interceptor.js';
import test from 'ava';

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
