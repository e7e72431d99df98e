// Local cluster: the container image contract (what a "container" of a local pod is) and startImage.
// Consumes an image name and a host/ports; produces a RunningContainer listening there.

import { InvalidArgumentError } from '@clusterip/resolver';
import { Mesh } from '../mesh/mesh.js';
import { startEchoGrpc } from './image-echo-grpc.js';
import { type ContainerIdentity, type DownstreamCall, startEchoHttp } from './image-echo-http.js';
import type { LocalCluster } from './local-cluster.js';
import type { LocalPod } from './local-pod.js';

/**
 * The built-in HTTP echo image (also what runs for any image the cluster does not know).
 *
 * @example
 * ```ts
 * const container = await startImage(ECHO_HTTP_IMAGE, { host: '127.0.0.20', ports: [8080] })
 * ```
 */
export const ECHO_HTTP_IMAGE = 'clusterip/echo-http';

/**
 * The built-in gRPC echo image (`/clusterip.demo.Echo/Echo` + grpc.health.v1); needs `@grpc/grpc-js`.
 *
 * @example
 * ```ts
 * const container = await startImage(ECHO_GRPC_IMAGE, { host: '127.0.0.21', ports: [9090] })
 * ```
 */
export const ECHO_GRPC_IMAGE = 'clusterip/echo-grpc';

/**
 * A running container: `stop` is the SIGTERM path, `kill` the SIGKILL path.
 *
 * @example
 * ```ts
 * const container = await startImage('clusterip/echo-http', { host: '127.0.0.1', ports: [8080] })
 * await container.stop(1000)
 * ```
 */
export interface RunningContainer {
  /** SIGTERM: stop accepting, finish in-flight requests within `graceMs`, then close everything. */
  stop(graceMs: number): Promise<void>;
  /** SIGKILL: destroy every socket (RST) and close the listeners now. */
  kill(): void;
}

/**
 * What an image factory receives when the kubelet starts a container.
 *
 * @example
 * ```ts
 * const images = { 'me/app': async (ctx: ContainerContext) => startMyApp(ctx.host, ctx.container.ports) }
 * ```
 */
export interface ContainerContext {
  readonly pod: LocalPod;
  /** Address to listen on (the pod IP). */
  readonly host: string;
  readonly container: {
    name: string;
    image: string;
    ports: readonly { name?: string; containerPort: number }[];
    env: Readonly<Record<string, string>>;
  };
  readonly cluster: LocalCluster;
}

/**
 * Starts one container of an image. Resolves once it listens on all its ports.
 *
 * @example
 * ```ts
 * const factory: ImageFactory = async ({ host, container }) => startImage('clusterip/echo-http', {
 *   host, ports: container.ports.map((p) => p.containerPort) })
 * ```
 */
export type ImageFactory = (context: ContainerContext) => Promise<RunningContainer>;

/**
 * Options of {@link startImage}.
 *
 * @example
 * ```ts
 * const options: StartImageOptions = { host: '127.0.0.1', ports: [8080], env: { POD_NAME: 'web-1' } }
 * ```
 */
export interface StartImageOptions {
  readonly host: string;
  readonly ports: readonly number[];
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * How a cluster gives its built-in images a downstream caller (its Mesh for the pod's namespace).
 * Module-private wiring between LocalCluster and the images, keyed by cluster.
 */
export const clusterDownstream = new WeakMap<object, (namespace: string) => DownstreamCall>();

/** `clusterip/echo-http:1.2` → `clusterip/echo-http` (tag and digest dropped). */
export function imageName(image: string): string {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const colon = base.lastIndexOf(':');
  return colon > base.lastIndexOf('/') ? base.slice(0, colon) : base;
}

/** Read a Response as JSON when it is JSON, else as text. */
async function readAnswer(res: Response): Promise<{ status: number; body: unknown }> {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text };
  }
}

/** A DownstreamCall over `mesh.fetch`. */
export function meshDownstream(mesh: Mesh): DownstreamCall {
  return async (url) => readAnswer((await mesh.fetch(url)) as unknown as Response);
}

function identityOf(pod: LocalPod): ContainerIdentity {
  return { pod: pod.name, namespace: pod.namespace, node: pod.node, zone: pod.zone, ip: pod.ip };
}

/** The built-in images as factories for a LocalCluster's kubelet. */
export const BUILT_IN_IMAGES: Readonly<Record<string, ImageFactory>> = Object.freeze({
  [ECHO_HTTP_IMAGE]: async (ctx: ContainerContext) => {
    const downstream = clusterDownstream.get(ctx.cluster)?.(ctx.pod.namespace);
    return startEchoHttp({
      host: ctx.host,
      ports: ctx.container.ports.map((p) => p.containerPort),
      identity: identityOf(ctx.pod),
      env: ctx.container.env,
      ...(downstream === undefined ? {} : { downstream }),
    });
  },
  [ECHO_GRPC_IMAGE]: async (ctx: ContainerContext) =>
    startEchoGrpc({
      image: ctx.container.image,
      host: ctx.host,
      ports: ctx.container.ports.map((p) => p.containerPort),
      identity: identityOf(ctx.pod),
    }),
});

/**
 * Run a built-in image (`clusterip/echo-http`, `clusterip/echo-grpc`) standalone, e.g. as the
 * entrypoint of a real container. Identity fields come from `env`: `POD_NAME` (else `HOSTNAME`),
 * `POD_NAMESPACE`, `NODE_NAME`, `ZONE`, `POD_IP` (else `host`). With `DOWNSTREAM_URL`, the echo
 * server calls it through a `new Mesh()` (in a cluster: the in-cluster API), closed with the container.
 *
 * @throws InvalidArgumentError for an unknown image or bad ports; ImageUnavailableError when
 *   `clusterip/echo-grpc` lacks `@grpc/grpc-js`.
 * @example
 * ```ts
 * const container = await startImage('clusterip/echo-http', { host: '0.0.0.0', ports: [8080], env: process.env })
 * process.once('SIGTERM', () => void container.stop(5000))
 * ```
 */
export async function startImage(image: string, options: StartImageOptions): Promise<RunningContainer> {
  const name = typeof image === 'string' ? imageName(image) : '';
  if (name !== ECHO_HTTP_IMAGE && name !== ECHO_GRPC_IMAGE) {
    throw new InvalidArgumentError(
      'image',
      `image ${JSON.stringify(image)} is not a built-in image: use ${ECHO_HTTP_IMAGE} or ${ECHO_GRPC_IMAGE}`,
    );
  }
  if (options === null || typeof options !== 'object' || typeof options.host !== 'string' || options.host === '') {
    throw new InvalidArgumentError('host', 'options.host must be a non-empty string (the address to listen on)');
  }
  const ports = options.ports;
  if (
    !Array.isArray(ports) ||
    ports.length === 0 ||
    ports.some((p) => typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 65535)
  ) {
    throw new InvalidArgumentError(
      'ports',
      `options.ports must be a non-empty array of port numbers, got ${String(ports)}`,
    );
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.env ?? {})) if (typeof v === 'string') env[k] = v;
  const identity: ContainerIdentity = {
    pod: env.POD_NAME ?? env.HOSTNAME ?? 'local',
    namespace: env.POD_NAMESPACE ?? 'default',
    node: env.NODE_NAME ?? '',
    zone: env.ZONE ?? '',
    ip: env.POD_IP ?? options.host,
  };
  if (name === ECHO_GRPC_IMAGE) return startEchoGrpc({ image, host: options.host, ports, identity });
  let mesh: Mesh | undefined;
  const downstream: DownstreamCall = (url) => {
    mesh ??= new Mesh();
    return meshDownstream(mesh)(url);
  };
  const container = await startEchoHttp({ host: options.host, ports, identity, env, downstream });
  return {
    async stop(graceMs) {
      await container.stop(graceMs);
      await mesh?.close();
    },
    kill() {
      container.kill();
      void mesh?.close();
    },
  };
}
