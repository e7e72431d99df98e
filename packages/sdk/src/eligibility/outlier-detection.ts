// ⑤ Eligible endpoints: passive outlier detection, a light per-endpoint ejector with half-open probing.
// Consumes classified call outcomes per endpoint; produces eject / readmit decisions for the balancer.
//
// Why not opossum here: picks happen synchronously inside the picker and outcomes arrive later through
// `done()`; opossum has no API to record outcomes of calls it did not execute (research/apis.md §3.4),
// each breaker costs ~6 KiB and 30–42 µs to create plus timers, and its clock is not injectable. A few
// counters per endpoint, read with the balancer's injected clock, do the job without allocation.
// opossum is used where it fits: the per-Service breaker around whole calls (circuit-breaker.ts).

import { InvalidArgumentError } from '@clusterip/resolver';
import { asRecord, integerIn, rejectUnknownKeys } from '../internal/options.js';

/** Health of one endpoint, as seen by outlier detection. */
export type EndpointHealthState =
  /** Receives traffic. */
  | 'healthy'
  /** Out of rotation until `ejectedUntil`. */
  | 'ejected'
  /** Ejection over: the next pick is a probe. */
  | 'half-open'
  /** A probe is in flight: out of rotation until it reports (or `ejectedUntil`, then half-open again). */
  | 'probing';

/** Counters the detector keeps on each endpoint's state object (the balancer owns the objects). */
export interface EndpointHealth {
  health: EndpointHealthState;
  consecutiveFailures: number;
  windowStart: number;
  windowTotal: number;
  windowFailures: number;
  /** Consecutive ejections, for the exponential ejection time. */
  ejections: number;
  ejectedUntil: number;
  /** When the endpoint last became healthy (ejection multiplier resets after a long healthy spell). */
  healthySince: number;
}

/** Failure-rate ejection (Envoy `failure_percentage`, gRFC A50). */
export interface FailureRateOptions {
  /** Eject when at least this percentage of calls in the interval failed. Default 85. */
  readonly thresholdPercent?: number;
  /** …and at least this many calls were seen in the interval. Default 50. */
  readonly minimumRequests?: number;
  /** Length of the counting interval. Default 10000. */
  readonly intervalMs?: number;
}

/** Outlier detection options of `createBalancer`. Every field is optional. */
export interface OutlierDetectionOptions {
  /** Eject after this many consecutive failures; 0 disables this rule. Default 5. */
  readonly consecutiveFailures?: number;
  /** Failure-rate rule; `false` disables it. */
  readonly failureRate?: FailureRateOptions | false;
  /** First ejection lasts this long; each further consecutive ejection doubles it. Default 30000. */
  readonly baseEjectionTimeMs?: number;
  /** Cap of the ejection time. Default 300000. */
  readonly maxEjectionTimeMs?: number;
  /** At most this share of endpoints is ejected at once (always ≥ 1, never the last). Default 50. */
  readonly maxEjectionPercent?: number;
  /** Balance over every endpoint when fewer than this percentage are healthy; 0 disables. Default 50. */
  readonly panicThresholdPercent?: number;
}

/** Fully defaulted, frozen outlier detection config. */
export interface OutlierDetectionConfig {
  readonly consecutiveFailures: number;
  readonly failureRate:
    | { readonly thresholdPercent: number; readonly minimumRequests: number; readonly intervalMs: number }
    | false;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
  readonly panicThresholdPercent: number;
}

const DAY_MS = 86_400_000;

/** Validate and default `outlierDetection` (path `outlierDetection`); `false` turns it off. */
export function outlierDetectionConfig(value: unknown): OutlierDetectionConfig | undefined {
  if (value === false) return undefined;
  const path = 'outlierDetection';
  const o = value === undefined ? {} : asRecord(path, value);
  rejectUnknownKeys(path, o, [
    'consecutiveFailures',
    'failureRate',
    'baseEjectionTimeMs',
    'maxEjectionTimeMs',
    'maxEjectionPercent',
    'panicThresholdPercent',
  ]);
  let failureRate: OutlierDetectionConfig['failureRate'];
  if (o.failureRate === false) failureRate = false;
  else {
    const fp = `${path}.failureRate`;
    const f = o.failureRate === undefined ? {} : asRecord(fp, o.failureRate);
    rejectUnknownKeys(fp, f, ['thresholdPercent', 'minimumRequests', 'intervalMs']);
    failureRate = Object.freeze({
      thresholdPercent: integerIn(`${fp}.thresholdPercent`, f.thresholdPercent, 1, 100, 85),
      minimumRequests: integerIn(`${fp}.minimumRequests`, f.minimumRequests, 1, 1_000_000, 50),
      intervalMs: integerIn(`${fp}.intervalMs`, f.intervalMs, 1, DAY_MS, 10_000),
    });
  }
  const baseEjectionTimeMs = integerIn(`${path}.baseEjectionTimeMs`, o.baseEjectionTimeMs, 1, DAY_MS, 30_000);
  const maxEjectionTimeMs = integerIn(`${path}.maxEjectionTimeMs`, o.maxEjectionTimeMs, 1, DAY_MS, 300_000);
  if (maxEjectionTimeMs < baseEjectionTimeMs) {
    throw new InvalidArgumentError(
      `${path}.maxEjectionTimeMs`,
      `${path}.maxEjectionTimeMs must be at least baseEjectionTimeMs (${baseEjectionTimeMs}), got ${maxEjectionTimeMs}`,
    );
  }
  return Object.freeze({
    consecutiveFailures: integerIn(`${path}.consecutiveFailures`, o.consecutiveFailures, 0, 1_000_000, 5),
    failureRate,
    baseEjectionTimeMs,
    maxEjectionTimeMs,
    maxEjectionPercent: integerIn(`${path}.maxEjectionPercent`, o.maxEjectionPercent, 0, 100, 50),
    panicThresholdPercent: integerIn(`${path}.panicThresholdPercent`, o.panicThresholdPercent, 0, 100, 50),
  });
}

/** Fresh health counters for an endpoint that just joined. */
export function newHealth(now: number): EndpointHealth {
  return {
    health: 'healthy',
    consecutiveFailures: 0,
    windowStart: now,
    windowTotal: 0,
    windowFailures: 0,
    ejections: 0,
    ejectedUntil: 0,
    healthySince: now,
  };
}

/** What {@link recordOutcome} decided. */
export type HealthTransition = 'none' | 'eject' | 'readmit';

/**
 * Count one classified outcome for a healthy or probing endpoint and say whether it should now be
 * ejected (the caller checks the ejection budget with {@link canEject} and calls {@link eject}) or
 * readmitted.
 *
 * Once an endpoint is ejected, only its probe decides: `isProbe` must be true only for the outcome of
 * the very pick that started the current probe (the balancer ties it to that pick with a token). Every
 * other outcome reported while ejected, half-open or probing is a straggler, typically a call picked
 * before the ejection that ends late, and is ignored; otherwise such a straggler would be taken for
 * the probe's verdict.
 */
export function recordOutcome(
  h: EndpointHealth,
  failed: boolean,
  now: number,
  config: OutlierDetectionConfig,
  isProbe = false,
): HealthTransition {
  switch (h.health) {
    case 'ejected':
      return 'none';
    case 'half-open':
    case 'probing':
      // The probe's verdict: one success readmits, one failure re-ejects with a longer time.
      if (!isProbe) return 'none';
      return failed ? 'eject' : 'readmit';
    default:
      break;
  }
  const rate = config.failureRate;
  if (rate !== false && now - h.windowStart >= rate.intervalMs) {
    h.windowStart = now;
    h.windowTotal = 0;
    h.windowFailures = 0;
  }
  h.windowTotal++;
  if (!failed) {
    h.consecutiveFailures = 0;
    return 'none';
  }
  h.windowFailures++;
  h.consecutiveFailures++;
  if (config.consecutiveFailures > 0 && h.consecutiveFailures >= config.consecutiveFailures) return 'eject';
  if (
    rate !== false &&
    h.windowTotal >= rate.minimumRequests &&
    h.windowFailures * 100 >= rate.thresholdPercent * h.windowTotal
  ) {
    return 'eject';
  }
  return 'none';
}

/**
 * Eject if the budget allows (`ejectedNow` endpoints of `total` are out already); returns whether it did.
 * The ejection time doubles with each consecutive ejection and resets after the endpoint stayed
 * healthy for `maxEjectionTimeMs`.
 */
export function eject(
  h: EndpointHealth,
  now: number,
  ejectedNow: number,
  total: number,
  config: OutlierDetectionConfig,
): boolean {
  // A half-open or probing endpoint is already counted as out: re-ejecting it costs no budget.
  const alreadyOut = h.health === 'probing' || h.health === 'half-open';
  if (!alreadyOut && !canEject(ejectedNow, total, config.maxEjectionPercent)) return false;
  if (h.health === 'healthy' && now - h.healthySince >= config.maxEjectionTimeMs) h.ejections = 0;
  h.ejections++;
  h.health = 'ejected';
  h.ejectedUntil = now + ejectionTimeMs(config.baseEjectionTimeMs, config.maxEjectionTimeMs, h.ejections);
  h.consecutiveFailures = 0;
  h.windowStart = now;
  h.windowTotal = 0;
  h.windowFailures = 0;
  return true;
}

/** Back in rotation after a successful probe. */
export function readmit(h: EndpointHealth, now: number): void {
  h.health = 'healthy';
  h.healthySince = now;
  h.consecutiveFailures = 0;
  h.windowStart = now;
  h.windowTotal = 0;
  h.windowFailures = 0;
}

/**
 * Ejection duration after the `k`-th consecutive ejection: `base × 2^(k-1)`, capped at `max`
 * (exponential, as Envoy's `base_ejection_time × ejection multiplier` and gRFC A50).
 *
 * @example
 * ```ts
 * ejectionTimeMs(30_000, 300_000, 1) // 30000
 * ejectionTimeMs(30_000, 300_000, 5) // 300000
 * ```
 */
export function ejectionTimeMs(baseMs: number, maxMs: number, k: number): number {
  const t = baseMs * 2 ** Math.max(0, k - 1);
  return t > maxMs ? Math.max(baseMs, maxMs) : t;
}

/**
 * Whether one more endpoint may be ejected: at most `maxEjectionPercent` of the endpoints, but always
 * at least one (Envoy's fix for small clusters, envoyproxy/envoy#27066), and never the last one, so a
 * Service of any size keeps an endpoint to send to.
 *
 * @example
 * ```ts
 * canEject(0, 2, 10)  // true  (one may always go)
 * canEject(1, 2, 100) // false (never the last)
 * ```
 */
export function canEject(ejected: number, total: number, maxEjectionPercent: number): boolean {
  const limit = Math.max(1, Math.floor((total * maxEjectionPercent) / 100));
  return ejected + 1 <= limit && ejected + 1 < total;
}

/**
 * Envoy's panic rule: when fewer than `thresholdPercent` of the endpoints are healthy, balance over all
 * of them, ejected or not (a threshold of 0 disables panic mode).
 *
 * @example
 * ```ts
 * isPanic(1, 3, 50) // true: 33 % healthy
 * isPanic(1, 2, 50) // false: 50 % is not below 50 %
 * ```
 */
export function isPanic(healthy: number, total: number, thresholdPercent: number): boolean {
  return thresholdPercent > 0 && total > 0 && healthy * 100 < thresholdPercent * total;
}
