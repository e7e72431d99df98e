// Internal: injectable timer functions shared by every retry, refresh and idle loop of the sources.
// Consumes nothing; produces the `Timers` interface, its validated default, and `unrefTimer`.

import { InvalidArgumentError } from '../errors/invalid-argument-error.js';

/**
 * Timer functions, injectable so tests control time. Handles that have an `unref()` method get it
 * called (see {@link unrefTimer}), so no timer of ours keeps a process alive.
 */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The global timers. */
export const DEFAULT_TIMERS: Timers = Object.freeze({
  setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms),
  clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
});

/** Call `unref()` on a timer handle when it has one; returns the handle. */
export function unrefTimer<T>(handle: T): T {
  (handle as { unref?: () => void } | null)?.unref?.();
  return handle;
}

/** Validate a `timers` option (`subject` prefixes the message); default the global timers. */
export function resolveTimers(value: unknown, subject: string): Timers {
  if (value === undefined) return DEFAULT_TIMERS;
  const t = value as Partial<Timers> | null;
  if (
    typeof t !== 'object' ||
    t === null ||
    typeof t.setTimeout !== 'function' ||
    typeof t.clearTimeout !== 'function'
  ) {
    throw new InvalidArgumentError('timers', `${subject}: timers must be { setTimeout, clearTimeout }`);
  }
  return t as Timers;
}
