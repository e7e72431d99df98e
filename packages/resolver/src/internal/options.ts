// Internal: small validators shared by the option parsers of the resolver package.
// Consumes an options record and a key; produces the validated value or an InvalidArgumentError.

import { InvalidArgumentError } from '../errors/invalid-argument-error.js';

/** An integer option in [min, max], or `fallback` when absent; the error names the option. */
export function integerOption(options: object, key: string, fallback: number, min: number, max: number): number {
  const value = (options as Record<string, unknown>)[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(key, `${key} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** A function option, or `fallback` when absent; the error names the option. */
export function functionOption<T>(options: object, key: string, fallback: T): T {
  const value = (options as Record<string, unknown>)[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'function')
    throw new InvalidArgumentError(key, `${key} must be a function, got ${typeof value}`);
  return value as T;
}
