// Telemetry (leaf): OpenTelemetry semantic-convention names used by the SDK, inlined so that nothing but
// `@opentelemetry/api` is needed at run time. Consumes nothing; produces attribute and metric name constants.
//
// Stable names are copied from @opentelemetry/semantic-conventions 1.x; the Kubernetes Service names
// (`k8s.service.*`) and the RPC names are unstable ("development" / old conventions) and copied as the
// package's README asks libraries to do, instead of importing `/incubating` at run time.

// ── stable (semantic-conventions main entry) ────────────────────────────────────────────────────────
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_REQUEST_RESEND_COUNT = 'http.request.resend_count';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_URL_FULL = 'url.full';
export const ATTR_URL_SCHEME = 'url.scheme';
export const ATTR_NETWORK_PEER_ADDRESS = 'network.peer.address';
export const ATTR_NETWORK_PEER_PORT = 'network.peer.port';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_K8S_NAMESPACE_NAME = 'k8s.namespace.name';
export const METRIC_HTTP_CLIENT_REQUEST_DURATION = 'http.client.request.duration';

// ── unstable (copied from semantic-conventions/incubating) ─────────────────────────────────────────
export const ATTR_K8S_SERVICE_NAME = 'k8s.service.name';
export const ATTR_RPC_SYSTEM = 'rpc.system';
export const ATTR_RPC_GRPC_STATUS_CODE = 'rpc.grpc.status_code';
/** Old RPC metric (ms), the conventions instrumentation-grpc 0.223 follows for its spans. */
export const METRIC_RPC_CLIENT_DURATION = 'rpc.client.duration';

// ── SDK-specific (the `clusterip.` namespace) ──────────────────────────────────────────────────────
// Target pod attributes are ours, not `k8s.pod.*`: those describe the emitting workload (resource).
export const ATTR_CLUSTERIP_SERVICE = 'clusterip.service';
export const ATTR_CLUSTERIP_POLICY = 'clusterip.policy';
export const ATTR_CLUSTERIP_ATTEMPT = 'clusterip.attempt';
export const ATTR_CLUSTERIP_ATTEMPTS = 'clusterip.attempts';
export const ATTR_CLUSTERIP_AFFINITY = 'clusterip.affinity';
export const ATTR_CLUSTERIP_RETRY = 'clusterip.retry';
export const ATTR_CLUSTERIP_STOP_REASON = 'clusterip.retry.stop_reason';
export const ATTR_CLUSTERIP_TRANSPORT = 'clusterip.transport';
export const ATTR_CLUSTERIP_ENDPOINT_POD = 'clusterip.endpoint.pod';
export const ATTR_CLUSTERIP_ENDPOINT_NODE = 'clusterip.endpoint.node';
export const ATTR_CLUSTERIP_ENDPOINT_ZONE = 'clusterip.endpoint.zone';
export const ATTR_CLUSTERIP_ENDPOINT_STATE = 'clusterip.endpoint.state';
export const ATTR_CLUSTERIP_SKIPPED_EJECTED = 'clusterip.skipped.ejected';
export const ATTR_CLUSTERIP_SKIPPED_TERMINATING = 'clusterip.skipped.terminating';
export const ATTR_CLUSTERIP_SKIPPED_NOT_READY = 'clusterip.skipped.not_ready';
export const ATTR_CLUSTERIP_SKIPPED_OTHER_NODE = 'clusterip.skipped.other_node';
export const ATTR_CLUSTERIP_SKIPPED_OTHER_ZONE = 'clusterip.skipped.other_zone';
export const ATTR_CLUSTERIP_SKIPPED_TRIED = 'clusterip.skipped.tried';
export const ATTR_CLUSTERIP_WATCH_RESOURCE = 'clusterip.watch.resource';
export const ATTR_CLUSTERIP_ENDPOINTS = 'clusterip.endpoints';
export const ATTR_CLUSTERIP_ENDPOINTS_ADDED = 'clusterip.endpoints.added';
export const ATTR_CLUSTERIP_ENDPOINTS_REMOVED = 'clusterip.endpoints.removed';
export const ATTR_CLUSTERIP_STALE_SECONDS = 'clusterip.stale.seconds';

export const METRIC_CLUSTERIP_PICKS = 'clusterip.client.picks';
export const METRIC_CLUSTERIP_RETRIES = 'clusterip.client.retries';
export const METRIC_CLUSTERIP_RETRY_BUDGET_EXHAUSTED = 'clusterip.client.retry_budget.exhausted';
export const METRIC_CLUSTERIP_EJECTIONS = 'clusterip.endpoint.ejections';
export const METRIC_CLUSTERIP_CIRCUIT_OPENS = 'clusterip.service.circuit.opens';
export const METRIC_CLUSTERIP_ENDPOINTS = 'clusterip.service.endpoints';
export const METRIC_CLUSTERIP_STALENESS = 'clusterip.service.staleness';
export const METRIC_CLUSTERIP_WATCH_RECONNECTS = 'clusterip.watch.reconnects';
export const METRIC_CLUSTERIP_WATCH_RELISTS = 'clusterip.watch.relists';
export const METRIC_CLUSTERIP_WATCH_FAILURES = 'clusterip.watch.failures';
export const METRIC_CLUSTERIP_PROPAGATION_DELAY = 'clusterip.endpoint.propagation.duration';

/** Instrumentation scope of the SDK's tracer and meter. */
export const INSTRUMENTATION_SCOPE = '@clusterip/sdk';
