// ③ Endpoint source: kubelet's service environment variables (spec §8), the source that needs no
// API access and no DNS. Consumes an environment; produces one ClusterIP endpoint per Service port.

import { envVariableName, readServiceFromEnv } from '../context/service-env.js';
import { type Endpoint, READY } from '../endpoint/endpoint.js';
import { ClosedError } from '../errors/closed-error.js';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { PortNotFoundError } from '../errors/port-not-found-error.js';
import { validateNamespace } from '../name/validate-names.js';
import { findServicePort } from '../service/find-service-port.js';
import type { ServiceInfo, ServicePort } from '../service/service-info.js';
import { callListener } from './call-listener.js';
import type { EndpointSource, SourceListener, SourceQuery, SourceWatch } from './endpoint-source.js';
import type { SourceEvent } from './endpoint-update.js';

/** Options of {@link EnvSource}. */
export interface EnvSourceOptions {
  /** Environment to read; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The pod's namespace (the variables describe its Services); default `POD_NAMESPACE` or `default`. */
  readonly namespace?: string;
}

/**
 * Answers from kubelet's `{SVC}_SERVICE_HOST`/`_PORT` variables. They exist only for Services of
 * the pod's own namespace (plus `default/kubernetes`) that existed when the container started, and
 * never change: the endpoint is the Service's ClusterIP, so kube-proxy balances behind it. Ports are
 * matched by `findServicePort`; a port the variables do not list gives the Service, then an empty
 * `reset` with reason `port-not-found`, as `KubernetesSource` and `StaticSource` answer.
 *
 * @example
 * ```ts
 * const resolver = new Resolver({ source: new EnvSource() })
 * await resolver.resolve('redis-primary:6379') // endpoint = the ClusterIP from REDIS_PRIMARY_SERVICE_HOST
 * ```
 */
export class EnvSource implements EndpointSource {
  readonly kind = 'env';
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #namespace: string;
  #closing: Promise<void> | undefined;

  constructor(options: EnvSourceOptions = {}) {
    for (const key of Object.keys(options)) {
      if (key !== 'env' && key !== 'namespace') {
        throw new InvalidArgumentError(key, `unexpected option ${JSON.stringify(key)} of EnvSource`);
      }
    }
    this.#env = options.env ?? process.env;
    this.#namespace = options.namespace ?? (this.#env.POD_NAMESPACE || 'default');
    validateNamespace(this.#namespace);
  }

  watch(query: SourceQuery, listener: SourceListener): SourceWatch {
    if (this.#closing !== undefined) throw new ClosedError('env source');
    let closed: Promise<void> | undefined;
    const events = this.#answer(query);
    setImmediate(() => {
      // Nothing after the watch or the source closed, even an answer already queued.
      for (const event of events)
        if (closed === undefined && this.#closing === undefined) callListener(listener, event, 'env');
    });
    return {
      close: () => {
        closed ??= Promise.resolve();
        return closed;
      },
    };
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Later `watch()` calls throw `ClosedError`; idempotent, the same promise. */
  close(): Promise<void> {
    this.#closing ??= Promise.resolve();
    return this.#closing;
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #answer(query: SourceQuery): SourceEvent[] {
    const name = query.name;
    const nx = (detail: string): SourceEvent[] => [
      { type: 'update', update: { type: 'not-found', reason: 'nxdomain', detail } },
    ];
    if (name.kind !== 'service') return nx('environment variables describe Services only');
    const visible =
      name.namespace === this.#namespace || (name.namespace === 'default' && name.service === 'kubernetes');
    if (!visible) return nx(`no service variables for namespace ${name.namespace} (only ${this.#namespace})`);
    const found = readServiceFromEnv(name.service, this.#env);
    if (found === undefined) return nx(`no ${envVariableName(name.service)}_SERVICE_HOST variable`);
    const service: ServiceInfo = {
      namespace: name.namespace,
      name: name.service,
      type: 'ClusterIP',
      clusterIPs: [found.host],
      headless: false,
      ipFamilies: [found.host.includes(':') ? 'IPv6' : 'IPv4'],
      ports: found.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port, targetPort: p.port })),
      sessionAffinity: { type: 'None' },
      internalTrafficPolicy: 'Cluster',
      publishNotReadyAddresses: false,
      labels: {},
      annotations: {},
    };
    // The Service exists: a port it lacks is an empty set with a reason, as the other sources answer, not a
    // missing name (which the resolver would search past, and a Mesh hand to system DNS).
    let port: ServicePort;
    try {
      port = findServicePort(service, query.port);
    } catch (err) {
      if (!(err instanceof PortNotFoundError)) throw err;
      return [
        { type: 'service', service },
        {
          type: 'update',
          update: { type: 'reset', endpoints: [], reason: { code: 'port-not-found', message: err.message } },
        },
      ];
    }
    const endpoint: Endpoint = {
      address: found.host,
      port: port.port,
      protocol: port.protocol,
      addressType: found.host.includes(':') ? 'IPv6' : 'IPv4',
      conditions: READY,
    };
    return [
      { type: 'service', service },
      { type: 'update', update: { type: 'reset', endpoints: [endpoint] } },
    ];
  }
}
