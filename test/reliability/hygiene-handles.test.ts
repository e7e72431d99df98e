// Reliability (resource hygiene): every long-lived object, created, used and closed, leaves no handle, socket
// or timer behind (ref'd or not); close() is idempotent (the same promise) and no listener fires after it.

import {
  DnsSource,
  EndpointSet,
  interpretClusterName,
  KubernetesSource,
  Resolver,
  type ServiceSnapshot,
  type SourceEvent,
} from '@clusterip/resolver';
import { Mesh } from '@clusterip/sdk';
import { LocalCluster } from '@clusterip/sdk/cluster';
import { register, serviceConfig } from '@clusterip/sdk/grpc';
import test, { type ExecutionContext } from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createFakeKubeApi } from '../helpers/fake-kube-api.js';
import { createEchoClient, createGrpcPods } from '../helpers/grpc-test-server.js';
import { createHttpTestServer } from '../helpers/http-test-server.js';
import { activeResources, grownResources, settle, trackResources } from '../helpers/leak-check.js';
import { startFuzzDnsServer } from './fuzz/dns-wire.js';

/**
 * Process-wide clocks beyond those `trackResources` already leaves out: node's own `Date` header cache
 * for HTTP/2 responses (`node:internal/http` `utcDate`, one unref'd timer reset every second, started
 * by the gRPC test servers). It belongs to no object under test and stops by itself.
 */
const PROCESS_CLOCKS = [/\(node:internal\/http:\d+/];

/**
 * Run `body` in an attempt whose teardowns (servers, clusters) run before the check, then require that
 * `process.getActiveResourcesInfo()` is back to its baseline and that every timer, socket and UDP handle
 * created meanwhile (unref'd ones included) was destroyed. Waits on event-loop turns, never on time.
 */
async function leavesNothing(t: ExecutionContext, body: (tt: ExecutionContext) => Promise<void>): Promise<void> {
  const baseline = activeResources();
  const tracker = trackResources();
  try {
    const attempt = await t.try(async (tt) => {
      await body(tt);
      tt.pass();
    });
    attempt.commit();
    if (!attempt.passed) return;
    const left = () => tracker.origins().filter((stack) => !PROCESS_CLOCKS.some((re) => re.test(stack)));
    const clean = () => grownResources(baseline, activeResources()).length === 0 && left().length === 0;
    await settle(clean, 5000);
    t.deepEqual(grownResources(baseline, activeResources()), [], 'active resources grew');
    t.deepEqual(left(), [], 'timers, sockets or UDP handles created by the scenario are still alive');
  } finally {
    tracker.stop();
  }
}

/** Same promise on every call: the lifecycle convention for close(). */
function idempotentClose(t: ExecutionContext, what: string, object: { close(): Promise<void> }): Promise<void> {
  const first = object.close();
  t.is(object.close(), first, `${what}.close() returned another promise`);
  return first;
}

const SERVICE = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: { clusterIP: '10.96.0.30', ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
};

function slice(addresses: readonly string[]) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: addresses.map((ip) => ({ addresses: [ip] })),
  };
}

test.serial(
  'FakeKubernetesApi + KubernetesSource + Resolver: closed watches stay silent, nothing is left',
  async (t) => {
    await leavesNothing(t, async (tt) => {
      const api = await createFakeKubeApi(tt, { endpointSliceController: false });
      api.apply(SERVICE);
      api.apply(slice(['10.0.0.1']));
      const source = new KubernetesSource({ server: api.url, idleTimeoutMs: 50 });
      const resolver = new Resolver({ source, context: { namespace: 'default', env: {}, resolvConf: '' } });
      const snapshot = await resolver.resolve('web:http');
      tt.is(snapshot.endpoints.length, 1);

      let early = 0;
      const first = resolver.watch('web:http', () => early++);
      await first.ready;
      await idempotentClose(tt, 'watch', first);
      const callsAtClose = early;
      // A second watch sees the change: the first one, closed, must not.
      let resolveChanged!: () => void;
      const changed = new Promise<void>((resolve) => {
        resolveChanged = resolve;
      });
      const second = resolver.watch('web:http', (s: ServiceSnapshot) => {
        if (s.endpoints.length === 2) resolveChanged();
      });
      await second.ready;
      api.apply(slice(['10.0.0.1', '10.0.0.2']));
      await changed;
      tt.is(early, callsAtClose, 'a closed watch was called');

      // Straight on the source too: a closed source watch gets nothing more.
      let raw = 0;
      let set = EndpointSet.empty();
      const direct = source.watch(
        {
          fqdn: 'web.default.svc.cluster.local.',
          name: interpretClusterName('web.default.svc.cluster.local.', 'cluster.local'),
          port: 'http',
        },
        (e: SourceEvent) => {
          raw++;
          if (e.type === 'update') set = set.apply(e.update);
        },
      );
      await direct.close();
      const rawAtClose = raw;
      await idempotentClose(tt, 'resolver', resolver);
      await idempotentClose(tt, 'source', source);
      tt.true(source.closed);
      tt.throws(() => resolver.watch('web'), { code: 'CLUSTERIP_ERR_CLOSED' });
      tt.throws(() => source.watch({ fqdn: 'x.', name: { kind: 'outside', fqdn: 'x.' } }, () => {}), {
        code: 'CLUSTERIP_ERR_CLOSED',
      });
      await idempotentClose(tt, 'api', api);
      await settle(() => false, 50);
      tt.is(raw, rawAtClose, 'a closed source watch was called');
    });
  },
);

test.serial('KubernetesSource closed while its API server is gone and its watches are failing', async (t) => {
  await leavesNothing(t, async (tt) => {
    const api = await createFakeKubeApi(tt, { endpointSliceController: false });
    api.apply(SERVICE);
    api.apply(slice(['10.0.0.1']));
    const source = new KubernetesSource({ server: api.url, backoff: { initialMs: 5, maxMs: 10, jitter: 0 } });
    let stale!: () => void;
    const staleSeen = new Promise<void>((resolve) => {
      stale = resolve;
    });
    const watch = source.watch(
      {
        fqdn: 'web.default.svc.cluster.local.',
        name: interpretClusterName('web.default.svc.cluster.local.', 'cluster.local'),
        port: 'http',
      },
      (e) => {
        if (e.type === 'stale') stale();
      },
    );
    await api.waitForWatches({}, 2);
    // The source's retry timers are unref'd (they never keep an application alive): hold the loop open
    // ourselves while waiting for its failure report.
    const keepAlive = setInterval(() => {}, 1000);
    await api.close(); // the server goes away under open watches: the source retries with backoff
    await staleSeen;
    clearInterval(keepAlive);
    await Promise.all([watch.close(), idempotentClose(tt, 'source', source)]);
  });
});

test.serial('DnsSource: watches and loops closed, UDP handles and timers released', async (t) => {
  await leavesNothing(t, async (tt) => {
    const dns = await startFuzzDnsServer(tt);
    dns.plan = (q) => ({
      rcode: 0,
      truncated: false,
      answers: q.type === 1 ? [{ type: 'A', name: '@', ttl: 1, address: [10, 0, 0, 9] }] : [],
      authority: [],
      edits: [],
      truncateTo: undefined,
      drop: false,
    });
    const source = new DnsSource({ servers: [dns.server], timeoutMs: 200, tries: 1, minTtlMs: 5, maxTtlMs: 10 });
    let calls = 0;
    let first!: () => void;
    const answered = new Promise<void>((resolve) => {
      first = resolve;
    });
    const query = {
      fqdn: 'web.prod.svc.cluster.local.',
      name: interpretClusterName('web.prod.svc.cluster.local.', 'cluster.local'),
      port: 80,
    };
    const watch = source.watch(query, (e) => {
      calls++;
      if (e.type === 'update') first();
    });
    await answered;
    // The loop re-resolves every few ms: wait for more queries (events, not time), then close.
    const before = dns.count.queries;
    await settle(() => dns.count.queries >= before + 4, 100_000);
    await idempotentClose(tt, 'watch', watch);
    await idempotentClose(tt, 'source', source);
    const callsAtClose = calls;
    const queriesAtClose = dns.count.queries;
    await settle(() => false, 50);
    tt.is(calls, callsAtClose, 'a listener was called after close');
    tt.is(dns.count.queries, queriesAtClose, 'the loop kept querying after close');
  });
});

test.serial(
  'Mesh with HTTP traffic over the emulated cluster: pools drained, resolver and source closed',
  async (t) => {
    await leavesNothing(t, async (tt) => {
      const cluster = await createFakeCluster(tt);
      const pods = await Promise.all(
        ['127.0.0.71', '127.0.0.72'].map((host, i) => createHttpTestServer(tt, { host, name: `web-${i}` })),
      );
      cluster.apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      });
      for (const [i, p] of pods.entries()) {
        cluster.addPod({ name: `web-${i}`, ip: p.host, labels: { app: 'web' }, ports: { http: p.port } });
      }
      // A mesh that owns its resolver (from a source), and one sharing the cluster's resolver.
      const own = new Mesh({ source: cluster.source, context: cluster.context, telemetry: false });
      const shared = new Mesh({ resolver: cluster.resolver });
      for (const mesh of [own, shared]) {
        for (let i = 0; i < 20; i++) {
          const res = await mesh.dispatcher.request({ origin: 'http://web', path: `/${i}`, method: 'GET' });
          tt.is(res.statusCode, 200);
          await res.body.text();
        }
        const viaFetch = await mesh.fetch('http://web.default:80/fetch');
        tt.is(viaFetch.status, 200);
        await viaFetch.text();
      }
      tt.true(
        pods.every((p) => p.requests > 0),
        'both pods served',
      );
      await idempotentClose(tt, 'mesh', own);
      await idempotentClose(tt, 'mesh', shared);
      tt.true(own.closed && shared.closed);
      await tt.throwsAsync(own.fetch('http://web/'), { code: 'CLUSTERIP_ERR_CLOSED' });
      await tt.throwsAsync(shared.resolve('web'), { code: 'CLUSTERIP_ERR_CLOSED' });
      tt.false(cluster.resolver.closed, 'a shared resolver is not the mesh’s to close');
    });
  },
);

test.serial('gRPC channels through register(mesh): channel, plugin and mesh closed, nothing left', async (t) => {
  await leavesNothing(t, async (tt) => {
    const cluster = await createFakeCluster(tt);
    const pods = createGrpcPods(tt, cluster, 'echo');
    await Promise.all([pods.add('echo-1', '127.0.0.81'), pods.add('echo-2', '127.0.0.82')]);
    const mesh = new Mesh({ resolver: cluster.resolver, telemetry: false });
    const registration = register(mesh);
    const echo = createEchoClient(tt, 'kubernetes:///echo:grpc', {
      'grpc.service_config': serviceConfig({ policy: 'round-robin', waitForReady: true }),
    });
    const answered = new Set<string>();
    for (let i = 0; i < 20; i++) answered.add((await echo.who()).pod);
    tt.deepEqual([...answered].sort(), ['echo-1', 'echo-2']);
    const stream = echo.chat();
    await stream.send();
    await stream.end();
    echo.close();
    await idempotentClose(tt, 'registration', registration);
    tt.true(registration.closed);
    await idempotentClose(tt, 'mesh', mesh);
    for (const server of pods.servers.values()) await server.shutdown();
  });
});

test.serial('LocalCluster: pods started, scaled up and down, closed; nothing is left', async (t) => {
  await leavesNothing(t, async (tt) => {
    const cluster = await LocalCluster.start({
      addresses: { first: '127.0.3.20', last: '127.0.3.60' },
      objects: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', namespace: 'default' },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: {
                containers: [
                  { name: 'web', image: 'clusterip/echo-http', ports: [{ name: 'http', containerPort: 8080 }] },
                ],
              },
            },
          },
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace: 'default' },
          spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
        },
      ],
    });
    tt.teardown(() => cluster.close());
    const source = new KubernetesSource({ server: cluster.url });
    const mesh = new Mesh({ source, context: { namespace: 'default', env: {}, resolvConf: '' }, telemetry: false });
    const pods = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await mesh.dispatcher.request({ origin: 'http://web', path: '/', method: 'GET' });
      tt.is(res.statusCode, 200);
      pods.add((JSON.parse(await res.body.text()) as { pod: string }).pod);
    }
    tt.is(pods.size, 2, 'both pods served');
    await cluster.scale('default', 'web', 3);
    await cluster.scale('default', 'web', 1);
    tt.is(cluster.pods({ namespace: 'default' }).filter((p) => p.ready && !p.terminating).length, 1);
    await idempotentClose(tt, 'mesh', mesh);
    await idempotentClose(tt, 'source', source);
    await idempotentClose(tt, 'cluster', cluster);
    tt.true(cluster.closed);
  });
});
