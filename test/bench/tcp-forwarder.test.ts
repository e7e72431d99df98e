import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { startTcpForwarder } from './tcp-forwarder.js';

/** A TCP "pod" on `host` that answers every connection with its name, then closes. */
async function pod(t: ExecutionContext, host: string, name: string): Promise<{ host: string; port: number }> {
  const server: Server = createServer((socket) => socket.end(name));
  server.listen(0, host);
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { host, port: (server.address() as { port: number }).port };
}

/** Connect to `host:port` and read everything the peer sends until it closes. */
async function read(host: string, port: number): Promise<string> {
  const socket = connect({ host, port });
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  await once(socket, 'close');
  return text;
}

test('each connection goes to the backend random() picks, and the choice is counted', async (t) => {
  const a = await pod(t, '127.0.97.11', 'a');
  const b = await pod(t, '127.0.97.12', 'b');
  const picks = [0.9, 0.1, 0.6];
  const vip = await startTcpForwarder('127.0.97.1', [a, b], () => picks.shift() ?? 0);
  t.teardown(() => vip.close());
  t.is(await read(vip.host, vip.port), 'b');
  t.is(await read(vip.host, vip.port), 'a');
  t.is(await read(vip.host, vip.port), 'b');
  t.deepEqual(Object.fromEntries(vip.chosen), { [`${a.host}:${a.port}`]: 1, [`${b.host}:${b.port}`]: 2 });
});

test('bytes flow both ways on one connection to one backend (per-connection balancing)', async (t) => {
  const echo = createServer((socket) => socket.pipe(socket));
  echo.listen(0, '127.0.97.21');
  await once(echo, 'listening');
  t.teardown(() => new Promise<void>((resolve) => echo.close(() => resolve())));
  const vip = await startTcpForwarder('127.0.97.2', [
    { host: '127.0.97.21', port: (echo.address() as { port: number }).port },
  ]);
  t.teardown(() => vip.close());
  const socket = connect({ host: vip.host, port: vip.port });
  t.teardown(() => socket.destroy());
  socket.setEncoding('utf8');
  for (const word of ['one', 'two']) {
    socket.write(word);
    const [echoed] = (await once(socket, 'data')) as [string];
    t.is(echoed, word);
  }
  t.is(
    [...vip.chosen.values()].reduce((x, y) => x + y, 0),
    1,
  );
});

test('close() is idempotent, returns the same promise, and cuts forwarded connections', async (t) => {
  const hold = createServer();
  hold.listen(0, '127.0.97.31');
  await once(hold, 'listening');
  t.teardown(() => {
    hold.close();
  });
  const vip = await startTcpForwarder('127.0.97.3', [
    { host: '127.0.97.31', port: (hold.address() as { port: number }).port },
  ]);
  // The backend's accept means the forwarder holds both ends of the forwarded connection.
  const upstream = once(hold, 'connection');
  const socket = connect({ host: vip.host, port: vip.port });
  t.teardown(() => socket.destroy());
  socket.on('error', () => {});
  const [backendSide] = (await upstream) as [import('node:net').Socket];
  t.teardown(() => backendSide.destroy());
  const closed = once(socket, 'close');
  const first = vip.close();
  t.is(vip.close(), first);
  await first;
  await closed;
  t.pass();
});

test('no backend is a plain error, not a listening forwarder', async (t) => {
  await t.throwsAsync(() => startTcpForwarder('127.0.97.4', []), { message: /at least one backend/ });
});
