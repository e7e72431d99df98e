// Internal: jittered exponential backoff for retry loops (Kubernetes watch reconnects, DNS retries).
// Consumes failure notifications and the injected clock/random; produces the next delay in milliseconds.

import { InvalidArgumentError } from '../errors/invalid-argument-error.js';

/** Options of {@link Backoff}; every field is optional and defaults to client-go's reflector values. */
export interface BackoffOptions {
  /** First delay. Default 800 ms (client-go `reflector.go`). */
  readonly initialMs?: number;
  /** Upper bound of the un-jittered delay. Default 30 000 ms. */
  readonly maxMs?: number;
  /** Growth factor per consecutive failure. Default 2. */
  readonly factor?: number;
  /** Extra random fraction added on top: delay × (1 + jitter × random()). Default 1.0. */
  readonly jitter?: number;
  /** After this long without a failure the delay starts again from `initialMs`. Default 120 000 ms. */
  readonly resetAfterMs?: number;
}

/** Fully defaulted, frozen backoff settings. */
export interface BackoffConfig {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly resetAfterMs: number;
}

const BACKOFF_KEYS = new Set(['initialMs', 'maxMs', 'factor', 'jitter', 'resetAfterMs']);

/**
 * Validate and default backoff options; `path` names the option in error messages.
 *
 * @example
 * ```ts
 * const config = resolveBackoffOptions({ initialMs: 10 }, 'backoff')
 * ```
 */
export function resolveBackoffOptions(options: BackoffOptions | undefined, path: string): BackoffConfig {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(path, `${path} must be an object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!BACKOFF_KEYS.has(key)) {
      throw new InvalidArgumentError(`${path}.${key}`, `${path}: unexpected option ${JSON.stringify(key)}`);
    }
  }
  const num = (key: keyof BackoffOptions, def: number, min: number): number => {
    const v = options[key];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
      throw new InvalidArgumentError(`${path}.${key}`, `${path}.${key} must be a number >= ${min}, got ${String(v)}`);
    }
    return v;
  };
  const initialMs = num('initialMs', 800, 0);
  const maxMs = num('maxMs', Math.max(30_000, initialMs), initialMs);
  return Object.freeze({
    initialMs,
    maxMs,
    factor: num('factor', 2, 1),
    jitter: num('jitter', 1, 0),
    resetAfterMs: num('resetAfterMs', 120_000, 0),
  });
}

/**
 * Exponential backoff with jitter, reset after a healthy period (client-go's
 * `NewExponentialBackoffManager(800ms, 30s, 2min, 2.0, 1.0)`).
 *
 * @example
 * ```ts
 * const backoff = new Backoff(resolveBackoffOptions(undefined, 'backoff'), Date.now, Math.random)
 * const delayMs = backoff.next() // 800..1600 the first time
 * ```
 */
export class Backoff {
  readonly #config: BackoffConfig;
  readonly #now: () => number;
  readonly #random: () => number;
  #current: number;
  #lastAt = Number.NEGATIVE_INFINITY;

  constructor(config: BackoffConfig, now: () => number, random: () => number) {
    this.#config = config;
    this.#now = now;
    this.#random = random;
    this.#current = config.initialMs;
  }

  /** Delay to wait before the next attempt, after a failure. */
  next(): number {
    const now = this.#now();
    if (now - this.#lastAt >= this.#config.resetAfterMs) this.#current = this.#config.initialMs;
    this.#lastAt = now;
    const base = this.#current;
    this.#current = Math.min(this.#config.maxMs, base * this.#config.factor);
    return base * (1 + this.#config.jitter * this.#random());
  }

  /** Start again from the initial delay (e.g. after a successful, productive attempt). */
  reset(): void {
    this.#current = this.#config.initialMs;
    this.#lastAt = Number.NEGATIVE_INFINITY;
  }
}
