// Demo (frontend): the steady, bounded request loop — HTTP through `mesh.dispatcher`, gRPC through `kubernetes:`.
// Consumes a Mesh and an EchoClient; produces answers and failures in SceneStats.

import diagnosticsChannel from 'node:diagnostics_channel';
import { setTimeout as delay } from 'node:timers/promises';
import { type BalancerAffinityMessage, CHANNEL_NAMES, type HttpAttemptEndMessage, type Mesh } from '@clusterip/sdk';
import type { EchoClient } from './grpc-echo.js';
import type { SceneStats } from './stats.js';

/** The JSON a `clusterip/echo-http` pod answers (the fields the demo reads). */
export interface EchoAnswer {
  readonly pod?: string;
  readonly zone?: string;
  readonly node?: string;
  readonly downstream?: EchoAnswer;
}

/** Options of {@link Traffic}. */
export interface TrafficOptions {
  readonly mesh: Mesh;
  readonly grpc: EchoClient;
  readonly stats: SceneStats;
  /** Services the frontend calls directly (`backend-service`, ...): the SDK events of other routes are the pods'. */
  readonly frontendServices: readonly string[];
  /** Total requests per second to aim at (HTTP and gRPC together). */
  readonly rate: number;
  /** Concurrent HTTP workers (one more for gRPC). */
  readonly concurrency: number;
  /** Hard bounds: the loop stops after this many requests or this long, whatever the scenes do. */
  readonly maxRequests: number;
  readonly maxMs: number;
}

/**
 * The request loop. `setTargets()` chooses which Services HTTP requests go to (round-robin over the list);
 * `stop()` ends it (idempotent, the same promise) once in-flight requests finished.
 *
 * @example
 * ```ts
 * const traffic = new Traffic({ mesh, grpc, stats, frontendServices: ['backend-service'], rate: 200,
 *   concurrency: 4, maxRequests: 100_000, maxMs: 120_000 })
 * traffic.start()
 * await stats.after(100, signal)
 * await traffic.stop()
 * ```
 */
export class Traffic {
  readonly #o: TrafficOptions;
  #targets: readonly string[] = ['backend-service'];
  #next = 0;
  #issued = 0;
  #t0 = 0;
  #deadline = 0;
  #workers: Promise<void>[] = [];
  #stopping: Promise<void> | undefined;
  readonly #abort = new AbortController();
  readonly #onAttemptEnd: (message: unknown) => void;
  readonly #onAffinity: (message: unknown) => void;

  constructor(options: TrafficOptions) {
    this.#o = options;
    const direct = (service: string | undefined) => service !== undefined && options.frontendServices.includes(service);
    this.#onAttemptEnd = (message) => {
      const m = message as HttpAttemptEndMessage;
      if (!m.retry) return;
      const name = m.attempt.request.name;
      // Attempts of the pods' own meshes (embedded cluster: same process) are the database tier's.
      const target = direct(name) ? (name as string) : (name ?? 'database');
      options.stats.retried(target, m.attempt.endpoint.targetRef?.name);
    };
    this.#onAffinity = (message) => {
      const m = message as BalancerAffinityMessage;
      if (direct(m.service.split('.')[0])) options.stats.affinity(m.hit);
    };
  }

  /** HTTP requests go round-robin to these Services (names as the frontend writes them in URLs). */
  setTargets(targets: readonly string[]): void {
    this.#targets = targets.length === 0 ? ['backend-service'] : [...targets];
  }

  start(): void {
    if (this.#workers.length > 0 || this.#stopping !== undefined) return;
    diagnosticsChannel.subscribe(CHANNEL_NAMES.httpAttemptEnd, this.#onAttemptEnd);
    diagnosticsChannel.subscribe(CHANNEL_NAMES.balancerAffinity, this.#onAffinity);
    this.#t0 = performance.now();
    this.#deadline = this.#t0 + this.#o.maxMs;
    for (let i = 0; i < this.#o.concurrency; i++) this.#workers.push(this.#loop(() => this.#http()));
    this.#workers.push(this.#loop(() => this.#grpc()));
  }

  /** True while the loop may still send (not stopped, within its bounds). */
  get running(): boolean {
    return this.#stopping === undefined && this.#issued < this.#o.maxRequests && performance.now() < this.#deadline;
  }

  async #loop(send: () => Promise<void>): Promise<void> {
    const interval = 1000 / this.#o.rate;
    while (this.running) {
      // Pace to the rate: every request claims the next slot of a shared schedule.
      const slot = this.#t0 + this.#issued * interval;
      this.#issued++;
      const wait = slot - performance.now();
      if (wait > 1) {
        try {
          await delay(wait, undefined, { ref: false, signal: this.#abort.signal });
        } catch {
          return;
        }
      }
      if (this.#stopping !== undefined) return;
      await send();
    }
  }

  async #http(): Promise<void> {
    const target = this.#targets[this.#next++ % this.#targets.length] ?? 'backend-service';
    const started = performance.now();
    try {
      const res = await this.#o.mesh.dispatcher.request({
        origin: `http://${target}`,
        path: '/',
        method: 'GET',
        headersTimeout: 5000,
        bodyTimeout: 5000,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`http ${res.statusCode}: ${text.slice(0, 120)}`);
      const answer = JSON.parse(text) as EchoAnswer;
      const down = answer.downstream?.pod;
      this.#o.stats.answered(
        target,
        answer.pod ?? '?',
        performance.now() - started,
        down === undefined ? undefined : { target: 'database', pod: down },
      );
    } catch (error) {
      this.#o.stats.failed(target, error);
    }
  }

  async #grpc(): Promise<void> {
    const started = performance.now();
    try {
      const answer = await this.#o.grpc.echo({ from: 'frontend' }, 5000);
      this.#o.stats.answered('backend-grpc', answer.pod ?? '?', performance.now() - started);
    } catch (error) {
      this.#o.stats.failed('backend-grpc', error);
    }
  }

  /** Stop sending; resolves when every in-flight request ended. Idempotent: the same promise. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#abort.abort();
      await Promise.all(this.#workers);
      diagnosticsChannel.unsubscribe(CHANNEL_NAMES.httpAttemptEnd, this.#onAttemptEnd);
      diagnosticsChannel.unsubscribe(CHANNEL_NAMES.balancerAffinity, this.#onAffinity);
    })();
    return this.#stopping;
  }
}
