// @clusterip/sdk/cluster: the local emulated cluster (API server + real pods on loopback addresses).
// Consumes manifests and options; produces a running LocalCluster. Explicit named exports only.

export { AddressInUseError } from '../errors/address-in-use-error.js';
export { AddressPoolExhaustedError } from '../errors/address-pool-exhausted-error.js';
export { ImageUnavailableError } from '../errors/image-unavailable-error.js';
export { InvalidManifestError } from '../errors/invalid-manifest-error.js';
export {
  type ContainerContext,
  ECHO_GRPC_IMAGE,
  ECHO_HTTP_IMAGE,
  type ImageFactory,
  type RunningContainer,
  type StartImageOptions,
  startImage,
} from './image.js';
export { ECHO_GRPC_METHOD, echoGrpcService } from './image-echo-grpc.js';
export { LocalCluster } from './local-cluster.js';
export type { LocalClusterOptions } from './local-cluster-options.js';
export type { LocalPod, LocalPodFilter } from './local-pod.js';
