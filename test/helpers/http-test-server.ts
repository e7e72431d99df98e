// Test helper: a real HTTP server on a loopback address ("a pod"), port 0, closed in t.teardown.
// Consumes the ava context and an optional handler; produces the server, its address and what it saw.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Resolver } from '@clusterip/resolver';
import { StaticSource } from '@clusterip/resolver/testing';
import type { ExecutionContext } from 'ava';

/** A running test server. */
export interface HttpTestServer {
  readonly server: Server;
  /** The address it listens on, e.g. `127.0.0.11`. */
  readonly host: string;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  /** Name used in default responses (`{ pod }`). */
  readonly name: string;
  /** Requests received so far. */
  readonly requests: number;
  /** `host` header of every request, in order. */
  readonly hosts: readonly string[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Stop accepting, let in-flight requests finish, close idle keep-alive connections. */
  stop(): Promise<void>;
  /** Destroy every connection now and stop listening (a pod killed with SIGKILL). */
  kill(): Promise<void>;
}

/** Options of {@link createHttpTestServer}. */
export interface HttpTestServerOptions {
  /** Loopback address to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  readonly name?: string;
  /** Handle a request yourself; default answers 200 with `{ pod, host, method, path }` JSON. */
  readonly handler?: (req: IncomingMessage, res: ServerResponse, server: HttpTestServer) => void;
}

/**
 * Start an HTTP server for test `t`; it is killed in `t.teardown`.
 *
 * @example
 * ```ts
 * const pod = await createHttpTestServer(t, { host: '127.0.0.11', name: 'web-1' })
 * cluster.addPod({ name: 'web-1', ip: pod.host, labels: { app: 'web' }, ports: { http: pod.port } })
 * ```
 */
export async function createHttpTestServer(
  t: ExecutionContext,
  options: HttpTestServerOptions = {},
): Promise<HttpTestServer> {
  const host = options.host ?? '127.0.0.1';
  const name = options.name ?? host;
  const sockets = new Set<Socket>();
  const hosts: string[] = [];
  let requests = 0;
  let connections = 0;
  let self: HttpTestServer | undefined;
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    requests++;
    hosts.push(req.headers.host ?? '');
    if (options.handler !== undefined) {
      options.handler(req, res, self!);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({
        pod: name,
        host: req.headers.host,
        method: req.method,
        path: req.url,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  const close = (kill: boolean): Promise<void> => {
    if (kill) for (const s of sockets) s.destroy();
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    if (kill) for (const s of sockets) s.destroy();
    return closing;
  };
  self = {
    server,
    host,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    name,
    get requests() {
      return requests;
    },
    hosts,
    get connections() {
      return connections;
    },
    stop: () => close(false),
    kill: () => close(true),
  };
  t.teardown(() => close(true));
  return self;
}

/** The part of a FakeCluster that {@link createPods} needs. */
export interface PodSink {
  addPod(pod: {
    name: string;
    ip: string;
    labels: Record<string, string>;
    ports: Record<string, number>;
    nodeName?: string;
  }): void;
}

/**
 * Start `count` pods of app `app`: a server on `127.0.<subnet>.<10+i>` each, registered as pod
 * `<app>-<i>` with the named container port `portName` (default `http`).
 *
 * @example
 * ```ts
 * const pods = await createPods(t, cluster, { app: 'web', count: 3, subnet: 41 })
 * ```
 */
export async function createPods(
  t: ExecutionContext,
  cluster: PodSink,
  options: {
    app: string;
    count: number;
    subnet: number;
    portName?: string;
    first?: number;
    nodeName?: (i: number) => string | undefined;
    handler?: HttpTestServerOptions['handler'];
  },
): Promise<HttpTestServer[]> {
  const pods: HttpTestServer[] = [];
  const first = options.first ?? 1;
  for (let i = first; i < first + options.count; i++) {
    const name = `${options.app}-${i}`;
    const pod = await createHttpTestServer(t, {
      host: `127.0.${options.subnet}.${10 + i}`,
      name,
      ...(options.handler === undefined ? {} : { handler: options.handler }),
    });
    const nodeName = options.nodeName?.(i);
    cluster.addPod({
      name,
      ip: pod.host,
      labels: { app: options.app },
      ports: { [options.portName ?? 'http']: pod.port },
      ...(nodeName === undefined ? {} : { nodeName }),
    });
    pods.push(pod);
  }
  return pods;
}

/** Resolve once the target has `count` ready endpoints. */
export function waitForReady(resolver: Resolver, target: string, count: number): Promise<void> {
  return new Promise((resolve) => {
    const watch = resolver.watch(target, (s) => {
      if (s.endpoints.filter((e) => e.conditions.ready).length === count) {
        void watch.close();
        resolve();
      }
    });
  });
}

/** A StaticSource of Services in namespace `shop`, keyed by name, each (port 80, named `http`) backed by its pods. */
export function shopSource(services: Readonly<Record<string, readonly HttpTestServer[]>>): StaticSource {
  return new StaticSource(
    Object.entries(services).map(([name, pods]) => ({
      namespace: 'shop',
      name,
      ports: [{ name: 'http', port: 80 }],
      endpoints: pods.map((p) => ({ address: p.host, ports: { http: p.port } })),
    })),
  );
}
