// ⑥ Picker: power of two choices over peak-EWMA load (linkerd `peak_ewma.rs`, Finagle `PeakEwma`).
// Consumes each endpoint's latency estimate and in-flight count; produces the endpoint with the lower cost.

import type { Random } from '../internal/random.js';
import type { EndpointState } from './endpoint-state.js';
import { p2cSecond, peakEwmaLoad, peakEwmaObserve, uniformIndex } from './selection.js';

/**
 * The estimate as of `now`: it decays towards zero while no sample arrives, so an endpoint that was
 * slow long ago is eventually tried again (Finagle reads the cost through `observe(0)`; we compute the
 * same value without writing it back).
 */
export function decayedCost(state: EndpointState, now: number, decayMs: number): number {
  const elapsed = now - state.stamp;
  return elapsed > 0 ? state.cost * Math.exp(-elapsed / decayMs) : state.cost;
}

/**
 * P2C on `decayedCost × (inFlight + 1)`. `active` must not be empty.
 *
 * @example
 * ```ts
 * pickPeakEwma(states, random, now(), 10_000)
 * ```
 */
export function pickPeakEwma(
  active: readonly EndpointState[],
  random: Random,
  now: number,
  decayMs: number,
): EndpointState {
  const n = active.length;
  if (n === 1) return active[0]!;
  const i = uniformIndex(n, random());
  const a = active[i]!;
  const b = active[p2cSecond(n, i, random())]!;
  const la = peakEwmaLoad(decayedCost(a, now, decayMs), a.inFlight);
  const lb = peakEwmaLoad(decayedCost(b, now, decayMs), b.inFlight);
  return lb < la ? b : a;
}

/**
 * Feed one latency sample. Failures never make an endpoint look faster than it was: a fast failure
 * (ECONNREFUSED in 1 ms) is recorded as `max(sample, current estimate)`, otherwise a broken endpoint
 * would attract traffic until outlier detection ejects it.
 */
export function observeLatency(
  state: EndpointState,
  rttMs: number,
  failed: boolean,
  now: number,
  decayMs: number,
): void {
  if (!(rttMs >= 0)) return;
  const sample = failed && rttMs < state.cost ? state.cost : rttMs;
  state.cost = peakEwmaObserve(state.cost, now - state.stamp, sample, decayMs);
  state.stamp = now;
}
