// ⑥ Picker: the per-endpoint state every picker reads (load, latency, health), kept across updates.
// Consumes an Endpoint; produces the mutable record and its pre-built pick result.

import type { Endpoint } from '@clusterip/resolver';
import type { CallOutcome } from '../eligibility/classify.js';
import type { EndpointHealth, EndpointHealthState } from '../eligibility/outlier-detection.js';
import type { PickResult } from './picker.js';

/**
 * Receives a `done()` of a pick of `state`; `startedAt` is NaN when the pick did not record it; `probe`
 * is the probe token captured by a half-open probe pick, 0 for every other pick.
 */
export type DoneSink = (state: EndpointState, outcome: CallOutcome, startedAt: number, probe: number) => void;

/**
 * One endpoint's balancing state. Identity is `key` (`address:port`); the same object lives as long as
 * the endpoint stays eligible, so load and health survive unrelated updates. Once removed it is never
 * reused: a re-added endpoint gets a fresh state (and fresh affinity, spec §7.4).
 */
export class EndpointState implements EndpointHealth {
  readonly key: string;
  endpoint: Endpoint;
  /** Position in the balancer's list of all eligible endpoints. */
  index = 0;
  /** Number of the balancer update that last listed it. */
  generation = 0;
  /** Calls picked and not yet reported through done(). */
  inFlight = 0;
  /** Peak-EWMA latency estimate (ms) and when it was last updated. */
  cost: number;
  stamp: number;
  /** When the endpoint joined (slow start); -Infinity for the first set. */
  addedAt: number;
  /** Set when the endpoint left the eligible set; late done() calls are then ignored. */
  removed = false;

  health: EndpointHealthState = 'healthy';
  consecutiveFailures = 0;
  windowStart: number;
  windowTotal = 0;
  windowFailures = 0;
  ejections = 0;
  ejectedUntil = 0;
  healthySince: number;
  /**
   * Token of the current half-open probe: incremented by every probe pick, captured in that pick's
   * done(). Only an outcome carrying the current token, reported while `probing`, is the probe's verdict.
   */
  probeToken = 0;

  /** Pre-built result: picks of this endpoint allocate nothing. */
  result: PickResult;
  readonly #sink: DoneSink;

  constructor(key: string, endpoint: Endpoint, now: number, addedAt: number, initialCostMs: number, sink: DoneSink) {
    this.key = key;
    this.endpoint = endpoint;
    this.cost = initialCostMs;
    this.stamp = now;
    this.addedAt = addedAt;
    this.windowStart = now;
    this.healthySince = now;
    this.#sink = sink;
    this.result = this.#build(endpoint);
  }

  /** Replace the endpoint data (e.g. conditions changed) while keeping load and health. */
  setEndpoint(endpoint: Endpoint): void {
    if (endpoint === this.endpoint) return;
    this.endpoint = endpoint;
    this.result = this.#build(endpoint);
  }

  /** A result that also remembers when the pick happened (peak-EWMA measures latency with it). */
  timedResult(startedAt: number): PickResult {
    const sink = this.#sink;
    return { type: 'pick', endpoint: this.endpoint, done: (outcome) => sink(this, outcome, startedAt, 0) };
  }

  /**
   * The result of a half-open probe pick: its done() carries `probe` (the token this pick took), so the
   * balancer can tell the probe's verdict from late outcomes of other picks. Rare: one per ejection.
   */
  probeResult(startedAt: number, probe: number): PickResult {
    const sink = this.#sink;
    return { type: 'pick', endpoint: this.endpoint, done: (outcome) => sink(this, outcome, startedAt, probe) };
  }

  #build(endpoint: Endpoint): PickResult {
    const sink = this.#sink;
    return Object.freeze({
      type: 'pick' as const,
      endpoint,
      done: (outcome: CallOutcome) => sink(this, outcome, Number.NaN, 0),
    });
  }
}
