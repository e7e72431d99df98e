// Test fixture of the CLI tests: an emulated cluster with the five scenarios every command is tested
// against (healthy Service, selector mismatch, wrong target port, a Service in another namespace, a
// missing Service), and a runner that spawns the built `clusterip` bin against it.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@clusterip/sdk/internal/cli/cli.js';
import type { ExecutionContext } from 'ava';
import { createFakeCluster, type FakeCluster } from '../../helpers/fake-cluster.js';
import { createHttpTestServer, type HttpTestServer } from '../../helpers/http-test-server.js';

/** build/test/sdk/cli/ → packages/sdk/dist/cli/main.js */
export const CLI = fileURLToPath(new URL('../../../../packages/sdk/dist/cli/main.js', import.meta.url));

/** The result of one CLI run. */
export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running CLI process whose output can be awaited line by line. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** Resolves with the first stdout line matching `pattern` (rejects if the process ends first). */
  line(pattern: RegExp): Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<CliRun>;
}

/** The emulated cluster of one CLI test and a kubeconfig file for it. */
export interface CliCluster {
  readonly cluster: FakeCluster;
  readonly kubeconfig: string;
  /** A folder of the test, removed in teardown (also used as HOME so no ~/.kube/config leaks in). */
  readonly dir: string;
  /** Environment of every spawned CLI: no KUBECONFIG, no NODE_NAME, HOME = dir. */
  readonly env: NodeJS.ProcessEnv;
  /** Run `clusterip <args> --kubeconfig <file>` to completion. */
  run(args: readonly string[], options?: { kubeconfig?: boolean }): Promise<CliRun>;
  /** The same as `run`, in this process (no process start-up cost; see {@link runInProcess}). */
  runHere(args: readonly string[]): Promise<CliRun>;
  /** Start `clusterip <args> --kubeconfig <file>` and return it while it runs (killed in teardown). */
  start(args: readonly string[]): CliProcess;
  /** Pods of the healthy Service `backend` (namespace shop). */
  readonly backends: readonly HttpTestServer[];
}

/** Spawn the CLI with `args` and `env`; the process is killed in `t.teardown` if still running. */
export function spawnCli(t: ExecutionContext, args: readonly string[], env: NodeJS.ProcessEnv): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void; reject: (e: Error) => void }>();
  const check = () => {
    for (const w of waiters) {
      const found = stdout.split('\n').find((l) => w.pattern.test(l));
      if (found !== undefined) {
        waiters.delete(w);
        w.resolve(found);
      }
    }
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    check();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<CliRun>((resolve) => {
    child.once('close', (code, signal) => {
      for (const w of waiters) w.reject(new Error(`cli exited (${code}) before ${w.pattern}: ${stdout}${stderr}`));
      waiters.clear();
      resolve({ code, signal, stdout, stderr });
    });
  });
  // A hung CLI must fail the test, not the suite (ava's timeout would otherwise leave it running).
  const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
  guard.unref();
  t.teardown(async () => {
    clearTimeout(guard);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return {
    child,
    exited,
    line: (pattern) =>
      new Promise((resolve, reject) => {
        waiters.add({ pattern, resolve, reject });
        check();
        if (child.exitCode !== null || child.signalCode !== null) void exited.then(() => check());
      }),
  };
}

function podReady(ready: boolean) {
  return { type: 'Ready', status: ready ? 'True' : 'False' };
}

/**
 * Namespaces `shop` (the client's) and `prod`, and Services:
 * - `backend` (shop): selector app=backend, port http 80 → targetPort `http`; pods backend-1/2 are
 *   real HTTP servers on 127.0.<subnet>.11/12, Ready, on node-a/node-b;
 * - `typo` (shop): selector app=backendd (no pod has it);
 * - `wrongport` (shop): selector app=backend, targetPort `web` (no pod names a port web);
 * - `payments` (prod): one ready pod, a server on 127.0.<subnet>.21;
 * - nothing named `nothing`.
 */
export async function createCliCluster(t: ExecutionContext, subnet: number): Promise<CliCluster> {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  const api = cluster.api;
  for (const name of ['shop', 'prod']) api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  api.apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
  });
  api.apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-b', labels: { 'topology.kubernetes.io/zone': 'zone-b' } },
  });
  const service = (namespace: string, name: string, selector: Record<string, string>, targetPort: string) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort }] },
  });
  api.apply(service('shop', 'backend', { app: 'backend' }, 'http'));
  api.apply(service('shop', 'typo', { app: 'backendd' }, 'http'));
  api.apply(service('shop', 'wrongport', { app: 'backend' }, 'web'));
  api.apply(service('prod', 'payments', { app: 'payments' }, 'http'));
  const backends: HttpTestServer[] = [];
  for (const i of [1, 2]) {
    const server = await createHttpTestServer(t, { host: `127.0.${subnet}.${10 + i}`, name: `backend-${i}` });
    backends.push(server);
    cluster.addPod({
      name: `backend-${i}`,
      ip: server.host,
      labels: { app: 'backend' },
      ports: { http: server.port },
      nodeName: i === 1 ? 'node-a' : 'node-b',
    });
  }
  const payments = await createHttpTestServer(t, { host: `127.0.${subnet}.21`, name: 'payments-1' });
  api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'payments-1', namespace: 'prod', labels: { app: 'payments' } },
    spec: {
      nodeName: 'node-a',
      containers: [{ name: 'app', image: 'payments:1', ports: [{ name: 'http', containerPort: payments.port }] }],
    },
    status: { phase: 'Running', podIP: payments.host, podIPs: [{ ip: payments.host }], conditions: [podReady(true)] },
  });
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, api.kubeconfig({ namespace: 'shop' }));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir };
  const withConfig = (args: readonly string[], use = true) => (use ? [...args, '--kubeconfig', kubeconfig] : [...args]);
  return {
    cluster,
    kubeconfig,
    dir,
    env,
    backends,
    run: (args, options = {}) => spawnCli(t, withConfig(args, options.kubeconfig ?? true), env).exited,
    runHere: (args) => runInProcess(withConfig(args), env),
    start: (args) => spawnCli(t, withConfig(args), env),
  };
}

/** Parse the stdout of a `--output json` run. */
export function json<T = Record<string, unknown>>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.code}): ${run.stdout}${run.stderr}`);
  }
}

/**
 * Run the CLI in this process (same code as the bin, without the process start-up cost) with
 * captured output; for tests that do not need a real process (usage errors, failures to connect).
 */
export async function runInProcess(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
    cwd: process.cwd(),
    signal: new AbortController().signal,
  });
  return { code, signal: null, stdout, stderr };
}
