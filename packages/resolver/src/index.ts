// @clusterip/resolver: the only public entry. Names → service identity → endpoint source → endpoint set.

export type {
  AddressType,
  Endpoint,
  EndpointConditions,
  EndpointHints,
  EndpointTargetRef,
  Protocol,
} from './endpoint/endpoint.js';
export { endpointEqual, endpointKey, joinHostPort, READY } from './endpoint/endpoint.js';
export { EndpointSet } from './endpoint/endpoint-set.js';
export { ClosedError } from './errors/closed-error.js';
export { ClusterIPError, type ClusterIPErrorOptions, isClusterIPError } from './errors/clusterip-error.js';
export { DnsUnavailableError } from './errors/dns-unavailable-error.js';
export { InvalidArgumentError } from './errors/invalid-argument-error.js';
export { InvalidNameError, type NameKind } from './errors/invalid-name-error.js';
export { PortNotFoundError } from './errors/port-not-found-error.js';
export { ServiceNotFoundError } from './errors/service-not-found-error.js';
export { WatchFailedError } from './errors/watch-failed-error.js';
export type { ClusterName } from './name/cluster-name.js';
export type {
  ServiceInfo,
  ServicePort,
  ServiceType,
  SessionAffinity,
  TrafficDistribution,
} from './service/service-info.js';
export type { EndpointSource, SourceListener, SourceQuery, SourceWatch } from './source/endpoint-source.js';
export type { EndpointUpdate, NotFoundReason, SourceEvent } from './source/endpoint-update.js';
