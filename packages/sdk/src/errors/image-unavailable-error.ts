// Errors: a local-cluster container image cannot run here (an optional peer is missing, or it failed to start).

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/**
 * A container image of the local cluster cannot run: `clusterip/echo-grpc` needs the optional peer
 * `@grpc/grpc-js`, or the image's factory failed (e.g. its port is taken). `image` names it.
 *
 * @example
 * ```ts
 * // image clusterip/echo-grpc: cannot start: @grpc/grpc-js is not installed: npm install @grpc/grpc-js
 * catch (err) { if (err.code === 'CLUSTERIP_ERR_IMAGE_UNAVAILABLE') console.error(err.image) }
 * ```
 */
export class ImageUnavailableError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_IMAGE_UNAVAILABLE';
  readonly image: string;

  constructor(image: string, why: string, options?: ClusterIPErrorOptions) {
    super(`image ${image}: cannot start: ${why}`, options);
    this.name = 'ImageUnavailableError';
    this.image = image;
  }
}
