// ⑦ Connection pool: undici's diagnostics channels for the requests H2Client sends. undici's own clients
// publish `undici:request:create`, `undici:client:sendHeaders`, `undici:request:headers`, `…:trailers` and
// `…:error` for every request; H2Client bypasses them, so without this, instrumentation-undici (and any
// other subscriber) would not see requests to HTTP/2 endpoints at all. Messages have the shapes undici
// documents (docs/api/DiagnosticsChannel.md); `request` carries the documented fields of its Request.

import { AsyncResource } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

const channels = {
  create: diagnosticsChannel.channel('undici:request:create'),
  sendHeaders: diagnosticsChannel.channel('undici:client:sendHeaders'),
  headers: diagnosticsChannel.channel('undici:request:headers'),
  trailers: diagnosticsChannel.channel('undici:request:trailers'),
  error: diagnosticsChannel.channel('undici:request:error'),
};

/**
 * The async context of a request at dispatch, when someone listens to `undici:request:create`: undici
 * publishes it inside `dispatch()`, and subscribers (instrumentation-undici) take the active context
 * then as the parent of their span. H2Client may start the request later, from a connection's callback,
 * so the publish runs back in this scope. `undefined` when nobody listens.
 *
 * @example
 * ```ts
 * const scope = dispatchScope() // in dispatch()
 * ```
 */
export function dispatchScope(): AsyncResource | undefined {
  return channels.create.hasSubscribers ? new AsyncResource('clusterip.H2Request') : undefined;
}

/**
 * One request as undici's diagnostics messages show it. `addHeader()` (used by instrumentation-undici to
 * propagate trace context) adds the header to the HTTP/2 request about to be sent.
 *
 * @example
 * ```ts
 * const request = DiagnosticsRequest.create(scope, 'http://10.0.0.7:8080', 'GET', '/orders', h2Headers)
 * ```
 */
export class DiagnosticsRequest {
  readonly origin: string;
  readonly method: string;
  readonly path: string;
  /** Flat `[name, value, …]`, as undici 7's Request holds them. */
  readonly headers: string[];
  completed = false;
  aborted = false;
  readonly #target: Record<string, unknown>;

  private constructor(origin: string, method: string, path: string, target: Record<string, unknown>) {
    this.origin = origin;
    this.method = method;
    this.path = path;
    this.#target = target;
    const flat: string[] = [];
    for (const name of Object.keys(target)) {
      if (name.charCodeAt(0) === 58 /* ':' */) continue;
      const value = target[name];
      if (Array.isArray(value)) for (const v of value) flat.push(name, String(v));
      else if (value !== undefined) flat.push(name, String(value));
    }
    this.headers = flat;
  }

  /**
   * Publish `undici:request:create` in the request's dispatch scope; the request whose headers
   * (`target`, the HTTP/2 header object) subscribers may still add to.
   */
  static create(
    scope: AsyncResource,
    origin: string,
    method: string,
    path: string,
    target: Record<string, unknown>,
  ): DiagnosticsRequest {
    const request = new DiagnosticsRequest(origin, method, path, target);
    scope.runInAsyncScope(() => channels.create.publish({ request }));
    return request;
  }

  addHeader(key: string, value: string): this {
    this.headers.push(key, value);
    const name = key.toLowerCase();
    const had = this.#target[name];
    this.#target[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [String(had), value];
    return this;
  }

  /**
   * The stream was opened: its headers are on their way. `socket` is the connection's; over cleartext
   * (h2c: HTTP/2 by prior knowledge, no TLS) a snapshot of its addresses with `alpnProtocol: 'h2'` goes
   * instead, since subscribers (instrumentation-undici's `network.protocol.version`) read the protocol
   * from ALPN, which h2c has none of.
   */
  sent(socket: Socket, cleartext: boolean): void {
    if (!channels.sendHeaders.hasSubscribers) return;
    let text = '';
    for (let i = 0; i < this.headers.length; i += 2) text += `${this.headers[i]}: ${this.headers[i + 1]}\r\n`;
    const shown = cleartext
      ? Object.freeze({
          remoteAddress: socket.remoteAddress,
          remotePort: socket.remotePort,
          remoteFamily: socket.remoteFamily,
          localAddress: socket.localAddress,
          localPort: socket.localPort,
          alpnProtocol: 'h2',
        })
      : socket;
    channels.sendHeaders.publish({ request: this, headers: text, socket: shown });
  }

  /** The response headers arrived (`headers` raw, as handed to legacy handlers). */
  responded(statusCode: number, headers: Buffer[]): void {
    if (channels.headers.hasSubscribers) {
      channels.headers.publish({ request: this, response: { statusCode, statusText: '', headers } });
    }
  }

  /** The response ended. */
  completedWith(trailers: Buffer[]): void {
    this.completed = true;
    if (channels.trailers.hasSubscribers) channels.trailers.publish({ request: this, trailers });
  }

  /** The request failed (aborted, refused, reset, timed out). */
  failed(error: Error): void {
    if (channels.error.hasSubscribers) channels.error.publish({ request: this, error });
  }
}
