// CLI: reachability probes for `doctor` — a TCP connect and an HTTP GET / to one endpoint, each bounded
// by a timeout. Consumes an address and port; produces a `ProbeResult` (never throws).

import { connect as tcpConnect } from 'node:net';
import { request } from 'undici';

/** Outcome of one probe. */
export interface ProbeResult {
  readonly ok: boolean;
  /** `connected in 2 ms`, `HTTP 200 in 3 ms`, `ECONNREFUSED`, `timeout after 2000 ms`. */
  readonly detail: string;
  /** HTTP status, for HTTP probes that got an answer. */
  readonly status?: number;
}

/**
 * Open and close one TCP connection.
 *
 * @example
 * ```ts
 * await probeTcp('10.1.2.3', 8080, 2000) // { ok: true, detail: 'connected in 1 ms' }
 * ```
 */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const finish = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: `timeout after ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
    socket.once('connect', () =>
      finish({ ok: true, detail: `connected in ${Math.round(performance.now() - started)} ms` }),
    );
    socket.once('error', (err: NodeJS.ErrnoException) => finish({ ok: false, detail: err.code ?? err.message }));
  });
}

/**
 * `GET /` over a fresh connection; any HTTP answer below 500 counts as reachable.
 *
 * @example
 * ```ts
 * await probeHttp('10.1.2.3', 8080, 2000) // { ok: true, detail: 'HTTP 200 in 3 ms', status: 200 }
 * ```
 */
export async function probeHttp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  try {
    const res = await request(`http://${authority}/`, {
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      reset: true,
    });
    await res.body.dump();
    const ms = Math.round(performance.now() - started);
    return { ok: res.statusCode < 500, detail: `HTTP ${res.statusCode} in ${ms} ms`, status: res.statusCode };
  } catch (err) {
    const e = err as { code?: string; name?: string; message?: string };
    const what =
      e.name === 'TimeoutError' || e.name === 'AbortError' ? `timeout after ${timeoutMs} ms` : (e.code ?? e.message);
    return { ok: false, detail: `GET / failed: ${what}` };
  }
}
