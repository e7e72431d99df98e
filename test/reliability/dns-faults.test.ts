// Reliability: DNS mode (DnsSource against a real Knot DNS) under a 2,000 req/s load while the DNS
// server stops, or answers SERVFAIL or nothing. The last good answer is served; recovery follows.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DnsSource, detectClusterContext, Resolver } from '@clusterip/resolver';
import { Mesh } from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { createHttpTestServer, type HttpTestServer } from '../helpers/http-test-server.js';
import { type KnotDns, startKnotDns } from '../helpers/knot-dns.js';
import { startUdpDnsServer } from '../helpers/udp-dns-server.js';
import { bounded } from './helpers/bounded.js';
import { getPod } from './helpers/http-get.js';
import { assertNoFailedRequest, describeLoad, type OpenLoop, startOpenLoop, warmUp } from './helpers/open-loop.js';
import { type SnapshotLog, watchSnapshots } from './helpers/snapshot-log.js';

const RATE = 2000;
const MAX_LOAD_MS = 20_000;
const STEP_MS = 10_000;
const STEP = 1000;
const FQDN = 'web.default.svc.cluster.local.';

/** A port free on every address of `hosts` (pods of a headless Service share their target port). */
async function commonPort(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, hosts[0], resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const free = await Promise.all(
      hosts.map(
        (host) =>
          new Promise<boolean>((resolve) => {
            const s = createServer();
            s.once('error', () => resolve(false));
            s.listen(port, host, () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (free.every(Boolean)) return port;
  }
  throw new Error('no common free port on the pod addresses after 20 attempts');
}

interface DnsSetup {
  readonly dns: KnotDns;
  readonly pods: HttpTestServer[];
  readonly snapshots: SnapshotLog;
  readonly load: OpenLoop;
  readonly url: string;
}

/**
 * A headless Service `web` in namespace `default` whose three pods listen on 127.0.<subnet>.11-13 at one
 * port, served by Knot (TTL 1 s); a DnsSource with short timeouts against `server(dns)`; a Mesh over it
 * and the load running.
 */
async function setup(
  t: ExecutionContext,
  subnet: number,
  server: (dns: KnotDns) => Promise<string>,
): Promise<DnsSetup> {
  const hosts = [11, 12, 13, 14].map((n) => `127.0.${subnet}.${n}`);
  const port = await commonPort(hosts);
  const pods: HttpTestServer[] = [];
  for (const [i, host] of hosts.entries()) {
    const pod = await createHttpTestServer(t, { host, name: `web-${i + 1}` });
    // createHttpTestServer listens on port 0: move it to the common port.
    await new Promise<void>((resolve) => pod.server.close(() => resolve()));
    await new Promise<void>((resolve, reject) => {
      pod.server.once('error', reject);
      pod.server.listen(port, host, () => resolve());
    });
    pods.push(pod);
  }
  const zone = [
    '$ORIGIN cluster.local.',
    '$TTL 1',
    '@ IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ( 1 7200 1800 86400 1 )',
    '@ IN NS ns.dns.cluster.local.',
    'ns.dns IN A 127.0.0.53',
    ...hosts.slice(0, 3).map((h) => `web.default.svc IN A ${h}`),
    '',
  ].join('\n');
  const dns = await startKnotDns(t, { zones: { 'cluster.local': zone } });
  const source = new DnsSource({
    servers: [await server(dns)],
    timeoutMs: 200,
    tries: 1,
    minTtlMs: 200,
    maxTtlMs: 500,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  t.teardown(() => source.close());
  const context = await detectClusterContext({
    namespace: 'default',
    resolvConf: 'search default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
    env: {},
  });
  const resolver = new Resolver({ source, context });
  t.teardown(() => resolver.close());
  const mesh = new Mesh({ resolver });
  t.teardown(() => mesh.close());
  const snapshots = watchSnapshots(t, resolver, `web:${port}`);
  await bounded(
    snapshots.until((s) => s.status === 'ok' && s.endpoints.length === 3),
    STEP_MS,
    'three endpoints from DNS',
  );
  const url = `http://web:${port}/`;
  const send = () => getPod(url, mesh.dispatcher);
  await warmUp(send, 400);
  const load = startOpenLoop(t, { ratePerSecond: RATE, maxDurationMs: MAX_LOAD_MS, send });
  return { dns, pods, snapshots, load, url };
}

test.serial('DNS server stopped under load: the last good answer is served, then the new one', async (t) => {
  const { dns, pods, snapshots, load } = await setup(t, 231, async (knot) => knot.server);
  await bounded(load.afterCompleted(STEP), STEP_MS, 'warm-up requests');
  const staleSeen = snapshots.until((s) => s.stale);
  await dns.stop();
  const stale = await bounded(staleSeen, STEP_MS, 'the snapshot turns stale once the server is gone');
  t.is(stale.error?.code, 'CLUSTERIP_ERR_DNS_UNAVAILABLE', 'staleness carries the DNS failure');
  t.is(stale.endpoints.length, 3, 'the last good answer is still served');
  await bounded(load.afterCompleted(STEP), STEP_MS, 'requests while DNS is down');
  t.true(snapshots.current?.stale, 'still stale while the server is down');

  await dns.start();
  await bounded(
    snapshots.until((s) => !s.stale && s.endpoints.length === 3),
    STEP_MS,
    'recovery once the server is back',
  );
  // The answer changes after the outage: a fourth pod.
  await dns.set(FQDN, 'A', 1, pods[3]!.host);
  await bounded(
    snapshots.until((s) => !s.stale && s.endpoints.length === 4),
    STEP_MS,
    'the new answer arrives',
  );
  await bounded(load.afterCompleted(STEP), STEP_MS, 'requests after the outage');
  const report = await load.stop();
  t.log(describeLoad('dns stopped', report));
  t.log('per pod', Object.fromEntries(report.byLabel));
  assertNoFailedRequest(t, report, STEP * 3);
  t.true((report.byLabel.get('web-4') ?? 0) > 0, 'the pod of the new answer served');
});

test.serial('DNS server answering SERVFAIL, then nothing, under load: last good answer served, recovery', async (t) => {
  let bad: Awaited<ReturnType<typeof startUdpDnsServer>> | undefined;
  const { dns, pods, snapshots, load } = await setup(t, 232, async (knot) => {
    bad = await startUdpDnsServer(t, { upstream: knot.server, reply: 'forward' });
    return bad.server;
  });
  const server = bad!;
  await bounded(load.afterCompleted(STEP), STEP_MS, 'warm-up requests');

  for (const failure of ['servfail', 'drop'] as const) {
    const staleSeen = snapshots.until((s) => s.stale);
    server.reply = failure;
    const stale = await bounded(staleSeen, STEP_MS, `the snapshot turns stale on ${failure}`);
    t.is(stale.error?.code, 'CLUSTERIP_ERR_DNS_UNAVAILABLE', `${failure}: staleness carries the DNS failure`);
    t.true(stale.endpoints.length >= 3, `${failure}: the last good answer is still served`);
    await bounded(load.afterCompleted(STEP), STEP_MS, `requests during ${failure}`);
    server.reply = 'forward';
    await bounded(
      snapshots.until((s) => !s.stale),
      STEP_MS,
      `recovery after ${failure}`,
    );
    if (failure === 'servfail') await dns.set(FQDN, 'A', 1, pods[3]!.host);
  }
  await bounded(
    snapshots.until((s) => !s.stale && s.endpoints.length === 4),
    STEP_MS,
    'the answer changed during the outages arrives',
  );
  await bounded(load.afterCompleted(STEP), STEP_MS, 'requests after the outages');
  const report = await load.stop();
  t.log(describeLoad('dns servfail/drop', report));
  t.log(`${server.queries.length} DNS queries seen by the faulty server`);
  assertNoFailedRequest(t, report, STEP * 4);
  t.true((report.byLabel.get('web-4') ?? 0) > 0, 'the pod of the new answer served');
});
