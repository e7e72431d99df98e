// Demo (frontend's view): the demo's Services' endpoints as the frontend's resolver watches them.
// Consumes Resolver watches; produces the live table's pod rows and event-driven waits on endpoint sets.

import type { Endpoint, Resolver, ServiceSnapshot, ServiceWatch } from '@clusterip/resolver';

/** How one pod stands, as its Service's EndpointSlices say. */
export interface PodView {
  readonly name: string;
  /** The Service (target) it was seen behind, e.g. `backend-service`. */
  readonly service: string;
  readonly address: string;
  readonly zone: string | undefined;
  readonly node: string | undefined;
  readonly state: 'ready' | 'terminating' | 'not ready' | 'gone';
}

function stateOf(e: Endpoint): PodView['state'] {
  if (e.conditions.ready) return 'ready';
  return e.conditions.terminating ? 'terminating' : 'not ready';
}

/**
 * Watches `targets` (e.g. `backend-service:http`) and keeps one row per pod. `until()` resolves when a
 * target's snapshot satisfies a predicate. `close()` stops every watch (idempotent, the same promise).
 *
 * @example
 * ```ts
 * const view = new EndpointView(mesh.resolver, ['backend-service:http'])
 * await view.until('backend-service:http', (s) => s.endpoints.length === 5, signal)
 * ```
 */
export class EndpointView {
  readonly #watches: ServiceWatch[] = [];
  readonly #latest = new Map<string, ServiceSnapshot>();
  readonly #pods = new Map<string, PodView>();
  readonly #waiters = new Set<() => void>();
  #closing: Promise<void> | undefined;

  constructor(resolver: Resolver, targets: readonly string[]) {
    for (const target of targets) {
      const service = target.split(':')[0] ?? target;
      this.#watches.push(
        resolver.watch(target, (snapshot) => {
          if (this.#closing !== undefined) return;
          this.#latest.set(target, snapshot);
          const seen = new Set<string>();
          for (const e of snapshot.endpoints) {
            const name = e.targetRef?.name ?? e.address;
            seen.add(name);
            this.#pods.set(name, {
              name,
              service,
              address: `${e.address}:${e.port}`,
              zone: e.zone,
              node: e.nodeName,
              state: stateOf(e),
            });
          }
          for (const [name, pod] of this.#pods) {
            if (pod.service === service && !seen.has(name) && pod.state !== 'gone') {
              this.#pods.set(name, { ...pod, state: 'gone' });
            }
          }
          for (const wake of [...this.#waiters]) wake();
        }),
      );
    }
  }

  /** Resolves when every target has delivered its first snapshot. */
  async ready(): Promise<void> {
    await Promise.all(this.#watches.map((w) => w.ready));
  }

  /** The latest snapshot of `target`, if any. */
  snapshot(target: string): ServiceSnapshot | undefined {
    return this.#latest.get(target);
  }

  /** Every pod seen, gone ones included (until `forgetGone()`). */
  pods(): PodView[] {
    return [...this.#pods.values()];
  }

  /** Drop the rows of pods that are gone (a new scene starts). */
  forgetGone(): void {
    for (const [name, pod] of this.#pods) if (pod.state === 'gone') this.#pods.delete(name);
  }

  /** The row of one pod. */
  pod(name: string): PodView | undefined {
    return this.#pods.get(name);
  }

  /**
   * Resolves with the first snapshot of `target` (the current one included) for which `check` holds;
   * rejects with the signal's reason when it aborts first.
   */
  until(target: string, check: (snapshot: ServiceSnapshot) => boolean, signal: AbortSignal): Promise<ServiceSnapshot> {
    return new Promise((resolve, reject) => {
      const test = () => {
        const s = this.#latest.get(target);
        if (s !== undefined && check(s)) {
          finish();
          resolve(s);
        }
      };
      const onAbort = () => {
        finish();
        reject(signal.reason);
      };
      const finish = () => {
        this.#waiters.delete(test);
        signal.removeEventListener('abort', onAbort);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(test);
      test();
    });
  }

  /** Stop every watch. Idempotent: the same promise. No listener runs after it resolves. */
  close(): Promise<void> {
    this.#closing ??= Promise.all(this.#watches.map((w) => w.close())).then(() => {
      this.#waiters.clear();
    });
    return this.#closing;
  }
}
