// ⑤ Eligible endpoints: the opossum adapter (the only file that imports opossum). A per-Service breaker
// around whole logical calls (attempts and retries included) that fails fast when the Service keeps failing.
//
// Why per-Service and not per-endpoint: opossum executes the call itself (`fire`) and cannot be told
// about outcomes it did not run, which is how picks report (`done()`); per-endpoint ejection is the
// light ejector in outlier-detection.ts. Around a whole call, opossum fits: it owns the admission
// decision, the rolling window and the half-open trial. Percentiles and snapshots are disabled (their
// cost grows with every failure, research/apis.md §3.4), `timeout` is off (undici/gRPC deadlines
// bound the call), and `close()` calls `shutdown()` so no interval or listener outlives the breaker.

import type { EventEmitter } from 'node:events';
import { ClosedError, InvalidArgumentError, isClusterIPError } from '@clusterip/resolver';
import CircuitBreaker from 'opossum';
import { CircuitOpenError } from '../errors/circuit-open-error.js';
import { asRecord, describe, functionOr, integerIn, rejectUnknownKeys, stringOr } from '../internal/options.js';
import { classify } from './classify.js';

/** Options of {@link createServiceBreaker}. */
export interface ServiceBreakerOptions {
  /** Label used in errors, e.g. `web.shop:http`. Default `service`. */
  readonly service?: string;
  /** Open when more than this percentage of calls in the window failed. Default 50. */
  readonly errorThresholdPercent?: number;
  /** Never open before this many calls were seen in the window. Default 20. */
  readonly volumeThreshold?: number;
  /** Open → half-open after this long; one trial call then decides. Default 10000. */
  readonly resetTimeoutMs?: number;
  /** Rolling window length. Default 10000. */
  readonly rollingWindowMs?: number;
  /** Buckets of the rolling window. Default 10. */
  readonly rollingBuckets?: number;
  /**
   * Which rejections count against the Service. Default: what {@link classify} calls a failure for an
   * `error` outcome (aborts do not count).
   */
  readonly isFailure?: (error: unknown) => boolean;
  /**
   * Drives bucket rotation instead of a per-breaker interval: emit `'rotate'` on it. Share one among
   * many breakers, or use it in tests for a deterministic window.
   */
  readonly rotateBucketController?: EventEmitter;
  /**
   * Called synchronously on every state change (open, half-open, closed), for telemetry. Exceptions it
   * throws are swallowed. Never called after `close()`.
   */
  readonly onStateChange?: (state: ServiceBreakerState) => void;
}

/** @internal The window and thresholds of a Service breaker, validated and defaulted. */
export interface BreakerSettings {
  readonly errorThresholdPercent: number;
  readonly volumeThreshold: number;
  readonly resetTimeoutMs: number;
  readonly rollingWindowMs: number;
  readonly rollingBuckets: number;
}

/** @internal The options that make up {@link BreakerSettings}. */
export const BREAKER_SETTING_KEYS = [
  'errorThresholdPercent',
  'volumeThreshold',
  'resetTimeoutMs',
  'rollingWindowMs',
  'rollingBuckets',
] as const;

/**
 * @internal Validate the breaker settings of `o` (other keys are the caller's business), each missing one
 * taken from `base` or the default. Shared by {@link createServiceBreaker} and the Mesh's `circuitBreaker`.
 *
 * @example
 * ```ts
 * breakerSettings('circuitBreaker', { resetTimeoutMs: 5000 }, undefined).volumeThreshold // 20
 * ```
 */
export function breakerSettings(
  prefix: string,
  o: Readonly<Record<string, unknown>>,
  base: BreakerSettings | undefined,
): BreakerSettings {
  const at = (key: string) => (prefix === '' ? key : `${prefix}.${key}`);
  const rollingWindowMs = integerIn(
    at('rollingWindowMs'),
    o.rollingWindowMs,
    1,
    86_400_000,
    base?.rollingWindowMs ?? 10_000,
  );
  const rollingBuckets = integerIn(at('rollingBuckets'), o.rollingBuckets, 1, 1000, base?.rollingBuckets ?? 10);
  // opossum rotates a bucket every floor(window / buckets) ms: 0 would be a timer firing back to back.
  if (rollingWindowMs < rollingBuckets) {
    throw new InvalidArgumentError(
      at('rollingBuckets'),
      `${at('rollingBuckets')} (${rollingBuckets}) must not exceed ${at('rollingWindowMs')} (${rollingWindowMs}): each bucket spans at least 1 ms`,
    );
  }
  return Object.freeze({
    errorThresholdPercent: integerIn(
      at('errorThresholdPercent'),
      o.errorThresholdPercent,
      1,
      100,
      base?.errorThresholdPercent ?? 50,
    ),
    volumeThreshold: integerIn(at('volumeThreshold'), o.volumeThreshold, 0, 1_000_000, base?.volumeThreshold ?? 20),
    resetTimeoutMs: integerIn(at('resetTimeoutMs'), o.resetTimeoutMs, 1, 86_400_000, base?.resetTimeoutMs ?? 10_000),
    rollingWindowMs,
    rollingBuckets,
  });
}

/** Breaker state. */
export type ServiceBreakerState = 'closed' | 'open' | 'half-open';

/**
 * A per-Service circuit breaker. `run()` calls `call` unless the breaker is open, in which case it
 * rejects with {@link CircuitOpenError} without calling it.
 *
 * @example
 * ```ts
 * const breaker: ServiceBreaker = createServiceBreaker()
 * const body = await breaker.run(() => fetchWithRetries(url))
 * ```
 */
export interface ServiceBreaker {
  /**
   * Run one logical call through the breaker. Resolves or rejects with the call's own result; rejects
   * with `CLUSTERIP_ERR_CIRCUIT_OPEN` when open (and while a half-open trial is in flight) and with
   * `CLUSTERIP_ERR_CLOSED` after `close()`.
   */
  run<T>(call: () => Promise<T>): Promise<T>;
  /**
   * The error `run()` would reject with right now without calling (`CLUSTERIP_ERR_CIRCUIT_OPEN`, or
   * `CLUSTERIP_ERR_CLOSED` after `close()`), or `undefined` when it would call. Synchronous: a caller that
   * checks it and then calls `run()` in the same tick gets the same answer.
   */
  refusal(): Error | undefined;
  /** Current state (synchronous). */
  readonly state: ServiceBreakerState;
  /** True after `close()`. */
  readonly closed: boolean;
  /** Stops the breaker's timers and listeners. Idempotent: returns the same promise every time. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Create a per-Service breaker over opossum 9 (settings tuned for a hot path: no percentiles, no
 * snapshots, no action timeout).
 *
 * @example
 * ```ts
 * const breaker = createServiceBreaker({ service: 'web.shop:http', resetTimeoutMs: 5_000 })
 * const res = await breaker.run(() => fetch('http://web.shop/'))
 * await breaker.close()
 * ```
 */
export function createServiceBreaker(options: ServiceBreakerOptions = {}): ServiceBreaker {
  const o = asRecord('options', options);
  rejectUnknownKeys('', o, [
    'service',
    ...BREAKER_SETTING_KEYS,
    'isFailure',
    'rotateBucketController',
    'onStateChange',
  ]);
  const service = stringOr('service', o.service, 'service');
  const { errorThresholdPercent, volumeThreshold, resetTimeoutMs, rollingWindowMs, rollingBuckets } = breakerSettings(
    '',
    o,
    undefined,
  );
  const isFailure = functionOr<(error: unknown) => boolean>(
    'isFailure',
    o.isFailure,
    (error) => classify({ type: 'error', error }) === 'failure',
  );
  const controller = o.rotateBucketController as EventEmitter | undefined;
  if (controller !== undefined && typeof (controller as { on?: unknown } | null)?.on !== 'function') {
    throw new InvalidArgumentError(
      'rotateBucketController',
      `rotateBucketController must be an EventEmitter, got ${describe(controller)}`,
    );
  }

  const breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
    timeout: false,
    errorThresholdPercentage: errorThresholdPercent,
    volumeThreshold,
    resetTimeout: resetTimeoutMs,
    rollingCountTimeout: rollingWindowMs,
    rollingCountBuckets: rollingBuckets,
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
    // opossum: a truthy errorFilter counts the rejection as a success (and still rejects).
    errorFilter: (error: unknown) => !isFailure(error),
    ...(controller === undefined ? {} : { rotateBucketController: controller }),
  });

  const onStateChange = functionOr<((state: ServiceBreakerState) => void) | undefined>(
    'onStateChange',
    o.onStateChange,
    undefined,
  );
  if (onStateChange !== undefined) {
    const notify = (state: ServiceBreakerState) => () => {
      if (closing !== undefined) return;
      try {
        onStateChange(state);
      } catch {
        // A telemetry hook must not break the call path.
      }
    };
    breaker.on('open', notify('open'));
    breaker.on('halfOpen', notify('half-open'));
    breaker.on('close', notify('closed'));
  }

  let closing: Promise<void> | undefined;
  const self: ServiceBreaker = {
    run<T>(call: () => Promise<T>): Promise<T> {
      const refused = self.refusal();
      if (refused !== undefined) return Promise.reject(refused);
      return (breaker.fire(call) as Promise<T>).catch((error: unknown) => {
        throw translate(error);
      });
    },
    refusal(): Error | undefined {
      if (closing !== undefined) return new ClosedError(`service ${service}: breaker`);
      // Refused here, not by opossum's fire(): opossum counts the calls it refuses among the window's calls,
      // so after a long open spell a closed breaker needed as many failures as it had refused before it
      // could open again (research/apis.md §3.2). The test is opossum's own: open, or half-open with the
      // trial taken.
      return breaker.closed || breaker.pendingClose ? undefined : openError();
    },
    get state(): ServiceBreakerState {
      if (breaker.opened) return 'open';
      return breaker.halfOpen ? 'half-open' : 'closed';
    },
    get closed() {
      return closing !== undefined;
    },
    close() {
      closing ??= Promise.resolve().then(() => undefined);
      if (!breaker.isShutdown) breaker.shutdown();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return self.close();
    },
  };
  return Object.freeze(self);

  /** Why the breaker refuses a call now: open after failures, or half-open with its trial in flight. */
  function openError(options?: ErrorOptions): CircuitOpenError {
    const { failures, fires } = breaker.stats;
    const why = breaker.halfOpen
      ? 'a trial call is in flight'
      : `${failures} of ${fires} recent calls failed; retrying after ${resetTimeoutMs} ms`;
    return new CircuitOpenError(service, why, options);
  }

  function translate(error: unknown): unknown {
    if (isClusterIPError(error)) return error;
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'EOPENBREAKER' && CircuitBreaker.isOurError(error as Error)) return openError({ cause: error });
    if (code === 'ESHUTDOWN' && CircuitBreaker.isOurError(error as Error)) {
      return new ClosedError(`service ${service}: breaker`, { cause: error });
    }
    return error;
  }
}
