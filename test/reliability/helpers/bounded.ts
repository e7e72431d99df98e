// Reliability helper: a bound on how long a scenario step may wait for an event, so that a regression
// fails the step with its name instead of hanging the run. Consumes a promise; produces the same promise
// or a rejection naming the step. Not a synchronisation device: the step still waits for its event.

/**
 * Resolve as `promise` does, or reject after `ms` with an error naming `what`. The timer is unref'd
 * and cleared as soon as the promise settles.
 *
 * @example
 * ```ts
 * await bounded(routeChanged, 10_000, 'the mesh stops routing to the old pod')
 * ```
 */
export function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`step not reached within ${ms} ms: ${what}`)), ms);
    timer.unref();
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}
