// ⑧ Transport (gRPC): idempotent registration of the `kubernetes` resolver and the `clusterip` LB policy
// with one copy of grpc-js. Consumes a mesh (or nothing: a default Resolver is made on first use); produces
// the registration handle that owns what the plugin created.

import {
  ClosedError,
  createDefaultSource,
  type EndpointSource,
  InvalidArgumentError,
  Resolver,
} from '@clusterip/resolver';
import type * as Grpc from '@grpc/grpc-js';
import { serviceProxyNameOption } from '../../eligibility/service-proxy-name.js';
import { describe } from '../../internal/options.js';
import { detectClientContext } from '../../mesh/client-context.js';
import { createLoadBalancerClasses } from './grpc-load-balancer.js';
import { createResolverClass, type GrpcMesh, SCHEME } from './grpc-resolver.js';
import { LB_POLICY_NAME, policyConfig } from './grpc-service-config.js';

type GrpcModule = typeof Grpc;

/**
 * What `register()` returns: the same object for every call until it is closed.
 *
 * States: `active` → (`close()`) → `closed`. grpc-js cannot unregister a scheme, so after `close()` the
 * scheme and policy stay registered, but channels that rely on the process-wide mesh resolve to
 * UNAVAILABLE ("call register() again") until the next `register()`.
 *
 * @example
 * ```ts
 * const grpcPlugin = register(mesh)
 * // … channels to kubernetes:///… targets …
 * await grpcPlugin.close() // closes the default Resolver if the plugin created one; never the mesh
 * ```
 */
export interface GrpcRegistration {
  /** The mesh given to `register()`, if any (else a default Resolver is created on first use). */
  readonly mesh: GrpcMesh | undefined;
  readonly closed: boolean;
  /**
   * Close what the plugin created (the default Resolver and its source); a mesh passed in stays the
   * caller's. Channels keep their last endpoint list. Idempotent: the same promise every time.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface PluginState {
  current: RegistrationImpl | undefined;
  readonly attributeKey: string;
  readonly meshOptionKey: string;
}

/** One state per copy of grpc-js (keyed by its `experimental` namespace object). */
const states = new WeakMap<object, PluginState>();

class RegistrationImpl implements GrpcRegistration {
  #mesh: GrpcMesh | undefined;
  #default: Promise<{ resolver: Resolver; source: EndpointSource }> | undefined;
  /** Aborts the default resolver's start-up read of the Node's zone when the plugin closes first. */
  readonly #starting = new AbortController();
  #closing: Promise<void> | undefined;

  constructor(mesh: GrpcMesh | undefined) {
    this.#mesh = mesh;
  }

  get mesh(): GrpcMesh | undefined {
    return this.#mesh;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Adopt a mesh given by a later register() call, or refuse a conflicting one. */
  adopt(mesh: GrpcMesh): void {
    if (this.#mesh === mesh || this.#mesh?.resolver === mesh.resolver) return;
    if (this.#mesh === undefined && this.#default === undefined) {
      this.#mesh = mesh;
      return;
    }
    throw new InvalidArgumentError(
      'mesh',
      `register: already registered with ${this.#mesh === undefined ? 'the default resolver' : 'another mesh'}: close the registration first, or give a channel its own mesh with meshChannelOptions(mesh)`,
    );
  }

  resolver(): Promise<Resolver> {
    if (this.#closing !== undefined) {
      return Promise.reject(new ClosedError('grpc plugin: call register() again'));
    }
    if (this.#mesh !== undefined) return Promise.resolve(this.#mesh.resolver);
    this.#default ??= (async () => {
      const { source, namespace } = await createDefaultSource();
      // As the Mesh does: the zone from the Node object when only the node name is known (spec §6.4).
      const detect = namespace === undefined ? {} : { namespace };
      const context = () => detectClientContext(detect, source, this.#starting.signal);
      const resolver = new Resolver({ source, context });
      return { resolver, source };
    })();
    return this.#default.then((d) => d.resolver);
  }

  close(): Promise<void> {
    this.#starting.abort();
    this.#closing ??= (async () => {
      const created = this.#default;
      if (created === undefined) return;
      const { resolver, source } = await created.catch(() => ({ resolver: undefined, source: undefined }));
      await resolver?.close();
      await source?.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Validate a mesh-like value: anything with a `resolver` that can watch. */
export function checkMesh(path: string, mesh: unknown): GrpcMesh {
  const resolver = (mesh as { resolver?: unknown } | null | undefined)?.resolver as
    | { watch?: unknown; context?: unknown }
    | undefined;
  if (
    mesh === null ||
    typeof mesh !== 'object' ||
    resolver === null ||
    typeof resolver !== 'object' ||
    typeof resolver.watch !== 'function' ||
    typeof resolver.context !== 'function'
  ) {
    throw new InvalidArgumentError(
      path,
      `${path} must be a Mesh or an object { resolver } with a @clusterip/resolver Resolver, got ${describe(mesh)}`,
    );
  }
  serviceProxyNameOption(`${path}.serviceProxyName`, (mesh as { serviceProxyName?: unknown }).serviceProxyName);
  return mesh as GrpcMesh;
}

function stateFor(grpc: GrpcModule): PluginState {
  const state = states.get(grpc.experimental);
  if (state !== undefined) return state;
  const prefix = grpc.experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX;
  const created: PluginState = {
    current: undefined,
    attributeKey: `${prefix}.clusterip.resolution`,
    meshOptionKey: `${prefix}.clusterip.mesh`,
  };
  const defaultServiceConfig = Object.freeze({
    loadBalancingConfig: [{ [LB_POLICY_NAME]: policyConfig({}) }],
    methodConfig: [],
  });
  const ResolverClass = createResolverClass({
    attributeKey: created.attributeKey,
    meshOptionKey: created.meshOptionKey,
    processResolver: () =>
      created.current === undefined
        ? Promise.reject(new ClosedError('grpc plugin: call register() again'))
        : created.current.resolver(),
    processMesh: () => created.current?.mesh,
    defaultServiceConfig: () => defaultServiceConfig,
  });
  const { ClusterIPLoadBalancer, ClusterIPLoadBalancingConfig } = createLoadBalancerClasses(grpc, created.attributeKey);
  grpc.experimental.registerResolver(SCHEME, ResolverClass);
  grpc.experimental.registerLoadBalancerType(LB_POLICY_NAME, ClusterIPLoadBalancer, ClusterIPLoadBalancingConfig);
  states.set(grpc.experimental, created);
  return created;
}

/**
 * Register with a given copy of grpc-js (the public `register()` passes the peer dependency).
 * @internal
 */
export function registerWith(grpc: GrpcModule, mesh?: GrpcMesh): GrpcRegistration {
  const checked = mesh === undefined ? undefined : checkMesh('mesh', mesh);
  const state = stateFor(grpc);
  const current = state.current;
  if (current !== undefined && !current.closed) {
    if (checked !== undefined) current.adopt(checked);
    return current;
  }
  const registration = new RegistrationImpl(checked);
  state.current = registration;
  return registration;
}

/**
 * Channel options that make one channel use this mesh's discovery cache instead of the process-wide one.
 * @internal
 */
export function meshChannelOptionsWith(grpc: GrpcModule, mesh: GrpcMesh): Record<string, unknown> {
  const checked = checkMesh('mesh', mesh);
  // Computed without registering: building channel options must have no side effect.
  return { [`${grpc.experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX}.clusterip.mesh`]: checked };
}
