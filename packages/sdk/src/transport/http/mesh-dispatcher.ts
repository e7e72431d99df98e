// ⑧ Transport (HTTP): the undici Dispatcher an application hands to fetch/request — an Agent for
// pass-through traffic, composed with the routing interceptor. Consumes dispatch calls (legacy or new
// handlers); produces routed or pass-through requests. Closing it closes its owner (the Mesh).

import { Agent, Dispatcher } from 'undici';
import type { RouteLookup } from './http-route.js';
import type { CallHost } from './routed-call.js';
import { createRoutingInterceptor } from './routing-interceptor.js';

/** @internal What the dispatcher needs from the mesh that owns it. */
export interface MeshDispatcherOwner {
  readonly routes: RouteLookup;
  readonly now: () => number;
  readonly random: () => number;
  /** undici Agent options for pass-through traffic (TLS `connect` options, timeouts). */
  readonly agentOptions: Agent.Options;
  close(): Promise<void>;
  destroy(error?: Error): Promise<void>;
}

interface Scheduled {
  timer: NodeJS.Timeout | undefined;
  readonly cancel: () => void;
}

/**
 * The mesh's undici Dispatcher. Works with `undici.fetch`, `request`, `stream`, `pipeline` and Node's
 * global `fetch(url, { dispatcher })`; compose your own interceptors on it with `.compose()`.
 * Requests to cluster Services are balanced per request over per-endpoint keep-alive pools; other
 * requests pass through an undici Agent untouched. `close()`/`destroy()` close the whole Mesh.
 *
 * @example
 * ```ts
 * const mesh = new Mesh()
 * const res = await fetch('http://backend-service/orders', { dispatcher: mesh.dispatcher })
 * const { body } = await request('http://payments.prod:4000/pay', { dispatcher: mesh.dispatcher, method: 'POST' })
 * ```
 */
export class MeshDispatcher extends Dispatcher implements CallHost {
  readonly #owner: MeshDispatcherOwner;
  readonly #agent: Agent;
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #timers = new Set<Scheduled>();
  #closed = false;
  #destroyedBy: Error | undefined;

  /** @internal Created by the Mesh. */
  constructor(owner: MeshDispatcherOwner) {
    super();
    this.#owner = owner;
    this.#agent = new Agent(owner.agentOptions);
    // The interceptor over the Agent's dispatch, without compose(): compose() would put a Proxy in front
    // and wrap every legacy handler (undici.request, Node 20's fetch) into a new-API one, which the
    // endpoint pools then unwrap again. The routing code speaks both handler APIs instead.
    this.#dispatch = createRoutingInterceptor(owner.routes, this)(this.#agent.dispatch.bind(this.#agent));
  }

  /** @internal */
  get now(): () => number {
    return this.#owner.now;
  }

  /** @internal */
  get random(): () => number {
    return this.#owner.random;
  }

  /** True once the dispatcher (the mesh) is closing. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal CallHost: what the mesh was destroyed with, once it is. */
  get destroyedBy(): Error | undefined {
    return this.#destroyedBy;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#dispatch(options, handler);
  }

  /**
   * @internal CallHost: a retry timer, cancelled when the mesh closes. Not unref'd: it belongs to a request
   * in flight, which keeps the process alive until it settles, as undici's sockets do.
   */
  schedule(ms: number, fn: () => void, cancel: () => void): () => void {
    const entry: Scheduled = { timer: undefined, cancel };
    this.#timers.add(entry);
    const run = () => {
      if (!this.#timers.delete(entry)) return;
      fn();
    };
    // A retry on another endpoint after a refused connection: next turn, no timer.
    if (ms <= 0) setImmediate(run);
    else entry.timer = setTimeout(run, ms);
    return () => {
      this.#timers.delete(entry);
      if (entry.timer !== undefined) clearTimeout(entry.timer);
    };
  }

  /**
   * @internal Stop retry timers and close the pass-through Agent: gracefully, or, given `destroyedBy`, at
   * once (and so does a later graceful call). Calls waiting for a retry fail: with `UpstreamError` reason
   * `closed` on close, with `destroyedBy` on destroy.
   */
  async shutdown(destroyedBy?: Error): Promise<void> {
    this.#closed = true;
    this.#destroyedBy ??= destroyedBy;
    for (const entry of [...this.#timers]) {
      this.#timers.delete(entry);
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      entry.cancel();
    }
    // A graceful close after a destroy (close() waited for discovery meanwhile) waits for that destroy:
    // the Agent's close() would reject with UND_ERR_DESTROYED.
    if (this.#destroyedBy !== undefined) await this.#agent.destroy(this.#destroyedBy);
    else await this.#agent.close();
  }

  // biome-ignore lint/suspicious/noExplicitAny: undici's callback/promise overloads
  override close(callback?: () => void): any {
    const done = this.#owner.close();
    if (typeof callback === 'function') {
      done.then(callback, callback);
      return undefined;
    }
    return done;
  }

  // biome-ignore lint/suspicious/noExplicitAny: undici's callback/promise overloads
  override destroy(error?: Error | null | (() => void), callback?: () => void): any {
    const cb = typeof error === 'function' ? error : callback;
    const err = typeof error === 'function' || error === null ? undefined : error;
    const done = this.#owner.destroy(err);
    if (typeof cb === 'function') {
      done.then(cb, cb);
      return undefined;
    }
    return done;
  }
}
