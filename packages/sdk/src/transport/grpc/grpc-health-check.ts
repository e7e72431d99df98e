// ⑧ Transport (gRPC): client-side health checking (grpc.health.v1 `Health/Watch`, gRFC A17) per endpoint.
// Consumes connected grpc-js subchannels of the `clusterip` policy; produces per-endpoint serving verdicts.
//
// Only public grpc-js API: `SubchannelInterface.getChannel()` (a channel bound to that one connection) and a
// `Client` with `channelOverride`. The two protobuf messages are encoded by hand (no proto-loader at runtime).

import { debuglog } from 'node:util';
import { InvalidArgumentError } from '@clusterip/resolver';
import type * as Grpc from '@grpc/grpc-js';
import type { experimental } from '@grpc/grpc-js';
import { asRecord, describe, integerIn, rejectUnknownKeys } from '../../internal/options.js';
import { channels, type GrpcHealthMessage } from '../../telemetry/channels.js';

type GrpcModule = typeof Grpc;
type SubchannelInterface = experimental.SubchannelInterface;

const debug = debuglog('clusterip');

/** Full method name of the streaming health check. */
export const HEALTH_WATCH_METHOD = '/grpc.health.v1.Health/Watch';

/** `grpc.health.v1.HealthCheckResponse.ServingStatus`. */
export const ServingStatus = Object.freeze({
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  SERVICE_UNKNOWN: 3,
} as const);

const STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

/**
 * Options of the `healthCheck` option of the `clusterip` policy (`serviceConfig({ healthCheck })`).
 *
 * @example
 * ```ts
 * serviceConfig({ healthCheck: { serviceName: 'greeter.v1.Greeter', initialBackoffMs: 500 } })
 * ```
 */
export interface GrpcHealthCheckOptions {
  /** Health service name sent in `HealthCheckRequest.service`. Default `''` (the whole server). */
  readonly serviceName?: string;
  /** Wait before retrying a failed Watch stream that got no answer; doubles (×1.6) up to `maxBackoffMs`. Default 1000. */
  readonly initialBackoffMs?: number;
  /** Cap of that wait. Default 120000 (grpc's connection backoff). */
  readonly maxBackoffMs?: number;
}

/** The validated, JSON-safe health check config. */
export interface GrpcHealthCheckConfig {
  readonly serviceName: string;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

/**
 * Validate `healthCheck` (`true` or an options object enables it; `false` or absent disables it) and
 * return a frozen config, or undefined when off. `path` is the option path used in errors.
 */
export function healthCheckConfig(value: unknown, path: string): GrpcHealthCheckConfig | undefined {
  if (value === undefined || value === false) return undefined;
  const o = value === true ? {} : asRecord(path, value);
  rejectUnknownKeys(path, o, ['serviceName', 'initialBackoffMs', 'maxBackoffMs']);
  const serviceName = o.serviceName ?? '';
  if (typeof serviceName !== 'string' || serviceName.length > 1024) {
    throw new InvalidArgumentError(
      `${path}.serviceName`,
      `${path}.serviceName must be a string of at most 1024 characters (e.g. "greeter.v1.Greeter", or "" for the whole server), got ${describe(serviceName)}`,
    );
  }
  const initialBackoffMs = integerIn(`${path}.initialBackoffMs`, o.initialBackoffMs, 1, 3_600_000, 1000);
  const maxBackoffMs = integerIn(
    `${path}.maxBackoffMs`,
    o.maxBackoffMs,
    1,
    3_600_000,
    Math.max(120_000, initialBackoffMs),
  );
  if (maxBackoffMs < initialBackoffMs) {
    throw new InvalidArgumentError(
      `${path}.maxBackoffMs`,
      `${path}.maxBackoffMs must be at least ${path}.initialBackoffMs (${initialBackoffMs}), got ${maxBackoffMs}`,
    );
  }
  return Object.freeze({ serviceName, initialBackoffMs, maxBackoffMs });
}

// ── protobuf, by hand ─────────────────────────────────────────────────────────────────────────────

/**
 * Encode `HealthCheckRequest { string service = 1; }` (proto3: an empty string is omitted).
 *
 * @example
 * ```ts
 * encodeHealthCheckRequest('a') // <Buffer 0a 01 61>
 * ```
 */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const bytes = Buffer.from(service, 'utf8');
  const length = varint(bytes.length);
  return Buffer.concat([Buffer.from([0x0a]), length, bytes]);
}

/**
 * Decode `HealthCheckRequest` (the server side, for tests and servers written without protobuf).
 *
 * @example
 * ```ts
 * decodeHealthCheckRequest(Buffer.from([0x0a, 0x01, 0x61])) // 'a'
 * ```
 */
export function decodeHealthCheckRequest(bytes: Buffer): string {
  let service = '';
  readFields(bytes, (field, wireType, value) => {
    if (field === 1 && wireType === 2) service = (value as Buffer).toString('utf8');
  });
  return service;
}

/**
 * Encode `HealthCheckResponse { ServingStatus status = 1; }` (proto3: UNKNOWN, 0, is omitted).
 *
 * @example
 * ```ts
 * encodeHealthCheckResponse(ServingStatus.SERVING) // <Buffer 08 01>
 * ```
 */
export function encodeHealthCheckResponse(status: number): Buffer {
  if (status === 0) return Buffer.alloc(0);
  return Buffer.concat([Buffer.from([0x08]), varint(status)]);
}

/**
 * Decode `HealthCheckResponse` into its status number (unknown fields skipped; a missing status is
 * UNKNOWN). Throws on malformed bytes; grpc-js then fails the call with INTERNAL, which counts as a failed
 * health check.
 *
 * @example
 * ```ts
 * decodeHealthCheckResponse(Buffer.from([0x08, 0x02])) // 2 (NOT_SERVING)
 * ```
 */
export function decodeHealthCheckResponse(bytes: Buffer): number {
  let status = 0;
  readFields(bytes, (field, wireType, value) => {
    if (field === 1 && wireType === 0) status = value as number;
  });
  return status;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/** Walk the fields of one message; varints are returned as numbers (enums fit), length-delimited as Buffers. */
function readFields(bytes: Buffer, onField: (field: number, wireType: number, value: number | Buffer) => void): void {
  let i = 0;
  const readVarint = (): number => {
    let result = 0;
    let scale = 1;
    for (let n = 0; n < 10; n++) {
      if (i >= bytes.length) throw new Error('health check message: truncated varint');
      const b = bytes[i++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
    throw new Error('health check message: varint longer than 10 bytes');
  };
  while (i < bytes.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    switch (wireType) {
      case 0:
        onField(field, wireType, readVarint());
        break;
      case 1:
      case 5: {
        const size = wireType === 1 ? 8 : 4;
        if (i + size > bytes.length) throw new Error('health check message: truncated fixed field');
        i += size;
        break;
      }
      case 2: {
        const length = readVarint();
        if (i + length > bytes.length) throw new Error('health check message: truncated field');
        onField(field, wireType, bytes.subarray(i, i + length));
        i += length;
        break;
      }
      default:
        throw new Error(`health check message: unsupported wire type ${wireType}`);
    }
  }
}

// ── per-endpoint watches ──────────────────────────────────────────────────────────────────────────

/**
 * What health checking says of one connected endpoint: `pending` until the first answer on the current
 * connection (the endpoint is not used yet, as gRFC A17's CONNECTING), then `serving` or `not-serving`.
 */
export type HealthVerdict = 'pending' | 'serving' | 'not-serving';

type ReportedStatus = GrpcHealthMessage['status'];

/**
 * The Watch streams of one LB policy instance, one per connected endpoint. Verdicts change from grpc-js
 * stream events; every change calls `onChange` (asynchronously, never after `close()` or for a stopped
 * endpoint). Owned by the policy: `stop()` when an endpoint disconnects or leaves, `close()` on destroy.
 *
 * @example
 * ```ts
 * const checks = new HealthChecks(grpc, config, () => 'echo.default:grpc', () => republish())
 * if (checks.verdict('10.0.0.7:50051', subchannel) === 'serving') useIt()
 * checks.close()
 * ```
 */
export class HealthChecks {
  readonly #grpc: GrpcModule;
  readonly #config: GrpcHealthCheckConfig;
  readonly #service: () => string;
  readonly #onChange: () => void;
  readonly #random: () => number;
  readonly #watches = new Map<string, EndpointWatch>();
  #unimplementedLogged = false;
  #closed = false;

  constructor(
    grpc: GrpcModule,
    config: GrpcHealthCheckConfig,
    service: () => string,
    onChange: () => void,
    random: () => number = Math.random,
  ) {
    this.#grpc = grpc;
    this.#config = config;
    this.#service = service;
    this.#onChange = onChange;
    this.#random = random;
  }

  /** Verdict for a connected endpoint, starting its Watch on `subchannel` if none runs. */
  verdict(key: string, subchannel: SubchannelInterface): HealthVerdict {
    if (this.#closed) return 'serving';
    let watch = this.#watches.get(key);
    if (watch === undefined) {
      watch = new EndpointWatch(this, key, subchannel);
      this.#watches.set(key, watch);
      watch.start();
    }
    return watch.verdict;
  }

  /** Cancel the endpoint's stream and retry timer (it disconnected or left); its next verdict starts afresh. */
  stop(key: string): void {
    const watch = this.#watches.get(key);
    if (watch === undefined) return;
    this.#watches.delete(key);
    watch.stop();
  }

  /** Keys of endpoints with a running (or retrying) watch. */
  keys(): IterableIterator<string> {
    return this.#watches.keys();
  }

  /** Stop everything; idempotent and final. */
  close(): void {
    this.#closed = true;
    for (const watch of this.#watches.values()) watch.stop();
    this.#watches.clear();
  }

  /** @internal */ get grpc(): GrpcModule {
    return this.#grpc;
  }
  /** @internal */ get config(): GrpcHealthCheckConfig {
    return this.#config;
  }
  /** @internal */ get random(): () => number {
    return this.#random;
  }

  /** @internal The watch of `key` changed its verdict or reported status (stopped watches never call this). */
  changed(
    key: string,
    verdict: HealthVerdict,
    verdictChanged: boolean,
    reported: ReportedStatus,
    status?: Grpc.StatusObject,
  ): void {
    if (this.#closed) return;
    if (reported === 'UNIMPLEMENTED' && !this.#unimplementedLogged) {
      // gRFC A17: a server without the health service is healthy; say so once per channel policy.
      this.#unimplementedLogged = true;
      debug(
        'grpc health check: %s: %s is unimplemented on %s: treating the endpoint as serving (logged once per channel)',
        this.#service(),
        HEALTH_WATCH_METHOD,
        key,
      );
    }
    // The policy republishes first: a subscriber that reacts to the message sees the new picker in force.
    if (verdictChanged) this.#onChange();
    if (channels.grpcHealth.hasSubscribers) {
      const message: GrpcHealthMessage = {
        service: this.#service(),
        endpoint: key,
        serviceName: this.#config.serviceName,
        status: reported,
        serving: verdict === 'serving',
        ...(status === undefined ? {} : { code: status.code, details: status.details }),
      };
      channels.grpcHealth.publish(message);
    }
  }
}

/** One endpoint's Watch stream, retried with backoff while the endpoint stays connected. */
class EndpointWatch {
  readonly key: string;
  verdict: HealthVerdict = 'pending';
  readonly #owner: HealthChecks;
  readonly #subchannel: SubchannelInterface;
  #call: Grpc.ClientReadableStream<number> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backoffMs = 0;
  #reported: ReportedStatus | undefined;
  #stopped = false;

  constructor(owner: HealthChecks, key: string, subchannel: SubchannelInterface) {
    this.#owner = owner;
    this.key = key;
    this.#subchannel = subchannel;
  }

  start(): void {
    if (this.#stopped) return;
    this.#timer = undefined;
    const grpc = this.#owner.grpc;
    // A client over the subchannel's own channel: the Watch runs on that endpoint's connection. The channel
    // belongs to the subchannel (shared, cached there): never close it, only cancel our call.
    const client = new grpc.Client('clusterip-health-check', grpc.credentials.createInsecure(), {
      channelOverride: this.#subchannel.getChannel(),
    });
    const request = encodeHealthCheckRequest(this.#owner.config.serviceName);
    let answered = false;
    let call: Grpc.ClientReadableStream<number>;
    try {
      call = client.makeServerStreamRequest<Buffer, number>(
        HEALTH_WATCH_METHOD,
        (b) => b,
        decodeHealthCheckResponse,
        request,
        new grpc.Metadata(),
        {},
      );
    } catch (error) {
      // Never synchronously: verdict() runs inside the policy's state computation.
      const status = { code: grpc.status.INTERNAL, details: String(error), metadata: new grpc.Metadata() };
      process.nextTick(() => this.#failed(status, false));
      return;
    }
    this.#call = call;
    call.on('data', (status: number) => {
      if (this.#stopped || this.#call !== call) return;
      answered = true;
      this.#backoffMs = 0;
      const name = STATUS_NAMES[status] ?? 'UNKNOWN';
      this.#set(status === ServingStatus.SERVING ? 'serving' : 'not-serving', name);
    });
    // Failures arrive as `status`; an `error` listener keeps the stream from throwing.
    call.on('error', () => {});
    call.on('status', (status: Grpc.StatusObject) => {
      if (this.#stopped || this.#call !== call) return;
      this.#call = undefined;
      if (status.code === grpc.status.UNIMPLEMENTED) {
        // No health service: serving, and no retry (gRFC A17).
        this.#set('serving', 'UNIMPLEMENTED');
        return;
      }
      this.#failed(status, answered);
    });
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const call = this.#call;
    this.#call = undefined;
    call?.cancel();
  }

  /**
   * The stream ended (server closed it, error, reset): not serving until an answer (gRFC A17:
   * TRANSIENT_FAILURE), and retry: at once after a stream that had answered, else after the backoff.
   */
  #failed(status: Grpc.StatusObject, answered: boolean): void {
    if (this.#stopped) return;
    this.#set('not-serving', 'FAILED', status);
    const { initialBackoffMs, maxBackoffMs } = this.#owner.config;
    let delay = 0;
    if (!answered) {
      this.#backoffMs = this.#backoffMs === 0 ? initialBackoffMs : Math.min(maxBackoffMs, this.#backoffMs * 1.6);
      // ±20 % jitter, as grpc's connection backoff.
      delay = Math.round(this.#backoffMs * (0.8 + 0.4 * this.#owner.random()));
    }
    this.#timer = setTimeout(() => this.start(), delay);
    this.#timer.unref();
  }

  #set(verdict: HealthVerdict, reported: ReportedStatus, status?: Grpc.StatusObject): void {
    const verdictChanged = verdict !== this.verdict;
    if (!verdictChanged && reported === this.#reported && reported !== 'FAILED') return;
    this.verdict = verdict;
    this.#reported = reported;
    this.#owner.changed(this.key, verdict, verdictChanged, reported, status);
  }
}
