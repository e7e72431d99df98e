// Internal: strict option validation helpers (unknown keys rejected, option path named in every error).
// Consumes raw user options; produces values or throws InvalidArgumentError.

import { InvalidArgumentError } from '@clusterip/resolver';

/** Throws unless `value` is a plain object; returns it typed as a record. */
export function asRecord(path: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(path, `${path} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Throws for any key of `value` that is not in `allowed`, naming the full path. A key found in `renamed`
 * (another library's name for one of ours, e.g. undici's `headersTimeout`) names the option to use instead.
 */
export function rejectUnknownKeys(
  path: string,
  value: Record<string, unknown>,
  allowed: readonly string[],
  renamed?: Readonly<Record<string, string>>,
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const where = path === '' ? key : `${path}.${key}`;
      const instead = renamed !== undefined && Object.hasOwn(renamed, key) ? renamed[key] : undefined;
      throw new InvalidArgumentError(
        where,
        instead === undefined
          ? `${where}: unexpected option (known: ${allowed.join(', ')})`
          : `${where}: unexpected option, use ${instead} instead`,
      );
    }
  }
}

/** An integer in `[min, max]`, or `fallback` when undefined. */
export function integerIn(path: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(path, `${path} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** A finite number in `[min, max]`, or `fallback` when undefined. */
export function numberIn(path: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidArgumentError(path, `${path} must be a number from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** A function, or `fallback` when undefined. */
export function functionOr<T>(path: string, value: unknown, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') {
    throw new InvalidArgumentError(path, `${path} must be a function, got ${describe(value)}`);
  }
  return value as T;
}

/** One of `choices`, or `fallback` when undefined. */
export function oneOf<T extends string>(path: string, value: unknown, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(path, `${path} must be one of ${choices.join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** A non-empty string, or `fallback` when undefined. */
export function stringOr(path: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError(path, `${path} must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/** Short, safe rendering of an offending value for messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
