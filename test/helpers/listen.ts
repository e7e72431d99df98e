// Test helper: start a server on a loopback address (any port) and close it at teardown, with whatever it
// still has open (sockets, HTTP/2 sessions) destroyed first, so close() does not wait on them.

import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import type { ExecutionContext } from 'ava';

/**
 * Listen on `host` (port 0) and return the port; at `t`'s teardown destroy everything `open()` then lists
 * and close the server.
 *
 * @example
 * ```ts
 * const sockets = new Set<Socket>()
 * server.on('connection', (s) => sockets.add(s))
 * const port = await listenUntilTeardown(t, server, '127.0.0.11', () => sockets)
 * ```
 */
export async function listenUntilTeardown(
  t: ExecutionContext,
  server: Server,
  host: string,
  open: () => Iterable<{ destroy(): void }>,
): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const item of open()) item.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}
