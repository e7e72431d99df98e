// @clusterip/resolver/testing: test doubles for users and for our own tests (the FakeKubernetesApi server).
// Consumes nothing; re-exports the testing surface by name.

export { type StaticEndpoint, type StaticService, StaticSource } from '../source/endpoint-source-static.js';
export { FakeEndpointSource, type FakeWatch } from './fake-endpoint-source.js';
export {
  type FakeDeleteOptions,
  FakeKubernetesApi,
  type FakeListOptions,
  type ObjectChange,
  type WaitOptions,
  type WatchMatcher,
} from './fake-kubernetes-api/fake-kubernetes-api.js';
export type {
  EndpointSliceControllerOptions,
  FakeKubernetesApiOptions,
} from './fake-kubernetes-api/fake-kubernetes-api-options.js';
export type {
  CountOptions,
  FailOptions,
  FaultHandle,
  RequestMatcher,
  RespondOptions,
  SlowOptions,
  StallHandle,
} from './fake-kubernetes-api/fault-injector.js';
export type { KubeObject, KubeObjectMeta } from './fake-kubernetes-api/kube-object.js';
export type { KubeconfigOptions } from './fake-kubernetes-api/kubeconfig.js';
export type { RequestRecord } from './fake-kubernetes-api/request-record.js';
export type { WatchInfo } from './fake-kubernetes-api/watch-stream.js';
