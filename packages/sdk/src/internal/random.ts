// Internal: the injectable random source of every picker, and a seeded generator for tests and benchmarks.

/** Uniform random number in `[0, 1)`, like `Math.random`. */
export type Random = () => number;

/** The default random source. */
export const defaultRandom: Random = Math.random;

/**
 * A small, fast, seeded generator (mulberry32) so tests and benchmarks are reproducible.
 * Not for anything security-related.
 *
 * @example
 * ```ts
 * const random = seededRandom(42)
 * random() // 0.6011037519201636, always
 * ```
 */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
