// Telemetry (leaf): the diagnostics_channel names every stage publishes on. Any stage may import this;
// it imports no stage. Publishing is skipped when nobody subscribed, so it costs nothing by default.

import diagnosticsChannel from 'node:diagnostics_channel';

/** Message of `clusterip:balancer:panic`: panic mode engaged (`panic: true`) or disengaged. */
export interface BalancerPanicMessage {
  readonly service: string;
  readonly panic: boolean;
  /** Endpoints in rotation (healthy or half-open) and all eligible endpoints. */
  readonly healthy: number;
  readonly total: number;
}

/** Message of `clusterip:breaker:state`: one endpoint was ejected, half-opened or readmitted. */
export interface BreakerStateMessage {
  readonly service: string;
  /** `address:port`. */
  readonly endpoint: string;
  readonly state: 'ejected' | 'half-open' | 'healthy';
  /** For `ejected`: how long the ejection lasts. */
  readonly ejectionTimeMs?: number;
}

/**
 * Channel names, `clusterip:<stage>:<event>`.
 *
 * @example
 * ```ts
 * import diagnosticsChannel from 'node:diagnostics_channel'
 * diagnosticsChannel.subscribe(CHANNEL_NAMES.breakerState, (m) => {
 *   const { endpoint, state } = m as BreakerStateMessage
 *   console.log(endpoint, state)
 * })
 * ```
 */
export const CHANNEL_NAMES = Object.freeze({
  balancerPanic: 'clusterip:balancer:panic',
  breakerState: 'clusterip:breaker:state',
});

/** The channels (created once; `hasSubscribers` is checked before building a message). */
export const channels = Object.freeze({
  balancerPanic: diagnosticsChannel.channel(CHANNEL_NAMES.balancerPanic),
  breakerState: diagnosticsChannel.channel(CHANNEL_NAMES.breakerState),
});
