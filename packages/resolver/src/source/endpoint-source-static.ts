// ③ Endpoint source: in-memory Services for tests and local use, changeable at run time.
// Consumes Service definitions; produces `SourceEvent`s like a cluster would.

import { type Endpoint, endpointDnsLabel, READY } from '../endpoint/endpoint.js';
import { ClosedError } from '../errors/closed-error.js';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { PortNotFoundError } from '../errors/port-not-found-error.js';
import type { ClusterName } from '../name/cluster-name.js';
import { isDns1123Label, validateNamespace, validateServiceName } from '../name/validate-names.js';
import { findServicePort, findSrvPort } from '../service/find-service-port.js';
import type { ServiceInfo, ServicePort } from '../service/service-info.js';
import { callListener } from './call-listener.js';
import type { EndpointSource, SourceListener, SourceQuery, SourceWatch } from './endpoint-source.js';
import type { SourceEvent } from './endpoint-update.js';

/** One endpoint of a static Service: address plus, per Service port name, its target port. */
export interface StaticEndpoint extends Partial<Omit<Endpoint, 'address' | 'port'>> {
  readonly address: string;
  /** Target port per Service port name; default: the port's numeric `targetPort`, else its `port`. */
  readonly ports?: Readonly<Record<string, number>>;
}

/** A Service definition for {@link StaticSource}. */
export interface StaticService {
  readonly namespace: string;
  readonly name: string;
  /** Service ports; `protocol` defaults to TCP and `targetPort` to `port`. */
  readonly ports: readonly (Partial<ServicePort> & { readonly port: number })[];
  readonly endpoints: readonly StaticEndpoint[];
  /** Any other ServiceInfo field (sessionAffinity, internalTrafficPolicy, type, externalName ...). */
  readonly spec?: Partial<Omit<ServiceInfo, 'namespace' | 'name' | 'ports'>>;
}

interface Subscriber {
  readonly query: SourceQuery;
  readonly listener: SourceListener;
  closed: boolean;
}

/**
 * An in-memory endpoint source. `set()` and `delete()` change Services at run time and notify
 * watchers asynchronously, as a real source would. It answers like `KubernetesSource`: a Service
 * without the asked port gives the Service and an empty `reset` with reason `port-not-found` (the SDK
 * fails such requests with `CLUSTERIP_ERR_PORT_NOT_FOUND`, listing the ports).
 *
 * @example
 * ```ts
 * const source = new StaticSource([
 *   { namespace: 'default', name: 'web', ports: [{ name: 'http', port: 80, targetPort: 8080 }],
 *     endpoints: [{ address: '127.0.0.2' }, { address: '127.0.0.3' }] },
 * ])
 * const resolver = new Resolver({ source, context: { namespace: 'default', resolvConf: '' } })
 * await resolver.resolve('web:http') // endpoints 127.0.0.2:8080 and 127.0.0.3:8080
 * ```
 */
export class StaticSource implements EndpointSource {
  readonly kind = 'static';
  readonly #services = new Map<string, StaticService>();
  readonly #subscribers = new Set<Subscriber>();
  #closing: Promise<void> | undefined;

  constructor(services: readonly StaticService[] = []) {
    for (const service of services) this.#store(service);
  }

  /** Add or replace a Service; watchers of it get a reset. */
  set(service: StaticService): void {
    this.#store(service);
    this.#notify(service.namespace, service.name);
  }

  /** Remove a Service; watchers of it get `not-found`. */
  delete(namespace: string, name: string): void {
    this.#services.delete(`${namespace}/${name}`);
    this.#notify(namespace, name);
  }

  watch(query: SourceQuery, listener: SourceListener): SourceWatch {
    if (this.#closing !== undefined) throw new ClosedError('static source');
    const subscriber: Subscriber = { query, listener, closed: false };
    this.#subscribers.add(subscriber);
    this.#deliver(subscriber);
    let closing: Promise<void> | undefined;
    return {
      close: () => {
        subscriber.closed = true;
        this.#subscribers.delete(subscriber);
        closing ??= Promise.resolve();
        return closing;
      },
    };
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Stop every watch at once (no listener call afterwards); idempotent, the same promise. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      for (const s of this.#subscribers) s.closed = true;
      this.#subscribers.clear();
      this.#closing = Promise.resolve();
    }
    return this.#closing;
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #store(service: StaticService): void {
    validateNamespace(service.namespace);
    validateServiceName(service.name);
    if (!Array.isArray(service.ports) || !Array.isArray(service.endpoints)) {
      throw new InvalidArgumentError(
        'service',
        `service ${service.name}.${service.namespace}: ports and endpoints must be arrays`,
      );
    }
    this.#services.set(`${service.namespace}/${service.name}`, service);
  }

  /**
   * Answer again the watches a change of `namespace/name` affects: its own, the missing Services of that
   * name elsewhere (their detail says where it lives), and the namespace's own name (it may appear or go).
   */
  #notify(namespace: string, name: string): void {
    for (const s of this.#subscribers) {
      const n = s.query.name;
      const affected =
        'service' in n
          ? n.service === name && (n.namespace === namespace || !this.#services.has(`${n.namespace}/${n.service}`))
          : n.kind === 'no-data' && n.namespace === namespace;
      if (affected) this.#deliver(s);
    }
  }

  #hasNamespace(namespace: string): boolean {
    for (const def of this.#services.values()) if (def.namespace === namespace) return true;
    return false;
  }

  /** Why `namespace/service` is not found, and where a Service of that name lives (the CLI's hint). */
  #missing(namespace: string, service: string): string {
    // As KubernetesSource says for names no object can have.
    if (!isDns1123Label(namespace)) return invalidLabel('namespace', namespace);
    if (!isDns1123Label(service)) return invalidLabel('service name', service);
    const missing = `the static source has no service ${service} in namespace ${namespace}`;
    if (this.#services.size === 0) return `${missing}: it holds no services`;
    const elsewhere: string[] = [];
    for (const def of this.#services.values()) if (def.name === service) elsewhere.push(def.namespace);
    if (elsewhere.length === 0) return missing;
    elsewhere.sort();
    const where = elsewhere.length === 1 ? `namespace ${elsewhere[0]}` : `namespaces ${elsewhere.join(', ')}`;
    return `${missing}: the Service ${service} lives in ${where}: use ${elsewhere.map((ns) => `${service}.${ns}`).join(' or ')}`;
  }

  #deliver(subscriber: Subscriber): void {
    const events = this.#answer(subscriber.query);
    setImmediate(() => {
      for (const event of events) {
        if (subscriber.closed) return;
        callListener(subscriber.listener, event, 'static');
      }
    });
  }

  #answer(query: SourceQuery): SourceEvent[] {
    const name: ClusterName = query.name;
    const notFound = (detail: string): SourceEvent[] => [
      { type: 'update', update: { type: 'not-found', reason: 'nxdomain', detail } },
    ];
    switch (name.kind) {
      case 'service':
      case 'endpoint':
      case 'srv':
        break;
      case 'no-data': {
        // `<ns>.svc.<zone>`: cluster DNS answers NODATA while the namespace exists, else NXDOMAIN (spec §1.8).
        const ns = name.namespace;
        if (ns !== undefined && !this.#hasNamespace(ns)) return notFound(`the static source has no namespace ${ns}`);
        const detail =
          ns === undefined
            ? `${name.fqdn} is a cluster DNS domain, not a service: it has no addresses`
            : `${name.fqdn} names namespace ${ns}, not a service: it has no addresses`;
        return [{ type: 'update', update: { type: 'not-found', reason: 'nodata', detail } }];
      }
      case 'outside':
        return notFound('outside the cluster domain');
      case 'pod':
        return notFound('pod records are not served by the static source');
      case 'invalid':
        return notFound(name.reason);
    }
    const def = this.#services.get(`${name.namespace}/${name.service}`);
    if (def === undefined) return notFound(this.#missing(name.namespace, name.service));
    const info = toServiceInfo(def);
    const subject = `${def.name}.${def.namespace}`;
    // The same answers as KubernetesSource for a Service that exists: an SRV name with no such named port
    // is NXDOMAIN; any other name whose port is missing gets the Service and an empty `reset` with reason
    // `port-not-found` (the name exists; kube-proxy would refuse the connection), which the SDK turns into
    // PortNotFoundError listing the ports. A portless Service asked without a port: addresses on port 0.
    let port: ServicePort | undefined;
    if (name.kind === 'srv') {
      const protocol = name.protocol.toUpperCase();
      port = findSrvPort(info, name.port, protocol);
      if (port === undefined) {
        return notFound(`service ${subject} has no port named ${name.port.toLowerCase()} with protocol ${protocol}`);
      }
    } else if (info.ports.length > 0 || query.port !== undefined) {
      try {
        port = findServicePort(info, query.port);
      } catch (err) {
        if (!(err instanceof PortNotFoundError)) throw err;
        return [
          { type: 'service', service: info },
          {
            type: 'update',
            update: { type: 'reset', endpoints: [], reason: { code: 'port-not-found', message: err.message } },
          },
        ];
      }
    }
    let endpoints = def.endpoints.map((e) => toEndpoint(e, port));
    if (name.kind === 'endpoint') {
      const label = name.hostname.toLowerCase();
      endpoints = endpoints.filter((e) => endpointDnsLabel(e) === label);
      if (endpoints.length === 0) return notFound(`no endpoint named ${name.hostname}`);
    }
    return [
      { type: 'service', service: info },
      { type: 'update', update: { type: 'reset', endpoints } },
    ];
  }
}

function toServiceInfo(def: StaticService): ServiceInfo {
  const ports: ServicePort[] = def.ports.map((p) => ({
    name: p.name ?? '',
    protocol: p.protocol ?? 'TCP',
    port: p.port,
    targetPort: p.targetPort ?? p.port,
    ...(p.appProtocol === undefined ? {} : { appProtocol: p.appProtocol }),
  }));
  const defaults: Omit<ServiceInfo, 'namespace' | 'name' | 'ports'> = {
    type: 'ClusterIP',
    clusterIPs: [],
    headless: false,
    ipFamilies: ['IPv4'],
    sessionAffinity: { type: 'None' },
    internalTrafficPolicy: 'Cluster',
    publishNotReadyAddresses: false,
    labels: {},
    annotations: {},
  };
  return Object.freeze({ ...defaults, ...def.spec, namespace: def.namespace, name: def.name, ports });
}

function toEndpoint(e: StaticEndpoint, port: ServicePort | undefined): Endpoint {
  const target =
    port === undefined
      ? 0
      : (e.ports?.[port.name] ?? (typeof port.targetPort === 'number' ? port.targetPort : port.port));
  const { ports: _ports, ...rest } = e;
  return Object.freeze({
    protocol: port?.protocol ?? 'TCP',
    addressType: e.address.includes(':') ? 'IPv6' : 'IPv4',
    conditions: READY,
    ...rest,
    port: target,
  });
}

function invalidLabel(kind: string, value: string): string {
  return `${kind} ${JSON.stringify(value)} is not a valid DNS-1123 label, so no such object exists`;
}
