import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';

// A request in flight keeps its process alive until it settles, as undici's sockets do, also while it
// waits to be retried; nothing else of the mesh does. Each case runs in a process of its own where the
// request is the only thing alive: the upstream answers from this (the test's) process.

/** A server on `host` answering 503 to everything; closed at teardown. */
async function unavailable(t: import('ava').ExecutionContext, host: string): Promise<number> {
  const server = createServer((_req, res) => {
    res.statusCode = 503;
    res.end('unavailable');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/**
 * Run `body` as an ES module in a fresh process that has `mesh`, a Mesh on a StaticSource listing `address:port`
 * as `orders.shop`; its exit code and output.
 */
function run(address: string, port: number, options: string, body: string): Promise<{ code: number; stdout: string }> {
  const script = `
    import { Mesh } from '@clusterip/sdk';
    import { StaticSource } from '@clusterip/sdk/testing';
    const source = new StaticSource([{ namespace: 'shop', name: 'orders', ports: [{ name: 'http', port: 80, targetPort: ${port} }], endpoints: [{ address: '${address}' }] }]);
    const mesh = new Mesh({ source, context: { namespace: 'shop', resolvConf: '', env: {} }, ${options} });
    ${body}
  `;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      // A process kept alive by a stray timer would outlive this bound and fail the test.
      { cwd: new URL('../../../../packages/sdk/', import.meta.url), encoding: 'utf8', timeout: 20_000 },
      (error, stdout) =>
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout }),
    );
  });
}

test('a GET retried on 503 after a backoff: the process waits for it, and the caller gets the last 503', async (t) => {
  const port = await unavailable(t, '127.0.242.30');
  const { code, stdout } = await run(
    '127.0.242.30',
    port,
    'retry: { attempts: 3, backoff: { baseMs: 200, maxMs: 200 } }, random: () => 0.99',
    `const res = await mesh.fetch('http://orders/');
     console.log(res.status, await res.text());
     await mesh.close();`,
  );
  t.is(stdout.trim(), '503 unavailable');
  t.is(code, 0);
});

test('a request aborted while it waits for its retry: the wait ends with it and the process exits', async (t) => {
  const port = await unavailable(t, '127.0.242.31');
  const { code, stdout } = await run(
    '127.0.242.31',
    port,
    // An hour's backoff: a wait left behind by the abort would hold the process past the bound.
    'retry: { attempts: 3, backoff: { baseMs: 3600000, maxMs: 3600000 } }, random: () => 0.99',
    `const { subscribe } = await import('node:diagnostics_channel');
     const controller = new AbortController();
     subscribe('clusterip:http:request', () => {}); // attempts are published for requests someone follows
     subscribe('clusterip:http:attempt-end', (m) => { if (m.retry) setImmediate(() => controller.abort()); });
     const error = await mesh.fetch('http://orders/', { signal: controller.signal }).catch((e) => e);
     console.log(error.name);
     // No close(): what the aborted request left, if anything, would hold the process.`,
  );
  t.is(stdout.trim(), 'AbortError');
  t.is(code, 0);
});
