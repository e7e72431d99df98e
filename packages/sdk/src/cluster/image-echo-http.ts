// Local cluster: the `clusterip/echo-http` image: HTTP/1.1 on every container port, answering who served
// the request (pod, node, zone, ip, port); optional downstream call through a Mesh; SERVER spans.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { RunningContainer } from './image.js';
import { withServerSpan } from './otel-server-span.js';

/** Who a container is: what every answer reports. */
export interface ContainerIdentity {
  readonly pod: string;
  readonly namespace: string;
  readonly node: string;
  readonly zone: string;
  readonly ip: string;
}

/** Calls `url` with the request's trace context active; resolves with the parsed answer. */
export type DownstreamCall = (url: string) => Promise<{ status: number; body: unknown }>;

/** Options of {@link startEchoHttp}. */
export interface EchoHttpOptions {
  readonly host: string;
  readonly ports: readonly number[];
  readonly identity: ContainerIdentity;
  readonly env: Readonly<Record<string, string>>;
  /** How `DOWNSTREAM_URL` is called (the cluster's per-namespace Mesh). */
  readonly downstream?: DownstreamCall;
}

/** Longest `?delayMs=` (HTTP) or `delayMs` (gRPC) an echo image honours. */
export const MAX_DELAY_MS = 10_000;

/**
 * Resolves after `ms`; the unref'd timer sits in `timers` until it fires, so the container's kill
 * can clear it (the awaiting handler then never resumes).
 *
 * @example
 * ```ts
 * const timers = new Set<NodeJS.Timeout>();
 * await sleepTracked(timers, 50);
 * ```
 */
export function sleepTracked(timers: Set<NodeJS.Timeout>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      resolve();
    }, ms);
    timer.unref();
    timers.add(timer);
  });
}

function send(res: ServerResponse, status: number, body: unknown, closing: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    // Draining: tell keep-alive clients to go elsewhere for the next request.
    ...(closing ? { connection: 'close' } : {}),
  });
  res.end(text);
}

/**
 * Start the echo server on every port of `host`. Resolves once all ports listen; rejects (after
 * closing what did start) when one cannot.
 */
export async function startEchoHttp(options: EchoHttpOptions): Promise<RunningContainer> {
  const sockets = new Set<Socket>();
  /** Requests being answered per connection. */
  const busy = new Map<Socket, number>();
  const timers = new Set<NodeJS.Timeout>();
  const servers: Server[] = [];
  let draining = false;
  let killed = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const downstreamUrl = options.env.DOWNSTREAM_URL;

  const handle = async (req: IncomingMessage, res: ServerResponse, port: number) => {
    const url = new URL(req.url ?? '/', 'http://echo.invalid');
    const path = url.pathname;
    if (path === '/healthz') {
      send(res, draining ? 503 : 200, { status: draining ? 'shutting down' : 'ok' }, draining);
      return;
    }
    const base: Record<string, unknown> = { ...options.identity, port, method: req.method ?? 'GET', path };
    const attempt = req.headers['x-attempt'];
    if (typeof attempt === 'string' && /^\d+$/.test(attempt)) base.attempt = Number(attempt);
    await withServerSpan(
      `${req.method ?? 'GET'}`,
      req.headers,
      { 'http.request.method': req.method ?? 'GET', 'url.path': path, 'server.port': port },
      {},
      async (finish) => {
        const delayText = url.searchParams.get('delayMs');
        const statusText = url.searchParams.get('status');
        const delay = delayText === null ? 0 : Number(delayText);
        const status = statusText === null ? 200 : Number(statusText);
        if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_MS) {
          send(
            res,
            400,
            { ...base, error: `delayMs must be an integer from 0 to ${MAX_DELAY_MS}, got ${delayText}` },
            draining,
          );
          finish({ 'http.response.status_code': 400 });
          return;
        }
        if (!Number.isInteger(status) || status < 200 || status > 599) {
          send(res, 400, { ...base, error: `status must be an integer from 200 to 599, got ${statusText}` }, draining);
          finish({ 'http.response.status_code': 400 });
          return;
        }
        if (delay > 0) await sleepTracked(timers, delay);
        if (killed) return;
        const body: Record<string, unknown> = { ...base };
        let answer = status;
        if (downstreamUrl !== undefined && downstreamUrl !== '' && options.downstream !== undefined) {
          try {
            const down = await options.downstream(downstreamUrl);
            body.downstream = down.body;
            if (down.status >= 500 && answer < 500) answer = 502;
          } catch (error) {
            body.downstream = {
              error: error instanceof Error ? error.message : String(error),
              ...(typeof (error as { code?: unknown }).code === 'string'
                ? { code: (error as { code: string }).code }
                : {}),
            };
            answer = 502;
          }
        }
        if (killed) return;
        send(res, answer, body, draining);
        finish({ 'http.response.status_code': answer }, answer >= 500 ? `status ${answer}` : undefined);
      },
    );
  };

  const onRequest = (port: number) => (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const n = (busy.get(socket) ?? 1) - 1;
      if (n === 0) busy.delete(socket);
      else busy.set(socket, n);
      inFlight--;
      if (inFlight === 0) idle?.();
    });
    req.resume();
    handle(req, res, port).catch((error: unknown) => {
      send(res, 500, { ...options.identity, error: error instanceof Error ? error.message : String(error) }, draining);
    });
  };

  // One promise for "every listener closed", whoever asks first (stop or kill).
  let allClosed: Promise<void> | undefined;
  const closeServers = () => {
    allClosed ??= Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(
      () => {},
    );
    return allClosed;
  };

  const terminate = (reset: boolean) => {
    killed = true;
    draining = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    // SIGKILL: RST, as when the kernel reaps a killed process's sockets. End of a graceful stop: FIN.
    // Like the kernel closing a dead process's sockets: RST where a request is unanswered, FIN on idle ones
    // (resetting an idle keep-alive socket also left Node 20 spinning on the dead handle).
    for (const socket of sockets) {
      if (reset && (busy.get(socket) ?? 0) > 0 && !socket.destroyed) socket.resetAndDestroy();
      else socket.destroy();
    }
    sockets.clear();
    void closeServers();
  };
  const kill = () => terminate(true);

  try {
    for (const port of options.ports) {
      const server = createServer({ keepAlive: true }, onRequest(port));
      server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      server.on('clientError', (_error, socket) => socket.destroy());
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host: options.host, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
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
        if (killed) return closeServers();
        draining = true;
        const closed = closeServers();
        for (const server of servers) server.closeIdleConnections();
        if (inFlight > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, graceMs);
            timer.unref();
            idle = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        // Nothing left in flight: close what remains (idle keep-alive connections). Grace period over:
        // SIGKILL, the in-flight requests see a reset.
        terminate(inFlight > 0);
        await closed;
      })();
      return stopping;
    },
    kill,
  };
}
