// A TCP relay on loopback that can go silent: what a pod looks like when its node is lost or the network
// partitions (no FIN, no RST, no answer), which a server on loopback cannot show by itself.

import { connect, createServer, type Socket } from 'node:net';
import type { ExecutionContext } from 'ava';
import { listenUntilTeardown } from './listen.js';

/** A relay to one target; `silence()` makes every connection through it, old and new, carry nothing. */
export interface TcpRelay {
  readonly host: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Resolves once `n` connections have been accepted. */
  accepting(n: number): Promise<void>;
  /** From now on nothing crosses in either direction; connections stay open; new ones are accepted and get nothing. */
  silence(): void;
}

/** Start a relay on `host` (any port) to `target`; closed, with every socket, at teardown. */
export async function startTcpRelay(
  t: ExecutionContext,
  host: string,
  target: { host: string; port: number },
): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const waiters: { n: number; resolve: () => void }[] = [];
  let silent = false;
  let accepted = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const server = createServer((client) => {
    accepted++;
    for (const w of waiters.filter((w) => w.n <= accepted)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    track(client);
    if (silent) {
      client.pause();
      return;
    }
    const upstream = connect(target.port, target.host);
    track(upstream);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      // Written by hand rather than piped: a silenced relay must drop bytes, not buffer them for later.
      from.on('data', (chunk: Buffer) => {
        if (!silent) to.write(chunk);
      });
      from.on('close', () => {
        if (!silent) to.destroy();
      });
    }
  });
  const port = await listenUntilTeardown(t, server, host, () => sockets);
  return {
    host,
    port,
    get accepted() {
      return accepted;
    },
    accepting(n: number) {
      return n <= accepted ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }));
    },
    silence() {
      silent = true;
    },
  };
}
