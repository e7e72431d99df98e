// @clusterip/sdk/testing: test doubles for code that calls Services through a Mesh, without a cluster.
// Consumes nothing; re-exports the testing surface by name.

export { type StaticEndpoint, type StaticService, StaticSource } from '@clusterip/resolver';
export type { MockPod, MockPodState, MockRequest } from './mock-pod.js';
export { createMockUpstream, type MockUpstream } from './mock-upstream.js';
export type { MockHandler, MockUpstreamOptions } from './mock-upstream-options.js';
