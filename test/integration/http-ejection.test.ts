import { Mesh } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { request } from 'undici';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createHttpTestServer, waitForReady } from '../helpers/http-test-server.js';

// A pod that accepts connections and never answers. With one connection per endpoint, the requests
// round-robin sends it queue behind the first one in its pool, unsent. When outlier detection ejects
// it (the first timeout), they must go to the other pod at once: the hung pod never sees them. Before,
// each waited for a socket to the hung pod and then for its own timeout there.
async function hungAndHealthy(t: ExecutionContext, retry: Record<string, unknown>) {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'stuck' },
    spec: { selector: { app: 'stuck' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  const hung = await createHttpTestServer(t, { host: '127.0.68.11', name: 'stuck-1', handler: () => {} });
  const healthy = await createHttpTestServer(t, { host: '127.0.68.12', name: 'stuck-2' });
  for (const pod of [hung, healthy]) {
    cluster.addPod({ name: pod.name, ip: pod.host, labels: { app: 'stuck' }, ports: { http: pod.port } });
  }
  await waitForReady(cluster.resolver, 'stuck:80', 2);
  const mesh = new Mesh({
    resolver: cluster.resolver,
    policy: 'round-robin',
    pool: { connections: 1 },
    timeouts: { headersMs: 300 },
    outlierDetection: { consecutiveFailures: 1 },
    retry,
  });
  t.teardown(() => mesh.close());
  return { hung, healthy, mesh };
}

test('requests queued unsent for a hung pod go to another pod when it is ejected', async (t) => {
  const { hung, healthy, mesh } = await hungAndHealthy(t, { errorCodes: ['UND_ERR_HEADERS_TIMEOUT'] });
  const answers = await Promise.all(
    Array.from({ length: 8 }, () =>
      request('http://stuck/', { dispatcher: mesh.dispatcher }).then(
        async (res) => ((await res.body.json()) as { pod: string }).pod,
      ),
    ),
  );
  t.deepEqual(answers, Array(8).fill('stuck-2'));
  t.is(hung.requests, 1, 'only the first request reached the hung pod');
  t.is(healthy.requests, 8);
});

test('a queued request moved off an ejected pod counts as an attempt: the final error lists it', async (t) => {
  // No retry of the timed-out request itself (not in errorCodes), one attempt at most after the first.
  const { hung, mesh } = await hungAndHealthy(t, { attempts: 2, errorCodes: [] });
  const results = await Promise.all(
    Array.from({ length: 4 }, () =>
      request('http://stuck/', { dispatcher: mesh.dispatcher }).then(
        async (res) => ((await res.body.json()) as { pod: string }).pod,
        (error: unknown) => error as { code?: string; attempts?: { endpoint: string; error: string }[] },
      ),
    ),
  );
  const failures = results.filter((r) => typeof r !== 'string');
  // The first request sent to the hung pod times out (not retried); the other one queued behind it moves.
  t.is(failures.length, 1);
  t.is(failures[0]?.code, 'CLUSTERIP_ERR_UPSTREAM');
  t.is(failures[0]?.attempts?.[0]?.error, 'UND_ERR_HEADERS_TIMEOUT');
  t.deepEqual(
    results.filter((r) => typeof r === 'string'),
    ['stuck-2', 'stuck-2', 'stuck-2'],
  );
  t.is(hung.requests, 1);
});
