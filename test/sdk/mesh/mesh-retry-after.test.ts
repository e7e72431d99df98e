import { StaticSource } from '@clusterip/resolver/testing';
import { Mesh } from '@clusterip/sdk';
import { retryAfterMs } from '@clusterip/sdk/internal/transport/http/routed-call.js';
import test from 'ava';
import { request } from 'undici';
import { createHttpTestServer, shopSource } from '../../helpers/http-test-server.js';

const context = { namespace: 'shop', resolvConf: '', env: {} };

/** A pod answering 503 with `retryAfter` to its request number `busyAt` (1-based), 200 to the others. */
async function busyOnce(t: Parameters<typeof createHttpTestServer>[0], host: string, retryAfter: string, busyAt = 1) {
  return createHttpTestServer(t, {
    host,
    handler: (_req, res, server) => {
      if (server.requests === busyAt) {
        res.writeHead(503, { 'retry-after': retryAfter });
        res.end('busy');
      } else res.end('ok');
    },
  });
}

test('retryAfterMs reads delay-seconds and HTTP-dates, case-insensitively; junk and absence give undefined', (t) => {
  const raw = (...pairs: string[]) => pairs.map((p) => Buffer.from(p));
  t.is(retryAfterMs(raw('Retry-After', '2')), 2000);
  t.is(retryAfterMs(raw('content-type', 'text/plain', 'retry-after', ' 0 ')), 0);
  t.is(retryAfterMs(raw('retry-after', 'Wed, 21 Oct 2015 07:28:10 GMT'), Date.parse('2015-10-21T07:28:00Z')), 10_000);
  t.is(retryAfterMs(raw('retry-after', 'Wed, 21 Oct 2015 07:28:10 GMT'), Date.parse('2015-10-21T08:00:00Z')), 0);
  t.is(retryAfterMs(raw('retry-after', 'soon')), undefined);
  t.is(retryAfterMs(raw('retry-after', '-1')), undefined);
  t.is(retryAfterMs(raw('x', 'y')), undefined);
  t.is(retryAfterMs(null), undefined);
});

test('a 503 with Retry-After: 0 is retried at once instead of after the backoff', async (t) => {
  const pod = await busyOnce(t, '127.0.76.11', '0', 2);
  let backoffDraws = 0;
  const mesh = new Mesh({
    source: shopSource({ web: [pod] }),
    context,
    policy: 'round-robin',
    // The backoff would draw a random number; Retry-After replaces it.
    random: () => {
      backoffDraws++;
      return 0;
    },
  });
  t.teardown(() => mesh.close());
  await (await request('http://web/', { dispatcher: mesh.dispatcher })).body.dump(); // the route and balancer exist
  const drawsBefore = backoffDraws;
  const res = await request('http://web/', { dispatcher: mesh.dispatcher });
  t.is(res.statusCode, 200);
  t.is(await res.body.text(), 'ok');
  t.is(pod.requests, 3);
  t.is(backoffDraws, drawsBefore, 'no backoff was drawn');
});

test('a Retry-After above retryAfterMaxMs returns the 503 to the caller, without retrying', async (t) => {
  const pod = await busyOnce(t, '127.0.76.12', '5');
  const mesh = new Mesh({ source: shopSource({ web: [pod] }), context, retry: { retryAfterMaxMs: 1000 } });
  t.teardown(() => mesh.close());
  const res = await request('http://web/', { dispatcher: mesh.dispatcher });
  t.is(res.statusCode, 503);
  t.is(res.headers['retry-after'], '5');
  t.is(await res.body.text(), 'busy');
  t.is(pod.requests, 1);
});

test('a Retry-After that would end after the headers timeout returns the 503 (no wait beyond the deadline)', async (t) => {
  const pod = await busyOnce(t, '127.0.76.13', '2');
  const mesh = new Mesh({ source: shopSource({ web: [pod] }), context, retry: { retryAfterMaxMs: 10_000 } });
  t.teardown(() => mesh.close());
  const res = await request('http://web/', { dispatcher: mesh.dispatcher, headersTimeout: 1500 });
  t.is(res.statusCode, 503);
  await res.body.dump();
  t.is(pod.requests, 1);
  const again = await busyOnce(t, '127.0.76.14', '2');
  const meshAgain = new Mesh({
    source: shopSource({ web: [again] }),
    context,
    retry: { retryAfterMaxMs: 10_000 },
    timeouts: { headersMs: 1500 },
  });
  t.teardown(() => meshAgain.close());
  const res2 = await request('http://web/', { dispatcher: meshAgain.dispatcher });
  t.is(res2.statusCode, 503, 'the Service timeout counts too');
  await res2.body.dump();
  t.is(again.requests, 1);
});

test('headersTimeout 0 (no timeout, as in undici) does not stop a Retry-After retry', async (t) => {
  const pod = await busyOnce(t, '127.0.76.15', '0');
  const mesh = new Mesh({ source: shopSource({ web: [pod] }), context });
  t.teardown(() => mesh.close());
  const res = await request('http://web/', { dispatcher: mesh.dispatcher, headersTimeout: 0 });
  t.is(res.statusCode, 200);
  t.is(await res.body.text(), 'ok');
  t.is(pod.requests, 2);
});

test('retry.retryAfterMaxMs is validated', (t) => {
  const error = t.throws(() => new Mesh({ source: new StaticSource([]), retry: { retryAfterMaxMs: -1 } }));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  t.regex(error!.message, /retry\.retryAfterMaxMs/);
});
