// Testing: one pod of a mock upstream, a real HTTP server on loopback with a Kubernetes pod's life cycle.
// Consumes requests and the test's commands (ready, crash, restart, terminate); produces answers and the
// conditions its endpoint is listed with.

import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClosedError, type EndpointConditions } from '@clusterip/resolver';
import type { MockHandler, MockUpstreamConfig } from './mock-upstream-options.js';

/**
 * Where a mock pod is in its life: `ready` / `not-ready` (its readiness, see `setReady`), `crashed`
 * (not listening, still listed as before), `terminating` (listed as terminating, finishing its requests),
 * `terminated` (gone from the endpoints).
 *
 * @example
 * ```ts
 * if (pod.state === 'terminating') await pod.terminate()
 * ```
 */
export type MockPodState = 'ready' | 'not-ready' | 'crashed' | 'terminating' | 'terminated';

/**
 * One request a mock pod received, recorded when it arrived (before the handler ran).
 *
 * @example
 * ```ts
 * const [first] = orders.requests
 * console.log(first.pod, first.method, first.path, first.headers['x-request-id'])
 * ```
 */
export interface MockRequest {
  /** The pod's name, e.g. `orders-0`. */
  readonly pod: string;
  readonly method: string;
  /** Path and query, as sent (`/items?id=1`). */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

/**
 * A pod of a mock upstream: an HTTP server on its own port, listed as an endpoint of the Service.
 * Every method that changes how the pod is listed resolves once the Service's watchers (a Mesh's
 * routes) have the change, so the next request is routed by it.
 *
 * @example
 * ```ts
 * const [pod] = orders.pods
 * await pod.setReady(false) // no new request goes to it
 * await pod.setReady(true)
 * await pod.crash()         // connections refused; still listed, as until the kubelet notices
 * await pod.restart()
 * await pod.terminate()     // listed as terminating, finishes its requests, then leaves the endpoints
 * ```
 */
export interface MockPod {
  /** `<service>-<n>`, also the endpoint's `targetRef` name. */
  readonly name: string;
  /** The address it listens on (the upstream's `host`). */
  readonly address: string;
  /** Its own port: the Service port's target port for this endpoint. */
  readonly port: number;
  /** Requests received so far. */
  readonly requests: number;
  readonly state: MockPodState;
  /** The conditions its endpoint is listed with; undefined once terminated. */
  readonly conditions: EndpointConditions | undefined;
  /** Answer with `handler` from now on; `undefined` goes back to the upstream's handler. */
  setHandler(handler: MockHandler | undefined): void;
  /** Its readiness probe's result: not ready is listed with `ready` and `serving` false. Rejects once terminated. */
  setReady(ready: boolean): Promise<void>;
  /** Stop listening and destroy every connection; the endpoint stays listed as it was. */
  crash(): Promise<void>;
  /**
   * Listen again on the same port after `crash()`. Rejects once terminating or terminated; a `crash()`,
   * `terminate()` or upstream `close()` made while it starts to listen wins.
   */
  restart(): Promise<void>;
  /**
   * Delete the pod as Kubernetes does: listed as terminating (`serving` while ready), kept serving for
   * `drainDelayMs`, then it stops accepting, finishes its requests (cut after `terminationGraceMs`) and
   * leaves the endpoints. Requests a client queued on its connections before the listing reached it can
   * meet the closing server, as in a cluster without a preStop sleep: set `drainDelayMs` to avoid that.
   * Repeated calls return the same promise.
   */
  terminate(): Promise<void>;
}

/** What a pod needs from its upstream. */
export interface MockPodHost {
  readonly config: MockUpstreamConfig;
  record(request: MockRequest): void;
  /** Re-list the Service's endpoints; resolves once its watchers have them. */
  publish(): Promise<void>;
}

type Phase = 'running' | 'crashed' | 'terminating' | 'terminated';

/** How the upstream kills a pod (not a method users can call on the pod a handler receives). */
export const KILL: unique symbol = Symbol('kill');

/** The server behind a {@link MockPod}; only the upstream creates and kills it. */
export class MockPodServer implements MockPod {
  readonly name: string;
  readonly address: string;
  readonly #host: MockPodHost;
  readonly #server: Server;
  #port = 0;
  #requests = 0;
  #readiness = true;
  #phase: Phase = 'running';
  #handler: MockHandler | undefined;
  /** Counts crash, terminate and kill: a restart that sees it change while listening gives way. */
  #generation = 0;
  /** Responses not finished yet. */
  readonly #open = new Set<ServerResponse>();
  /** A restart's listen, until it completes. */
  #listening: Promise<void> | undefined;
  /** The latest `server.close()`, until it completes. */
  #closing: Promise<void> | undefined;
  #terminated: Promise<void> | undefined;
  /** Ends the drain delay or the grace period early (the upstream is closing). */
  #wake: (() => void) | undefined;

  private constructor(name: string, host: MockPodHost) {
    this.name = name;
    this.address = host.config.host;
    this.#host = host;
    this.#server = createServer((req, res) => this.#serve(req, res));
  }

  /** Start a pod listening on a free port of the upstream's host. */
  static async start(name: string, host: MockPodHost): Promise<MockPodServer> {
    const pod = new MockPodServer(name, host);
    await pod.#listen(0);
    pod.#port = (pod.#server.address() as AddressInfo).port;
    return pod;
  }

  get port(): number {
    return this.#port;
  }

  get requests(): number {
    return this.#requests;
  }

  get state(): MockPodState {
    if (this.#phase !== 'running') return this.#phase;
    return this.#readiness ? 'ready' : 'not-ready';
  }

  get conditions(): EndpointConditions | undefined {
    switch (this.#phase) {
      case 'terminated':
        return undefined;
      case 'terminating':
        return { ready: false, serving: this.#readiness, terminating: true };
      default:
        return { ready: this.#readiness, serving: this.#readiness, terminating: false };
    }
  }

  setHandler(handler: MockHandler | undefined): void {
    this.#handler = handler;
  }

  setReady(ready: boolean): Promise<void> {
    if (this.#phase === 'terminated') return Promise.reject(new ClosedError(`mock pod ${this.name}`));
    this.#readiness = ready;
    return this.#host.publish();
  }

  async crash(): Promise<void> {
    this.#generation++;
    if (this.#phase === 'running') this.#phase = 'crashed';
    await this.#stop(0);
  }

  async restart(): Promise<void> {
    if (this.#phase === 'terminating' || this.#phase === 'terminated') throw new ClosedError(`mock pod ${this.name}`);
    const generation = this.#generation;
    if (!this.#server.listening) {
      this.#listening ??= this.#listen(this.#port).finally(() => {
        this.#listening = undefined;
      });
      await this.#listening;
    }
    // A crash, termination or kill while it started listening wins: that call closes the server again.
    if (this.#generation !== generation) return;
    this.#phase = 'running';
  }

  terminate(): Promise<void> {
    this.#terminated ??= this.#terminate();
    return this.#terminated;
  }

  /** Cut everything now and leave the endpoints without publishing (the upstream is closing). */
  async [KILL](): Promise<void> {
    this.#generation++;
    this.#phase = 'terminated';
    this.#wake?.();
    await this.#stop(0);
  }

  async #terminate(): Promise<void> {
    if (this.#phase === 'terminated') return;
    this.#generation++;
    this.#phase = 'terminating';
    await this.#host.publish();
    // The upstream closing (KILL) may end the pod at any of these steps; it then stays as KILL left it.
    if (this.#killed()) return;
    await this.#sleep(this.#host.config.drainDelayMs);
    if (this.#killed()) return;
    await this.#stop(this.#host.config.terminationGraceMs);
    if (this.#killed()) return;
    this.#phase = 'terminated';
    await this.#host.publish();
  }

  /** Terminated by KILL while terminating (a method: `#phase` is narrowed to 'terminating' there). */
  #killed(): boolean {
    return this.#phase === 'terminated';
  }

  /**
   * Stop listening, after a restart's pending listen if there is one, and cut what is still busy after
   * `graceMs`. Already stopping: with 0 its grace period ends now; either way, wait for it.
   */
  async #stop(graceMs: number): Promise<void> {
    await this.#listening?.catch(() => undefined);
    if (this.#server.listening) {
      await this.#close(graceMs);
      return;
    }
    if (graceMs === 0) this.#server.closeAllConnections();
    await this.#closing;
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    this.#requests++;
    this.#host.record({ pod: this.name, method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    // A stopping server (no longer listening) answers with `Connection: close`, and closes each connection
    // its last answer freed.
    if (!this.#server.listening) res.setHeader('connection', 'close');
    this.#open.add(res);
    res.once('close', () => {
      this.#open.delete(res);
      if (!this.#server.listening) setImmediate(() => this.#server.closeIdleConnections());
    });
    const handler = this.#handler ?? this.#host.config.handler ?? echo;
    try {
      const result: unknown = handler(req, res, this);
      if (typeof (result as Promise<void> | undefined)?.then === 'function') {
        (result as Promise<void>).then(undefined, (error: unknown) => this.#failed(res, error));
      }
    } catch (error) {
      this.#failed(res, error);
    }
  }

  #failed(res: ServerResponse, error: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = `mock handler of pod ${this.name} failed: ${error instanceof Error ? error.message : String(error)}`;
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, this.address, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stop accepting; connections still busy after `graceMs` are cut. Resolves once every connection is gone. */
  #close(graceMs: number): Promise<void> {
    // Answers not yet begun close their connection, so no client reuses one the server is about to drop.
    for (const res of this.#open) if (!res.headersSent) res.setHeader('connection', 'close');
    const cut = () => this.#server.closeAllConnections();
    let timer: NodeJS.Timeout | undefined;
    this.#closing = new Promise<void>((resolve) => {
      this.#server.close(() => {
        clearTimeout(timer);
        if (this.#wake === cut) this.#wake = undefined;
        resolve();
      });
    });
    if (graceMs === 0) {
      cut();
    } else {
      this.#server.closeIdleConnections();
      // Ref'd, unlike the SDK's own timers: terminate() awaits it, and a test awaiting nothing else must not exit.
      timer = setTimeout(cut, graceMs);
      this.#wake = cut;
    }
    return this.#closing;
  }

  #sleep(ms: number): Promise<void> {
    if (ms === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms); // ref'd: terminate() awaits it (see #close)
      this.#wake = done;
    });
  }
}

/** The default answer: 200 with what the pod saw, as JSON. */
function echo(req: IncomingMessage, res: ServerResponse, pod: MockPod): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.stringify({
      pod: pod.name,
      method: req.method,
      path: req.url,
      host: req.headers.host,
      body: Buffer.concat(chunks).toString(),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}
