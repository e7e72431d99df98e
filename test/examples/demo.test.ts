// The demo (packages/examples/src/demo): its non-interactive mode runs here as a user would run it (a child
// process, stdout not a terminal) and its outcomes are asserted from what it prints and what it leaves in
// the cluster: on the embedded cluster, and against a LocalCluster given by --kubeconfig (the API-only path).

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalCluster } from '@clusterip/sdk/cluster';
import test, { type ExecutionContext } from 'ava';

// build/test/examples/ → packages/examples/dist/demo/main.js
const demo = fileURLToPath(new URL('../../../packages/examples/dist/demo/main.js', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run the demo in a fresh folder (its default OTel output lands there); bounded by a kill timeout. */
async function runDemo(t: ExecutionContext, args: readonly string[]): Promise<Run & { readonly cwd: string }> {
  const cwd = await mkdtemp(join(tmpdir(), 'clusterip-demo-test-'));
  t.teardown(() => rm(cwd, { recursive: true, force: true }));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [demo, ...args],
      {
        cwd,
        timeout: 120_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        // The frontend picks its node from the cluster, not from the machine running the tests.
        env: { ...process.env, NODE_NAME: undefined },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr, cwd });
      },
    );
  });
}

/** The printed block of one scene (from its `▶` line to the next blank line). */
function scene(stdout: string, id: string): string {
  const start = stdout.search(new RegExp(`^▶ \\d+/\\d+ ${id} `, 'm'));
  if (start < 0) return '';
  const end = stdout.indexOf('\n\n', start);
  return stdout.slice(start, end < 0 ? undefined : end);
}

test.serial('the demo on its embedded cluster: every scene holds, then one traced request', async (t) => {
  t.timeout(150_000, 'the demo runs in a child process, bounded by its own 120 s kill timeout');
  const run = await runDemo(t, ['--once', '--otel-out', 'out/traces.jsonl']);
  t.is(run.code, 0, `${run.stdout}\n${run.stderr}`);
  t.regex(run.stdout, /embedded LocalCluster/);
  t.regex(run.stdout, /applied namespace\/clusterip-demo .*deployment\/backend/);
  t.regex(run.stdout, /skipped .*role\/clusterip-sdk/, 'RBAC kinds are skipped on the embedded API server');

  t.regex(scene(run.stdout, 'traffic'), /✓ gRPC calls spread per call over all 2 pods/);
  t.regex(scene(run.stdout, 'scale'), /✓ all 5 pods served/);
  // The rolling update: zero failed requests, every new pod served, the old ones left alone.
  const rollout = scene(run.stdout, 'rollout');
  t.regex(rollout, /✓ 0 failed of \d+ requests during the rollout/);
  t.regex(rollout, /✓ every new pod served/);
  t.regex(rollout, /✓ old pods got nothing/);
  t.regex(scene(run.stdout, 'crash'), /✓ replacement \S+ ready after \d+ ms and serving/);
  // ClientIP affinity held: one pod for every request of the sticky Service.
  const affinity = scene(run.stdout, 'affinity');
  t.regex(affinity, /✓ backend-sticky: all \d+ requests on one pod: \S+ \d+\n/);
  t.regex(affinity, /✓ affinity held: \d+ hits, [01] miss/);
  t.regex(scene(run.stdout, 'topology'), /✓ backend-nearby: every request to a pod in zone-\w/);
  // The selector mismatch is a fast typed error, explained from the API.
  const mismatch = scene(run.stdout, 'mismatch');
  t.regex(mismatch, /✓ request failed with CLUSTERIP_ERR_NO_ENDPOINTS/);
  t.regex(mismatch, /selector app=backnd matches 0 pods/);
  t.regex(mismatch, /did you mean app=backend\? \d+ pods carry it/);
  t.regex(run.stdout, /demo: all 7 scenes held/);

  // The trace of one request: frontend → backend route → backend pod → database route → database pod.
  t.regex(run.stdout, /frontend GET \/checkout \[SERVER\]/);
  t.regex(run.stdout, /clusterip route backend-service\.clusterip-demo:80 .*pod=backend-/);
  t.regex(run.stdout, /clusterip route database\.clusterip-demo:80 .*pod=database-/);
  const lines = (await readFile(join(run.cwd, 'out', 'traces.jsonl'), 'utf8')).trim().split('\n');
  const spans = lines.map((l) => JSON.parse(l) as { name: string; traceId: string });
  const traced = /trace ([0-9a-f]{32})/.exec(run.stdout)?.[1];
  t.truthy(traced);
  t.true(spans.filter((s) => s.traceId === traced).length >= 5, 'the traced request is in the OTel output');
});

test.serial('the demo against a cluster given by --kubeconfig drives it through the API only', async (t) => {
  t.timeout(150_000, 'the demo runs in a child process, bounded by its own 120 s kill timeout');
  // Its own /24, outside the block the demo picks for an embedded cluster (127.0.200-249.x).
  const cluster = await LocalCluster.start({ addresses: { first: '127.0.199.10', last: '127.0.199.250' } });
  t.teardown(() => cluster.close());
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-demo-kubeconfig-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  await writeFile(kubeconfig, cluster.kubeconfig());

  const run = await runDemo(t, ['--kubeconfig', kubeconfig, '--scenes', 'traffic,scale,mismatch']);
  t.is(run.code, 0, `${run.stdout}\n${run.stderr}`);
  t.notRegex(run.stdout, /embedded LocalCluster/, 'the demo started no cluster of its own');
  t.true(run.stdout.includes(`api server  ${cluster.url}`));
  t.regex(scene(run.stdout, 'scale'), /✓ all 5 pods served/);
  t.regex(scene(run.stdout, 'mismatch'), /did you mean app=backend\?/);
  t.regex(run.stdout, /demo: all 3 scenes held/);
  // What the demo did is in this cluster: its manifests, and the Deployment it scaled.
  const token = tokenOf(cluster.kubeconfig());
  const res = await fetch(`${cluster.url}/apis/apps/v1/namespaces/clusterip-demo/deployments/backend`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  t.is(res.status, 200);
  const backend = (await res.json()) as { spec: { replicas: number } };
  t.is(backend.spec.replicas, 5);
  t.is(cluster.pods({ namespace: 'clusterip-demo', labels: { app: 'backend' } }).filter((p) => p.ready).length, 5);
});

test.serial('one scene: its request that fails by design is counted, and the verdict is in the singular', async (t) => {
  t.timeout(150_000, 'the demo runs in a child process, bounded by its own 120 s kill timeout');
  const run = await runDemo(t, ['--once', '--scenes', 'mismatch']);
  t.is(run.code, 0, `${run.stdout}\n${run.stderr}`);
  const mismatch = scene(run.stdout, 'mismatch');
  t.regex(mismatch, /✓ request failed with CLUSTERIP_ERR_NO_ENDPOINTS/);
  // The scene's figures count its own request (the background traffic of the window fails nothing).
  t.regex(mismatch, /^ {2}requests \d+ · failed 1 · /m);
  t.regex(mismatch, /mesh\.endpoints\('backend-typo:80'\): \w+, 0 endpoints,/);
  t.regex(run.stdout, /^demo: 1 scene held$/m);
});

test.serial('bad arguments are refused with the usage, exit code 2', async (t) => {
  const run = await runDemo(t, ['--once', '--rate', 'fast']);
  t.is(run.code, 2);
  t.regex(run.stderr, /--rate must be an integer from 10 to 2000, got fast/);
  t.regex(run.stderr, /usage: npm run demo/);
  const unknown = await runDemo(t, ['--bogus']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown option --bogus/);
  const badScene = await runDemo(t, ['--scenes', 'rollout,nope']);
  t.is(badScene.code, 2);
  t.regex(badScene.stderr, /unknown scene nope; scenes: traffic, scale, rollout/);
});

/** The bearer token of a kubeconfig (the fake API may require one). */
function tokenOf(kubeconfig: string): string | undefined {
  return /^\s*token:\s*"?([^"\s]+)"?\s*$/m.exec(kubeconfig)?.[1];
}
