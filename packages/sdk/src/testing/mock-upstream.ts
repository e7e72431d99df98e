// Testing: a mock Service, its pods real HTTP servers on loopback, listed in a StaticSource a Mesh can use.
// Consumes MockUpstreamOptions and the test's commands; produces the source, the pods and what they received.

import {
  ClosedError,
  type DetectClusterContextOptions,
  InvalidArgumentError,
  type StaticEndpoint,
  StaticSource,
} from '@clusterip/resolver';
import { integerIn } from '../internal/options.js';
import { KILL, type MockPod, type MockPodHost, MockPodServer, type MockRequest } from './mock-pod.js';
import {
  type MockUpstreamConfig,
  type MockUpstreamOptions,
  resolveMockUpstreamOptions,
} from './mock-upstream-options.js';

/**
 * A Service without a cluster: pods that are real HTTP servers on loopback, listed as its endpoints in
 * `source`. Point a Mesh at `source` and `context`, and test your code through the Mesh as in production:
 * balancing, retries on another pod, affinity, a rollout, a crash.
 *
 * @example
 * ```ts
 * await using orders = await createMockUpstream({ name: 'orders', namespace: 'shop' })
 * await using mesh = new Mesh({ source: orders.source, context: orders.context })
 * await mesh.fetch('http://orders/items')
 * console.log(orders.requests.map((r) => r.pod)) // [ 'orders-0' ] (or -1, -2)
 * ```
 */
export interface MockUpstream {
  readonly name: string;
  readonly namespace: string;
  /** The Service port. */
  readonly port: number;
  /** `http://<name>.<namespace>[:<port>]`. */
  readonly url: string;
  /** Where the Service is listed; give it to `new Mesh({ source })`. */
  readonly source: StaticSource;
  /**
   * A cluster context for `new Mesh({ context })`: this namespace, and neither this machine's
   * `resolv.conf` nor its environment.
   */
  readonly context: DetectClusterContextOptions;
  /** The pods, in creation order, terminating ones included; terminated ones leave. */
  readonly pods: readonly MockPod[];
  /** Every request any pod received, in arrival order. */
  readonly requests: readonly MockRequest[];
  /**
   * Start pods (ready at once) or terminate the newest ones until `replicas` are not terminating.
   * Resolves once started pods are listed, or terminated ones are gone.
   */
  scale(replicas: number): Promise<void>;
  /** True once `close()` was called. */
  readonly closed: boolean;
  /**
   * Remove the Service from the source (and close the source, if it is the upstream's own), then cut every
   * connection and stop every pod. Idempotent: the same promise.
   */
  close(): Promise<void>;
  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Start a mock Service with `replicas` ready pods (default 3) and list it in a source.
 * Rejects with `CLUSTERIP_ERR_INVALID_ARG` (or `CLUSTERIP_ERR_INVALID_NAME`) for bad options.
 *
 * @example
 * ```ts
 * const orders = await createMockUpstream({
 *   name: 'orders',
 *   namespace: 'shop',
 *   handler: (req, res, pod) => res.end(JSON.stringify({ id: 1, from: pod.name })),
 * })
 * const mesh = new Mesh({ source: orders.source, context: orders.context })
 * await orders.pods[0].crash() // the Mesh retries refused connections on another pod
 * ```
 */
export async function createMockUpstream(options: MockUpstreamOptions): Promise<MockUpstream> {
  const upstream = new Upstream(resolveMockUpstreamOptions(options));
  try {
    await upstream.scale(upstream.config.replicas);
  } catch (error) {
    await upstream.close();
    throw error;
  }
  return upstream;
}

class Upstream implements MockUpstream, MockPodHost {
  readonly config: MockUpstreamConfig;
  readonly source: StaticSource;
  readonly context: DetectClusterContextOptions;
  readonly url: string;
  readonly requests: MockRequest[] = [];
  readonly #ownSource: boolean;
  /** Every pod not yet seen terminated by `publish()`. */
  #pods: MockPodServer[] = [];
  #created = 0;
  #scaling: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(config: MockUpstreamConfig) {
    this.config = config;
    this.#ownSource = config.source === undefined;
    this.source = config.source ?? new StaticSource();
    this.context = Object.freeze({ namespace: config.namespace, resolvConf: '', env: {} });
    this.url = `http://${config.name}.${config.namespace}${config.port === 80 ? '' : `:${config.port}`}`;
  }

  get name(): string {
    return this.config.name;
  }

  get namespace(): string {
    return this.config.namespace;
  }

  get port(): number {
    return this.config.port;
  }

  get pods(): readonly MockPod[] {
    return this.#pods.filter((p) => p.state !== 'terminated');
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  record(request: MockRequest): void {
    this.requests.push(request);
  }

  async scale(replicas: number): Promise<void> {
    if (replicas === undefined) {
      throw new InvalidArgumentError('replicas', 'replicas must be an integer from 0 to 100, got undefined');
    }
    const target = integerIn('replicas', replicas, 0, 100, 0);
    // One scale at a time: each counts the pods the previous one left.
    const next = this.#scaling.then(() => this.#scale(target));
    this.#scaling = next.catch(() => undefined);
    return next;
  }

  async #scale(target: number): Promise<void> {
    if (this.#closing !== undefined) throw new ClosedError(`mock upstream ${this.config.name}`);
    const running = this.#pods.filter((p) => p.state !== 'terminating' && p.state !== 'terminated');
    if (running.length > target) {
      await Promise.all(running.slice(target).map((p) => p.terminate()));
      return;
    }
    const started = await Promise.all(
      Array.from({ length: target - running.length }, () =>
        MockPodServer.start(`${this.config.name}-${this.#created++}`, this),
      ),
    );
    this.#pods.push(...started);
    if (this.#closing !== undefined) {
      await Promise.all(started.map((p) => p[KILL]()));
      throw new ClosedError(`mock upstream ${this.config.name}`);
    }
    await this.publish();
  }

  publish(): Promise<void> {
    if (this.#closing !== undefined) return Promise.resolve();
    const { name, namespace, port, portName, spec } = this.config;
    this.#pods = this.#pods.filter((p) => p.conditions !== undefined); // terminated pods leave for good
    const endpoints = this.#pods.map(
      (pod): StaticEndpoint => ({
        address: pod.address,
        ports: { [portName]: pod.port },
        conditions: pod.conditions!,
        targetRef: { kind: 'Pod', name: pod.name, namespace },
      }),
    );
    this.source.set({
      namespace,
      name,
      ports: [{ name: portName, port, targetPort: portName, protocol: 'TCP' }],
      endpoints,
      ...(spec === undefined ? {} : { spec }),
    });
    // The source tells its watchers on the next turn (setImmediate); this resolves on the turn after.
    return new Promise((resolve) => setImmediate(resolve));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    // Watchers (a Mesh still open) hear the Service is gone first (see publish), then an own source closes.
    this.source.delete(this.config.namespace, this.config.name);
    await new Promise((resolve) => setImmediate(resolve));
    if (this.#ownSource) await this.source.close();
    await Promise.all(this.#pods.map((p) => p[KILL]()));
  }
}
