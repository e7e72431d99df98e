// ⑥ Picker: uniform random choice, kube-proxy's iptables/nftables behaviour (spec §7.1–7.2).
// Consumes the endpoints currently in rotation; produces one of them with probability 1/n.

import type { Random } from '../internal/random.js';
import type { EndpointState } from './endpoint-state.js';

/**
 * Pick uniformly at random. `active` must not be empty. One random draw, no allocation.
 *
 * @example
 * ```ts
 * pickRandom(states, Math.random)
 * ```
 */
export function pickRandom(active: readonly EndpointState[], random: Random): EndpointState {
  return active[(random() * active.length) | 0]!;
}
