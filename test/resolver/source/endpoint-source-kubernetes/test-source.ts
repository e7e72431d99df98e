// Test helper: a KubernetesSource for one ava test — fast retries, no idle delay — closed in t.teardown.
// Consumes the API server's URL and option overrides; produces the source.

import { KubernetesSource, type KubernetesSourceOptions } from '@clusterip/resolver';
import type { ExecutionContext } from 'ava';

/**
 * A source on `server` with backoff 5 → 20 ms without jitter, a 2 s request timeout and watches closed as
 * soon as their last watcher leaves; `extra` overrides any of it.
 *
 * @example
 * ```ts
 * const src = testSource(t, api.url, { namespaceWatchServices: 1 })
 * ```
 */
export function testSource(
  t: ExecutionContext,
  server: string,
  extra: Partial<KubernetesSourceOptions> = {},
): KubernetesSource {
  const s = new KubernetesSource({
    server,
    backoff: { initialMs: 5, maxMs: 20, jitter: 0 },
    requestTimeoutMs: 2000,
    idleTimeoutMs: 0,
    ...extra,
  });
  t.teardown(() => s.close());
  return s;
}
