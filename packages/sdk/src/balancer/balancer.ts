// Balancer (glue): eligible endpoints → per-endpoint state → outlier detection / panic → policy picker,
// with ClientIP affinity in front. Consumes `update(eligible)` and `pick(ctx)`; produces PickResults whose
// done() hooks feed load, latency and ejection back into the same state.

import {
  ClosedError,
  type Endpoint,
  endpointKey,
  InvalidArgumentError,
  type ServiceInfo,
  type SessionAffinity,
} from '@clusterip/resolver';
import { type CallOutcome, classify } from '../eligibility/classify.js';
import type { EligibleEndpoints } from '../eligibility/eligibility.js';
import {
  type EndpointHealthState,
  eject,
  isPanic,
  type OutlierDetectionConfig,
  type OutlierDetectionOptions,
  outlierDetectionConfig,
  readmit,
  recordOutcome,
} from '../eligibility/outlier-detection.js';
import { NoEligibleEndpointsError } from '../errors/no-eligible-endpoints-error.js';
import { NoEndpointsError } from '../errors/no-endpoints-error.js';
import { type Clock, monotonicClock } from '../internal/clock.js';
import {
  asRecord,
  describe,
  functionOr,
  integerIn,
  numberIn,
  oneOf,
  rejectUnknownKeys,
  stringOr,
} from '../internal/options.js';
import { defaultRandom, type Random } from '../internal/random.js';
import { AffinityTable } from '../picker/affinity-table.js';
import { EndpointState } from '../picker/endpoint-state.js';
import type { BalancerPolicy, PickContext, Picker, PickResult } from '../picker/picker.js';
import { pickLeastRequest } from '../picker/picker-p2c.js';
import { decayedCost, observeLatency, pickPeakEwma } from '../picker/picker-peak-ewma.js';
import { pickRandom } from '../picker/picker-random.js';
import { HashRing } from '../picker/picker-ring-hash.js';
import { pickRoundRobin, RoundRobinCursor } from '../picker/picker-round-robin.js';
import { slowStartWeight } from '../picker/selection.js';
import { channels } from '../telemetry/channels.js';

/**
 * `sessionAffinity: ClientIP` options: affinity fixed at creation, whatever the Service says (the
 * Service's own `sessionAffinity` object fits as is).
 *
 * @example
 * ```ts
 * createBalancer({ sessionAffinity: { type: 'ClientIP', timeoutSeconds: 600, maxEntries: 50_000 } })
 * ```
 */
export interface ClientIPAffinityOptions {
  readonly type: 'ClientIP';
  /** Sliding window, 1–86400 s. Default 10800 (Kubernetes' default). */
  readonly timeoutSeconds?: number;
  /** Cap of remembered keys; the least recently used goes first. Default 10000. */
  readonly maxEntries?: number;
  /**
   * Key used when a pick has no `affinityKey`: this process's pod IP. Any constant gives the same
   * behaviour (the whole process sticks to one endpoint per Service port, spec §7.4); the value only
   * shows up in diagnostics. Default `'self'`.
   */
  readonly clientIP?: string;
}

/**
 * `sessionAffinity: { type: 'Service' }` (the default): follow the `sessionAffinity` of the Service
 * passed to {@link Balancer.update}. `None` until a Service says `ClientIP`; switching to `None` drops
 * every binding; a new `timeoutSeconds` applies to the next pick and keeps the bindings (spec §7.4).
 *
 * @example
 * ```ts
 * const balancer = createBalancer({ sessionAffinity: { type: 'Service', maxEntries: 50_000 } })
 * balancer.update(eligibleEndpoints(endpoints, service, client), service) // service.sessionAffinity rules
 * ```
 */
export interface ServiceAffinityOptions {
  readonly type: 'Service';
  /** Cap of remembered keys while the Service says `ClientIP`. Default 10000. */
  readonly maxEntries?: number;
  /** Key used when a pick has no `affinityKey` (see {@link ClientIPAffinityOptions.clientIP}). Default `'self'`. */
  readonly clientIP?: string;
}

/**
 * Options of {@link createBalancer}. Unknown keys are rejected.
 *
 * @example
 * ```ts
 * const options: BalancerOptions = {
 *   policy: 'peak-ewma',
 *   outlierDetection: { consecutiveFailures: 3 },
 *   service: 'checkout.shop:http',
 * }
 * ```
 */
export interface BalancerOptions {
  /** Default `random` (kube-proxy iptables/nftables). */
  readonly policy?: BalancerPolicy;
  /**
   * Default `{ type: 'Service' }`: follow the Service given to `update(eligible, service)` (no affinity
   * until a Service with `ClientIP` arrives). `{ type: 'None' }` or `{ type: 'ClientIP', … }` override the
   * Service for the balancer's lifetime.
   */
  readonly sessionAffinity?: ServiceAffinityOptions | SessionAffinity | ClientIPAffinityOptions;
  /** Passive outlier detection with panic threshold; on by default, `false` disables it. */
  readonly outlierDetection?: OutlierDetectionOptions | false;
  /** `peak-ewma` tuning. */
  readonly peakEwma?: {
    /** Time constant of the EWMA. Default 10000 (linkerd). */
    readonly decayMs?: number;
    /** Estimate for an endpoint with no sample yet. Default 30 (linkerd `default_rtt`). */
    readonly initialLatencyMs?: number;
  };
  /** `ring-hash` tuning. */
  readonly ringHash?: {
    /**
     * Points per endpoint on the ring. Default 100 (keys spread within about ±25 % of even). Fixed per
     * endpoint, not per ring, so that a membership change moves only the keys of the endpoint concerned.
     */
    readonly pointsPerEndpoint?: number;
  };
  /**
   * Slow start: an endpoint that joins after the first update receives a share ramping linearly from
   * `minWeightPercent` to full over `windowMs` (random, round-robin, least-request, peak-ewma).
   * Default off.
   */
  readonly slowStart?: { readonly windowMs: number; readonly minWeightPercent?: number } | false;
  /** Label of the Service port for errors and telemetry, e.g. `web.shop:http`. Default `service`. */
  readonly service?: string;
  /**
   * Called synchronously inside `done()` when outlier detection ejects an endpoint, with its key
   * (`address:port`). A transport uses it to move requests still queued for that endpoint, unsent,
   * to another one (a hung pod would otherwise hold them until their timeouts). A throwing listener
   * is ignored.
   */
  readonly onEject?: (endpoint: string) => void;
  /** Monotonic clock in ms. Default `performance.now`. */
  readonly now?: () => number;
  /** Uniform random in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/**
 * One endpoint as the balancer sees it (for diagnostics: "why this endpoint").
 *
 * @example
 * ```ts
 * for (const s of balancer.endpoints()) console.log(endpointKey(s.endpoint), s.health, s.inFlight)
 * ```
 */
export interface EndpointStatus {
  readonly endpoint: Endpoint;
  readonly health: EndpointHealthState;
  /** Picks whose done() has not been called yet. */
  readonly inFlight: number;
  /** Peak-EWMA latency estimate now (ms); meaningful for `peak-ewma`. */
  readonly latencyMs: number;
  /** When the current ejection ends (clock of the balancer), if ejected or probing. */
  readonly ejectedUntil?: number;
  /** False while an active health check reports the endpoint not serving (see {@link Balancer.setNotServing}). */
  readonly serving: boolean;
}

/**
 * A load balancer for ONE Service port (affinity tables are per Service port, as in kube-proxy).
 *
 * Lifecycle: `update()` any number of times, `pick()` at will, `close()` once. Everything is
 * synchronous; no timer is started (ejection expiry is evaluated lazily on pick with the injected
 * clock). After `close()`, `pick()` returns `fail` with `CLUSTERIP_ERR_CLOSED` and `update()` throws it.
 *
 * @example
 * ```ts
 * const balancer: Balancer = createBalancer({ service: 'checkout.shop:http' })
 * balancer.update(eligibleEndpoints(endpoints, service, client), service)
 * const r = balancer.pick({ affinityKey: userId })
 * ```
 */
export interface Balancer extends Picker {
  /**
   * Replace the eligible set: pass the result of `eligibleEndpoints()` (its `no-endpoints` /
   * `no-local-endpoints` outcomes turn picks into `fail` / `drop`), or a plain array. Endpoints that
   * stay keep their load, latency, health and affinity; endpoints that leave lose their affinity
   * entries for good. Duplicates (same `address:port`) are ignored after the first.
   *
   * Endpoints are matched by object first, then by `address:port`: an update costs little per endpoint
   * that is the same object as before (resolver snapshots keep the objects of unchanged endpoints). Give
   * a changed endpoint as a new object; never change an Endpoint in place.
   *
   * `service` (a `ServiceInfo` fits) carries the Service's current `sessionAffinity`; with the default
   * `sessionAffinity: { type: 'Service' }` it takes effect on the next pick: `None` → `ClientIP` starts
   * binding, `ClientIP` → `None` drops every binding, a new `timeoutSeconds` applies to existing bindings
   * (spec §7.4). Omit it to keep the last one. Ignored when `sessionAffinity` was set explicitly (but
   * still validated). A rejected update (INVALID_ARG) changes nothing.
   */
  update(eligible: EligibleEndpoints | readonly Endpoint[], service?: Pick<ServiceInfo, 'sessionAffinity'>): void;
  /** Choose an endpoint; see {@link PickResult}. Never throws. */
  pick(ctx?: PickContext): PickResult;
  /**
   * Replace the set of endpoints (by `endpointKey`, `address:port`) that an active health check (e.g. the
   * gRPC health protocol) reports not serving. Such an endpoint stays in the eligible set (its load,
   * latency, outlier counters and ejection state are kept and untouched) but is out of rotation like an
   * ejected one, and under the same panic rule: when fewer than `outlierDetection.panicThresholdPercent`
   * of the endpoints are both serving and not ejected, the balancer balances over all of them. With
   * `outlierDetection: false` there is no panic mode: nothing serving fails picks with
   * `CLUSTERIP_ERR_NO_ELIGIBLE_ENDPOINTS`. Keys of endpoints not in the set are ignored (and apply if
   * they join later). Synchronous; takes effect on the next pick. A no-op after close.
   */
  setNotServing(keys: Iterable<string>): void;
  /**
   * Replace the set of endpoints (by `endpointKey`) the transport has no connection to right now (a gRPC
   * subchannel connecting again after a GOAWAY or a failure, or waiting for its first health answer).
   * Such an endpoint stays in the eligible set with everything it carries (affinity bindings, ejection,
   * load, latency) but takes no pick: a pick bound to it by affinity goes elsewhere without moving the
   * binding, and the panic rule counts only the other endpoints, so panic mode never picks it either.
   * Keys of endpoints not in the set are ignored (and apply if they join later). Synchronous; takes effect
   * on the next pick. A no-op after close.
   */
  setUnreachable(keys: Iterable<string>): void;
  /** True while panic mode is on (too few healthy endpoints: balancing over all of them). */
  readonly panic: boolean;
  /** Number of eligible endpoints. */
  readonly size: number;
  /** True when the endpoint `address:port` (its `endpointKey`) is in the eligible set. */
  has(key: string): boolean;
  /** The session affinity in force now (from the options, or from the last Service given to update()). */
  readonly sessionAffinity: SessionAffinity;
  /** Snapshot of every eligible endpoint's state. */
  endpoints(): readonly EndpointStatus[];
  readonly closed: boolean;
  /** Final; idempotent (same promise every time). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** @internal Every policy name; the balancer's policy indexes (P_RR …) are positions in it. */
export const POLICIES: readonly BalancerPolicy[] = Object.freeze([
  'random',
  'round-robin',
  'least-request',
  'peak-ewma',
  'ring-hash',
]);
const QUEUE: PickResult = Object.freeze({ type: 'queue' });
// Policy indexes into POLICIES: 0 is random (the default branch of #chooseOnce).
const P_RR = 1;
const P_LEAST = 2;
const P_EWMA = 3;
const P_RING = 4;

interface Config {
  readonly policy: number;
  readonly affinity: {
    /** True: the Service given to update() decides (`{ type: 'Service' }`). */
    readonly followService: boolean;
    /** Window when fixed to ClientIP; undefined for None (and, until a Service arrives, when following). */
    readonly timeoutMs: number | undefined;
    readonly maxEntries: number;
    readonly clientIP: string;
  };
  readonly outlier: OutlierDetectionConfig | undefined;
  readonly decayMs: number;
  readonly initialLatencyMs: number;
  readonly pointsPerEndpoint: number;
  readonly slowStart: { readonly windowMs: number; readonly minWeight: number } | undefined;
  readonly service: string;
  readonly onEject: ((endpoint: string) => void) | undefined;
  readonly now: Clock;
  readonly random: Random;
}

/**
 * Create a balancer for one Service port. Options are validated here (typed `CLUSTERIP_ERR_INVALID_ARG`
 * naming the option path) and frozen. Deterministic when `now` and `random` are injected.
 *
 * @example
 * ```ts
 * const balancer = createBalancer({ policy: 'least-request' }) // affinity follows the Service
 * balancer.update(eligibleEndpoints(endpoints, service, { nodeName: process.env.NODE_NAME }), service)
 * const r = balancer.pick()
 * if (r.type === 'pick') {
 *   try { const res = await send(r.endpoint); r.done({ type: 'http', status: res.statusCode }) }
 *   catch (error) { r.done({ type: 'error', error }) }
 * }
 * ```
 */
export function createBalancer(options: BalancerOptions = {}): Balancer {
  return new BalancerImpl(configure(options));
}

function configure(options: BalancerOptions): Config {
  const o = asRecord('options', options);
  rejectUnknownKeys('', o, [
    'policy',
    'sessionAffinity',
    'outlierDetection',
    'peakEwma',
    'ringHash',
    'slowStart',
    'service',
    'onEject',
    'now',
    'random',
  ]);
  const policy = POLICIES.indexOf(oneOf('policy', o.policy, POLICIES, 'random'));

  const a = o.sessionAffinity === undefined ? { type: 'Service' } : asRecord('sessionAffinity', o.sessionAffinity);
  const type = oneOf('sessionAffinity.type', a.type, ['Service', 'None', 'ClientIP'] as const, 'Service');
  if (a.type === undefined) {
    throw new InvalidArgumentError(
      'sessionAffinity.type',
      'sessionAffinity.type is required: Service (follow the Service), None or ClientIP',
    );
  }
  if (type === 'None') rejectUnknownKeys('sessionAffinity', a, ['type']);
  else if (type === 'Service') rejectUnknownKeys('sessionAffinity', a, ['type', 'maxEntries', 'clientIP']);
  else rejectUnknownKeys('sessionAffinity', a, ['type', 'timeoutSeconds', 'maxEntries', 'clientIP']);
  const affinity: Config['affinity'] = Object.freeze({
    followService: type === 'Service',
    timeoutMs: type === 'ClientIP' ? affinityTimeoutMs('sessionAffinity.timeoutSeconds', a.timeoutSeconds) : undefined,
    maxEntries: integerIn('sessionAffinity.maxEntries', a.maxEntries, 1, 10_000_000, 10_000),
    clientIP: stringOr('sessionAffinity.clientIP', a.clientIP, 'self'),
  });

  const outlier = outlierDetectionConfig(o.outlierDetection);

  const pe = o.peakEwma === undefined ? {} : asRecord('peakEwma', o.peakEwma);
  rejectUnknownKeys('peakEwma', pe, ['decayMs', 'initialLatencyMs']);
  const rh = o.ringHash === undefined ? {} : asRecord('ringHash', o.ringHash);
  rejectUnknownKeys('ringHash', rh, ['pointsPerEndpoint']);

  let slowStart: Config['slowStart'];
  if (o.slowStart !== undefined && o.slowStart !== false) {
    const s = asRecord('slowStart', o.slowStart);
    rejectUnknownKeys('slowStart', s, ['windowMs', 'minWeightPercent']);
    if (s.windowMs === undefined) {
      throw new InvalidArgumentError('slowStart.windowMs', 'slowStart.windowMs is required, e.g. 30000');
    }
    slowStart = Object.freeze({
      windowMs: integerIn('slowStart.windowMs', s.windowMs, 1, 3_600_000, 0),
      minWeight: integerIn('slowStart.minWeightPercent', s.minWeightPercent, 1, 100, 10) / 100,
    });
  }

  return Object.freeze({
    policy,
    affinity,
    outlier,
    decayMs: integerIn('peakEwma.decayMs', pe.decayMs, 1, 3_600_000, 10_000),
    initialLatencyMs: numberIn('peakEwma.initialLatencyMs', pe.initialLatencyMs, 0, 3_600_000, 30),
    pointsPerEndpoint: integerIn('ringHash.pointsPerEndpoint', rh.pointsPerEndpoint, 1, 10_000, 100),
    slowStart,
    service: stringOr('service', o.service, 'service'),
    onEject: functionOr<((endpoint: string) => void) | undefined>('onEject', o.onEject, undefined),
    now: functionOr<Clock>('now', o.now, monotonicClock),
    random: functionOr<Random>('random', o.random, defaultRandom),
  });
}

/** Kubernetes validation of `timeoutSeconds`: 1..86400, default 10800 (spec §4, `validateAffinityTimeout`). */
function affinityTimeoutMs(path: string, timeoutSeconds: unknown): number {
  return integerIn(path, timeoutSeconds, 1, 86_400, 10_800) * 1000;
}

/**
 * The affinity window a Service asks for: undefined for `None`. Validates only what it reads: a Service
 * is data, not options, so unknown keys are allowed (a `ServiceInfo` fits as is).
 */
function serviceAffinityTimeoutMs(service: unknown): number | undefined {
  const s = asRecord('service', service);
  const a = asRecord('service.sessionAffinity', s.sessionAffinity);
  if (a.type === undefined) {
    throw new InvalidArgumentError(
      'service.sessionAffinity.type',
      'service.sessionAffinity.type is required: None or ClientIP (normalizeService() fills it)',
    );
  }
  const type = oneOf('service.sessionAffinity.type', a.type, ['None', 'ClientIP'] as const, 'None');
  return type === 'None' ? undefined : affinityTimeoutMs('service.sessionAffinity.timeoutSeconds', a.timeoutSeconds);
}

const NO_AFFINITY: SessionAffinity = Object.freeze({ type: 'None' });

class BalancerImpl implements Balancer {
  readonly #config: Config;
  readonly #policy: number;
  readonly #now: Clock;
  readonly #random: Random;
  readonly #outlier: OutlierDetectionConfig | undefined;
  /** Present while ClientIP affinity is in force; replaced by undefined (entries dropped) on `None`. */
  #affinity: AffinityTable<EndpointState> | undefined;
  #sessionAffinity: SessionAffinity = NO_AFFINITY;
  readonly #clientIP: string;
  readonly #rr = new RoundRobinCursor();

  #states = new Map<string, EndpointState>();
  /** Every eligible endpoint, in update order. */
  #all: EndpointState[] = [];
  /** Endpoints in rotation: healthy and half-open ones, or `#all` in panic mode. */
  #active: EndpointState[] = [];
  #panic = false;
  #ring: HashRing | undefined;
  /** Earliest `ejectedUntil` of an ejected or probing endpoint; Infinity when none (no clock read per pick). */
  #nextExpiry = Number.POSITIVE_INFINITY;
  /** Latest end of a slow-start window; 0 when no endpoint is ramping. */
  #slowStartUntil = 0;
  /** Set when picks do not depend on endpoints: before the first update, on failing outcomes, after close. */
  #fixed: PickResult | undefined = QUEUE;
  #noEligible: PickResult | undefined;
  #updated = false;
  /** Number of the last update; a state listed by it carries the same number. */
  #generation = 0;
  #closing: Promise<void> | undefined;
  /** Keys reported not serving by an active health check (setNotServing); usually empty. */
  #notServing: ReadonlySet<string> = new Set();
  /** Keys the transport has no connection to (setUnreachable); usually empty. */
  #unreachable: ReadonlySet<string> = new Set();

  constructor(config: Config) {
    this.#config = config;
    this.#policy = config.policy;
    this.#now = config.now;
    this.#random = config.random;
    this.#outlier = config.outlier;
    this.#clientIP = config.affinity.clientIP;
    this.#setAffinity(config.affinity.timeoutMs);
  }

  get panic(): boolean {
    return this.#panic;
  }

  get size(): number {
    return this.#all.length;
  }

  has(key: string): boolean {
    return this.#states.has(key);
  }

  get sessionAffinity(): SessionAffinity {
    return this.#sessionAffinity;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  pick(ctx?: PickContext): PickResult {
    const fixed = this.#fixed;
    if (fixed !== undefined) return fixed;
    let now = Number.NaN;
    if (this.#nextExpiry !== Number.POSITIVE_INFINITY) {
      now = this.#now();
      if (now >= this.#nextExpiry) this.#expire(now);
    }
    if (this.#affinity !== undefined) return this.#pickAffine(this.#affinity, ctx, now);
    const active = this.#active;
    if (active.length === 0) return this.#failNoEligible();
    return this.#admit(this.#choose(active, ctx, now), now);
  }

  update(eligible: EligibleEndpoints | readonly Endpoint[], service?: Pick<ServiceInfo, 'sessionAffinity'>): void {
    if (this.#closing !== undefined) throw new ClosedError(`service ${this.#config.service}: balancer`);
    // Validate everything before changing anything: a rejected update leaves the balancer as it was.
    let endpoints: readonly Endpoint[] = [];
    let failing: PickResult | undefined;
    if (Array.isArray(eligible)) endpoints = eligible;
    else {
      const e = asRecord('eligible', eligible) as Partial<EligibleEndpoints>;
      if (!Array.isArray(e.endpoints) || typeof e.outcome?.type !== 'string') {
        throw new InvalidArgumentError(
          'eligible',
          `eligible must be the result of eligibleEndpoints() or an array of endpoints, got ${describe(eligible)}`,
        );
      }
      const outcome = e.outcome;
      if (outcome.type !== 'ok') {
        failing = Object.freeze({
          type: outcome.type === 'no-local-endpoints' ? 'drop' : 'fail',
          error: outcome.error,
        });
      } else endpoints = e.endpoints;
    }
    for (let i = 0; i < endpoints.length; i++) {
      const ep = endpoints[i] as Partial<Endpoint> | null | undefined;
      if (typeof ep?.address !== 'string' || typeof ep.port !== 'number' || !Number.isInteger(ep.port)) {
        throw new InvalidArgumentError(
          `eligible.endpoints[${i}]`,
          `eligible.endpoints[${i}] must be an Endpoint with address and integer port, got ${describe(ep)}`,
        );
      }
    }
    if (service !== undefined) {
      const timeoutMs = serviceAffinityTimeoutMs(service);
      if (this.#config.affinity.followService) this.#setAffinity(timeoutMs);
    }
    if (failing !== undefined) {
      this.#clear();
      this.#fixed = failing;
      return;
    }
    if (endpoints.length === 0) {
      this.#clear();
      this.#fixed = Object.freeze({
        type: 'fail',
        error: new NoEndpointsError(this.#config.service, 0, 'the eligible set is empty'),
      });
      return;
    }

    const now = this.#now();
    const first = !this.#updated;
    this.#updated = true;
    // Incremental. Resolver snapshots keep the Endpoint objects of unchanged endpoints, in order, so an
    // endpoint that is the very object of the next state in the old order is matched by one comparison;
    // only new or replaced objects build a key and look it up. The state map changes in place. With
    // 10,000 endpoints this replaced a fresh key string and map entry per endpoint (BENCHMARKS.md, "Scale").
    const gen = ++this.#generation;
    const states = this.#states;
    const old = this.#all;
    const all: EndpointState[] = [];
    let added = false;
    let slowStartUntil = this.#slowStartUntil;
    const ss = this.#config.slowStart;
    let j = 0;
    for (let i = 0; i < endpoints.length; i++) {
      const ep = endpoints[i]!;
      let s = old[j];
      if (s !== undefined && s.endpoint === ep && s.generation !== gen) j++;
      else {
        const key = endpointKey(ep);
        s = states.get(key);
        if (s === undefined) {
          added = true;
          const addedAt = first || ss === undefined ? Number.NEGATIVE_INFINITY : now;
          s = new EndpointState(key, ep, now, addedAt, this.#config.initialLatencyMs, this.#onDone);
          if (ss !== undefined && addedAt === now) slowStartUntil = Math.max(slowStartUntil, now + ss.windowMs);
          states.set(key, s);
        } else if (s.generation === gen)
          continue; // a duplicate key: the first one counts
        else {
          s.setEndpoint(ep);
          j = s.index + 1; // its old position: carry on comparing from there
        }
      }
      s.generation = gen;
      s.index = all.length;
      all.push(s);
    }
    // Without a new state and with as many states as before, every old state was listed again.
    let removed = false;
    if (added || all.length !== old.length) {
      for (const s of old) {
        if (s.generation === gen) continue;
        s.removed = true;
        states.delete(s.key);
        removed = true;
      }
    }
    const changed = added || removed;
    // An endpoint that left the eligible set loses its affinity for good (spec §7.4); re-adding the
    // same address:port creates a new state, so the binding cannot come back.
    if (removed) this.#affinity?.drop((s) => s.removed);
    this.#all = all;
    this.#slowStartUntil = slowStartUntil;
    if (this.#policy === P_RING && (changed || this.#ring === undefined)) {
      this.#ring = HashRing.build(all, this.#config.pointsPerEndpoint);
    }
    if (this.#policy === P_RR) this.#rr.reset(all.length, this.#random);
    let nextExpiry = Number.POSITIVE_INFINITY;
    for (const s of all) {
      if ((s.health === 'ejected' || s.health === 'probing') && s.ejectedUntil < nextExpiry) {
        nextExpiry = s.ejectedUntil;
      }
    }
    this.#nextExpiry = nextExpiry;
    this.#fixed = undefined;
    this.#rebuild();
  }

  endpoints(): readonly EndpointStatus[] {
    const now = this.#now();
    return Object.freeze(
      this.#all.map((s) =>
        Object.freeze({
          endpoint: s.endpoint,
          health: s.health,
          inFlight: s.inFlight,
          latencyMs: decayedCost(s, now, this.#config.decayMs),
          ...(s.health === 'ejected' || s.health === 'probing' ? { ejectedUntil: s.ejectedUntil } : {}),
          serving: !this.#notServing.has(s.key),
        }),
      ),
    );
  }

  setNotServing(keys: Iterable<string>): void {
    const next = this.#changedKeys(keys, this.#notServing);
    if (next === undefined) return;
    this.#notServing = next;
    if (this.#all.length > 0) this.#rebuild();
  }

  setUnreachable(keys: Iterable<string>): void {
    const next = this.#changedKeys(keys, this.#unreachable);
    if (next === undefined) return;
    this.#unreachable = next;
    if (this.#all.length > 0) this.#rebuild();
  }

  /** `keys` as a set when it differs from `old` and the balancer is open; else undefined (nothing to do). */
  #changedKeys(keys: Iterable<string>, old: ReadonlySet<string>): ReadonlySet<string> | undefined {
    if (this.#closing !== undefined) return undefined;
    const next = new Set(keys);
    return next.size === old.size && [...next].every((k) => old.has(k)) ? undefined : next;
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#clear();
      this.#fixed = Object.freeze({
        type: 'fail',
        error: new ClosedError(`service ${this.#config.service}: balancer`),
      });
      this.#closing = Promise.resolve();
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Put ClientIP affinity with window `timeoutMs` in force, or none (undefined). An existing table is
   * kept, bindings and all, and only its window changes; `None` drops the table (spec §7.4: no entries).
   */
  #setAffinity(timeoutMs: number | undefined): void {
    if (timeoutMs === undefined) {
      this.#affinity = undefined;
      this.#sessionAffinity = NO_AFFINITY;
      return;
    }
    if (this.#affinity === undefined) this.#affinity = new AffinityTable(timeoutMs, this.#config.affinity.maxEntries);
    else this.#affinity.timeoutMs = timeoutMs;
    if (this.#sessionAffinity.type !== 'ClientIP' || this.#sessionAffinity.timeoutSeconds * 1000 !== timeoutMs) {
      this.#sessionAffinity = Object.freeze({ type: 'ClientIP', timeoutSeconds: timeoutMs / 1000 });
    }
  }

  // ── picking ─────────────────────────────────────────────────────────────────────────────────────

  #pickAffine(table: AffinityTable<EndpointState>, ctx: PickContext | undefined, now: number): PickResult {
    const t = this.#time(now);
    const key = ctx?.affinityKey ?? this.#clientIP;
    let s = table.get(key, t);
    if (s !== undefined && this.#unreachable.size !== 0 && this.#unreachable.has(s.key)) {
      // Bound to an endpoint that is reconnecting: this pick goes elsewhere, the binding stays (spec §7.4:
      // it ends only when the endpoint leaves the eligible set).
      const active = this.#active;
      if (active.length === 0) return this.#failNoEligible();
      return this.#admit(this.#choose(active, ctx, t), t);
    }
    let hit = true;
    // An ejected endpoint is out of rotation: pick afresh (the binding moves, as when kube-proxy's
    // rcheck rule for an endpoint disappears). In panic mode every endpoint is usable and sticks.
    if (s === undefined || !this.#usable(s)) {
      const active = this.#active;
      if (active.length === 0) return this.#failNoEligible();
      s = this.#choose(active, ctx, t);
      hit = false;
    }
    table.set(key, s, t);
    if (channels.balancerAffinity.hasSubscribers) {
      channels.balancerAffinity.publish({ service: this.#config.service, endpoint: s.key, hit });
    }
    return this.#admit(s, t);
  }

  #choose(active: readonly EndpointState[], ctx: PickContext | undefined, now: number): EndpointState {
    let s = this.#chooseOnce(active, ctx, now);
    if (this.#slowStartUntil !== 0 && this.#policy !== P_RING) {
      const t = this.#time(now);
      if (t >= this.#slowStartUntil) this.#slowStartUntil = 0;
      else {
        const ss = this.#config.slowStart!;
        const w = slowStartWeight(t - s.addedAt, ss.windowMs, ss.minWeight);
        // Accept a ramping endpoint with probability w, else draw once more: its share drops to about w.
        if (w < 1 && this.#random() >= w) s = this.#chooseOnce(active, ctx, t);
      }
    }
    const avoid = ctx?.avoid;
    if (avoid !== undefined && avoid.length > 0 && avoid.includes(s.key)) {
      // Retry path only (allocates): choose among the endpoints not to avoid, when there are any.
      const rest = active.filter((x) => !avoid.includes(x.key));
      if (rest.length > 0)
        s = this.#policy === P_RING ? pickRandom(rest, this.#random) : this.#chooseOnce(rest, ctx, now);
    }
    return s;
  }

  #chooseOnce(active: readonly EndpointState[], ctx: PickContext | undefined, now: number): EndpointState {
    switch (this.#policy) {
      case P_RR:
        return pickRoundRobin(active, this.#rr);
      case P_LEAST:
        return pickLeastRequest(active, this.#random);
      case P_EWMA:
        return pickPeakEwma(active, this.#random, this.#time(now), this.#config.decayMs);
      case P_RING: {
        const key = ctx?.affinityKey;
        if (key === undefined) return pickRandom(active, this.#random);
        return this.#ring!.lookup(key, this.#usable) ?? pickRandom(active, this.#random);
      }
      default:
        return pickRandom(active, this.#random);
    }
  }

  /** `now` if already read during this pick (NaN = not yet), else a fresh clock read. */
  #time(now: number): number {
    return Number.isNaN(now) ? this.#now() : now;
  }

  readonly #usable = (s: EndpointState): boolean =>
    (this.#unreachable.size === 0 || !this.#unreachable.has(s.key)) &&
    (this.#panic ||
      ((s.health === 'healthy' || s.health === 'half-open') &&
        (this.#notServing.size === 0 || !this.#notServing.has(s.key))));

  #admit(s: EndpointState, now: number): PickResult {
    s.inFlight++;
    if (s.health === 'half-open' && !this.#panic) {
      // Half-open: this pick is the single trial; the endpoint leaves rotation until it reports. Its
      // done() carries a fresh token, so only this pick's outcome decides: a late result of a call picked
      // before the ejection, or of an earlier probe that timed out, is not taken for the verdict.
      // (In panic mode half-open endpoints take traffic without a probe and are judged once panic ends.)
      const t = this.#time(now);
      s.health = 'probing';
      s.ejectedUntil = t + this.#outlier!.baseEjectionTimeMs;
      if (s.ejectedUntil < this.#nextExpiry) this.#nextExpiry = s.ejectedUntil;
      this.#rebuild();
      return s.probeResult(t, ++s.probeToken);
    }
    if (this.#policy === P_EWMA) return s.timedResult(this.#time(now));
    return s.result;
  }

  #failNoEligible(): PickResult {
    if (this.#noEligible === undefined) {
      let notServing = 0;
      let unreachable = 0;
      for (const s of this.#all) {
        if (this.#unreachable.has(s.key)) unreachable++;
        else if (this.#notServing.has(s.key)) notServing++;
      }
      const ejected = this.#all.length - notServing - unreachable;
      const why =
        notServing === 0
          ? `${ejected} ejected by outlier detection: set outlierDetection.panicThresholdPercent above 0 to balance over all of them`
          : `${notServing} not serving (health check)${ejected > 0 ? `, ${ejected} ejected by outlier detection` : ''}: ${
              this.#outlier === undefined
                ? 'enable outlierDetection'
                : 'set outlierDetection.panicThresholdPercent above 0'
            } to balance over all of them in panic mode`;
      this.#noEligible = Object.freeze({
        type: 'fail',
        error: new NoEligibleEndpointsError(this.#config.service, this.#all.length, why),
      });
    }
    return this.#noEligible;
  }

  // ── feedback ────────────────────────────────────────────────────────────────────────────────────

  readonly #onDone = (s: EndpointState, outcome: CallOutcome, startedAt: number, probe: number): void => {
    if (s.inFlight > 0) s.inFlight--;
    if (s.removed || this.#closing !== undefined) return;
    const od = this.#outlier;
    const ewma = this.#policy === P_EWMA;
    if (od === undefined && !ewma) return;
    const cls = classify(outcome);
    if (cls === 'ignore') return;
    const now = this.#now();
    const failed = cls === 'failure';
    if (ewma) observeLatency(s, outcome.latencyMs ?? now - startedAt, failed, now, this.#config.decayMs);
    if (od === undefined) return;
    const isProbe = probe !== 0 && probe === s.probeToken && s.health === 'probing';
    const transition = recordOutcome(s, failed, now, od, isProbe);
    if (transition === 'eject') this.#eject(s, now, od);
    else if (transition === 'readmit') {
      readmit(s, now);
      this.#rebuild();
      this.#publishState(s, 'healthy');
    }
  };

  #eject(s: EndpointState, now: number, od: OutlierDetectionConfig): void {
    // Endpoints out for not serving count against the budget too, so ejection never takes the last one in
    // rotation. A healthy endpoint without a connection (reconnecting) is neither capacity nor out: it is
    // left out of the count, as when the gRPC policy only held connected endpoints; an ejected one still
    // counts as ejected. So a failing pod can be ejected while others reconnect, never the last connected one.
    let out = 0;
    let total = 0;
    const unreachable = this.#unreachable;
    for (const x of this.#all) {
      const down = x.health !== 'healthy' || this.#notServing.has(x.key);
      if (!down && x !== s && unreachable.size !== 0 && unreachable.has(x.key)) continue;
      total++;
      if (down) out++;
    }
    // Over budget (maxEjectionPercent, never the last endpoint): stays in rotation, counters kept.
    if (!eject(s, now, out, total, od)) return;
    if (s.ejectedUntil < this.#nextExpiry) this.#nextExpiry = s.ejectedUntil;
    this.#rebuild();
    this.#publishState(s, 'ejected', s.ejectedUntil - now);
    const onEject = this.#config.onEject;
    if (onEject !== undefined) {
      try {
        onEject(s.key);
      } catch {
        // a listener's failure must not fail the call that reported the outcome
      }
    }
  }

  #expire(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const s of this.#all) {
      if (s.health !== 'ejected' && s.health !== 'probing') continue;
      if (s.ejectedUntil <= now) {
        s.health = 'half-open';
        this.#publishState(s, 'half-open');
      } else if (s.ejectedUntil < next) next = s.ejectedUntil;
    }
    this.#nextExpiry = next;
    this.#rebuild();
  }

  /** Recompute the rotation and panic mode after any health or membership change (rare; O(n)). */
  #rebuild(): void {
    const all = this.#all;
    const active: EndpointState[] = [];
    const notServing = this.#notServing;
    const unreachable = this.#unreachable;
    // Endpoints without a connection are neither picked nor counted by the panic rule.
    const reachable = unreachable.size === 0 ? all : all.filter((s) => !unreachable.has(s.key));
    for (const s of reachable) {
      if ((s.health === 'healthy' || s.health === 'half-open') && (notServing.size === 0 || !notServing.has(s.key))) {
        active.push(s);
      }
    }
    const od = this.#outlier;
    const panic = od !== undefined && isPanic(active.length, reachable.length, od.panicThresholdPercent);
    this.#active = panic || active.length === reachable.length ? reachable : active;
    this.#noEligible = undefined;
    if (panic !== this.#panic) {
      this.#panic = panic;
      if (channels.balancerPanic.hasSubscribers) {
        channels.balancerPanic.publish({
          service: this.#config.service,
          panic,
          healthy: active.length,
          total: reachable.length,
        });
      }
    }
  }

  #publishState(s: EndpointState, state: 'ejected' | 'half-open' | 'healthy', ejectionTimeMs?: number): void {
    if (!channels.breakerState.hasSubscribers) return;
    channels.breakerState.publish({
      service: this.#config.service,
      endpoint: s.key,
      state,
      ...(ejectionTimeMs === undefined ? {} : { ejectionTimeMs }),
    });
  }

  /** Forget every endpoint (failing outcome, empty set, close). */
  #clear(): void {
    for (const s of this.#all) s.removed = true;
    this.#affinity?.clear();
    this.#states = new Map();
    this.#all = [];
    this.#active = [];
    this.#ring = undefined;
    this.#nextExpiry = Number.POSITIVE_INFINITY;
    if (this.#panic) this.#rebuild();
  }
}
