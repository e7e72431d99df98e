// Internal: the injectable monotonic clock every time-based decision (affinity, ejection, EWMA) reads.

/** Milliseconds on a monotonic clock; only differences are meaningful. */
export type Clock = () => number;

/**
 * The default clock: `performance.now()`, which never jumps with wall-clock changes (an NTP step
 * must not expire every affinity entry at once).
 */
export const monotonicClock: Clock = () => performance.now();
