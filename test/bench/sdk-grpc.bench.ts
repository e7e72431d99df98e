// Benchmark: unary RPCs/s and latency through the gRPC plugin (`kubernetes:` resolver + `clusterip` policy)
// versus grpc-js `round_robin` over static addresses to the same pods, measured side by side in alternating
// rounds. The pods run in a child process so that the client side is what differs.
// Run: node --conditions=clusterip-internal build/test/bench/sdk-grpc.bench.js [--quick]

import { fork } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { detectClusterContext, KubernetesSource, Resolver } from '@clusterip/resolver';
import { FakeKubernetesApi } from '@clusterip/resolver/testing';
import { meshChannelOptions, register, serviceConfig } from '@clusterip/sdk/grpc';
import * as grpc from '@grpc/grpc-js';
import { echoService } from '../helpers/grpc-test-server.js';

const PODS = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;
const CALLS = quick ? 3000 : 10_000;
const CONCURRENCY = 32;

type Who = (cb: (error: Error | null) => void) => void;

function clientFor(target: string, options: grpc.ChannelOptions): { who: Who; close(): void } {
  const Ctor = grpc.makeGenericClientConstructor(echoService as unknown as grpc.ServiceDefinition, 'Echo');
  const client = new Ctor(target, grpc.credentials.createInsecure(), options);
  const raw = client as unknown as { who(req: unknown, cb: (e: Error | null) => void): void };
  return { who: (cb) => raw.who({}, cb), close: () => client.close() };
}

async function run(who: Who, calls: number): Promise<{ rps: number; p50: number; p99: number }> {
  const latencies = new Float64Array(calls);
  let issued = 0;
  let done = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const start = () => {
      if (issued >= calls) return;
      const i = issued++;
      const s = performance.now();
      who((error) => {
        if (error) return reject(error);
        latencies[i] = performance.now() - s;
        if (++done === calls) resolve();
        else start();
      });
    };
    for (let c = 0; c < CONCURRENCY; c++) start();
  });
  const elapsed = performance.now() - t0;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  return {
    rps: (calls / elapsed) * 1000,
    p50: sorted[Math.floor(calls * 0.5)]!,
    p99: sorted[Math.floor(calls * 0.99)]!,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const child = fork(new URL(import.meta.url).pathname, ['--servers'], {
    execArgv: ['--conditions=clusterip-internal'],
  });
  const [ports] = (await once(child, 'message')) as [number[]];

  const api = await FakeKubernetesApi.start({ endpointSliceController: true, bookmarkIntervalMs: 60_000 });
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'echo', namespace: 'default' },
    spec: { selector: { app: 'echo' }, ports: [{ name: 'grpc', port: 50051, targetPort: 'grpc' }] },
  });
  for (const [i, ip] of PODS.entries()) {
    api.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `echo-${i}`, namespace: 'default', labels: { app: 'echo' } },
      spec: { containers: [{ name: 'app', image: 'x', ports: [{ name: 'grpc', containerPort: ports[i]! }] }] },
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] },
    });
  }
  const source = new KubernetesSource({ server: api.url });
  const context = await detectClusterContext({ namespace: 'default', resolvConf: '', env: {}, podIP: '127.0.0.1' });
  const resolver = new Resolver({ source, context });
  const registration = register({ resolver });

  const staticTarget = `ipv4:${PODS.map((ip, i) => `${ip}:${ports[i]}`).join(',')}`;
  const variants = [
    {
      name: 'grpc-js round_robin, static ipv4: addresses (baseline)',
      client: clientFor(staticTarget, {
        'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      }),
    },
    {
      name: 'clusterip plugin, kubernetes:///echo:grpc, round-robin',
      client: clientFor('kubernetes:///echo:grpc', {
        ...meshChannelOptions({ resolver }),
        'grpc.service_config': serviceConfig({ policy: 'round-robin' }),
      }),
    },
    {
      name: 'clusterip plugin, random (default)',
      client: clientFor('kubernetes:///echo:grpc', { ...meshChannelOptions({ resolver }) }),
    },
    {
      name: 'clusterip plugin, least-request',
      client: clientFor('kubernetes:///echo:grpc', {
        ...meshChannelOptions({ resolver }),
        'grpc.service_config': serviceConfig({ policy: 'least-request' }),
      }),
    },
    {
      name: 'clusterip plugin, ClientIP affinity keyed by metadata',
      client: (() => {
        const c = clientFor('kubernetes:///echo:grpc', {
          ...meshChannelOptions({ resolver }),
          'grpc.service_config': serviceConfig({
            sessionAffinity: { type: 'ClientIP' },
            affinityKey: { metadata: 'x-user' },
          }),
        });
        return c;
      })(),
    },
  ];
  // Warm up: connect every channel to every pod, let the JIT settle.
  for (const v of variants) await run(v.client.who, 2000);

  const results = variants.map(() => ({
    rps: [] as number[],
    p50: [] as number[],
    p99: [] as number[],
    cpu: [] as number[],
  }));
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order every round so no variant always runs first or last.
    for (let k = 0; k < variants.length; k++) {
      const i = (k + r) % variants.length;
      const cpu0 = process.cpuUsage();
      const res = await run(variants[i]!.client.who, CALLS);
      const cpu = process.cpuUsage(cpu0);
      results[i]!.rps.push(res.rps);
      results[i]!.p50.push(res.p50);
      results[i]!.p99.push(res.p99);
      results[i]!.cpu.push((cpu.user + cpu.system) / CALLS);
    }
  }
  const base = { rps: median(results[0]!.rps), p99: median(results[0]!.p99) };
  console.log(
    `node ${process.version}, ${ROUNDS} interleaved rounds (order rotated) of ${CALLS} unary RPCs at concurrency ${CONCURRENCY}, 3 pods in a child process; medians`,
  );
  console.log('\n| client | RPCs/s | vs baseline | p50 ms | p99 ms | p99 vs baseline | client CPU µs/RPC |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [i, v] of variants.entries()) {
    const rps = median(results[i]!.rps);
    const p99 = median(results[i]!.p99);
    console.log(
      `| ${v.name} | ${rps.toFixed(0)} | ${(rps / base.rps).toFixed(2)}× | ${median(results[i]!.p50).toFixed(2)} | ${p99.toFixed(2)} | ${(p99 / base.p99).toFixed(2)}× | ${median(results[i]!.cpu).toFixed(1)} |`,
    );
  }

  for (const v of variants) v.client.close();
  await registration.close();
  await resolver.close();
  await source.close();
  await api.close();
  child.disconnect();
}

async function servers(): Promise<void> {
  // Child: one server per pod address; report the ports, exit when the parent disconnects.
  const ports: number[] = [];
  for (const [i, host] of PODS.entries()) {
    const server = new grpc.Server();
    server.addService(echoService as unknown as grpc.ServiceDefinition, {
      who: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { pod: `pod-${i}` }),
      chat: () => {},
    });
    ports.push(
      await new Promise<number>((resolve, reject) =>
        server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
      ),
    );
  }
  process.send?.(ports);
  process.on('disconnect', () => process.exit(0));
}

if (process.argv.includes('--servers')) await servers();
else await main();
