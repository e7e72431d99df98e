// The demo (the show): a cluster (embedded LocalCluster or --kubeconfig), the manifests applied through its API,
// and this process as the frontend while scenes change the cluster. Consumes DemoOptions; produces an exit code.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isClusterIPError, KubernetesSource } from '@clusterip/resolver';
import { Mesh } from '@clusterip/sdk';
import { LocalCluster } from '@clusterip/sdk/cluster';
import { context, SpanKind, trace } from '@opentelemetry/api';
import type { DemoOptions } from './demo-options.js';
import { EndpointView } from './endpoint-view.js';
import { createEchoClient } from './grpc-echo.js';
import { KubeClient, type KubeObject } from './kube-client.js';
import { DEMO_NAMESPACE, readManifests } from './manifests.js';
import { type DemoContext, SCENES, type SceneOutcome, waitForRollout } from './scenes.js';
import { Screen, tableLines } from './screen.js';
import { SceneStats } from './stats.js';
import { ATTR_DEMO_TRACED, renderTrace, startTracing } from './trace-output.js';
import { Traffic } from './traffic.js';

/** Services the frontend calls itself (the rest of the SDK events in this process are the pods'). */
const FRONTEND_SERVICES = ['backend-service', 'backend-sticky', 'backend-nearby', 'backend-typo', 'backend-grpc'];
const LABEL_ZONE = 'topology.kubernetes.io/zone';
const HTTP_WORKERS = 4;

type Cleanup = () => Promise<unknown> | unknown;

/**
 * Run the demo with parsed options; resolves with the process exit code (0: every scene's outcome held).
 *
 * @example
 * ```ts
 * process.exitCode = await runDemo(parseDemoArgs(process.argv.slice(2), { isTTY: true, env: process.env }))
 * ```
 */
export async function runDemo(options: DemoOptions, out: NodeJS.WriteStream = process.stdout): Promise<number> {
  const selected = SCENES.filter((s) => options.scenes === undefined || options.scenes.includes(s.id));
  const say = (line = '') => out.write(`${line}\n`);
  const cleanups: Cleanup[] = [];
  const stop = new AbortController();
  const onSignal = () => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  cleanups.push(() => process.off('SIGINT', onSignal));
  const within = (ms: number) => AbortSignal.any([stop.signal, AbortSignal.timeout(ms)]);

  try {
    say('ClusterIP in-process — the demo');
    say('frontend → backend-service (HTTP) → database, and kubernetes:///backend-grpc:grpc, through one Mesh');
    say();
    const otelFile = resolve(options.otelOut);
    const otel = startTracing(otelFile);
    cleanups.push(() => otel.close());

    // ── the cluster ──────────────────────────────────────────────────────────────────────────────────
    let kubeconfigPath = options.kubeconfig;
    const embedded = kubeconfigPath === undefined;
    if (kubeconfigPath === undefined) {
      // Pods listen on fixed containerPorts (8080, 50051): a /24 of its own per process keeps two local clusters
      // on one machine (a test run next to a demo) from colliding on the same address and port.
      const block = 200 + (process.pid % 50);
      const cluster = await LocalCluster.start({
        terminationGraceMs: 1000,
        addresses: { first: `127.0.${block}.10`, last: `127.0.${block}.250` },
      });
      cleanups.push(() => cluster.close());
      const dir = await mkdtemp(join(tmpdir(), 'clusterip-demo-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      kubeconfigPath = join(dir, 'kubeconfig.yaml');
      await writeFile(kubeconfigPath, cluster.kubeconfig({ namespace: DEMO_NAMESPACE }), { mode: 0o600 });
      say(`cluster     embedded LocalCluster: FakeKubernetesApi with the EndpointSlice and Deployment controllers`);
      say(`            pods are real HTTP and gRPC servers, each on its own loopback address (127.0.${block}.x)`);
      if (!options.once)
        say(`            kubectl: KUBECONFIG=${kubeconfigPath} kubectl get pods -n ${DEMO_NAMESPACE} -o wide`);
    } else {
      say(`cluster     from --kubeconfig ${kubeconfigPath}${options.context ? ` (context ${options.context})` : ''}`);
    }
    const kube = await KubeClient.fromKubeconfig(kubeconfigPath, options.context);
    cleanups.push(() => kube.close());
    say(`api server  ${kube.server}`);

    const objects = await readManifests();
    const applied: string[] = [];
    const skipped: string[] = [];
    for (const object of objects) {
      const result = await kube.apply(object, DEMO_NAMESPACE);
      const name = `${object.kind.toLowerCase()}/${object.metadata.name}`;
      if (result.applied) applied.push(name);
      else skipped.push(`${name} (${result.reason})`);
    }
    say(`manifests   applied ${applied.join(' ')}`);
    if (skipped.length > 0) say(`            skipped ${skipped.join(', ')}`);
    const deployments = objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name);
    const ready = within(60_000);
    await Promise.all(deployments.map((d) => waitForRollout(kube, DEMO_NAMESPACE, d, ready)));
    say(`            ${deployments.map((d) => `deployment/${d}`).join(', ')} rolled out`);

    // ── the frontend: a pretend pod of the namespace, on a node (and so in a zone) ──────────────────────
    const node = options.node ?? (await nodeOfFirstPod(kube, 'app=backend'));
    // Reading Nodes needs a ClusterRole; without it the topology scene says it cannot run (spec §9.3).
    const nodeObject =
      node === undefined
        ? undefined
        : await kube.get(`/api/v1/nodes/${encodeURIComponent(node)}`).catch(() => undefined);
    const zone = nodeObject?.metadata.labels?.[LABEL_ZONE];
    say(`frontend    namespace ${DEMO_NAMESPACE}, node ${node ?? '(unknown)'}, zone ${zone ?? '(unknown)'}`);
    const source = new KubernetesSource({ ...kube.sourceOptions, ...(node === undefined ? {} : { nodeName: node }) });
    cleanups.push(() => source.close());
    const mesh = new Mesh({
      source,
      context: {
        namespace: DEMO_NAMESPACE,
        resolvConf: '',
        env: {},
        ...(node === undefined ? {} : { nodeName: node }),
        ...(zone === undefined ? {} : { zone }),
      },
    });
    cleanups.push(() => mesh.close());
    const view = new EndpointView(mesh.resolver, ['backend-service:http', 'backend-grpc:grpc', 'database:http']);
    cleanups.push(() => view.close());
    await view.ready();
    const grpc = createEchoClient(mesh, 'kubernetes:///backend-grpc:grpc');
    cleanups.push(() => grpc.close());
    const stats = new SceneStats();
    const traffic = new Traffic({
      mesh,
      grpc,
      stats,
      frontendServices: FRONTEND_SERVICES,
      rate: options.rate,
      concurrency: HTTP_WORKERS,
      maxRequests: 1_000_000,
      maxMs: options.once ? 180_000 : 1_800_000,
    });
    cleanups.push(() => traffic.stop());
    const screen = new Screen({ out, live: !options.once, view, stats, refreshMs: 200 });
    cleanups.push(() => screen.stop());
    say();

    // ── the scenes ───────────────────────────────────────────────────────────────────────────────────
    traffic.start();
    screen.start();
    let caption: string[] = [];
    const ctx: DemoContext = {
      kube,
      namespace: DEMO_NAMESPACE,
      mesh,
      view,
      stats,
      traffic,
      frontend: { node, zone },
      settleRequests: options.once ? 80 : options.rate * 4,
      concurrency: HTTP_WORKERS,
      note: (text) => screen.caption([...caption, `  … ${text}`]),
    };
    const results: { id: string; outcome: SceneOutcome }[] = [];
    for (const [i, scene] of selected.entries()) {
      stats.reset();
      view.forgetGone();
      traffic.setTargets(['backend-service']);
      caption = [`▶ ${i + 1}/${selected.length} ${scene.id} — ${scene.title}`, `  $ ${scene.command}`];
      screen.caption(caption);
      let outcome: SceneOutcome;
      try {
        outcome = await scene.run(ctx, within(60_000));
      } catch (error) {
        if (stop.signal.aborted) throw error;
        outcome = {
          ok: false,
          lines: [`✗ did not complete: ${(error as Error).message}`],
          summary: stats.summary(),
        };
      }
      results.push({ id: scene.id, outcome });
      const footer = tableLines(view, stats).at(-1) ?? '';
      screen.log([...caption, ...outcome.lines.map((l) => `  ${l}`), footer, '']);
    }
    await traffic.stop();
    screen.stop();

    // ── one request, traced ──────────────────────────────────────────────────────────────────────────
    const tracer = trace.getTracer('clusterip-demo-frontend');
    const root = tracer.startSpan('frontend GET /checkout', {
      kind: SpanKind.SERVER,
      attributes: { [ATTR_DEMO_TRACED]: true },
    });
    const traceId = root.spanContext().traceId;
    try {
      await context.with(trace.setSpan(context.active(), root), async () => {
        const res = await mesh.fetch('http://backend-service/checkout');
        await res.text();
      });
    } finally {
      root.end();
    }
    // Embedded: the pods run in this process and report their SERVER spans here too (frontend, backend,
    // database); a real cluster's pods export theirs themselves.
    const servers = embedded ? 3 : 1;
    const spans = await otel.waitForTrace(
      traceId,
      (s) => s.filter((x) => x.kind === SpanKind.SERVER).length >= servers,
      3000,
    );
    say(`one request, traced (trace ${traceId}):`);
    for (const line of renderTrace(spans)) say(`  ${line}`);
    await otel.provider.forceFlush();
    say(
      `OpenTelemetry: every span of the traced request and 1 in 100 of the load → ${otelFile} (${otel.written} spans, JSON lines)`,
    );
    say();

    const failed = results.filter((r) => !r.outcome.ok);
    if (failed.length === 0) {
      say(`demo: ${results.length === 1 ? '1 scene' : `all ${results.length} scenes`} held`);
      if (!embedded) {
        say(
          `clean up: kubectl delete namespace ${DEMO_NAMESPACE}; kubectl delete clusterrolebinding/clusterip-demo-node-zone clusterrole/clusterip-node-zone`,
        );
      }
      return 0;
    }
    for (const f of failed) {
      say(`demo failed: scene ${f.id}: ${f.outcome.lines.filter((l) => l.startsWith('✗')).join('; ')}`);
    }
    return 1;
  } catch (error) {
    if (stop.signal.aborted) {
      process.stderr.write('demo interrupted: cleaning up\n');
      return 130;
    }
    const message = isClusterIPError(error) ? `${error.code}: ${error.message}` : (error as Error).message;
    process.stderr.write(`demo failed: ${message}\n`);
    return 1;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // keep closing the rest
      }
    }
  }
}

/** The node of the first pod (by name) matching `selector`, as the scheduler placed it. */
async function nodeOfFirstPod(kube: KubeClient, selector: string): Promise<string | undefined> {
  const list = (await kube.ok(
    'GET',
    `/api/v1/namespaces/${DEMO_NAMESPACE}/pods?labelSelector=${encodeURIComponent(selector)}`,
  )) as { items?: KubeObject[] };
  const pods = (list.items ?? []).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const p of pods) {
    const nodeName = (p.spec as { nodeName?: unknown } | undefined)?.nodeName;
    if (typeof nodeName === 'string' && nodeName !== '') return nodeName;
  }
  return undefined;
}
