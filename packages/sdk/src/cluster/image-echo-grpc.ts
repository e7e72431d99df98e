// Local cluster: the `clusterip/echo-grpc` image: a unary `/clusterip.demo.Echo/Echo` (JSON messages, no
// proto files) and grpc.health.v1 Check/Watch on every container port. `@grpc/grpc-js` is imported lazily.

import { createServer } from 'node:net';
import type * as Grpc from '@grpc/grpc-js';
import { ImageUnavailableError } from '../errors/image-unavailable-error.js';
import {
  decodeHealthCheckRequest,
  encodeHealthCheckResponse,
  ServingStatus,
} from '../transport/grpc/grpc-health-check.js';
import type { RunningContainer } from './image.js';
import { type ContainerIdentity, MAX_DELAY_MS, sleepTracked } from './image-echo-http.js';
import { withServerSpan } from './otel-server-span.js';

type GrpcModule = typeof Grpc;

/**
 * Full method path of the echo call of `clusterip/echo-grpc`.
 *
 * @example
 * ```ts
 * client.makeUnaryRequest(ECHO_GRPC_METHOD, (v) => Buffer.from(JSON.stringify(v)), (b) => JSON.parse(String(b)), {}, cb)
 * ```
 */
export const ECHO_GRPC_METHOD = '/clusterip.demo.Echo/Echo';

const HEALTH_CHECK_METHOD = '/grpc.health.v1.Health/Check';
const HEALTH_WATCH_METHOD = '/grpc.health.v1.Health/Watch';

const json = {
  serialize: (value: unknown): Buffer => Buffer.from(JSON.stringify(value ?? {})),
  deserialize: (bytes: Buffer): unknown => (bytes.length === 0 ? {} : JSON.parse(bytes.toString('utf8'))),
};

/**
 * The echo service as a grpc-js service definition with JSON-encoded messages: give it to
 * `grpc.makeGenericClientConstructor(echoGrpcService, 'Echo')` to get a client class, no
 * proto-loader needed. The request may carry `{ delayMs?, status? }` (status: a gRPC status code to
 * fail with); the answer is `{ pod, namespace, node, zone, ip, port, method }`.
 *
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js'
 * const Echo = grpc.makeGenericClientConstructor(echoGrpcService, 'Echo')
 * const client = new Echo('127.0.0.20:9090', grpc.credentials.createInsecure())
 * client.Echo({}, (err, reply) => console.log(reply.pod))
 * ```
 */
export const echoGrpcService = Object.freeze({
  Echo: Object.freeze({
    path: ECHO_GRPC_METHOD,
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
    originalName: 'echo',
  }),
});

const healthService = {
  Check: {
    path: HEALTH_CHECK_METHOD,
    requestStream: false,
    responseStream: false,
    requestSerialize: (s: string) => Buffer.from(s),
    // An object, not the bare service name: grpc-js takes a falsy message ('' for "the server") as none.
    requestDeserialize: (b: Buffer) => ({ service: decodeHealthCheckRequest(b) }),
    responseSerialize: encodeHealthCheckResponse,
    responseDeserialize: (b: Buffer) => b,
  },
  Watch: {
    path: HEALTH_WATCH_METHOD,
    requestStream: false,
    responseStream: true,
    requestSerialize: (s: string) => Buffer.from(s),
    // An object, not the bare service name: grpc-js takes a falsy message ('' for "the server") as none.
    requestDeserialize: (b: Buffer) => ({ service: decodeHealthCheckRequest(b) }),
    responseSerialize: encodeHealthCheckResponse,
    responseDeserialize: (b: Buffer) => b,
  },
};

let grpcModule: Promise<GrpcModule> | undefined;

/** `@grpc/grpc-js`, or ImageUnavailableError when the optional peer is not installed. */
export function loadGrpc(image: string): Promise<GrpcModule> {
  grpcModule ??= import('@grpc/grpc-js').then((m) => m as GrpcModule);
  return grpcModule.catch((cause: unknown) => {
    grpcModule = undefined;
    throw new ImageUnavailableError(image, '@grpc/grpc-js is not installed: npm install @grpc/grpc-js', { cause });
  });
}

/**
 * Listen on `host:port` once and close: rejects with Node's own `EADDRINUSE` error (code, address, port)
 * when another process holds it. grpc-js, asked to bind a taken address, logs "No address added out of
 * total 1 resolved" on stderr and rejects with a plain Error that the kubelet cannot recognise, so the pod
 * crash-looped instead of moving to a free address.
 */
function probeListen(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** grpc-js's bind failure, as an `EADDRINUSE` error when that is what it says (taken between probe and bind). */
function bindError(error: Error, host: string, port: number): Error {
  if (!/EADDRINUSE/.test(error.message)) return error;
  return Object.assign(new Error(`listen EADDRINUSE: address already in use ${host}:${port}`, { cause: error }), {
    code: 'EADDRINUSE',
    address: host,
    port,
  });
}

/** Options of {@link startEchoGrpc}. */
export interface EchoGrpcOptions {
  readonly image: string;
  readonly host: string;
  readonly ports: readonly number[];
  readonly identity: ContainerIdentity;
}

/** Start one grpc-js server listening on every port of `host`. */
export async function startEchoGrpc(options: EchoGrpcOptions): Promise<RunningContainer> {
  const grpc = await loadGrpc(options.image);
  const servers: Grpc.Server[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const watchers = new Set<Grpc.ServerWritableStream<{ service: string }, number>>();
  let status: number = ServingStatus.SERVING;
  let killed = false;

  const setStatus = (next: number) => {
    status = next;
    for (const call of watchers) call.write(next);
  };

  // One server per port: the answer names the port the call arrived on.
  const echo =
    (port: number) =>
    (call: Grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: Grpc.sendUnaryData<unknown>) => {
      const request = call.request ?? {};
      const delay = typeof request.delayMs === 'number' ? request.delayMs : 0;
      const fail = typeof request.status === 'number' ? request.status : 0;
      void withServerSpan(
        ECHO_GRPC_METHOD.slice(1),
        call.metadata,
        { 'rpc.system': 'grpc', 'rpc.service': 'clusterip.demo.Echo', 'rpc.method': 'Echo' },
        { metadata: true },
        async (finish) => {
          if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_MS) {
            callback({
              code: grpc.status.INVALID_ARGUMENT,
              details: `delayMs must be an integer from 0 to ${MAX_DELAY_MS}`,
            });
            finish({ 'rpc.grpc.status_code': grpc.status.INVALID_ARGUMENT }, 'invalid argument');
            return;
          }
          if (delay > 0) await sleepTracked(timers, delay);
          if (killed) return;
          if (fail !== 0) {
            callback({ code: fail, details: `echo: failing with status ${fail} as asked` });
            finish({ 'rpc.grpc.status_code': fail }, `status ${fail}`);
            return;
          }
          callback(null, { ...options.identity, port, method: ECHO_GRPC_METHOD });
          finish({ 'rpc.grpc.status_code': 0 });
        },
      );
    };
  const health = {
    Check: (_call: Grpc.ServerUnaryCall<{ service: string }, number>, callback: Grpc.sendUnaryData<number>) =>
      callback(null, status),
    Watch: (call: Grpc.ServerWritableStream<{ service: string }, number>) => {
      watchers.add(call);
      call.write(status);
      call.on('cancelled', () => watchers.delete(call));
      call.on('close', () => watchers.delete(call));
    },
  };

  const kill = () => {
    if (killed) return;
    killed = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    watchers.clear();
    for (const server of servers) server.forceShutdown();
  };

  try {
    for (const port of options.ports) {
      const server = new grpc.Server();
      servers.push(server);
      server.addService(echoGrpcService as unknown as Grpc.ServiceDefinition, { Echo: echo(port) });
      server.addService(healthService as unknown as Grpc.ServiceDefinition, health);
      await probeListen(options.host, port);
      await new Promise<void>((resolve, reject) => {
        server.bindAsync(`${options.host}:${port}`, grpc.ServerCredentials.createInsecure(), (error) =>
          error ? reject(bindError(error, options.host, port)) : resolve(),
        );
      });
    }
  } catch (error) {
    kill();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    stop(graceMs: number) {
      stopping ??= (async () => {
        if (killed) return;
        setStatus(ServingStatus.NOT_SERVING);
        for (const call of watchers) call.end();
        watchers.clear();
        if (servers.length === 0) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            kill();
            resolve();
          }, graceMs);
          timer.unref();
          let pending = servers.length;
          for (const server of servers) {
            server.tryShutdown(() => {
              if (--pending > 0) return;
              clearTimeout(timer);
              kill();
              resolve();
            });
          }
        });
      })();
      return stopping;
    },
    kill,
  };
}
