// Reliability helper: every snapshot a Resolver watch delivers for one target, kept for assertions
// (staleness reported, the last good set served, recovery). Consumes a Resolver; produces a log.

import type { Resolver, ServiceSnapshot } from '@clusterip/resolver';
import type { ExecutionContext } from 'ava';

/** Snapshots of one target, oldest first. */
export interface SnapshotLog {
  readonly snapshots: readonly ServiceSnapshot[];
  readonly current: ServiceSnapshot | undefined;
  /** Resolves with the first snapshot (the current one included) that satisfies `predicate`. */
  until(predicate: (s: ServiceSnapshot) => boolean): Promise<ServiceSnapshot>;
}

/** Ready endpoints of a snapshot. */
export const readyCount = (s: ServiceSnapshot): number => s.endpoints.filter((e) => e.conditions.ready).length;

/**
 * Watch `target` on `resolver` and log every snapshot (at most `limit`, default 10,000) until teardown.
 *
 * @example
 * ```ts
 * const log = watchSnapshots(t, resolver, 'web:80')
 * const stale = await log.until((s) => s.stale)
 * ```
 */
export function watchSnapshots(
  t: Pick<ExecutionContext, 'teardown'>,
  resolver: Resolver,
  target: string,
  limit = 10_000,
): SnapshotLog {
  const snapshots: ServiceSnapshot[] = [];
  const waiters: { predicate: (s: ServiceSnapshot) => boolean; resolve: (s: ServiceSnapshot) => void }[] = [];
  let current: ServiceSnapshot | undefined;
  const watch = resolver.watch(target, (s) => {
    current = s;
    if (snapshots.length < limit) snapshots.push(s);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.predicate(s)) {
        waiters.splice(i, 1);
        w.resolve(s);
      }
    }
  });
  t.teardown(() => watch.close());
  return {
    snapshots,
    get current() {
      return current;
    },
    until: (predicate) =>
      current !== undefined && predicate(current)
        ? Promise.resolve(current)
        : new Promise<ServiceSnapshot>((resolve) => waiters.push({ predicate, resolve })),
  };
}
