// Benchmark child of scale.bench.ts: a fresh process measuring its own start-up to the first routed request.
// Consumes `<mode> <json>` in argv (`mesh`: import the SDK, build a Mesh over KubernetesSource, request
// `http://web/`; `undici`: import undici, request the pod straight); produces, over IPC, milliseconds since
// the process started (performance.timeOrigin) at each step. Only node: builtins are imported statically.

import { performance } from 'node:perf_hooks';

const mode = process.argv[2];
const job = JSON.parse(process.argv[3] ?? '{}') as { apiUrl: string; podUrl: string; namespace: string };
const loaded = performance.now();

if (mode === 'mesh') {
  const [{ KubernetesSource }, { Mesh }, { request }] = await Promise.all([
    import('@clusterip/resolver'),
    import('@clusterip/sdk'),
    import('undici'),
  ]);
  const imported = performance.now();
  const source = new KubernetesSource({ server: job.apiUrl });
  const mesh = new Mesh({ source, context: { namespace: job.namespace, resolvConf: '', env: {} } });
  const res = await request('http://web/', { dispatcher: mesh.dispatcher });
  await res.body.text();
  const first = performance.now();
  await mesh.close();
  await source.close();
  process.send?.({ loaded, imported, first, ok: res.statusCode === 200 }, () => process.exit(0));
} else {
  const { request } = await import('undici');
  const imported = performance.now();
  const res = await request(job.podUrl);
  await res.body.text();
  const first = performance.now();
  process.send?.({ loaded, imported, first, ok: res.statusCode === 200 }, () => process.exit(0));
}
