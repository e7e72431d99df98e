// Benchmark helper: a kube-proxy-like "ClusterIP" in user space — a TCP listener on a virtual address that
// forwards each accepted connection to one backend chosen at random (iptables `statistic --mode random`).
// Consumes backend addresses; produces a listening forwarder. Balancing is per connection, as in kube-proxy.

import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

/** A running forwarder. */
export interface TcpForwarder {
  readonly host: string;
  readonly port: number;
  /** Connections forwarded to each backend (`host:port` → count). */
  readonly chosen: ReadonlyMap<string, number>;
  /** Stop listening and destroy every forwarded connection. Idempotent; the same promise. */
  close(): Promise<void>;
}

/**
 * Listen on `host:0` and forward every connection to a backend picked with `random()` (default
 * `Math.random`). Unlike kube-proxy's DNAT in the kernel, the bytes are copied through this process, so
 * the forwarder costs CPU the real path does not: run it in its own process when measuring throughput.
 *
 * @example
 * ```ts
 * const vip = await startTcpForwarder('127.0.93.1', [{ host: '127.0.93.11', port: 40001 }])
 * // ... connect clients to vip.host:vip.port
 * await vip.close()
 * ```
 */
export async function startTcpForwarder(
  host: string,
  backends: readonly { readonly host: string; readonly port: number }[],
  random: () => number = Math.random,
): Promise<TcpForwarder> {
  if (backends.length === 0) throw new Error('tcp-forwarder: at least one backend is needed');
  const sockets = new Set<Socket>();
  const chosen = new Map<string, number>();
  const server = createServer({ noDelay: true }, (client) => {
    const b = backends[Math.min(backends.length - 1, Math.floor(random() * backends.length))]!;
    const key = `${b.host}:${b.port}`;
    chosen.set(key, (chosen.get(key) ?? 0) + 1);
    const upstream = connect({ host: b.host, port: b.port, noDelay: true });
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, host);
  await once(server, 'listening');
  let closing: Promise<void> | undefined;
  return {
    host,
    port: (server.address() as { port: number }).port,
    chosen,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        sockets.clear();
      });
      return closing;
    },
  };
}
