// @clusterip/resolver: the only public entry. Names → service identity → endpoint source → endpoint set.

export {
  type ClusterContext,
  DEFAULT_CLUSTER_DOMAIN,
  type DetectClusterContextOptions,
  detectClusterContext,
  synthesizeClusterFirst,
  validateClusterContextOptions,
} from './context/cluster-context.js';
export { type EnvService, type EnvServicePort, envVariableName, readServiceFromEnv } from './context/service-env.js';
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
export { ApiRequestError, type ApiRequestFailure } from './errors/api-request-error.js';
export { ClosedError } from './errors/closed-error.js';
export { ClusterIPError, type ClusterIPErrorOptions, isClusterIPError } from './errors/clusterip-error.js';
export { type DnsFailureReason, DnsUnavailableError } from './errors/dns-unavailable-error.js';
export { InvalidArgumentError } from './errors/invalid-argument-error.js';
export { InvalidNameError, type NameKind } from './errors/invalid-name-error.js';
export { PortNotFoundError } from './errors/port-not-found-error.js';
export { ServiceNotFoundError } from './errors/service-not-found-error.js';
export { WatchFailedError } from './errors/watch-failed-error.js';
export type { BackoffOptions } from './internal/backoff.js';
export type { Timers } from './internal/timers.js';
export type { ClusterName } from './name/cluster-name.js';
export { interpretClusterName } from './name/interpret-cluster-name.js';
export { type DnsConfig, parseResolvConf } from './name/resolv-conf.js';
export {
  MAX_NAME_LENGTH,
  type ResolverMode,
  type SearchOptions,
  searchCandidates,
  validateDnsName,
} from './name/search-candidates.js';
export { parseServiceTarget, type ServiceTarget } from './name/service-target.js';
export {
  type ServiceNameOptions,
  validateNamespace,
  validatePortName,
  validatePortNumber,
  validateServiceName,
  validateServicePortName,
} from './name/validate-names.js';
export { Resolver, type ResolverOptions, ServiceWatch, type SnapshotListener } from './resolver/resolver.js';
export type { ServiceSnapshot, SnapshotReason, SnapshotStatus } from './resolver/service-snapshot.js';
export { findServicePort } from './service/find-service-port.js';
export { normalizeService } from './service/normalize-service.js';
export type {
  ServiceInfo,
  ServicePort,
  ServiceType,
  SessionAffinity,
  TrafficDistribution,
} from './service/service-info.js';
export {
  createDefaultSource,
  type DefaultSource,
  type DefaultSourceKind,
  type DefaultSourceOptions,
} from './source/default-source.js';
export type { EndpointSource, SourceListener, SourceQuery, SourceWatch } from './source/endpoint-source.js';
export { DnsSource, type DnsSourceOptions } from './source/endpoint-source-dns.js';
export { EnvSource, type EnvSourceOptions } from './source/endpoint-source-env.js';
export {
  type InClusterOptions,
  type KubeconfigOptions,
  type KubeconfigResult,
  type KubernetesSourceOptions,
  kubeconfigOptions,
  type RunRequest,
} from './source/endpoint-source-kubernetes/config.js';
export {
  type MergeEndpointSlicesOptions,
  mergeEndpointSlices,
} from './source/endpoint-source-kubernetes/endpoint-slice-merge.js';
export {
  type KubernetesEmptyReasonCode,
  KubernetesSource,
} from './source/endpoint-source-kubernetes/endpoint-source-kubernetes.js';
export { type KubeApiGetOptions, KubeApiReader } from './source/endpoint-source-kubernetes/kube-api-reader.js';
export type {
  KubernetesCredentialProvider,
  KubernetesCredentialRequest,
  KubernetesCredentials,
} from './source/endpoint-source-kubernetes/kubeconfig-credentials.js';
export {
  NODE_ZONE_TIMEOUT_MS,
  type NodeZoneOptions,
  readNodeZone,
  withNodeZone,
  ZONE_LABEL,
} from './source/endpoint-source-kubernetes/node-zone.js';
export { type StaticEndpoint, type StaticService, StaticSource } from './source/endpoint-source-static.js';
export type { EndpointUpdate, NotFoundReason, SourceEvent } from './source/endpoint-update.js';
export {
  RESOLVER_CHANNEL_NAMES,
  type ResolverUpdateMessage,
  type SourceEventMessage,
  type SourceFailureMessage,
  type SourceListMessage,
  type SourceLoopMessage,
  type SourceWatchMessage,
} from './telemetry/channels.js';
