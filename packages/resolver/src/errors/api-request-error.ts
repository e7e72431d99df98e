// Errors: one read request to the Kubernetes API failed (unreachable, refused credentials, RBAC, bad reply).

import { ClusterIPError, type ClusterIPErrorOptions } from './clusterip-error.js';

/**
 * Why a Kubernetes API request failed:
 * - `network`: connection refused/reset, TLS failure, timeout, or a credentials file could not be read;
 * - `unauthorized`: HTTP 401 (after one retry with a freshly read token file);
 * - `forbidden`: HTTP 403 (RBAC does not allow the verb on the resource);
 * - `status`: any other non-2xx status (404 is not an error for {@link KubeApiReader.get});
 * - `malformed`: the body was not the JSON expected;
 * - `too-large`: the body exceeded the client's `maxResponseBytes`.
 */
export type ApiRequestFailure = 'network' | 'unauthorized' | 'forbidden' | 'status' | 'malformed' | 'too-large';

/**
 * A request to the Kubernetes API failed. The message names the server (without credentials) and
 * the request, never a token.
 *
 * @example
 * ```ts
 * // kubernetes api https://127.0.0.1:6443: GET /api/v1/namespaces/prod/pods: HTTP 403 pods is forbidden: grant list on pods
 * try { await reader.get('/api/v1/namespaces/prod/pods') } catch (err) {
 *   if (err instanceof ApiRequestError && err.failure === 'network') console.error('cluster unreachable')
 * }
 * ```
 */
export class ApiRequestError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_API_REQUEST';
  /** API server URL without credentials. */
  readonly server: string;
  /** Request path, e.g. `/api/v1/namespaces/prod/services/web`. */
  readonly path: string;
  readonly failure: ApiRequestFailure;
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;

  constructor(
    server: string,
    path: string,
    failure: ApiRequestFailure,
    detail: string,
    status?: number,
    options?: ClusterIPErrorOptions,
  ) {
    super(`kubernetes api ${server}: ${detail}`, options);
    this.name = 'ApiRequestError';
    this.server = server;
    this.path = path;
    this.failure = failure;
    this.status = status;
  }
}
