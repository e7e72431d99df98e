// Benchmark helper: formatting, garbage collection and child-process plumbing shared by the gRPC
// comparison, propagation, scale and HTTP benchmarks (statistics: bench-stats; machine load: bench-child). Consumes samples and child scripts; produces summaries and IPC replies.

import { type ChildProcess, fork } from 'node:child_process';
import { StaticSource } from '@clusterip/resolver/testing';
import { Mesh, type MeshOptions } from '@clusterip/sdk';

/** `a ÷ b` as `1.23×`, or `–` when either is not a number. */
export function ratio(a: number, b: number, digits = 2): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(digits)}×` : '–';
}

/** Milliseconds, with µs below 1 ms and s above 10 s. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
}

/** Bytes as B / KiB / MiB. */
export function fmtBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '–';
  const abs = Math.abs(bytes);
  if (abs < 4096) return `${bytes.toFixed(0)} B`;
  if (abs < 4 * 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Full `global.gc()` twice (finalizers), when the process runs with `--expose-gc`. */
export function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  gc();
  gc();
  return true;
}

/** A forked child that answered its first IPC message. */
export interface StartedChild<M> {
  readonly child: ChildProcess;
  /** The first message the child sent (its ports, usually). */
  readonly first: M;
  /** Kill the child (SIGTERM, then SIGKILL after 2 s) and wait for its exit. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Fork `script` with `args` and wait for its first IPC message (at most `timeoutMs`). The child runs with
 * `--conditions=clusterip-internal` and the extra `execArgv`; its stdout/stderr go to ours.
 */
export async function startChild<M>(
  script: string,
  args: readonly string[],
  options: { execArgv?: readonly string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<StartedChild<M>> {
  const child = fork(script, [...args], {
    execArgv: ['--conditions=clusterip-internal', ...(options.execArgv ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        timer.unref();
        await exited;
        clearTimeout(timer);
      }
    })();
    return stopping;
  };
  try {
    const first = await new Promise<M>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${args.join(' ')}: no message within ${options.timeoutMs ?? 20_000} ms`)),
        options.timeoutMs ?? 20_000,
      );
      timer.unref();
      child.once('message', (m) => {
        clearTimeout(timer);
        resolve(m as M);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${args.join(' ')}: exited with ${code ?? signal} before its first message`));
      });
    });
    return { child, first, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Run a child to completion: its one IPC message is the result. Killed after `timeoutMs`. */
export async function runChild<M>(
  script: string,
  args: readonly string[],
  options: { execArgv?: readonly string[]; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<M> {
  const started = await startChild<M>(script, args, options);
  await new Promise<void>((resolve) => {
    if (started.child.exitCode !== null || started.child.signalCode !== null) resolve();
    else started.child.once('exit', () => resolve());
  });
  return started.first;
}

/**
 * A request/response channel to a child over IPC: `call(op, arg)` sends `{ id, op, arg }` and resolves with
 * the child's `{ id, result }` (or rejects with its `{ id, error }`).
 */
export function rpc(child: ChildProcess): <R>(op: string, arg?: unknown) => Promise<R> {
  let next = 0;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  child.on('message', (m) => {
    const msg = m as { id?: number; result?: unknown; error?: string };
    if (msg.id === undefined) return;
    const p = pending.get(msg.id);
    if (p === undefined) return;
    pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve(msg.result);
  });
  child.once('exit', () => {
    for (const p of pending.values()) p.reject(new Error('child exited'));
    pending.clear();
  });
  return <R>(op: string, arg?: unknown) =>
    new Promise<R>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, op, arg });
    });
}

/** Serve `rpc()` calls in a child: `handlers[op](arg)`; exits when the parent disconnects. */
export function serveRpc(handlers: Readonly<Record<string, (arg: unknown) => unknown>>): void {
  process.on('message', (m) => {
    const msg = m as { id: number; op: string; arg: unknown };
    const handler = handlers[msg.op];
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown op ${msg.op}`);
        return handler(msg.arg);
      })
      .then(
        (result) => process.send?.({ id: msg.id, result }),
        (err: unknown) => process.send?.({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

/** A Mesh routing `http://backend.bench/` (Service port 80, named `http`) to `endpoints`; close() closes it and its source. */
export function benchMesh(
  endpoints: readonly { readonly address: string; readonly port: number }[],
  options: Omit<MeshOptions, 'source' | 'context'> = {},
): { readonly mesh: Mesh; close(): Promise<void> } {
  const source = new StaticSource([
    {
      namespace: 'bench',
      name: 'backend',
      ports: [{ name: 'http', port: 80 }],
      endpoints: endpoints.map((e) => ({ address: e.address, ports: { http: e.port } })),
    },
  ]);
  const mesh = new Mesh({ source, context: { namespace: 'bench', resolvConf: '', env: {} }, ...options });
  return {
    mesh,
    close: async () => {
      await mesh.close();
      await source.close();
    },
  };
}
