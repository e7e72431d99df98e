// ⑧ Transport (HTTP): the undici interceptor that routes requests addressed to cluster Services.
// Consumes dispatch options and handlers (undici's new or legacy API); produces a pass-through dispatch,
// a dispatch to the ExternalName target, or a RoutedCall over per-endpoint pools.

import { isIP } from 'node:net';
import { joinHostPort } from '@clusterip/resolver';
import type { Dispatcher } from 'undici';
import type { HttpRoute, ParsedOrigin, RouteDecision, RouteLookup } from './http-route.js';
import { withHostHeader } from './request-headers.js';
import { type CallHost, type LegacyDispatchHandler, RoutedCall } from './routed-call.js';
import { waitingHandler } from './waiting-handler.js';

const DEFAULT_PORT: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };
const MAX_PARSED = 4096;

/** A decision for requests that fail before reaching any pool (no Service, no endpoints, closed). */
class FailedController implements Dispatcher.DispatchController {
  readonly aborted = false;
  readonly paused = false;
  readonly reason = null;
  abort(): void {}
  pause(): void {}
  resume(): void {}
}

/** Fail a request before it reached any pool, in the handler's own API. */
function failHandler(handler: Dispatcher.DispatchHandler, error: Error): void {
  if (typeof handler.onRequestStart === 'function') handler.onResponseError?.(new FailedController(), error);
  else (handler as LegacyDispatchHandler).onError?.(error);
}

/**
 * Build the routing interceptor: `(dispatch) => (opts, handler) => boolean`, undici's interceptor shape,
 * so it composes with any other interceptor (`agent.compose(userInterceptor, routing)`).
 * `dispatch` (the layer below) receives pass-through and ExternalName traffic; routed requests go to
 * the route's endpoint pools. Returns true: a routed request is queued by its pool, never refused.
 *
 * @example
 * ```ts
 * const dispatcher = new Agent().compose(createRoutingInterceptor(routes, host))
 * ```
 */
export function createRoutingInterceptor(
  lookup: RouteLookup,
  host: CallHost,
): (dispatch: Dispatcher.Dispatch) => Dispatcher.Dispatch {
  const parsed = new Map<string, ParsedOrigin | null>();
  // The last origin seen, checked before the map: undici builds a fresh origin string per request, and
  // comparing it with the last one costs less than hashing it for the map (callgrind: about 1,000 fewer
  // est. cycles per request), while most clients send runs of requests to one Service.
  // Starts as '' → null, which is what parsing '' gives (`new URL('')` throws).
  let lastText = '';
  let lastParsed: ParsedOrigin | null = null;
  const parse = (origin: unknown): ParsedOrigin | null => {
    const text = typeof origin === 'string' ? origin : origin instanceof URL ? origin.origin : undefined;
    if (text === undefined) return null;
    if (text === lastText) return lastParsed;
    let p = parsed.get(text);
    if (p === undefined) {
      p = parseOrigin(text);
      if (parsed.size >= MAX_PARSED) parsed.clear();
      parsed.set(text, p);
    }
    lastText = text;
    lastParsed = p;
    return p;
  };

  return (dispatch) => {
    const go = (
      decision: RouteDecision,
      origin: ParsedOrigin,
      opts: Dispatcher.DispatchOptions,
      handler: Dispatcher.DispatchHandler,
      plain: boolean,
    ): boolean => {
      switch (decision.type) {
        case 'pass':
          return dispatch(opts, handler);
        case 'external':
          return dispatch(
            {
              ...opts,
              origin: `${origin.protocol}//${joinHostPort(decision.host, origin.port)}`,
              headers: withHostHeader(opts.headers, origin.host),
            },
            handler,
          );
        case 'route':
          new RoutedCall(host, decision.route as HttpRoute, origin, opts, handler, plain).start();
          return true;
        default:
          failHandler(handler, decision.error);
          return true;
      }
    };

    function routed(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const plain = Object.getPrototypeOf(opts) === Object.prototype;
      const origin = parse(plain ? originOfPlain(opts as unknown as Record<string, unknown>) : opts.origin);
      // Not an http(s) origin we understand (or malformed): let undici report it as it would.
      if (origin === null) return dispatch(opts, handler);
      const decision = lookup.lookup(origin);
      if (!(decision instanceof Promise)) return go(decision, origin, opts, handler, plain);
      return wait(decision, origin, opts, handler, plain);
    }

    /**
     * The first request to a host waits for discovery. Its caller starts now, so an abort ends it now;
     * and until the routed call listens to a stream body, this does: undici listens from dispatch on, and
     * a stream that errors with no listener (a file that does not exist) ends the process.
     */
    function wait(
      decision: Promise<RouteDecision>,
      origin: ParsedOrigin,
      opts: Dispatcher.DispatchOptions,
      handler: Dispatcher.DispatchHandler,
      plain: boolean,
    ): boolean {
      const waiting = waitingHandler(handler);
      try {
        waiting.start();
      } catch (error) {
        waiting.fail(error instanceof Error ? error : new Error(String(error)));
        return true;
      }
      if (waiting.done) return true; // aborted at its start (a signal that had already fired)
      const body = opts.body as { on?: unknown } | null | undefined;
      // The body failed while its Service was looked up: the caller's error, nothing is sent.
      const hold = body != null && typeof body.on === 'function' ? (error: Error) => waiting.fail(error) : undefined;
      if (hold !== undefined) (body as NodeJS.EventEmitter).on('error', hold);
      void decision.then((d) => {
        if (hold !== undefined) (body as NodeJS.EventEmitter).off('error', hold);
        if (waiting.done) return;
        try {
          go(d, origin, opts, waiting.handler, plain);
        } catch (error) {
          waiting.fail(error as Error);
        }
      });
      return true;
    }

    return routed;
  };
}

/**
 * `opts.origin` of a plain object, found by a `for…in` pass. undici's `request()` hands in a fresh spread
 * object per request, and on Node 20 (V8 11.3) each such object has a map of its own: a named read misses
 * the inline caches and looks the property up in the runtime (callgrind: about 1,200 instructions), while
 * the pass builds the map's enum cache, which the routed call's own pass over the options
 * (`readCallerOptions`) then reuses.
 */
function originOfPlain(opts: Readonly<Record<string, unknown>>): unknown {
  for (const key in opts) if (key === 'origin') return opts[key];
  return opts.origin;
}

/** Parse an origin: http(s) only; null for anything else (left to undici). */
export function parseOrigin(text: string): ParsedOrigin | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  const defaultPort = DEFAULT_PORT[url.protocol];
  if (defaultPort === undefined || url.hostname === '') return null;
  let hostname = url.hostname.toLowerCase();
  if (hostname.startsWith('[')) hostname = hostname.slice(1, -1);
  if (hostname.endsWith('.')) hostname = hostname.slice(0, -1);
  const port = url.port === '' ? defaultPort : Number(url.port);
  return Object.freeze({
    protocol: url.protocol,
    hostname,
    port,
    host: url.host,
    hostHeaders: Object.freeze({ host: url.host }),
    servername: isIP(hostname) === 0 ? hostname : undefined,
    key: `${hostname}:${port}`,
  });
}
