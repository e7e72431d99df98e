// Test helper: the grpc.health.v1 health service on a grpc-js test server, with serializers written by hand
// (the same wire format the SDK's client encodes), so tests flip a pod's health and watch its Watch streams.

import * as defaultGrpc from '@grpc/grpc-js';

type GrpcModule = typeof defaultGrpc;

/** `ServingStatus` values. */
export const SERVING = 1;
export const NOT_SERVING = 2;
export const SERVICE_UNKNOWN = 3;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/**
 * `HealthCheckRequest.service` (field 1, length-delimited); only what a conforming client sends. Wrapped in
 * an object: grpc-js's server takes a falsy request (`''`) for a missing one.
 */
function decodeRequest(bytes: Buffer): { service: string } {
  return { service: decodeService(bytes) };
}

function decodeService(bytes: Buffer): string {
  if (bytes.length === 0) return '';
  if (bytes[0] !== 0x0a) throw new Error(`unexpected tag ${bytes[0]}`);
  let length = 0;
  let shift = 0;
  let i = 1;
  for (;;) {
    const b = bytes[i++]!;
    length |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  return bytes.subarray(i, i + length).toString('utf8');
}

function encodeResponse(status: number): Buffer {
  return status === 0 ? Buffer.alloc(0) : Buffer.from([0x08, ...varint(status)]);
}

const healthService = {
  check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: (s: string) => Buffer.from(s),
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: (b: Buffer) => b,
  },
  watch: {
    path: '/grpc.health.v1.Health/Watch',
    requestStream: false,
    responseStream: true,
    requestSerialize: (s: string) => Buffer.from(s),
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: (b: Buffer) => b,
  },
} as const;

/** The health service of one server. */
export interface HealthService {
  /** Set the status of `service` (`''`: the whole server) and push it to every Watch of it. */
  set(status: number, service?: string): void;
  /** Watch streams open now. */
  readonly watchers: number;
  /** Watch streams that ended (cancelled by the client, or ended by the server). */
  readonly ended: number;
  /** Resolves once `predicate()` holds, checked at every Watch start and end. */
  until(predicate: () => boolean): Promise<void>;
  /** End every open Watch with status `code` (e.g. to make the client retry). */
  failWatches(code: number): void;
  /** From now on, end every new Watch at once with status `code` (undefined: answer again). */
  refuse(code: number | undefined): void;
}

/**
 * Add the health service to `server` (before or after bind). Unknown services answer SERVICE_UNKNOWN, as
 * the reference implementation does.
 *
 * @example
 * ```ts
 * const health = addHealthService(pod.server)
 * health.set(NOT_SERVING)
 * ```
 */
export function addHealthService(
  server: defaultGrpc.Server,
  initial: Record<string, number> = { '': SERVING },
  grpc: GrpcModule = defaultGrpc,
): HealthService {
  const statuses = new Map<string, number>(Object.entries(initial));
  const watches = new Set<{ service: string; call: defaultGrpc.ServerWritableStream<{ service: string }, number> }>();
  let ended = 0;
  let refusing: number | undefined;
  const fail = (call: defaultGrpc.ServerWritableStream<{ service: string }, number>, code: number) =>
    call.emit('error', Object.assign(new Error('health watch failed'), { code, details: 'health watch failed' }));
  const waiters: { predicate: () => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.predicate()) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  server.addService(healthService as unknown as defaultGrpc.ServiceDefinition, {
    check: (
      call: defaultGrpc.ServerUnaryCall<{ service: string }, number>,
      callback: defaultGrpc.sendUnaryData<number>,
    ) => {
      const status = statuses.get(call.request.service);
      if (status === undefined) callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else callback(null, status);
    },
    watch: (call: defaultGrpc.ServerWritableStream<{ service: string }, number>) => {
      const entry = { service: call.request.service, call };
      watches.add(entry);
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        watches.delete(entry);
        ended++;
        check();
      };
      call.on('cancelled', end);
      call.on('close', end);
      call.on('error', end);
      call.on('finish', end);
      if (refusing !== undefined) fail(call, refusing);
      else call.write(statuses.get(entry.service) ?? SERVICE_UNKNOWN);
      check();
    },
  });
  return {
    set(status, service = '') {
      statuses.set(service, status);
      for (const w of watches) if (w.service === service) w.call.write(status);
    },
    get watchers() {
      return watches.size;
    },
    get ended() {
      return ended;
    },
    until(predicate) {
      if (predicate()) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ predicate, resolve }));
    },
    failWatches(code) {
      for (const w of [...watches]) fail(w.call, code);
    },
    refuse(code) {
      refusing = code;
    },
  };
}
