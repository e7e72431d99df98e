// Internal: the injectable monotonic clock every time-based decision (affinity, ejection, EWMA) reads.

import { performance } from 'node:perf_hooks';

/** Milliseconds on a monotonic clock; only differences are meaningful. */
export type Clock = () => number;

/**
 * The default clock: `performance.now()`, which never jumps with wall-clock changes (an NTP step
 * must not expire every affinity entry at once). `performance` is imported, not the global: on Node 20
 * the global is a lazy accessor whose getter runs on every read, and the clock is read per request.
 */
export const monotonicClock: Clock = () => performance.now();
