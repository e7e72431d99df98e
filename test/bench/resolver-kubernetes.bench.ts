// Benchmark: cost of applying EndpointSlice lists and single-slice updates in the Kubernetes source, and
// propagation time from a slice change at FakeKubernetesApi to a watcher. Run: node --conditions=clusterip-internal build/test/bench/resolver-kubernetes.bench.js

import { performance } from 'node:perf_hooks';
import { KubernetesSource, mergeEndpointSlices, type SourceEvent } from '@clusterip/resolver';
import {
  decodeEndpointSlice,
  EndpointSliceCache,
} from '@clusterip/resolver/internal/source/endpoint-source-kubernetes/endpoint-slice-merge.js';
import { FakeKubernetesApi } from '@clusterip/resolver/testing';

const SLICES = 100;

function makeSlice(s: number, perSlice: number, flip = -1): Record<string, unknown> {
  return {
    kind: 'EndpointSlice',
    metadata: {
      name: `web-${s}`,
      namespace: 'prod',
      labels: { 'kubernetes.io/service-name': 'web' },
      resourceVersion: '1',
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: perSlice }, (_, i) => ({
      addresses: [`10.${s}.${Math.floor(i / 250)}.${(i % 250) + 1}`],
      conditions: { ready: i !== flip, serving: true, terminating: false },
      nodeName: `node-${i % 10}`,
      zone: `zone-${i % 3}`,
      targetRef: { kind: 'Pod', name: `web-${s}-${i}`, namespace: 'prod' },
    })),
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
function stats(samples: number[]): { p50: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99) };
}
const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

function applyBench(total: number): void {
  const perSlice = total / SLICES;
  // Wire form: JSON text, as it arrives from the API (parse cost included, like the real path).
  const texts = Array.from({ length: SLICES }, (_, s) => JSON.stringify(makeSlice(s, perSlice)));
  const selector = { portName: 'http', protocol: 'TCP' as const };

  const relist: number[] = [];
  let cache = new EndpointSliceCache(selector);
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let r = 0; r < 15; r++) {
    const t0 = performance.now();
    const decoded = texts.map((t) => decodeEndpointSlice(JSON.parse(t)));
    cache = new EndpointSliceCache(selector);
    cache.reset(decoded);
    void cache.endpoints;
    relist.push(performance.now() - t0);
  }
  global.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;

  // Single-slice update: one endpoint of one slice flips readiness; JSON parse + decode + diff.
  const updates = Array.from({ length: 50 }, (_, k) => JSON.stringify(makeSlice(k % SLICES, perSlice, k % perSlice)));
  const incremental: number[] = [];
  for (let r = 0; r < 400; r++) {
    const text = updates[r % updates.length] as string;
    const t0 = performance.now();
    const diff = cache.update(decodeEndpointSlice(JSON.parse(text)));
    incremental.push(performance.now() - t0);
    if (diff.added.length + diff.removed.length > 2) throw new Error('unexpected diff size');
  }
  // Baseline measured side by side: recompute the whole merge on every change (what a client
  // without per-slice state, e.g. kuberesolver, must do).
  const parsed = texts.map((t) => JSON.parse(t) as unknown);
  const full: number[] = [];
  for (let r = 0; r < 15; r++) {
    const text = updates[r % updates.length] as string;
    const t0 = performance.now();
    const copy = [...parsed];
    copy[r % SLICES] = JSON.parse(text);
    mergeEndpointSlices(copy, { portName: 'http' });
    full.push(performance.now() - t0);
  }
  const rl = stats(relist);
  const inc = stats(incremental);
  const base = stats(full);
  console.log(
    `${total} endpoints / ${SLICES} slices: full relist p50 ${fmt(rl.p50)}; single-slice update p50 ${fmt(inc.p50)} p99 ${fmt(inc.p99)}; ` +
      `baseline full re-merge per change p50 ${fmt(base.p50)} (incremental is ${(base.p50 / inc.p50).toFixed(0)}× faster); ` +
      `heap after relist ≈ ${((heapAfter - heapBefore) / total).toFixed(0)} B/endpoint${global.gc ? '' : ' (run with --expose-gc for a clean figure)'}`,
  );
}

async function propagationBench(total: number, rounds: number): Promise<void> {
  const api = await FakeKubernetesApi.start({ endpointSliceController: false, requestLogSize: 0 });
  try {
    api.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'prod' },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    const perSlice = total / SLICES;
    for (let s = 0; s < SLICES; s++)
      api.apply({ apiVersion: 'discovery.k8s.io/v1', ...makeSlice(s, perSlice) } as never);
    const source = new KubernetesSource({ server: api.url });
    let waiting: ((e: SourceEvent) => void) | undefined;
    let first: (() => void) | undefined;
    const ready = new Promise<void>((r) => {
      first = r;
    });
    const w = source.watch(
      {
        fqdn: 'web.prod.svc.cluster.local.',
        name: { kind: 'service', namespace: 'prod', service: 'web' },
        port: 'http',
      },
      (e) => {
        if (e.type === 'update' && e.update.type === 'reset') first?.();
        else if (e.type === 'update') waiting?.(e);
      },
    );
    await ready;
    await api.waitForWatches({ kind: 'EndpointSlice' });
    const samples: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const got = new Promise<SourceEvent>((resolve) => {
        waiting = resolve;
      });
      // A different endpoint each time, so every apply is a real change.
      const slice = makeSlice(r % SLICES, perSlice, (r + Math.floor(r / SLICES)) % perSlice);
      const t0 = performance.now();
      api.apply({ apiVersion: 'discovery.k8s.io/v1', ...slice } as never);
      await got;
      samples.push(performance.now() - t0);
    }
    const p = stats(samples);
    console.log(
      `propagation FakeKubernetesApi → watcher (${total} endpoints, ${rounds} changes): p50 ${fmt(p.p50)} p99 ${fmt(p.p99)}`,
    );
    await w.close();
    await source.close();
  } finally {
    await api.close();
  }
}

for (const total of [1000, 10_000]) applyBench(total);
await propagationBench(1000, 200);
await propagationBench(10_000, 100);
