// ⑥ Picker: the contract between a balancer and the transports that call it.
// Consumes a PickContext per call; produces a PickResult (pick | queue | fail | drop) carrying a done() hook.

import type { ClusterIPError, Endpoint } from '@clusterip/resolver';
import type { CallOutcome } from '../eligibility/classify.js';

/** Load-balancing policies of `createBalancer`. */
export type BalancerPolicy =
  /** Uniform random per pick: iptables/nftables kube-proxy (the default). */
  | 'random'
  /** Round robin from a random start: IPVS `rr`. */
  | 'round-robin'
  /** Power of two choices over in-flight calls (Envoy/linkerd least-request). */
  | 'least-request'
  /** Power of two choices over a peak-sensitive EWMA of latency × (in-flight + 1) (linkerd, Finagle). */
  | 'peak-ewma'
  /** Consistent hashing of `PickContext.affinityKey` (Karger ring); picks without a key are random. */
  | 'ring-hash';

/**
 * Per-call input of {@link Picker.pick}.
 *
 * @example
 * ```ts
 * balancer.pick({ affinityKey: affinityKeyFrom({ cookie: 'session' })({ headers: req.headers }) })
 * ```
 */
export interface PickContext {
  /**
   * Affinity key: with `sessionAffinity: ClientIP` the client identity (default: the process itself,
   * so the whole process sticks, as kube-proxy does for a pod); with `ring-hash` the hash key.
   * Compute it with your own header / cookie / metadata rule; the picker only maps key → endpoint.
   */
  readonly affinityKey?: string;
  /**
   * Endpoint keys (`address:port`) to avoid when another usable endpoint exists, e.g. the endpoints a
   * retried call already failed on. Honoured by every policy; with nothing else usable the pick is
   * made as if the list were empty.
   */
  readonly avoid?: readonly string[];
}

/**
 * What a pick produced (conventions §6).
 *
 * - `pick`: send to `endpoint`, then call `done(outcome)` **exactly once** when the call ends (it
 *   feeds in-flight counts, latency estimates and outlier detection). The object may be shared
 *   between picks of the same endpoint: do not keep state on it, and do not compare results by identity.
 * - `queue`: nothing known yet (no `update()` so far); wait for the next update and pick again.
 * - `fail`: fail the call now (no endpoints: kube-proxy REJECT; closed balancer; nothing eligible).
 * - `drop`: the call cannot be served from here (`internalTrafficPolicy: Local`, none local: kube-proxy
 *   DROP). Report it like a connect timeout if you mimic kube-proxy; do not retry elsewhere.
 *
 * @example
 * ```ts
 * const r = balancer.pick()
 * switch (r.type) {
 *   case 'pick': return send(r.endpoint).finally(() => r.done({ type: 'success' }))
 *   case 'queue': return waitForUpdate().then(retry)
 *   case 'fail': case 'drop': throw r.error // match on r.error.code
 * }
 * ```
 */
export type PickResult =
  | { readonly type: 'pick'; readonly endpoint: Endpoint; done(outcome: CallOutcome): void }
  | { readonly type: 'queue' }
  | { readonly type: 'fail'; readonly error: ClusterIPError }
  | { readonly type: 'drop'; readonly error: ClusterIPError };

/**
 * Synchronous endpoint choice. `pick()` never throws and never calls back; it may be called from any
 * code path, any number of times, also after `close()` (then it returns `fail` with `CLUSTERIP_ERR_CLOSED`).
 */
export interface Picker {
  pick(ctx?: PickContext): PickResult;
}
