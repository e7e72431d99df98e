import type { PeerCertificate } from 'node:tls';
import { READY } from '@clusterip/resolver';
import { type EndpointPoolOptions, EndpointPools } from '@clusterip/sdk/internal/pool/endpoint-pools.js';
import test from 'ava';
import { Pool } from 'undici';

type Check = (host: string, cert: PeerCertificate) => (Error & { code?: string }) | undefined;

const ep = (address: string, port = 80) =>
  ({ address, port, protocol: 'TCP', addressType: 'IPv4', conditions: READY }) as const;

/** Pools with short timeouts whose factory records every pool it makes. */
function recordingPools(extra: Partial<EndpointPoolOptions>) {
  const made: { origin: string; options: Pool.Options; pool: Pool }[] = [];
  const pools = new EndpointPools({
    connections: 4,
    keepAliveTimeoutMs: 1000,
    pipelining: 1,
    connectTimeoutMs: 100,
    headersTimeoutMs: 200,
    bodyTimeoutMs: 300,
    connect: undefined,
    ...extra,
    factory: (origin, options) => {
      const pool = new Pool(origin, options);
      made.push({ origin, options, pool });
      return pool;
    },
  });
  return { pools, made };
}

test('one pool per endpoint, scheme and TLS name; retain() drains the pools of endpoints that left', async (t) => {
  const { pools, made } = recordingPools({ connect: { rejectUnauthorized: false } });
  const a = pools.get(ep('10.0.0.1'), 'http:', undefined);
  t.is(pools.get(ep('10.0.0.1'), 'http:', undefined), a);
  t.is(a.endpoint, '10.0.0.1:80');
  t.is(a.origin, 'http://10.0.0.1:80');
  t.is(a.pool, made[0]!.pool);
  const tlsA = pools.get(ep('10.0.0.1'), 'https:', 'web');
  const tlsB = pools.get(ep('10.0.0.1'), 'https:', 'other');
  t.not(tlsA, tlsB, 'a TLS pool is per server name');
  pools.get(ep('10.0.0.2'), 'http:', undefined);
  t.is(pools.size, 4);
  t.deepEqual(made[1]!.options.connect, { rejectUnauthorized: false, servername: 'web', timeout: 100 });
  t.deepEqual(made[0]!.options.connect, { timeout: 100 });
  t.is(made[0]!.options.headersTimeout, 200);
  pools.retain(new Set(['10.0.0.2:80']));
  t.is(pools.size, 1);
  t.true(made[0]!.pool.closed, 'the pool of a removed endpoint is closing');
  t.false(made[3]!.pool.closed);
  t.not(pools.get(ep('10.0.0.1'), 'http:', undefined), a, 'a returning endpoint gets a new pool');
  const closing = pools.close();
  t.is(pools.close(), closing);
  await closing;
  t.true(made.every((m) => m.pool.closed));
});

test('an https pool for an address (a ClusterIP) sends no server name and verifies the certificate against that address, not the pod', (t) => {
  const asked: string[] = [];
  const { pools, made } = recordingPools({
    connect: { checkServerIdentity: (host: string, _cert: PeerCertificate) => void asked.push(host) },
  });
  pools.get(ep('10.0.0.1', 8443), 'https:', '10.96.0.10');
  pools.get(ep('10.0.0.1', 8443), 'https:', 'fd00::a');
  const [v4, v6] = made.map((m) => m.options.connect as { servername?: string; checkServerIdentity: Check });
  t.is(v4!.servername, undefined);
  v4!.checkServerIdentity('10.0.0.1', {} as PeerCertificate);
  v6!.checkServerIdentity('10.0.0.1', {} as PeerCertificate);
  t.deepEqual(asked, ['10.96.0.10', 'fd00::a'], "the caller's checkServerIdentity is asked about the address");

  const { pools: plain, made: plainMade } = recordingPools({});
  plain.get(ep('10.0.0.1', 8443), 'https:', '10.96.0.10');
  const check = (plainMade[0]!.options.connect as { checkServerIdentity: Check }).checkServerIdentity;
  const cert = (san: string) => ({ subject: {}, subjectaltname: san }) as unknown as PeerCertificate;
  t.is(check('10.0.0.1', cert('IP Address:10.96.0.10')), undefined, 'valid for the ClusterIP');
  t.is(
    check('10.0.0.1', cert('IP Address:10.0.0.1'))?.code,
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'the pod address is not it',
  );
});

test('h2c: turning it on or off drains every pool, and new http pools speak HTTP/2 with many streams', async (t) => {
  const { pools, made } = recordingPools({ maxConcurrentStreams: 50 });
  const h1 = pools.get(ep('10.0.0.1'), 'http:', undefined);
  t.is(made[0]!.options.pipelining, 1);
  t.is(made[0]!.options.factory, undefined, 'plain HTTP/1.1 pools use undici own clients');
  pools.h2c = true;
  t.true(made[0]!.pool.closed, 'the HTTP/1.1 pool drains');
  t.is(pools.size, 0);
  const h2 = pools.get(ep('10.0.0.1'), 'http:', undefined);
  t.not(h2, h1);
  t.deepEqual(made[1]!.options.connect, { timeout: 100 });
  t.is(made[1]!.options.maxConcurrentStreams, 50);
  t.is(typeof made[1]!.options.factory, 'function', 'HTTP/2 pools hold H2Clients');
  pools.h2c = true;
  t.false(made[1]!.pool.closed, 'setting the same value again changes nothing');
  t.is(pools.get(ep('10.0.0.1'), 'http:', undefined), h2);
  t.is(made.length, 2);
  pools.h2c = false;
  t.true(made[1]!.pool.closed);
  await pools.close();
});
