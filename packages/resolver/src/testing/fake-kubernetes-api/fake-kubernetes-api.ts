// Fake Kubernetes API: the public test double: a protocol-faithful API server on loopback (Services,
// EndpointSlices, Pods, Namespaces, Nodes). Consumes HTTP requests and programmatic calls; produces API responses and watch streams.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { ClosedError } from '../../errors/closed-error.js';
import { InvalidArgumentError } from '../../errors/invalid-argument-error.js';
import { ApiRequestHandler } from './api-request-handler.js';
import { ApiStatusError, tooOldResourceVersion } from './api-status.js';
import { ClusterIpAllocator } from './cluster-ip-allocator.js';
import { EndpointSliceController } from './endpoint-slice-controller.js';
import {
  type FakeKubernetesApiOptions,
  type ResolvedFakeKubernetesApiOptions,
  resolveFakeKubernetesApiOptions,
} from './fake-kubernetes-api-options.js';
import {
  type CountOptions,
  type FailOptions,
  type FaultHandle,
  FaultInjector,
  matchesQuery,
  matchesRequest,
  type RequestMatcher,
  type RespondOptions,
  type SlowOptions,
  type StallHandle,
} from './fault-injector.js';
import { parseFieldSelector } from './field-selector.js';
import { cloneJson, type KubeObject } from './kube-object.js';
import { buildKubeconfig, type KubeconfigOptions } from './kubeconfig.js';
import { parseLabelSelector } from './label-selector.js';
import type { AdmissionContext } from './object-admission.js';
import { ObjectStore } from './object-store.js';
import type { RequestRecord } from './request-record.js';
import { findKind, KIND_NAMES, type ResourceKind } from './resource-kinds.js';
import { ResourceOperations } from './resource-operations.js';
import type { WatchInfo, WatchStream } from './watch-stream.js';

const SUBJECT = 'fake kubernetes api';

/** Options of {@link FakeKubernetesApi.list}. */
export interface FakeListOptions {
  /** Only this namespace (namespaced kinds); all namespaces when omitted. */
  readonly namespace?: string;
  /** Label selector string, e.g. `kubernetes.io/service-name=web`. */
  readonly labelSelector?: string;
  /** Field selector string, e.g. `metadata.name=web`. */
  readonly fieldSelector?: string;
}

/** Narrows which open watches a fault applies to. */
export interface WatchMatcher extends Omit<RequestMatcher, 'watch' | 'method'> {
  /** Kind watched (`EndpointSlice`, `endpointslices`, `Service`, ...). */
  readonly kind?: string;
  /** Namespace watched; `null` selects all-namespace watches. */
  readonly namespace?: string | null;
}

/** Options of {@link FakeKubernetesApi.delete}. */
export interface FakeDeleteOptions {
  /**
   * `DeleteOptions.gracePeriodSeconds` of a Pod deletion. Only matters with `gracefulPodDeletion`:
   * then a scheduled Pod is marked terminating unless this is 0 (the kubelet's final delete).
   */
  readonly gracePeriodSeconds?: number;
}

/**
 * One committed change, as {@link FakeKubernetesApi.onChange} reports it: which object changed,
 * not its content (read it with `get`, it may have changed again since).
 */
export interface ObjectChange {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** `Pod`, `Service`, `Deployment`, ... */
  readonly kind: string;
  /** Undefined for cluster-scoped kinds. */
  readonly namespace: string | undefined;
  readonly name: string;
  /** The object's resourceVersion after the change. */
  readonly resourceVersion: string;
}

/** Options of the `waitFor*` helpers. */
export interface WaitOptions {
  /** Abort the wait (e.g. `AbortSignal.timeout(2000)`); the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

interface Waiter {
  check(): boolean;
  reject(error: unknown): void;
}

/**
 * A Kubernetes API server for tests and local development, listening on loopback.
 *
 * It speaks the real wire protocol for `v1` Services, Pods, Namespaces and Nodes,
 * `discovery.k8s.io/v1` EndpointSlices and `apps/v1` Deployments (with the `scale` subresource): discovery (`/api`, `/apis`, aggregated v2, `/version`,
 * a minimal `/openapi/v3`), list with a global `resourceVersion`, watch as chunked
 * newline-delimited JSON with bookmarks, timeouts and 410 Expired, label and field selectors,
 * create/get/update/patch (merge, strategic merge, JSON patch, server-side apply)/delete,
 * `meta.k8s.io/v1` Tables for `kubectl get`, bearer-token auth and `Status` errors. The real
 * `kubectl` works against it (`get`, `get --watch`, `apply -f`, `delete`).
 *
 * By default it also emulates the EndpointSlice controller: a Service with a selector gets
 * EndpointSlices built from the matching Pods (IPs, readiness, terminating, node, zone, named
 * target ports, hints), updated as Pods, Services and Nodes change.
 *
 * Programmatic calls (`apply`, `delete`, `get`, `list`) are synchronous and in-process; writes
 * bump the resourceVersion and reach open watches before the call returns.
 *
 * Lifecycle: `start()` → running → `close()` (idempotent, returns the same promise): ends every
 * watch, destroys every socket, clears every timer; afterwards every method throws
 * `ClosedError` (`CLUSTERIP_ERR_CLOSED`) except `close()` and the read-only getters.
 *
 * @example
 * ```ts
 * import { FakeKubernetesApi } from '@clusterip/resolver/testing'
 *
 * const api = await FakeKubernetesApi.start({ token: 't0ken' })
 * api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' },
 *   spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } })
 * api.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } },
 *   spec: { containers: [{ name: 'app', image: 'web' }] },
 *   status: { phase: 'Running', podIP: '127.0.0.2', conditions: [{ type: 'Ready', status: 'True' }] } })
 * api.list('EndpointSlice', { namespace: 'shop', labelSelector: 'kubernetes.io/service-name=web' })
 * // kubectl --kubeconfig <(api.kubeconfig()) get endpointslices -n shop
 * await api.close()
 * ```
 */
export class FakeKubernetesApi {
  readonly #options: ResolvedFakeKubernetesApiOptions;
  readonly #server: Server;
  readonly #store: ObjectStore;
  readonly #operations: ResourceOperations;
  readonly #faults = new FaultInjector();
  readonly #watches = new Set<WatchStream>();
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #requests: RequestRecord[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #controller: EndpointSliceController | undefined;
  #token: string | undefined;
  #url = '';
  #port = 0;
  #closing: Promise<void> | undefined;

  /**
   * Start a server (on `127.0.0.1`, any free port, unless options say otherwise).
   *
   * @throws InvalidArgumentError (`CLUSTERIP_ERR_INVALID_ARG`) for bad or unknown options.
   * @example
   * ```ts
   * const api = await FakeKubernetesApi.start({ historySize: 100, bookmarkIntervalMs: 500 })
   * ```
   */
  static async start(options?: FakeKubernetesApiOptions): Promise<FakeKubernetesApi> {
    const api = new FakeKubernetesApi(resolveFakeKubernetesApiOptions(options));
    await api.#listen();
    return api;
  }

  private constructor(options: ResolvedFakeKubernetesApiOptions) {
    this.#options = options;
    this.#token = options.token;
    const allocator = new ClusterIpAllocator(options.serviceClusterIPRange, options.random);
    const ctx: AdmissionContext = {
      now: options.now,
      random: options.random,
      allocator,
      gracefulPodDeletion: options.gracefulPodDeletion,
    };
    this.#store = new ObjectStore(100, options.historySize);
    this.#operations = new ResourceOperations(this.#store, ctx);
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.#operations.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
    this.#store.subscribe((event) => {
      for (const stream of [...this.#watches]) stream.deliver(event);
    });
    if (options.endpointSliceController !== false) {
      this.#controller = new EndpointSliceController(this.#store, this.#operations, {
        maxEndpointsPerSlice: options.endpointSliceController.maxEndpointsPerSlice,
        random: options.random,
      });
    }
    const handler = new ApiRequestHandler({
      options,
      store: this.#store,
      operations: this.#operations,
      faults: this.#faults,
      token: () => this.#token,
      serverAddress: () => `${options.host.includes(':') ? `[${options.host}]` : options.host}:${this.#port}`,
      record: (record) => this.#record(record),
      responded: () => this.#notify(),
      addWatch: (stream) => {
        this.#watches.add(stream);
        if (this.#closing !== undefined) stream.end('closed');
        this.#notify();
      },
      removeWatch: (stream) => {
        this.#watches.delete(stream);
        this.#notify();
      },
      trackTimer: (timer) => this.#timers.add(timer),
      untrackTimer: (timer) => this.#timers.delete(timer),
    });
    const onRequest = (req: IncomingMessage, res: ServerResponse) => handler.handle(req, res);
    this.#server = options.tls
      ? createTlsServer({ keepAlive: true, key: options.tls.key, cert: options.tls.cert }, onRequest)
      : createServer({ keepAlive: true }, onRequest);
    // The raw TCP socket (also under TLS): destroying it ends everything on the connection.
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    // A client that sends garbage gets a 400 from node:http; never crash on socket errors.
    this.#server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  async #listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    this.#port = address.port;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.#url = `${this.#options.tls ? 'https' : 'http'}://${host}:${address.port}`;
  }

  /** Base URL, e.g. `http://127.0.0.1:40123` (`https://` with `tls`; no trailing slash). */
  get url(): string {
    return this.#url;
  }

  /** The port listened on. */
  get port(): number {
    return this.#port;
  }

  /** The current global resourceVersion (the store revision), as the string clients see. */
  get resourceVersion(): string {
    return String(this.#store.revision);
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Every request received so far (oldest first, bounded by `requestLogSize`), without secrets.
   * Records are logged on arrival; each one's `status` appears once its response head is sent.
   */
  get requests(): readonly RequestRecord[] {
    return [...this.#requests];
  }

  /** Open watch streams. */
  get watches(): readonly WatchInfo[] {
    return [...this.#watches].filter((w) => !w.ended).map((w) => w.info);
  }

  /** Forget the request log (e.g. between phases of a test). */
  clearRequests(): void {
    this.#requests.length = 0;
  }

  /**
   * Resolve with the first logged request matching `matcher` (already logged ones count: call
   * `clearRequests()` first to wait for a new one). A function matcher is re-checked when a request
   * arrives and when a response is sent, so it can wait for a `status`. Rejects with `ClosedError`
   * when the server closes, or with the signal's reason when `options.signal` aborts.
   *
   * @example
   * ```ts
   * const watch = await api.waitForRequest({ path: '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices', watch: true })
   * watch.query.resourceVersion // the RV the client resumed from
   * const refused = await api.waitForRequest((r) => r.status === 401) // a request refused for its token
   * ```
   */
  waitForRequest(
    matcher: RequestMatcher | ((record: RequestRecord) => boolean),
    options?: WaitOptions,
  ): Promise<RequestRecord> {
    const test = typeof matcher === 'function' ? matcher : (r: RequestRecord) => matchesRequest(matcher, r);
    let found: RequestRecord | undefined;
    return this.#waitFor(() => {
      found = this.#requests.find(test);
      return found !== undefined;
    }, options).then(() => found as RequestRecord);
  }

  /**
   * Resolve once at least `count` watches matching `matcher` are open.
   *
   * @example
   * ```ts
   * await api.waitForWatches({ kind: 'EndpointSlice' })
   * api.apply(slice) // the client's watch sees it
   * ```
   */
  waitForWatches(matcher: WatchMatcher = {}, count = 1, options?: WaitOptions): Promise<void> {
    return this.#waitFor(() => this.#matchingWatches(matcher).length >= count, options);
  }

  /**
   * Resolve once `condition` holds for the open watches, checked now and whenever a watch opens or
   * ends: for waits that {@link waitForWatches} cannot express, such as watches having closed.
   *
   * @example
   * ```ts
   * // the client's per-Service watches (those with a selector) have all ended
   * await api.waitForWatchState((open) => open.every((w) => w.query.labelSelector === undefined))
   * ```
   */
  waitForWatchState(condition: (open: readonly WatchInfo[]) => boolean, options?: WaitOptions): Promise<void> {
    return this.#waitFor(() => condition(this.watches), options);
  }

  /**
   * Create or replace an object, as the API server would store it (defaults, uid,
   * creationTimestamp, generation, ClusterIP). Unlike HTTP writes, `status` and
   * `metadata.deletionTimestamp` are taken as given, which is how tests make a Pod ready or
   * terminating. A missing namespace is created. Watches see the change before this returns.
   *
   * @throws InvalidArgumentError when the object is invalid (the message is the API server's 422 text).
   * @example
   * ```ts
   * const svc = api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } })
   * svc.spec.clusterIP // e.g. '10.96.14.3'
   * ```
   */
  apply(object: KubeObject): KubeObject {
    this.#assertOpen();
    return cloneJson(this.#direct('apply', () => this.#operations.apply(object)));
  }

  /**
   * The stored object, or undefined. For cluster-scoped kinds pass `undefined` or `''` as namespace.
   *
   * @example
   * ```ts
   * api.get('Service', 'default', 'web')?.spec
   * ```
   */
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    this.#assertOpen();
    const k = this.#kind(kind);
    const object = this.#store.get(k, namespace || undefined, name);
    return object === undefined ? undefined : cloneJson(object);
  }

  /**
   * Stored objects of `kind`, sorted by namespace and name.
   *
   * @example
   * ```ts
   * api.list('EndpointSlice', { namespace: 'shop', labelSelector: 'kubernetes.io/service-name=web' })
   * ```
   */
  list(kind: string, options: FakeListOptions = {}): KubeObject[] {
    this.#assertOpen();
    const k = this.#kind(kind);
    return this.#direct('list', () =>
      this.#operations
        .list(k, {
          ...(options.namespace ? { namespace: options.namespace } : {}),
          labelSelector: parseLabelSelector(options.labelSelector),
          fieldSelector: parseFieldSelector(options.fieldSelector, k),
        })
        .items.map((o) => cloneJson(o)),
    );
  }

  /**
   * Delete an object (and what it owns: a Service's controller-made EndpointSlices, a
   * Namespace's contents). Returns false when it did not exist.
   *
   * @example
   * ```ts
   * api.delete('Pod', 'shop', 'web-1')
   * ```
   */
  delete(kind: string, namespace: string | undefined, name: string, options: FakeDeleteOptions = {}): boolean {
    this.#assertOpen();
    const k = this.#kind(kind);
    if (this.#store.get(k, namespace || undefined, name) === undefined) return false;
    const grace = options.gracePeriodSeconds;
    if (grace !== undefined && (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0)) {
      throw new InvalidArgumentError(
        'gracePeriodSeconds',
        `gracePeriodSeconds must be a non-negative integer, got ${String(grace)}`,
      );
    }
    this.#direct('delete', () =>
      this.#operations.delete(
        k,
        namespace || undefined,
        name,
        grace === undefined ? {} : { gracePeriodSeconds: grace },
      ),
    );
    return true;
  }

  /**
   * Call `listener` after every committed change (programmatic and HTTP writes alike), in
   * resourceVersion order, synchronously and never re-entrantly: a write made by the listener is
   * delivered after the current call returns. Returns the unsubscribe function; no call happens
   * after it ran or after `close()`. A listener that throws is not called again for that change
   * and does not disturb the others.
   *
   * @example
   * ```ts
   * const off = api.onChange((c) => { if (c.kind === 'Deployment') reconcile(c.namespace, c.name) })
   * off()
   * ```
   */
  onChange(listener: (change: ObjectChange) => void): () => void {
    this.#assertOpen();
    if (typeof listener !== 'function') {
      throw new InvalidArgumentError('listener', `listener must be a function, got ${typeof listener}`);
    }
    let active = true;
    const unsubscribe = this.#store.subscribe((event) => {
      if (!active || this.#closing !== undefined) return;
      try {
        listener({
          type: event.type,
          kind: event.kind.kind,
          namespace: event.object.metadata.namespace,
          name: event.object.metadata.name,
          resourceVersion: event.object.metadata.resourceVersion,
        });
      } catch {
        // A listener's failure is its own business; the store and the other listeners go on.
      }
    });
    return () => {
      active = false;
      unsubscribe();
    };
  }

  /**
   * A kubeconfig document for this server (YAML by default), with the configured token.
   *
   * @example
   * ```ts
   * await writeFile(path, api.kubeconfig({ namespace: 'shop' }))
   * // KUBECONFIG=path kubectl get svc
   * ```
   */
  kubeconfig(options: KubeconfigOptions = {}): string {
    const cert = this.#options.tls?.cert;
    return buildKubeconfig(
      this.#url,
      options.token ?? this.#token,
      options,
      cert === undefined ? undefined : String(cert),
    );
  }

  /**
   * Change the bearer token required from now on (simulates rotation); `undefined` disables auth.
   * Open watches are not affected, as on a real server.
   */
  setToken(token: string | undefined): void {
    this.#assertOpen();
    if (token !== undefined && (typeof token !== 'string' || token === '' || /\s/.test(token))) {
      throw new InvalidArgumentError('token', 'token must be a non-empty string without whitespace');
    }
    this.#token = token;
  }

  /**
   * Answer the next `count` (default 1) matching requests with `status` as a Status object.
   *
   * @example
   * ```ts
   * api.failNext({ status: 410, path: /endpointslices$/, watch: true }) // next watch: HTTP 410
   * api.failNext({ status: 401, count: 2 })                          // token "expired" twice
   * ```
   */
  failNext(options: FailOptions): FaultHandle {
    this.#assertOpen();
    return this.#faults.fail(options);
  }

  /**
   * Answer the next `count` (default 1) matching requests with `body` as given (status 200 and JSON by
   * default), without looking at the store: what a server that sends garbage, or an object of a newer
   * shape, looks like to the client.
   *
   * @example
   * ```ts
   * api.respondNext({ path: /endpointslices$/, watch: false, body: { kind: 'EndpointSliceList', items: [{}] } })
   * api.respondNext({ path: /services$/, body: '{"kind":', contentType: 'application/json' }) // truncated
   * ```
   */
  respondNext(options: RespondOptions): FaultHandle {
    this.#assertOpen();
    return this.#faults.respond(options);
  }

  /**
   * Destroy the socket of the next `count` (default 1) matching requests without answering.
   *
   * @example
   * ```ts
   * api.disconnectNext({ method: 'GET', watch: false })
   * ```
   */
  disconnectNext(options: CountOptions = {}): FaultHandle {
    this.#assertOpen();
    return this.#faults.disconnect(options);
  }

  /**
   * Delay matching requests by `delayMs` before processing them (all of them until cleared, or
   * `count`).
   *
   * @example
   * ```ts
   * const slow = api.slow({ delayMs: 200, path: /services/ })
   * slow.clear()
   * ```
   */
  slow(options: SlowOptions): FaultHandle {
    this.#assertOpen();
    return this.#faults.slow(options);
  }

  /**
   * Accept matching requests and never answer them until `release()` (then they are processed
   * normally) or `close()` (then their sockets are destroyed).
   *
   * @example
   * ```ts
   * const stall = api.stall({ path: /endpointslices$/, watch: false })
   * await stall.waitForStalled()
   * stall.release()
   * ```
   */
  stall(options: CountOptions = {}): StallHandle {
    this.#assertOpen();
    return this.#faults.stall(options);
  }

  /**
   * End matching open watches cleanly (the client sees the stream finish, as on a server-side
   * timeout). Returns how many were ended.
   */
  dropWatches(matcher: WatchMatcher = {}): number {
    this.#assertOpen();
    const streams = this.#matchingWatches(matcher);
    for (const s of streams) s.end('dropped');
    return streams.length;
  }

  /** Destroy the sockets of matching open watches mid-stream. Returns how many. */
  disconnectWatches(matcher: WatchMatcher = {}): number {
    this.#assertOpen();
    const streams = this.#matchingWatches(matcher);
    for (const s of streams) s.destroy();
    return streams.length;
  }

  /**
   * Send matching open watches an `ERROR` event (Status code 410, reason Expired) and end them,
   * as the watch cache does to a watcher that fell behind. Returns how many.
   */
  expireWatches(matcher: WatchMatcher = {}): number {
    this.#assertOpen();
    const streams = this.#matchingWatches(matcher);
    const status = tooOldResourceVersion(this.resourceVersion, this.#store.revision);
    for (const s of streams) s.error(status);
    return streams.length;
  }

  /**
   * Forget the change history (like an etcd compaction): a watch or continue token from any
   * resourceVersion before now gets 410 Expired.
   */
  compactHistory(): void {
    this.#assertOpen();
    this.#store.compact();
  }

  /** Send a BOOKMARK now on every open watch that allowed bookmarks. Returns how many watches. */
  sendBookmarks(): number {
    this.#assertOpen();
    let n = 0;
    for (const s of this.#watches) {
      if (!s.ended && s.params.allowBookmarks) {
        s.bookmark();
        n++;
      }
    }
    return n;
  }

  /**
   * Restart the server as its clients see an API server restart: every connection is cut (open
   * watches and stalled requests included), the port refuses connections while `whileDown` runs, then
   * the server listens again on the same port with the same objects and resourceVersions (etcd
   * survived). The new server's watch cache starts at the revision current when it comes back, so a
   * watch resumed from an older resourceVersion gets 410 Expired and the client relists;
   * `keepHistory: true` keeps the history instead. Objects may be applied while down. Fault rules
   * stay. Resolves once listening again; when `close()` is called meanwhile, it resolves without
   * listening.
   *
   * @throws InvalidArgumentError for unknown options; ClosedError after `close()`.
   * @example
   * ```ts
   * await api.restart({ whileDown: () => sawFailure }) // e.g. a `clusterip:source:failure` message
   * ```
   */
  async restart(options: { readonly whileDown?: () => unknown; readonly keepHistory?: boolean } = {}): Promise<void> {
    this.#assertOpen();
    for (const key of Object.keys(options)) {
      if (key !== 'whileDown' && key !== 'keepHistory') {
        throw new InvalidArgumentError(`restart.${key}`, `unexpected option "restart.${key}"`);
      }
    }
    const down = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const stream of [...this.#watches]) stream.destroy();
    this.#watches.clear();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    this.#server.closeAllConnections();
    await down;
    await options.whileDown?.();
    if (this.#closing !== undefined) return;
    // The new watch cache is filled from etcd when the server starts: history before now is gone.
    if (options.keepHistory !== true) this.#store.compact();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, this.#options.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  /**
   * Stop the server: end all watches, destroy all sockets (held and stalled requests included),
   * clear timers, reject pending `waitFor*` calls. Idempotent: every call returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#faults.clearAll();
    for (const stream of [...this.#watches]) stream.end('closed');
    this.#watches.clear();
    this.#controller?.close();
    const error = new ClosedError(SUBJECT);
    for (const waiter of [...this.#waiters]) waiter.reject(error);
    this.#waiters.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    this.#server.closeAllConnections();
    await closed;
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new ClosedError(SUBJECT);
  }

  #kind(kind: string): ResourceKind {
    const k = typeof kind === 'string' ? findKind(kind) : undefined;
    if (k === undefined) {
      throw new InvalidArgumentError(
        'kind',
        `kind must be one of ${KIND_NAMES} (or their plural/short names), got ${JSON.stringify(kind)}`,
      );
    }
    return k;
  }

  #direct<T>(operation: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof ApiStatusError) {
        throw new InvalidArgumentError('object', `${SUBJECT}: ${operation}: ${error.status.message}`, { cause: error });
      }
      throw error;
    }
  }

  #matchingWatches(matcher: WatchMatcher): WatchStream[] {
    const kind = matcher.kind === undefined ? undefined : this.#kind(matcher.kind);
    return [...this.#watches].filter((s) => {
      if (s.ended) return false;
      if (kind !== undefined && s.params.kind !== kind) return false;
      if (matcher.namespace !== undefined && (s.params.namespace ?? null) !== matcher.namespace) return false;
      if (!matchesQuery(matcher.query, s.query)) return false;
      if (matcher.path instanceof RegExp) return matcher.path.test(s.path);
      if (typeof matcher.path === 'string') return matcher.path === s.path;
      return true;
    });
  }

  #record(record: RequestRecord): void {
    if (this.#options.requestLogSize === 0) return;
    this.#requests.push(record);
    if (this.#requests.length > this.#options.requestLogSize) this.#requests.shift();
    this.#notify();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter.check();
  }

  #waitFor(condition: () => boolean, options?: WaitOptions): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError(SUBJECT));
    if (condition()) return Promise.resolve();
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        check: () => {
          if (!condition()) return false;
          this.#waiters.delete(waiter);
          signal?.removeEventListener('abort', onAbort);
          resolve();
          return true;
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }
}
