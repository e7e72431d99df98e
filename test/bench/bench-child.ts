// Benchmark helper: child processes of the HTTP benchmarks, optionally pinned to CPUs (`taskset`) and run
// inside a network namespace (`ip netns exec`). Consumes a command line; produces a child whose
// `@@bench <json>` stdout lines are its messages (no IPC channel: it would not survive `ip netns exec`).

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const MARK = '@@bench ';

/** Where and how a child runs. */
export interface Placement {
  /** Network namespace to run in (`ip netns exec`); the current one when absent. */
  readonly netns?: string | undefined;
  /** CPU list for `taskset -c` (e.g. `'0'`); unpinned when absent. */
  readonly cpus?: string | undefined;
  /** Niceness for `nice -n` (negative needs root); unchanged when absent or 0. */
  readonly nice?: number | undefined;
}

/** A running child: its messages in order, its exit, and an idempotent kill. */
export interface BenchChild {
  readonly process: ChildProcess;
  /** The next `@@bench` message; rejects if the child exits first or `timeoutMs` passes. */
  next<T>(timeoutMs: number): Promise<T>;
  /** Resolves with the exit code (or signal name) once the child has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM (SIGKILL after 2 s), then wait for the exit; the same promise on every call. */
  kill(): Promise<number | string>;
}

/**
 * Send one message to the parent (a `@@bench` line on stdout).
 *
 * @example
 * ```ts
 * sendToParent({ port: 8080 })
 * ```
 */
export function sendToParent(message: unknown, done?: () => void): void {
  process.stdout.write(`${MARK}${JSON.stringify(message)}\n`, done);
}

/**
 * Start `argv` with `placement` applied: `ip netns exec <ns> taskset -c <cpus> nice -n <n> setpriv
 * --pdeathsig TERM <argv…>` (setpriv when util-linux has it). Every wrapper execs the next program, so the child's pid is the program's own. Lines the child prints that are not
 * messages go to this process's stdout; its stderr is inherited; its stdin stays open until it exits
 * (children that serve until the parent is gone exit when stdin ends).
 *
 * @example
 * ```ts
 * const pod = startChild([process.execPath, 'bench-pod.js', '127.0.81.11'], { cpus: '1' })
 * const { port } = await pod.next<{ port: number }>(10_000)
 * await pod.kill()
 * ```
 */
export function startChild(argv: readonly string[], placement: Placement = {}): BenchChild {
  let command = [...argv];
  // A child that outlives a killed parent (HAProxy does not read stdin) gets SIGTERM from the kernel.
  if (canSetDeathSignal()) command = ['setpriv', '--pdeathsig', 'TERM', ...command];
  if (placement.nice !== undefined && placement.nice !== 0)
    command = ['nice', '-n', String(placement.nice), ...command];
  if (placement.cpus !== undefined) command = ['taskset', '-c', placement.cpus, ...command];
  if (placement.netns !== undefined) command = ['ip', 'netns', 'exec', placement.netns, ...command];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin!.on('error', () => {}); // EPIPE once the child is gone
  const queue: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  let exitValue: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    // 'close', not 'exit': by then stdout has ended, so every message line has been read.
    child.once('close', (code, signal) => {
      exitValue = code ?? signal ?? 'unknown';
      resolve(exitValue);
    });
    child.once('error', (err) => {
      exitValue = err.message;
      resolve(exitValue);
    });
  });
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    if (!line.startsWith(MARK)) {
      console.log(line);
      return;
    }
    const message: unknown = JSON.parse(line.slice(MARK.length));
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(message);
    else queue.push(message);
  });
  let killing: Promise<number | string> | undefined;
  return {
    process: child,
    exited,
    next<T>(timeoutMs: number): Promise<T> {
      if (queue.length > 0) return Promise.resolve(queue.shift() as T);
      return new Promise<T>((resolve, reject) => {
        const fail = (why: string) => {
          const i = waiters.indexOf(take);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`${argv.slice(0, 3).join(' ')}: ${why}`));
        };
        const timer = setTimeout(() => fail(`no message within ${timeoutMs} ms`), timeoutMs).unref();
        const take = (m: unknown) => {
          clearTimeout(timer);
          resolve(m as T);
        };
        waiters.push(take);
        void exited.then((code) => {
          if (waiters.includes(take)) {
            clearTimeout(timer);
            fail(`exited (${code}) without a message`);
          }
        });
      });
    },
    kill(): Promise<number | string> {
      killing ??= (async () => {
        if (exitValue === undefined) {
          child.kill('SIGTERM');
          const hard = setTimeout(() => child.kill('SIGKILL'), 2000).unref();
          await exited;
          clearTimeout(hard);
        }
        child.stdin!.destroy();
        return exited;
      })();
      return killing;
    },
  };
}

let setpriv: boolean | undefined;
function canSetDeathSignal(): boolean {
  setpriv ??= hasCommand('setpriv');
  return setpriv;
}

/** Whether `command` runs (`command -v`). */
export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * CPU pinning for a 2-core machine, or why there is none: the client alone on CPU 0, pods and proxy on CPU 1.
 *
 * @example
 * ```ts
 * const pin = cpuPlan(false)
 * if (pin.client === undefined) console.log(pin.why)
 * ```
 */
export function cpuPlan(disabled: boolean): { client?: string; servers?: string; why: string } {
  if (disabled) return { why: 'not pinned (--no-pin)' };
  const cpus = onlineCpus();
  if (cpus.length < 2) return { why: `not pinned: ${cpus.length} CPU online` };
  if (!hasCommand('taskset')) return { why: 'not pinned: taskset (util-linux) not found' };
  return {
    client: String(cpus[0]),
    servers: String(cpus[1]),
    why: `pinned with taskset: client on CPU ${cpus[0]}, pods and proxy on CPU ${cpus[1]}`,
  };
}

function onlineCpus(): number[] {
  try {
    const text = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
    const out: number[] = [];
    for (const part of text.split(',')) {
      const [a, b] = part.split('-').map(Number);
      for (let c = a!; c <= (b ?? a!); c++) out.push(c);
    }
    return out;
  } catch {
    return [];
  }
}

/** User + system CPU time of process `pid` so far, in µs (from `/proc/<pid>/stat`); NaN when unreadable. */
export function processCpuUs(pid: number, ticksPerSecond: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

/** Clock ticks per second for `/proc/<pid>/stat` (`getconf CLK_TCK`), 100 when unknown. */
export function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** `/proc/loadavg`'s three load averages, or `unknown`. */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(', ');
  } catch {
    return 'unknown';
  }
}
