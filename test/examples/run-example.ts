// Test helper for the runnable examples: starts the emulated cluster and Service they call, writes a kubeconfig
// for it, runs an example's compiled program (packages/examples/dist/<scenario>/...) and hands back its output.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeKubernetesApi } from '@clusterip/resolver/testing';
import type { ExecutionContext } from 'ava';
import { createFakeCluster, type FakeCluster } from '../helpers/fake-cluster.js';
import {
  createPods,
  type HttpTestServer,
  type HttpTestServerOptions,
  waitForReady,
} from '../helpers/http-test-server.js';

/** build/test/examples/ → packages/examples/dist/<scenario>/<file> */
export function examplePath(scenario: string, file = 'main.js'): string {
  return fileURLToPath(new URL(`../../../packages/examples/dist/${scenario}/${file}`, import.meta.url));
}

/**
 * The environment a user's shell would give the example: `KUBECONFIG` pointing at `api` (context
 * namespace `namespace`), a private `HOME` (so no `~/.kube/config` of this machine leaks in), and
 * nothing of the in-cluster variables. The kubeconfig file is removed in `t.teardown`.
 */
export async function exampleEnv(
  t: ExecutionContext,
  api: FakeKubernetesApi,
  namespace: string,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-example-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, api.kubeconfig({ namespace }));
  return { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfig, ...extra };
}

/**
 * The cluster most examples run against: namespace `shop` holding Service `service` (port 80 → the
 * container port `http`, selector `app: <app>`) and `count` HTTP pods `<app>-<i>` on
 * `127.0.<subnet>.<10+i>` answering with `handler`. Resolves once every pod is a ready endpoint.
 *
 * @example
 * ```ts
 * const { cluster } = await createExampleService(t, { service: 'cart', app: 'cart', count: 3, subnet: 93 })
 * const env = await exampleEnv(t, cluster.api, 'shop')
 * ```
 */
export async function createExampleService(
  t: ExecutionContext,
  options: {
    service: string;
    app: string;
    count: number;
    subnet: number;
    handler?: HttpTestServerOptions['handler'];
  },
): Promise<{ cluster: FakeCluster; pods: HttpTestServer[] }> {
  const { service, app, count, subnet, handler } = options;
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: service },
    spec: { selector: { app }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  const pods = await createPods(t, cluster, { app, count, subnet, ...(handler === undefined ? {} : { handler }) });
  await waitForReady(cluster.resolver, `${service}:80`, count);
  return { cluster, pods };
}

/** What a finished example printed. */
export interface ExampleRun {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run `node <file> ...args` to completion (killed after `timeoutMs`, or at `t.teardown` if still running);
 * rejects when it exits non-zero, with its output in the message.
 *
 * @example
 * ```ts
 * const { stdout } = await runExample(t, examplePath('fetch-with-mesh'), [], env)
 * ```
 */
export function runExample(
  t: ExecutionContext,
  file: string,
  args: readonly string[],
  env: Record<string, string>,
  options: { nodeArgs?: readonly string[]; timeoutMs?: number } = {},
): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    let done = false;
    const child = execFile(
      process.execPath,
      [...(options.nodeArgs ?? []), file, ...args],
      { env, timeout: options.timeoutMs ?? 20_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        done = true;
        if (error) reject(new Error(`${file} failed: ${error.message}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
    t.teardown(() => {
      if (!done) child.kill('SIGKILL');
    });
  });
}

/** A long-running example process. */
export interface RunningExample {
  readonly child: ChildProcess;
  /** Output so far. */
  readonly stdout: () => string;
  /** Resolves with the first stdout line matching `pattern` (its match), rejects if the process exits first. */
  waitForLine(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Send SIGTERM and resolve with the exit code once it has exited. */
  stop(): Promise<number | null>;
}

/**
 * Start `node <file>` and keep it running; it is killed (SIGKILL) in `t.teardown` if still alive.
 *
 * @example
 * ```ts
 * const frontend = startExample(t, examplePath('kubernetes-manifests'), env)
 * const [, port] = await frontend.waitForLine(/listening on port (\d+)/)
 * ```
 */
export function startExample(t: ExecutionContext, file: string, env: Record<string, string>): RunningExample {
  const child = spawn(process.execPath, [file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
  });
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
    for (const w of waiters) w();
  });
  child.stderr.on('data', (chunk: string) => {
    err += chunk;
  });
  t.teardown(() => {
    if (exitCode === undefined) child.kill('SIGKILL');
    return exited.then(() => undefined);
  });
  return {
    child,
    stdout: () => out,
    waitForLine: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = out.match(pattern);
          if (match === null) return;
          waiters.delete(check);
          resolve(match);
        };
        waiters.add(check);
        check();
        void exited.then((code) => {
          if (!waiters.has(check)) return;
          waiters.delete(check);
          reject(new Error(`${file} exited (${code}) before printing ${pattern}\n${out}\n${err}`));
        });
      }),
    stop: () => {
      if (exitCode === undefined) child.kill('SIGTERM');
      return exited;
    },
  };
}
