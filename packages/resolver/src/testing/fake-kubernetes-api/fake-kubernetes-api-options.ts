// Fake Kubernetes API: options of `FakeKubernetesApi.start()`: validated once, defaulted, frozen.
// Consumes user options; produces the resolved configuration or an InvalidArgumentError naming the option.

import { InvalidArgumentError } from '../../errors/invalid-argument-error.js';
import { functionOption, integerOption } from '../../internal/options.js';
import { isPlainObject } from './kube-object.js';

/** EndpointSlice controller emulation settings. */
export interface EndpointSliceControllerOptions {
  /** `--max-endpoints-per-slice` (1-1000, default 100). */
  readonly maxEndpointsPerSlice?: number;
}

/**
 * Options of {@link FakeKubernetesApi.start}. Every key is optional; unknown keys are rejected.
 *
 * @example
 * ```ts
 * const api = await FakeKubernetesApi.start({ token: 'secret', historySize: 50, bookmarkIntervalMs: 1000 })
 * ```
 */
export interface FakeKubernetesApiOptions {
  /** Address to listen on (default `127.0.0.1`; `::1` works too). */
  readonly host?: string;
  /** Port (default 0: any free port). */
  readonly port?: number;
  /**
   * When set, every request must carry `Authorization: Bearer <token>`, else 401. Note that
   * kubectl sends credentials only over TLS: give `tls` too when kubectl must authenticate.
   */
  readonly token?: string;
  /**
   * Serve HTTPS with this PEM key and certificate (e.g. a self-signed one for `127.0.0.1`).
   * `kubeconfig()` then embeds the certificate as `certificate-authority-data`.
   */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Service ClusterIP range, IPv4 CIDR (default `10.96.0.0/16`). ClusterIPs are only data here. */
  readonly serviceClusterIPRange?: string;
  /** How many changes the store remembers for watch resumption (default 1000); older → 410. */
  readonly historySize?: number;
  /** Interval of BOOKMARK events on watches that allow them (default 60000, like the watch cache). 0 disables periodic bookmarks. */
  readonly bookmarkIntervalMs?: number;
  /** Watch duration when the client sends no `timeoutSeconds` (default 1800, `--min-request-timeout`). */
  readonly watchTimeoutSeconds?: number;
  /** Unsent bytes after which a watcher counts as fallen behind and gets ERROR 410 (default 8 MiB). */
  readonly maxWatchBufferBytes?: number;
  /**
   * How a watch from a too-old resourceVersion is refused: `status` (default) answers HTTP 410 with
   * a Status; `event` answers 200 and sends one ERROR event (code 410, reason Expired).
   */
  readonly expiredWatchResponse?: 'status' | 'event';
  /** Bound of the `requests` log (default 10000; oldest entries are dropped). */
  readonly requestLogSize?: number;
  /** Largest accepted request body (default 3 MiB, like the real server); larger → 413. */
  readonly maxBodyBytes?: number;
  /** `gitVersion` reported by `/version` (default `v1.33.1`); the kubectl dispatcher picks kubectl.1.<minor>. */
  readonly kubernetesVersion?: string;
  /** Emulate the EndpointSlice controller (default true). `false` leaves EndpointSlices to you. */
  readonly endpointSliceController?: boolean | EndpointSliceControllerOptions;
  /**
   * Delete scheduled Pods (with `spec.nodeName`) gracefully, as the real server does: a delete with a
   * grace period above 0 only sets `deletionTimestamp` (now + grace) and `deletionGracePeriodSeconds`;
   * whoever plays the kubelet removes the pod later with `delete(..., { gracePeriodSeconds: 0 })`.
   * Default false: pods are removed at once, since no kubelet would ever finish the deletion.
   */
  readonly gracefulPodDeletion?: boolean;
  /** Clock in epoch milliseconds (default `Date.now`): creationTimestamp, ages, request times. */
  readonly now?: () => number;
  /** Random source in [0, 1) (default `Math.random`): ClusterIP allocation and generated names. */
  readonly random?: () => number;
}

/** The resolved, frozen configuration. */
export interface ResolvedFakeKubernetesApiOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  readonly tls: { readonly key: string | Buffer; readonly cert: string | Buffer } | undefined;
  readonly serviceClusterIPRange: string;
  readonly historySize: number;
  readonly bookmarkIntervalMs: number;
  readonly watchTimeoutSeconds: number;
  readonly maxWatchBufferBytes: number;
  readonly expiredWatchResponse: 'status' | 'event';
  readonly requestLogSize: number;
  readonly maxBodyBytes: number;
  readonly kubernetesVersion: string;
  readonly endpointSliceController: false | { readonly maxEndpointsPerSlice: number };
  readonly gracefulPodDeletion: boolean;
  readonly now: () => number;
  readonly random: () => number;
}

const KEYS = new Set([
  'host',
  'port',
  'token',
  'tls',
  'serviceClusterIPRange',
  'historySize',
  'bookmarkIntervalMs',
  'watchTimeoutSeconds',
  'maxWatchBufferBytes',
  'expiredWatchResponse',
  'requestLogSize',
  'maxBodyBytes',
  'kubernetesVersion',
  'endpointSliceController',
  'gracefulPodDeletion',
  'now',
  'random',
]);

/** Validate, default and freeze `FakeKubernetesApi` options. */
export function resolveFakeKubernetesApiOptions(
  input: FakeKubernetesApiOptions | undefined,
): ResolvedFakeKubernetesApiOptions {
  if (input !== undefined && !isPlainObject(input)) {
    throw new InvalidArgumentError('options', `options must be an object, got ${typeof input}`);
  }
  const options = (input ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) throw new InvalidArgumentError(key, `unexpected option ${JSON.stringify(key)}`);
  }
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '')
    throw new InvalidArgumentError('host', `host must be a non-empty string, got ${String(host)}`);
  const token = options.token;
  if (token !== undefined && (typeof token !== 'string' || token === '' || /\s/.test(token))) {
    throw new InvalidArgumentError('token', 'token must be a non-empty string without whitespace');
  }
  const tls = options.tls;
  if (tls !== undefined) {
    const pem = (v: unknown) => typeof v === 'string' || Buffer.isBuffer(v);
    if (
      !isPlainObject(tls) ||
      !pem(tls.key) ||
      !pem(tls.cert) ||
      Object.keys(tls).some((k) => k !== 'key' && k !== 'cert')
    ) {
      throw new InvalidArgumentError('tls', 'tls must be { key, cert } with PEM strings or Buffers');
    }
  }
  const range = options.serviceClusterIPRange ?? '10.96.0.0/16';
  if (typeof range !== 'string')
    throw new InvalidArgumentError('serviceClusterIPRange', 'serviceClusterIPRange must be a string');
  const expiredWatchResponse = options.expiredWatchResponse ?? 'status';
  if (expiredWatchResponse !== 'status' && expiredWatchResponse !== 'event') {
    throw new InvalidArgumentError(
      'expiredWatchResponse',
      `expiredWatchResponse must be 'status' or 'event', got ${String(expiredWatchResponse)}`,
    );
  }
  const version = options.kubernetesVersion ?? 'v1.33.1';
  if (typeof version !== 'string' || !/^v\d+\.\d+\.\d+/.test(version)) {
    throw new InvalidArgumentError(
      'kubernetesVersion',
      `kubernetesVersion must look like v1.33.1, got ${String(version)}`,
    );
  }
  const controller = options.endpointSliceController ?? true;
  let endpointSliceController: ResolvedFakeKubernetesApiOptions['endpointSliceController'];
  if (controller === false) endpointSliceController = false;
  else if (controller === true) endpointSliceController = Object.freeze({ maxEndpointsPerSlice: 100 });
  else if (isPlainObject(controller)) {
    for (const key of Object.keys(controller)) {
      if (key !== 'maxEndpointsPerSlice') {
        throw new InvalidArgumentError(
          `endpointSliceController.${key}`,
          `unexpected option "endpointSliceController.${key}"`,
        );
      }
    }
    const max = controller.maxEndpointsPerSlice ?? 100;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 1000) {
      throw new InvalidArgumentError(
        'endpointSliceController.maxEndpointsPerSlice',
        `endpointSliceController.maxEndpointsPerSlice must be an integer from 1 to 1000, got ${String(max)}`,
      );
    }
    endpointSliceController = Object.freeze({ maxEndpointsPerSlice: max });
  } else {
    throw new InvalidArgumentError('endpointSliceController', 'endpointSliceController must be a boolean or an object');
  }
  const graceful = options.gracefulPodDeletion ?? false;
  if (typeof graceful !== 'boolean') {
    throw new InvalidArgumentError(
      'gracefulPodDeletion',
      `gracefulPodDeletion must be a boolean, got ${String(graceful)}`,
    );
  }
  return Object.freeze({
    host,
    gracefulPodDeletion: graceful,
    port: integerOption(options, 'port', 0, 0, 65535),
    token: token as string | undefined,
    tls: tls === undefined ? undefined : Object.freeze({ ...(tls as { key: string | Buffer; cert: string | Buffer }) }),
    serviceClusterIPRange: range,
    historySize: integerOption(options, 'historySize', 1000, 1, 10_000_000),
    bookmarkIntervalMs: integerOption(options, 'bookmarkIntervalMs', 60_000, 0, 2_147_483_647),
    watchTimeoutSeconds: integerOption(options, 'watchTimeoutSeconds', 1800, 1, 2_147_483),
    maxWatchBufferBytes: integerOption(options, 'maxWatchBufferBytes', 8 * 1024 * 1024, 1, 2 ** 31),
    expiredWatchResponse,
    requestLogSize: integerOption(options, 'requestLogSize', 10_000, 0, 10_000_000),
    maxBodyBytes: integerOption(options, 'maxBodyBytes', 3 * 1024 * 1024, 1, 2 ** 31),
    kubernetesVersion: version,
    endpointSliceController,
    now: functionOption(options, 'now', Date.now),
    random: functionOption(options, 'random', Math.random),
  });
}
