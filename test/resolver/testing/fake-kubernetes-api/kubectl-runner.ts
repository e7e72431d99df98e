// Test support: runs the real kubectl against a FakeKubernetesApi with a scratch HOME and kubeconfig.
// Consumes kubectl arguments; produces exit code and output, or a running `--watch` process to read lines from.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeKubernetesApi, KubeconfigOptions } from '@clusterip/resolver/testing';
import type { ExecutionContext } from 'ava';

export interface KubectlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Kubectl {
  run(args: readonly string[], stdin?: string): Promise<KubectlResult>;
  /** Start a long-running kubectl (e.g. `get --watch`); it is killed in teardown. */
  start(args: readonly string[]): KubectlProcess;
  readonly dir: string;
}

export interface KubectlProcess {
  /** Resolve with stdout once it contains a line matching `pattern`. */
  waitForLine(pattern: RegExp): Promise<string>;
  kill(): void;
}

const RUN_LIMIT_MS = 20_000;

/** A kubectl bound to `api` through a generated kubeconfig in a fresh scratch HOME. */
export async function kubectlFor(
  t: ExecutionContext,
  api: FakeKubernetesApi,
  options?: KubeconfigOptions,
): Promise<Kubectl> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-kube-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, api.kubeconfig(options));
  const env = { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfig };
  const spawnKubectl = (args: readonly string[]): ChildProcess => {
    const child = spawn('kubectl', args, { env, cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    // A hung kubectl must not hang the suite.
    const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    limit.unref();
    child.on('exit', () => clearTimeout(limit));
    return child;
  };
  return {
    dir,
    run(args, stdin) {
      return new Promise((resolve, reject) => {
        const child = spawnKubectl(args);
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (c: Buffer) => {
          stdout += c.toString();
        });
        child.stderr?.on('data', (c: Buffer) => {
          stderr += c.toString();
        });
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        child.stdin?.end(stdin);
      });
    },
    start(args) {
      const child = spawnKubectl(args);
      child.stdin?.end();
      let stdout = '';
      let stderr = '';
      const waiters: Array<{ pattern: RegExp; resolve: (s: string) => void; reject: (e: Error) => void }> = [];
      const check = () => {
        for (const w of [...waiters]) {
          if (w.pattern.test(stdout)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(stdout);
          }
        }
      };
      child.stdout?.on('data', (c: Buffer) => {
        stdout += c.toString();
        check();
      });
      child.stderr?.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      child.on('close', () => {
        for (const w of waiters.splice(0)) {
          w.reject(new Error(`kubectl exited before printing ${w.pattern}; stdout: ${stdout}; stderr: ${stderr}`));
        }
      });
      const kill = () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      };
      t.teardown(kill);
      return {
        waitForLine: (pattern) =>
          new Promise((resolve, reject) => {
            waiters.push({ pattern, resolve, reject });
            check();
          }),
        kill,
      };
    },
  };
}
