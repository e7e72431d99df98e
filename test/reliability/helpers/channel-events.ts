// Reliability helper: wait for, and count, `clusterip:*` diagnostics_channel messages (how the scenarios
// observe the watch, the balancer and the transports without timing). Consumes channel names; produces
// promises and counters that are unsubscribed in t.teardown.

import diagnosticsChannel from 'node:diagnostics_channel';
import type { ExecutionContext } from 'ava';

/**
 * Resolve with the first message on `name` that satisfies `predicate` (published after this call).
 * The subscription ends at the first match, or in `t.teardown`.
 *
 * @example
 * ```ts
 * const failed = nextMessage<SourceFailureMessage>(t, CHANNEL_NAMES.sourceFailure)
 * await api.restart({ whileDown: () => failed })
 * ```
 */
export function nextMessage<T>(
  t: Pick<ExecutionContext, 'teardown'>,
  name: string,
  predicate: (message: T) => boolean = () => true,
): Promise<T> {
  return new Promise<T>((resolve) => {
    let done = false;
    const listener = (message: unknown) => {
      if (done || !predicate(message as T)) return;
      done = true;
      diagnosticsChannel.unsubscribe(name, listener);
      resolve(message as T);
    };
    diagnosticsChannel.subscribe(name, listener);
    t.teardown(() => {
      if (!done) diagnosticsChannel.unsubscribe(name, listener);
    });
  });
}

/** Messages recorded by {@link recordMessages}. */
export interface MessageLog<T> {
  readonly messages: T[];
  /** Resolves once `predicate` holds for the log (checked now and on every new message). */
  until(predicate: (messages: readonly T[]) => boolean): Promise<void>;
  /** Stop recording (also done in t.teardown). */
  stop(): void;
}

/**
 * Record every message on `name` that passes `filter` until `stop()` or teardown (at most `limit`,
 * default 100,000: the log of a bounded scenario, never unbounded).
 *
 * @example
 * ```ts
 * const ejections = recordMessages<BreakerStateMessage>(t, CHANNEL_NAMES.breakerState, (m) => m.state === 'ejected')
 * await ejections.until((m) => m.length > 0)
 * ```
 */
export function recordMessages<T>(
  t: Pick<ExecutionContext, 'teardown'>,
  name: string,
  filter: (message: T) => boolean = () => true,
  limit = 100_000,
): MessageLog<T> {
  const messages: T[] = [];
  const waiters: { predicate: (m: readonly T[]) => boolean; resolve: () => void }[] = [];
  let stopped = false;
  const listener = (message: unknown) => {
    if (!filter(message as T) || messages.length >= limit) return;
    messages.push(message as T);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.predicate(messages)) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  };
  diagnosticsChannel.subscribe(name, listener);
  const stop = () => {
    if (stopped) return;
    stopped = true;
    diagnosticsChannel.unsubscribe(name, listener);
  };
  t.teardown(stop);
  return {
    messages,
    until: (predicate) =>
      predicate(messages) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ predicate, resolve })),
    stop,
  };
}

/** A live count of messages, from {@link countMessages}. */
export interface MessageCount {
  readonly count: number;
}

/**
 * Count the messages on `name` that pass `filter` until teardown (no message is kept).
 *
 * @example
 * ```ts
 * const retries = countMessages<HttpAttemptEndMessage>(t, CHANNEL_NAMES.httpAttemptEnd, (m) => m.retry)
 * ```
 */
export function countMessages<T>(
  t: Pick<ExecutionContext, 'teardown'>,
  name: string,
  filter: (message: T) => boolean = () => true,
): MessageCount {
  let count = 0;
  const listener = (message: unknown) => {
    if (filter(message as T)) count++;
  };
  diagnosticsChannel.subscribe(name, listener);
  t.teardown(() => {
    diagnosticsChannel.unsubscribe(name, listener);
  });
  return {
    get count() {
      return count;
    },
  };
}
