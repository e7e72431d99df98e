// Test helper: real grpc-js servers ("pods") on loopback addresses and a client for them, without protobuf
// codegen: one generic service whose messages are JSON. Everything is closed in `t.teardown`.

import * as defaultGrpc from '@grpc/grpc-js';
import type { ExecutionContext } from 'ava';
import type { FakeCluster } from './fake-cluster.js';

type GrpcModule = typeof defaultGrpc;

/** Request/response messages of the test service. */
export interface WhoRequest {
  /** Server waits this long before answering (ms). */
  readonly delayMs?: number;
}
export interface WhoReply {
  /** Name of the pod (server) that answered. */
  readonly pod: string;
}

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value ?? {})),
  deserialize: (bytes: Buffer) => (bytes.length === 0 ? {} : JSON.parse(bytes.toString('utf8'))),
};

/**
 * A grpc-js method definition at `path` whose messages are JSON (an empty message is `{}`): no
 * protobuf codegen. Unary unless `streaming` is true (then bidi).
 *
 * @example
 * ```ts
 * const greeter = { sayHello: jsonGrpcMethod('/examples.Greeter/SayHello') }
 * server.addService(greeter as unknown as grpc.ServiceDefinition, { sayHello })
 * ```
 */
export function jsonGrpcMethod(path: string, streaming = false) {
  return {
    path,
    requestStream: streaming,
    responseStream: streaming,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  } as const;
}

/** `test.Echo`: `Who` (unary: which pod answered) and `Chat` (bidi: one reply per message, naming the pod). */
export const echoService = {
  who: jsonGrpcMethod('/test.Echo/Who'),
  chat: jsonGrpcMethod('/test.Echo/Chat', true),
} as const;

/** One running server. */
export interface GrpcTestServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly server: defaultGrpc.Server;
  /** Unary calls answered so far. */
  readonly calls: number;
  /** Resolves at the first call this server receives after `since` (default: any call). */
  firstCall(): Promise<number>;
  /** Graceful shutdown (in-flight calls finish, new ones are refused). Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Start a server named `name` on `host:0` (e.g. `127.0.0.12`), closed at teardown.
 *
 * @example
 * ```ts
 * const pod = await createGrpcTestServer(t, { name: 'web-1', host: '127.0.0.11' })
 * cluster.addPod({ name: pod.name, ip: pod.host, labels: { app: 'web' }, ports: { grpc: pod.port } })
 * ```
 */
export async function createGrpcTestServer(
  t: ExecutionContext,
  options: { name: string; host: string; grpc?: GrpcModule; now?: () => number },
): Promise<GrpcTestServer> {
  const grpc = options.grpc ?? defaultGrpc;
  const now = options.now ?? performance.now.bind(performance);
  const server = new grpc.Server();
  let calls = 0;
  let firstCallAt: number | undefined;
  const waiters: ((at: number) => void)[] = [];
  const onCall = () => {
    calls++;
    if (firstCallAt === undefined) {
      firstCallAt = now();
      for (const w of waiters.splice(0)) w(firstCallAt);
    }
  };
  server.addService(echoService as unknown as defaultGrpc.ServiceDefinition, {
    who: (call: defaultGrpc.ServerUnaryCall<WhoRequest, WhoReply>, callback: defaultGrpc.sendUnaryData<WhoReply>) => {
      onCall();
      const delay = call.request.delayMs ?? 0;
      if (delay > 0) {
        const timer = setTimeout(() => callback(null, { pod: options.name }), delay);
        timer.unref();
      } else callback(null, { pod: options.name });
    },
    chat: (call: defaultGrpc.ServerDuplexStream<unknown, WhoReply>) => {
      call.on('data', () => call.write({ pod: options.name }));
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:0`, grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    );
  });
  let closing: Promise<void> | undefined;
  const shutdown = () => {
    closing ??= new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    return closing;
  };
  t.teardown(() => {
    server.forceShutdown();
  });
  return {
    name: options.name,
    host: options.host,
    port,
    server,
    get calls() {
      return calls;
    },
    firstCall: () =>
      firstCallAt === undefined
        ? new Promise<number>((resolve) => waiters.push(resolve))
        : Promise.resolve(firstCallAt),
    shutdown,
  };
}

/** A promisified client of `test.Echo`. */
export interface EchoClient {
  readonly client: defaultGrpc.Client;
  who(
    request?: WhoRequest,
    options?: { metadata?: Record<string, string>; waitForReady?: boolean; deadlineMs?: number },
  ): Promise<WhoReply>;
  /** Open a bidi stream; `send()` resolves with the pod that answered that message. */
  chat(): { send(): Promise<string>; end(): Promise<void> };
  close(): void;
}

/**
 * A client of `test.Echo` for `target`, closed at teardown.
 *
 * @example
 * ```ts
 * const echo = createEchoClient(t, 'kubernetes:///web:grpc', { 'grpc.service_config': serviceConfig() })
 * const { pod } = await echo.who()
 * ```
 */
export function createEchoClient(
  t: ExecutionContext,
  target: string,
  channelOptions: Record<string, unknown> = {},
  grpc: GrpcModule = defaultGrpc,
): EchoClient {
  const Ctor = grpc.makeGenericClientConstructor(echoService as unknown as defaultGrpc.ServiceDefinition, 'Echo');
  const client = new Ctor(target, grpc.credentials.createInsecure(), channelOptions as defaultGrpc.ChannelOptions);
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      client.close();
    }
  };
  t.teardown(close);
  const raw = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  return {
    client,
    who: (request = {}, options = {}) =>
      new Promise<WhoReply>((resolve, reject) => {
        const metadata = new grpc.Metadata();
        for (const [k, v] of Object.entries(options.metadata ?? {})) metadata.set(k, v);
        const callOptions: defaultGrpc.CallOptions = {
          ...(options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs }),
        };
        if (options.waitForReady !== undefined) metadata.setOptions({ waitForReady: options.waitForReady });
        raw.who!.call(client, request, metadata, callOptions, (error: Error | null, reply: WhoReply) =>
          error ? reject(error) : resolve(reply),
        );
      }),
    chat: () => {
      const call = raw.chat!.call(client) as defaultGrpc.ClientDuplexStream<unknown, WhoReply>;
      const pending: ((pod: string) => void)[] = [];
      const failures: ((error: Error) => void)[] = [];
      call.on('data', (reply: WhoReply) => pending.shift()?.(reply.pod));
      call.on('error', (error: Error) => {
        for (const f of failures.splice(0)) f(error);
      });
      return {
        send: () =>
          new Promise<string>((resolve, reject) => {
            pending.push(resolve);
            failures.push(reject);
            call.write({});
          }),
        end: () =>
          new Promise<void>((resolve) => {
            call.on('status', () => resolve());
            call.end();
          }),
      };
    },
    close,
  };
}

/** A Service of the emulated cluster whose pods are grpc test servers. */
export interface GrpcPods {
  readonly servers: Map<string, GrpcTestServer>;
  /** Start a server on `ip` and add it as pod `name` (Ready unless `ready: false`). */
  add(name: string, ip: string, options?: { ready?: boolean; nodeName?: string }): Promise<GrpcTestServer>;
}

/**
 * Apply Service `name` (port `grpc` → container port `grpc`, selector `app: <name>`) to `cluster` and
 * manage its pods as grpc test servers.
 *
 * @example
 * ```ts
 * const pods = createGrpcPods(t, cluster, 'echo')
 * await pods.add('echo-1', '127.0.0.11')
 * ```
 */
export function createGrpcPods(
  t: ExecutionContext,
  cluster: FakeCluster,
  name: string,
  options: {
    grpc?: GrpcModule;
    sessionAffinity?: 'None' | 'ClientIP';
    internalTrafficPolicy?: 'Cluster' | 'Local';
  } = {},
): GrpcPods {
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: {
      selector: { app: name },
      ports: [{ name: 'grpc', port: 50051, targetPort: 'grpc' }],
      ...(options.sessionAffinity === undefined ? {} : { sessionAffinity: options.sessionAffinity }),
      ...(options.internalTrafficPolicy === undefined ? {} : { internalTrafficPolicy: options.internalTrafficPolicy }),
    },
  });
  const servers = new Map<string, GrpcTestServer>();
  return {
    servers,
    add: async (pod, ip, o = {}) => {
      const server = await createGrpcTestServer(t, {
        name: pod,
        host: ip,
        ...(options.grpc ? { grpc: options.grpc } : {}),
      });
      servers.set(pod, server);
      cluster.addPod({
        name: pod,
        ip,
        labels: { app: name },
        ports: { grpc: server.port },
        ...(o.ready === undefined ? {} : { ready: o.ready }),
        ...(o.nodeName === undefined ? {} : { nodeName: o.nodeName }),
      });
      return server;
    },
  };
}
