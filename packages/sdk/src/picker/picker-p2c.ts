// ⑥ Picker: least-request by power of two choices (Mitzenmacher; Envoy least_request, linkerd p2c).
// Consumes the endpoints in rotation and their in-flight counts (fed by done()); produces the less loaded of two.

import type { Random } from '../internal/random.js';
import type { EndpointState } from './endpoint-state.js';
import { p2cSecond, uniformIndex } from './selection.js';

/**
 * Draw two distinct endpoints uniformly and return the one with fewer calls in flight (the first on a
 * tie, which is itself uniformly random). `active` must not be empty. Two draws, no allocation.
 *
 * @example
 * ```ts
 * pickLeastRequest(states, random)
 * ```
 */
export function pickLeastRequest(active: readonly EndpointState[], random: Random): EndpointState {
  const n = active.length;
  if (n === 1) return active[0]!;
  const i = uniformIndex(n, random());
  const a = active[i]!;
  const b = active[p2cSecond(n, i, random())]!;
  return b.inFlight < a.inFlight ? b : a;
}
