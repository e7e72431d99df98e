// Errors: the base class every error thrown or reported by @clusterip packages extends.
// Consumes nothing; produces the brand and `code` that callers match on.

const kClusterIPError = Symbol.for('clusterip.error');

/** Options accepted by every {@link ClusterIPError} constructor. */
export interface ClusterIPErrorOptions {
  /** The lower-level error this one wraps. */
  readonly cause?: unknown;
}

/**
 * Base class of every error raised by ClusterIP in-process.
 *
 * Match on {@link ClusterIPError.code} (a stable `CLUSTERIP_ERR_*` string), not on the message.
 * `instanceof ClusterIPError` works across two installed copies of the packages, because it checks
 * a global brand (`Symbol.for('clusterip.error')`) instead of the prototype chain.
 *
 * @example
 * ```ts
 * try {
 *   await resolver.resolve('web.shop')
 * } catch (err) {
 *   if (isClusterIPError(err) && err.code === 'CLUSTERIP_ERR_SERVICE_NOT_FOUND') {
 *     // the name does not denote a Service from this namespace
 *   }
 * }
 * ```
 */
export class ClusterIPError extends Error {
  /** Stable machine-readable code, `CLUSTERIP_ERR_*`. */
  readonly code: string = 'CLUSTERIP_ERR';

  constructor(message: string, options?: ClusterIPErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClusterIPError';
  }

  // `this` is the class `instanceof` was called on: brand-check only for the base class, so
  // subclasses keep plain prototype semantics.
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: the receiver is the subject of the check
    if (this === ClusterIPError) {
      return (value as { [kClusterIPError]?: unknown } | null | undefined)?.[kClusterIPError] === true;
    }
    // biome-ignore lint/complexity/noThisInStatic: the receiver is the subject of the check
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  get [kClusterIPError](): true {
    return true;
  }
}

/**
 * True when `value` is an error raised by any copy of the @clusterip packages.
 *
 * @example
 * ```ts
 * if (isClusterIPError(err)) console.error(err.code)
 * ```
 */
export function isClusterIPError(value: unknown): value is ClusterIPError {
  return value instanceof ClusterIPError;
}
