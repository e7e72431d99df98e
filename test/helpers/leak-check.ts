// Test helper: what a long-lived object leaves behind after close(): active handles (as
// process.getActiveResourcesInfo() lists them) and the timers/sockets it created, unref'd ones included.

import { createHook } from 'node:async_hooks';

/** Counts of `process.getActiveResourcesInfo()` by resource name (`TCPSocketWrap`, `Timeout`, ...). */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

/** Resource kinds whose count went up between `before` and `after`, as `kind: before → after`. */
export function grownResources(before: Map<string, number>, after: Map<string, number>): string[] {
  const grown: string[] = [];
  for (const [kind, n] of after) {
    const was = before.get(kind) ?? 0;
    if (n > was) grown.push(`${kind}: ${was} → ${n}`);
  }
  return grown;
}

/** Async resources created while a tracker was on and not destroyed yet. */
export interface ResourceTracker {
  /** Live tracked resources by async type (`Timeout`, `TCPWRAP`, `TLSWRAP`, ...). */
  live(): Map<string, number>;
  /** Where each live resource was created (stack traces), for failure messages. */
  origins(): string[];
  /** Stop tracking (disables the hook). Idempotent. */
  stop(): void;
}

/**
 * Process-wide clocks that are not owned by any object under test, unref'd, and stop by themselves:
 * - undici's shared "fast timer" (`lib/util/timers.js`, and the copy bundled in Node behind the global
 *   `fetch`): one tick per second for every undici client of the process, it stops one tick after its
 *   last timer was cleared;
 * - node:http's cached `Date` header (`_http_outgoing` `utcDate`) and node:http2's (`internal/http`),
 *   reset once a second.
 */
const SHARED_CLOCKS = [
  /undici\/lib\/util\/timers\.js/,
  /node:internal\/deps\/undici\/undici/,
  /node:_http_outgoing/,
  /\(node:internal\/http:\d+/,
];

/**
 * Record every async resource of `types` created from now on, and forget it when it is destroyed.
 * Unlike `getActiveResourcesInfo()`, this also sees unref'd timers, which keep objects alive
 * without keeping the process alive. Destroy notifications arrive a few event-loop turns after a
 * timer is cleared or a socket closed: wait with {@link settle}. Resources created by
 * {@link SHARED_CLOCKS} are left out.
 *
 * @example
 * ```ts
 * const tracker = trackResources()
 * const source = new DnsSource(); ...; await source.close()
 * await settle(() => tracker.live().size === 0)
 * ```
 */
export function trackResources(
  types: readonly string[] = ['Timeout', 'TCPWRAP', 'TLSWRAP', 'UDPWRAP'],
): ResourceTracker {
  const wanted = new Set(types);
  const live = new Map<number, { type: string; stack: string }>();
  const hook = createHook({
    init(asyncId, type) {
      if (!wanted.has(type)) return;
      const stack = new Error(type).stack ?? '';
      if (SHARED_CLOCKS.some((re) => re.test(stack))) return;
      live.set(asyncId, { type, stack });
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
  return {
    live() {
      const counts = new Map<string, number>();
      for (const { type } of live.values()) counts.set(type, (counts.get(type) ?? 0) + 1);
      return counts;
    },
    origins() {
      return [...live.values()].map((r) => r.stack);
    },
    stop() {
      hook.disable();
    },
  };
}

/**
 * Let the event loop turn (setImmediate, never a timer) until `done()` holds or `maxTurns` passed:
 * closed sockets and cleared timers report their end in callbacks a few turns later.
 * Resolves with the final `done()` value.
 */
export async function settle(done: () => boolean, maxTurns = 2000): Promise<boolean> {
  for (let i = 0; i < maxTurns && !done(); i++) await new Promise<void>((resolve) => setImmediate(resolve));
  return done();
}
