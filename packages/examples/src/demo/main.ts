// The demo: a local emulated cluster (FakeKubernetesApi running the EndpointSlice controller), backend
// "pods" as real HTTP servers on their own 127.0.0.x addresses, and a client that resolves and watches
// Services through the same KubernetesSource code path it would use in a real cluster.
// Usage: node packages/examples/dist/demo/main.js [--once]

import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { detectClusterContext, KubernetesSource, Resolver, type ServiceSnapshot } from '@clusterip/resolver';
import { FakeKubernetesApi } from '@clusterip/resolver/testing';
import { createBalancer, eligibleEndpoints } from '@clusterip/sdk';

const NAMESPACE = 'shop';
const interactive = process.stdout.isTTY === true && !process.argv.includes('--once');
const say = (line = '') => process.stdout.write(`${line}\n`);
const pause = (ms: number) => (interactive ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

interface Pod {
  readonly name: string;
  readonly ip: string;
  readonly server: Server;
  readonly port: number;
}

async function startPod(name: string, ip: string): Promise<Pod> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${name}\n`);
    req.resume();
  });
  server.listen(0, ip);
  await once(server, 'listening');
  return { name, ip, server, port: (server.address() as AddressInfo).port };
}

function podObject(pod: Pod, phase: { ready: boolean; terminating?: boolean }) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: pod.name,
      namespace: NAMESPACE,
      labels: { app: 'backend' },
      ...(phase.terminating ? { deletionTimestamp: new Date().toISOString() } : {}),
    },
    spec: {
      nodeName: 'node-a',
      containers: [{ name: 'backend', image: 'backend:1', ports: [{ name: 'http', containerPort: pod.port }] }],
    },
    status: {
      phase: 'Running',
      podIP: pod.ip,
      podIPs: [{ ip: pod.ip }],
      conditions: [{ type: 'Ready', status: phase.ready ? 'True' : 'False' }],
    },
  };
}

function describe(snapshot: ServiceSnapshot): string {
  const rows = snapshot.endpoints.map((e) => {
    const state = e.conditions.ready ? 'ready' : e.conditions.terminating ? 'terminating' : 'not ready';
    return `${e.targetRef?.name ?? '?'}=${e.address}:${e.port} (${state})`;
  });
  return rows.length === 0 ? `(no endpoints${snapshot.reason ? `: ${snapshot.reason.message}` : ''})` : rows.join(', ');
}

async function main(): Promise<void> {
  say('ClusterIP in-process — demo on an embedded local cluster');
  say('=========================================================');
  const api = await FakeKubernetesApi.start({ endpointSliceController: true });
  const pods: Pod[] = [];
  const source = new KubernetesSource({ server: api.url });
  // The client runs "in" namespace shop: bare names resolve there, as they would in a pod.
  const context = await detectClusterContext({ namespace: NAMESPACE, resolvConf: '', env: {}, podIP: '127.0.0.1' });
  const resolver = new Resolver({ source, context });
  try {
    say(`API server      ${api.url} (kubectl works against it: FakeKubernetesApi.kubeconfig())`);
    say(
      `client          namespace ${context.namespace}, search ${context.dns.search.join(' ')}, ndots ${context.dns.ndots}`,
    );
    say();

    api.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend-service', namespace: NAMESPACE },
      spec: { selector: { app: 'backend' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'data' } });
    api.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'database', namespace: 'data' },
      spec: { selector: { app: 'database' }, ports: [{ name: 'pg', port: 5432 }] },
    });
    for (let i = 1; i <= 3; i++) {
      const pod = await startPod(`backend-${i}`, `127.0.0.${10 + i}`);
      pods.push(pod);
      api.apply(podObject(pod, { ready: true }));
    }

    say('1. Names resolve as a pod in namespace "shop" would resolve them');
    for (const name of ['backend-service:http', 'database.data:pg', 'backend-service.shop.svc.cluster.local.:80']) {
      const snap = await resolver.resolve(name);
      say(`   ${name.padEnd(44)} → ${snap.fqdn}  (${snap.tried.length} candidate(s) tried)`);
    }
    const missing = await resolver.resolve('nope:80').catch((error: Error) => error);
    say(`   ${'nope:80'.padEnd(44)} → ${missing instanceof Error ? missing.message : 'unexpected'}`);
    say();

    say('2. The endpoint set is watched: changes arrive in milliseconds');
    const changes: string[] = [];
    let latest: ServiceSnapshot | undefined;
    let wake: (() => void) | undefined;
    const watch = resolver.watch('backend-service:http', (snapshot) => {
      latest = snapshot;
      changes.push(describe(snapshot));
      wake?.();
    });
    const until = async (predicate: (s: ServiceSnapshot) => boolean) => {
      while (latest === undefined || !predicate(latest)) await new Promise<void>((r) => (wake = r));
    };
    await until((s) => s.endpoints.length === 3);
    say(`   now:        ${describe(latest!)}`);
    await pause(800);
    const pod4 = await startPod('backend-4', '127.0.0.14');
    pods.push(pod4);
    let t0 = performance.now();
    api.apply(podObject(pod4, { ready: true }));
    await until((s) => s.endpoints.length === 4);
    say(`   scaled up:  ${describe(latest!)}  [${(performance.now() - t0).toFixed(1)} ms]`);
    await pause(800);
    t0 = performance.now();
    api.apply(podObject(pods[0]!, { ready: false, terminating: true }));
    await until((s) => s.endpoints.some((e) => e.conditions.terminating));
    say(`   draining:   ${describe(latest!)}  [${(performance.now() - t0).toFixed(1)} ms]`);
    say();

    say('3. Every request picks a pod with kube-proxy rules (terminating pods get none while others are ready)');
    const snap = latest!;
    const { endpoints, outcome } = eligibleEndpoints(snap.endpoints, snap.service!, { nodeName: 'node-a' });
    const balancer = createBalancer({ policy: 'round-robin' });
    balancer.update(endpoints);
    const counts = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const pick = balancer.pick({});
      if (pick.type !== 'pick') throw new Error(`no pick: ${pick.type}`);
      const started = performance.now();
      const body = (await (await fetch(`http://${pick.endpoint.address}:${pick.endpoint.port}/`)).text()).trim();
      pick.done({ type: 'success', latencyMs: performance.now() - started });
      counts.set(body, (counts.get(body) ?? 0) + 1);
    }
    say(`   eligibility: ${outcome.type}; ${endpoints.length} eligible of ${snap.endpoints.length}`);
    for (const [pod, n] of [...counts].sort()) say(`   ${pod.padEnd(12)} ${'█'.repeat(n)} ${n}`);
    await balancer.close();
    await watch.close();
    say();
    say(
      `done: ${changes.length} endpoint snapshots observed, ${[...counts.values()].reduce((a, b) => a + b, 0)} requests served`,
    );
  } finally {
    await resolver.close();
    await source.close();
    await api.close();
    await Promise.all(pods.map((p) => new Promise((r) => p.server.close(r))));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
