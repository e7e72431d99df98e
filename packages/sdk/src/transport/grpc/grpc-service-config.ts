// ⑧ Transport (gRPC): the `clusterip` LB policy's configuration and the `grpc.service_config` JSON that selects it.
// Consumes user options; produces a validated, frozen policy config and the service-config string grpc-js parses.

import { InvalidArgumentError } from '@clusterip/resolver';
import { type BalancerOptions, createBalancer } from '../../balancer/balancer.js';
import type { OutlierDetectionOptions } from '../../eligibility/outlier-detection.js';
import { asRecord, describe, integerIn, numberIn, rejectUnknownKeys } from '../../internal/options.js';
import { affinityKeyFrom } from '../../picker/affinity-key.js';
import type { BalancerPolicy } from '../../picker/picker.js';
import { type GrpcHealthCheckConfig, type GrpcHealthCheckOptions, healthCheckConfig } from './grpc-health-check.js';

/** Name under which the LB policy is registered with grpc-js (`loadBalancingConfig: [{ clusterip: {…} }]`). */
export const LB_POLICY_NAME = 'clusterip';

/**
 * Options of the `clusterip` LB policy: the balancing core's options that fit in JSON, plus where the
 * per-call affinity key comes from.
 *
 * @example
 * ```ts
 * const policy: ClusterIPPolicyOptions = {
 *   policy: 'least-request',
 *   sessionAffinity: { type: 'ClientIP', timeoutSeconds: 600 },
 *   affinityKey: { metadata: 'x-user' },
 * }
 * ```
 */
export interface ClusterIPPolicyOptions {
  /** Balancer policy. Default `random` (kube-proxy iptables/nftables), as for HTTP. */
  readonly policy?: BalancerPolicy;
  /**
   * Default `{ type: 'Service' }`: follow the Service's `sessionAffinity` (ClientIP pins the whole
   * channel to one pod per Service port, as kube-proxy pins a pod). `{ type: 'ClientIP', … }` forces
   * affinity; `{ type: 'None' }` disables it.
   */
  readonly sessionAffinity?: BalancerOptions['sessionAffinity'];
  /**
   * Per-call affinity key: the first text value of this call-metadata key becomes the "client" of
   * ClientIP affinity (each key sticks to its own pod), or the hash key of `ring-hash`. Calls without
   * the key use the process key (ClientIP) or a random pod (`ring-hash`).
   */
  readonly affinityKey?: { readonly metadata: string };
  /** Passive outlier detection fed by every call's status; on by default, `false` disables it. */
  readonly outlierDetection?: OutlierDetectionOptions | false;
  readonly peakEwma?: BalancerOptions['peakEwma'];
  readonly ringHash?: BalancerOptions['ringHash'];
  readonly slowStart?: BalancerOptions['slowStart'];
  /**
   * Client-side health checking with the gRPC health protocol (`grpc.health.v1.Health/Watch`, gRFC A17).
   * Off by default; `true` or an options object turns it on. A connected endpoint takes RPCs once its
   * server answered SERVING (a server without the health service, UNIMPLEMENTED, counts as serving); one
   * that answers NOT_SERVING, SERVICE_UNKNOWN or UNKNOWN, or whose Watch stream fails, leaves the rotation
   * (its outlier statistics untouched) until it answers SERVING again, under the balancer's panic rule
   * (`outlierDetection.panicThresholdPercent`, default 50: below that share of serving endpoints, all
   * connected endpoints take RPCs; with `outlierDetection: false` nothing serving fails calls UNAVAILABLE).
   */
  readonly healthCheck?: GrpcHealthCheckOptions | boolean;
}

/**
 * gRPC retry policy (gRFC A6) applied to every method of the channel. grpc-js retries on another pick,
 * so with per-RPC balancing a retry usually lands on another pod.
 */
export interface GrpcRetryOptions {
  /** Attempts including the first, 2–5 (grpc-js caps at 5). Default 3. */
  readonly maxAttempts?: number;
  /** Default 50. */
  readonly initialBackoffMs?: number;
  /** Default 1000. */
  readonly maxBackoffMs?: number;
  /** Default 2. */
  readonly backoffMultiplier?: number;
  /** Status names or numbers to retry. Default `['UNAVAILABLE']`. */
  readonly retryableStatusCodes?: readonly (string | number)[];
}

/** Options of {@link serviceConfig}. Unknown keys are rejected. */
export interface GrpcServiceConfigOptions extends ClusterIPPolicyOptions {
  /** Retry policy for every method; default none (grpc-js still retries transparently on REFUSED_STREAM). */
  readonly retry?: GrpcRetryOptions | false;
  /** Retry throttling (a retry budget per channel), gRFC A6 `retryThrottling`. */
  readonly retryThrottling?: { readonly maxTokens: number; readonly tokenRatio: number };
  /** `waitForReady` for every method: calls wait for an endpoint instead of failing while none is ready. */
  readonly waitForReady?: boolean;
}

/** The validated, JSON-safe `clusterip` policy config (what travels inside `grpc.service_config`). */
export interface ClusterIPPolicyConfig {
  /** Absent when the service config does not set it: the channel's mesh decides, else `random`. */
  readonly policy?: BalancerPolicy;
  readonly sessionAffinity?: BalancerOptions['sessionAffinity'];
  readonly affinityKey?: { readonly metadata: string };
  readonly outlierDetection?: OutlierDetectionOptions | false;
  readonly peakEwma?: BalancerOptions['peakEwma'];
  readonly ringHash?: BalancerOptions['ringHash'];
  readonly slowStart?: BalancerOptions['slowStart'];
  /** Absent when health checking is off. */
  readonly healthCheck?: GrpcHealthCheckConfig;
}

const POLICY_KEYS = [
  'policy',
  'sessionAffinity',
  'affinityKey',
  'outlierDetection',
  'peakEwma',
  'ringHash',
  'slowStart',
  'healthCheck',
] as const;

/**
 * Validate the `clusterip` policy options (the balancer validates its own part by being built once
 * without endpoints; that allocates nothing lasting) and return a frozen JSON-safe copy.
 * `path` prefixes option paths in error messages.
 */
export function policyConfig(options: unknown, path = ''): ClusterIPPolicyConfig {
  const o = asRecord(path === '' ? 'options' : path, options ?? {});
  const at = (key: string) => (path === '' ? key : `${path}.${key}`);
  rejectUnknownKeys(path, o, POLICY_KEYS);
  const balancerOptions: Record<string, unknown> = {};
  for (const key of ['policy', 'sessionAffinity', 'outlierDetection', 'peakEwma', 'ringHash', 'slowStart']) {
    if (o[key] !== undefined) balancerOptions[key] = o[key];
  }
  try {
    void createBalancer(balancerOptions as BalancerOptions).close();
  } catch (error) {
    if (error instanceof InvalidArgumentError && path !== '') {
      throw new InvalidArgumentError(at(error.option), `${path}.${error.message}`, { cause: error });
    }
    throw error;
  }
  const policy = (o.policy ?? 'random') as BalancerPolicy;
  let affinityKey: { metadata: string } | undefined;
  if (o.affinityKey !== undefined) {
    const a = asRecord(at('affinityKey'), o.affinityKey);
    rejectUnknownKeys(at('affinityKey'), a, ['metadata']);
    if (a.metadata === undefined) {
      throw new InvalidArgumentError(
        at('affinityKey.metadata'),
        `${at('affinityKey.metadata')} is required: the call-metadata key to stick by, e.g. "x-user"`,
      );
    }
    try {
      affinityKeyFrom({ metadata: a.metadata as string });
    } catch (error) {
      throw new InvalidArgumentError(
        at('affinityKey.metadata'),
        `${at('affinityKey.metadata')} must be a text gRPC metadata key (0-9 a-z _ . -, not -bin), got ${describe(a.metadata)}`,
        { cause: error },
      );
    }
    const affinity = o.sessionAffinity as { type?: string } | undefined;
    if (affinity?.type === 'None' && policy !== 'ring-hash') {
      throw new InvalidArgumentError(
        at('affinityKey'),
        `${at('affinityKey')} has no effect with sessionAffinity None: use sessionAffinity { type: 'ClientIP' } or policy 'ring-hash'`,
      );
    }
    affinityKey = Object.freeze({ metadata: (a.metadata as string).toLowerCase() });
  }
  const healthCheck = healthCheckConfig(o.healthCheck, at('healthCheck'));
  // JSON round trip: what grpc-js hands back to createFromJson must equal what we validated.
  const copy = JSON.parse(
    JSON.stringify({
      ...(o.policy === undefined ? {} : { policy }),
      ...(o.sessionAffinity === undefined ? {} : { sessionAffinity: o.sessionAffinity }),
      ...(affinityKey === undefined ? {} : { affinityKey }),
      ...(o.outlierDetection === undefined ? {} : { outlierDetection: o.outlierDetection }),
      ...(o.peakEwma === undefined ? {} : { peakEwma: o.peakEwma }),
      ...(o.ringHash === undefined ? {} : { ringHash: o.ringHash }),
      ...(o.slowStart === undefined ? {} : { slowStart: o.slowStart }),
      ...(healthCheck === undefined ? {} : { healthCheck }),
    }),
  ) as ClusterIPPolicyConfig;
  return deepFreeze(copy);
}

/**
 * The balancer options of a policy config (everything but the affinity key and health checking, which
 * the transport does). Options the config leaves
 * unset come from `base` (the channel mesh's options for the Service), when given.
 */
export function balancerOptionsOf(
  config: ClusterIPPolicyConfig,
  service: string,
  base?: BalancerOptions,
): BalancerOptions {
  const { affinityKey: _ignored, healthCheck: _transport, ...rest } = config;
  return { ...base, ...rest, service };
}

/**
 * The `grpc.service_config` channel option that selects the `clusterip` policy with these options,
 * plus retry and wait-for-ready settings for every method. Validated now (`CLUSTERIP_ERR_INVALID_ARG`
 * naming the option path). Give it to the channel as is; `register()` must run before the channel
 * resolves.
 *
 * @example
 * ```ts
 * import { register, serviceConfig } from '@clusterip/sdk/grpc'
 * register()
 * const client = new Greeter('kubernetes:///greeter.prod:grpc', credentials.createInsecure(), {
 *   'grpc.service_config': serviceConfig({
 *     policy: 'least-request',
 *     sessionAffinity: { type: 'ClientIP' },
 *     affinityKey: { metadata: 'x-user' },
 *     retry: { maxAttempts: 3 },
 *   }),
 * })
 * ```
 */
export function serviceConfig(options: GrpcServiceConfigOptions = {}): string {
  const o = asRecord('options', options);
  rejectUnknownKeys('', o, [...POLICY_KEYS, 'retry', 'retryThrottling', 'waitForReady']);
  const policyOptions: Record<string, unknown> = {};
  for (const key of POLICY_KEYS) if (o[key] !== undefined) policyOptions[key] = o[key];
  const lb = policyConfig(policyOptions);

  const method: Record<string, unknown> = { name: [{}] };
  if (o.waitForReady !== undefined) {
    if (typeof o.waitForReady !== 'boolean') {
      throw new InvalidArgumentError('waitForReady', `waitForReady must be a boolean, got ${describe(o.waitForReady)}`);
    }
    method.waitForReady = o.waitForReady;
  }
  if (o.retry !== undefined && o.retry !== false) method.retryPolicy = retryPolicy(o.retry);
  const config: Record<string, unknown> = {
    loadBalancingConfig: [{ [LB_POLICY_NAME]: lb }],
    ...(Object.keys(method).length > 1 ? { methodConfig: [method] } : {}),
  };
  if (o.retryThrottling !== undefined) {
    const t = asRecord('retryThrottling', o.retryThrottling);
    rejectUnknownKeys('retryThrottling', t, ['maxTokens', 'tokenRatio']);
    for (const key of ['maxTokens', 'tokenRatio']) {
      if (t[key] === undefined) {
        throw new InvalidArgumentError(`retryThrottling.${key}`, `retryThrottling.${key} is required, e.g. 10 and 0.1`);
      }
    }
    config.retryThrottling = {
      maxTokens: numberIn('retryThrottling.maxTokens', t.maxTokens, 1, 1000, 10),
      tokenRatio: numberIn('retryThrottling.tokenRatio', t.tokenRatio, 0.001, 1000, 0.1),
    };
  }
  return JSON.stringify(config);
}

const STATUS_NAMES = new Set([
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
]);

function retryPolicy(value: unknown): Record<string, unknown> {
  const r = asRecord('retry', value);
  rejectUnknownKeys('retry', r, [
    'maxAttempts',
    'initialBackoffMs',
    'maxBackoffMs',
    'backoffMultiplier',
    'retryableStatusCodes',
  ]);
  const initial = integerIn('retry.initialBackoffMs', r.initialBackoffMs, 1, 3_600_000, 50);
  const max = integerIn('retry.maxBackoffMs', r.maxBackoffMs, 1, 3_600_000, Math.max(1000, initial));
  if (max < initial) {
    throw new InvalidArgumentError(
      'retry.maxBackoffMs',
      `retry.maxBackoffMs must be at least retry.initialBackoffMs (${initial}), got ${max}`,
    );
  }
  const codes = r.retryableStatusCodes ?? ['UNAVAILABLE'];
  if (!Array.isArray(codes) || codes.length === 0) {
    throw new InvalidArgumentError(
      'retry.retryableStatusCodes',
      `retry.retryableStatusCodes must be a non-empty array of status names, got ${describe(codes)}`,
    );
  }
  const statusCodes = codes.map((c, i) => {
    const path = `retry.retryableStatusCodes[${i}]`;
    if (typeof c === 'number' && Number.isInteger(c) && c >= 1 && c <= 16) return c;
    if (typeof c === 'string' && STATUS_NAMES.has(c.toUpperCase())) return c.toUpperCase();
    throw new InvalidArgumentError(path, `${path} must be a gRPC status name or code 1-16, got ${describe(c)}`);
  });
  return {
    maxAttempts: integerIn('retry.maxAttempts', r.maxAttempts, 2, 5, 3),
    initialBackoff: seconds(initial),
    maxBackoff: seconds(max),
    backoffMultiplier: numberIn('retry.backoffMultiplier', r.backoffMultiplier, 1, 100, 2),
    retryableStatusCodes: statusCodes,
  };
}

/** grpc-js durations in service config are strings of seconds with up to 9 decimals, e.g. `0.05s`. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
