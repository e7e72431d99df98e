// @clusterip/sdk: the only public entry. Eligible endpoints → picker → connection pool → transport.

export { ClusterIPError, isClusterIPError } from '@clusterip/resolver';
export {
  type Balancer,
  type BalancerOptions,
  type ClientIPAffinityOptions,
  createBalancer,
  type EndpointStatus,
  type ServiceAffinityOptions,
} from './balancer/balancer.js';
export {
  createServiceBreaker,
  type ServiceBreaker,
  type ServiceBreakerOptions,
  type ServiceBreakerState,
} from './eligibility/circuit-breaker.js';
export {
  type CallOutcome,
  classify,
  type FailureReason,
  failureReason,
  type OutcomeClass,
} from './eligibility/classify.js';
export {
  type ClientTopology,
  type EligibilityOutcome,
  type EligibilityService,
  type EligibleEndpoints,
  eligibleEndpoints,
  type TopologyMode,
} from './eligibility/eligibility.js';
export type {
  EndpointHealthState,
  FailureRateOptions,
  OutlierDetectionOptions,
} from './eligibility/outlier-detection.js';
export { otherProxy, SERVICE_PROXY_NAME_LABEL } from './eligibility/service-proxy-name.js';
export { CircuitOpenError } from './errors/circuit-open-error.js';
export { DestroyedError } from './errors/destroyed-error.js';
export { Http2ConnectError } from './errors/http2-connect-error.js';
export { NoEligibleEndpointsError } from './errors/no-eligible-endpoints-error.js';
export { NoEndpointsError } from './errors/no-endpoints-error.js';
export { NoLocalEndpointsError } from './errors/no-local-endpoints-error.js';
export { StreamRefusedError } from './errors/stream-refused-error.js';
export { type UpstreamAttempt, UpstreamError, type UpstreamStopReason } from './errors/upstream-error.js';
export {
  type EndpointEligibility,
  Mesh,
  type MeshEndpoint,
  type MeshEndpoints,
} from './mesh/mesh.js';
export type {
  MeshCircuitBreakerOptions,
  MeshOptions,
  MeshPoolOptions,
  MeshRetryConfig,
  MeshRetryOptions,
  MeshServiceConfig,
  MeshServiceOverrides,
  MeshTimeoutOptions,
  MeshTimeouts,
} from './mesh/mesh-options.js';
export {
  type AffinityHeaders,
  type AffinityKeyFunction,
  type AffinityKeyOptions,
  type AffinityRequest,
  affinityKeyFrom,
} from './picker/affinity-key.js';
export type { BalancerPolicy, PickContext, Picker, PickResult } from './picker/picker.js';
export {
  type BalancerAffinityMessage,
  type BalancerPanicMessage,
  type BreakerStateMessage,
  CHANNEL_NAMES,
  type CircuitStateMessage,
  type EndpointCounts,
  type GrpcCallEndMessage,
  type GrpcHealthMessage,
  type GrpcMetadataLike,
  type GrpcPickMessage,
  type GrpcResolutionMessage,
  type HttpAttemptEndMessage,
  type HttpAttemptMessage,
  type HttpRequestEndMessage,
  type HttpRequestMessage,
  MESH_CHANNEL_NAMES,
  type MeshRouteMessage,
} from './telemetry/channels.js';
export { enableTelemetry, type TelemetryHandle, type TelemetryOptions } from './telemetry/otel-adapter.js';
export type { MeshDispatcher } from './transport/http/mesh-dispatcher.js';
export type { MeshRequestOptions } from './transport/http/routed-call.js';
