// @clusterip/sdk/grpc: the grpc-js plugin entry (`kubernetes:` resolver + `clusterip` LB policy).
// Importing it registers nothing: call register(). Only the public `experimental` API of grpc-js is used.

import * as grpc from '@grpc/grpc-js';
import type { GrpcMesh } from './transport/grpc/grpc-resolver.js';
import { type GrpcRegistration, meshChannelOptionsWith, registerWith } from './transport/grpc/register.js';

export type { GrpcHealthCheckOptions } from './transport/grpc/grpc-health-check.js';
export type { GrpcMesh } from './transport/grpc/grpc-resolver.js';
export {
  type ClusterIPPolicyOptions,
  type GrpcRetryOptions,
  type GrpcServiceConfigOptions,
  serviceConfig,
} from './transport/grpc/grpc-service-config.js';
export type { GrpcRegistration } from './transport/grpc/register.js';

/**
 * Register the `kubernetes` name resolver and the `clusterip` LB policy with the app's `@grpc/grpc-js`
 * (a peer dependency). Idempotent: every call returns the same registration until it is closed.
 *
 * `mesh` (a `Mesh`, or any `{ resolver }` with a `@clusterip/resolver` Resolver) gives gRPC channels the
 * same discovery cache as HTTP. Without one, a default Resolver (`createDefaultSource()`: the Kubernetes
 * API in a pod or from kubeconfig, else DNS) is created on first use and closed by `close()`. A later call
 * with another mesh throws `CLUSTERIP_ERR_INVALID_ARG`; give single channels their own mesh with
 * {@link meshChannelOptions}.
 *
 * Targets: `kubernetes:///<name>[:<port>]` (the name is searched as a pod would: `web`, `web.prod`,
 * `web.prod.svc.cluster.local`) and `kubernetes://<namespace>/<name>[:<port>]`; the port is a Service port
 * number or name, or absent for a single-port Service. Channels without `grpc.service_config` get the
 * `clusterip` policy with its defaults; use {@link serviceConfig} to choose.
 *
 * @example
 * ```ts
 * import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js'
 * import { register, serviceConfig } from '@clusterip/sdk/grpc'
 *
 * const grpcPlugin = register(mesh)
 * const client = new Greeter('kubernetes:///greeter.prod:grpc', credentials.createInsecure(), {
 *   'grpc.service_config': serviceConfig({ policy: 'least-request', waitForReady: true }),
 * })
 * // … later
 * client.close()
 * await grpcPlugin.close()
 * ```
 */
export function register(mesh?: GrpcMesh): GrpcRegistration {
  return registerWith(grpc, mesh);
}

/**
 * Channel options that make one channel resolve through `mesh` instead of the process-wide mesh given to
 * `register()` (e.g. a second cluster, or one emulated cluster per test). `register()` must still have
 * been called once. Spread them into the channel options.
 *
 * @example
 * ```ts
 * const client = new Greeter('kubernetes:///greeter:grpc', credentials.createInsecure(), {
 *   ...meshChannelOptions(otherMesh),
 *   'grpc.service_config': serviceConfig({ policy: 'round-robin' }),
 * })
 * ```
 */
export function meshChannelOptions(mesh: GrpcMesh): Record<string, unknown> {
  return meshChannelOptionsWith(grpc, mesh);
}
