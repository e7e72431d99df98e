// ③ Endpoint source (Kubernetes): plain JSON reads (GET an object or a list) on the connection of a
// KubernetesSource, for tools that need more than Services and EndpointSlices (the CLI reads Pods,
// Nodes and Services of every namespace). Consumes API paths; produces parsed JSON or ApiRequestError.

import { ApiRequestError, type ApiRequestFailure } from '../../errors/api-request-error.js';
import { ClosedError } from '../../errors/closed-error.js';
import { InvalidArgumentError } from '../../errors/invalid-argument-error.js';
import { KubernetesSource } from './endpoint-source-kubernetes.js';
import { KubeApiClient, KubeApiError } from './kube-api-client.js';

/** Options of {@link KubeApiReader.get}. */
export interface KubeApiGetOptions {
  /** Abort the request; it then rejects with an `ApiRequestError` of failure `network`. */
  readonly signal?: AbortSignal;
}

/**
 * Read-only JSON access to the Kubernetes API with the server, credentials and TLS settings of a
 * {@link KubernetesSource} (kubeconfig, in-cluster service account or explicit options). It opens its
 * own connections (the source's watches are not disturbed) and shares the source's request timeout,
 * response size limit and token-file re-reading. Secrets never appear in its errors.
 *
 * Lifecycle: `close()` destroys its connections; idempotent, returns the same promise; afterwards
 * `get()` rejects with `ClosedError`.
 *
 * @example
 * ```ts
 * const source = await KubernetesSource.fromKubeconfig()
 * const reader = new KubeApiReader(source)
 * const pods = await reader.get('/api/v1/namespaces/prod/pods', { labelSelector: 'app=web' })
 * const svc = await reader.get('/api/v1/namespaces/prod/services/web') // undefined when 404
 * await reader.close()
 * await source.close()
 * ```
 */
export class KubeApiReader {
  readonly #client: KubeApiClient;
  #closing: Promise<void> | undefined;

  /** @param source - whose configuration (server, credentials, TLS, timeouts) to use. */
  constructor(source: KubernetesSource) {
    if (!(source instanceof KubernetesSource)) {
      throw new InvalidArgumentError('source', 'kube api reader: source must be a KubernetesSource');
    }
    this.#client = new KubeApiClient(source.config.client);
  }

  /** The API server URL, without credentials. */
  get server(): string {
    return this.#client.server;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * GET `path` (e.g. `/api/v1/namespaces/prod/pods`) with `query` parameters and parse the JSON
   * body. Resolves with `undefined` when the server answers 404 (no such object); rejects with
   * {@link ApiRequestError} for every other failure.
   */
  async get(
    path: string,
    query: Readonly<Record<string, string>> = {},
    options: KubeApiGetOptions = {},
  ): Promise<unknown> {
    if (this.#closing !== undefined) throw new ClosedError('kube api reader');
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw new InvalidArgumentError('path', `kube api reader: path must start with "/", got ${JSON.stringify(path)}`);
    }
    const signal = options.signal ?? new AbortController().signal;
    try {
      return await this.#client.list(path, query, signal);
    } catch (err) {
      if (!(err instanceof KubeApiError)) throw err;
      if (err.status === 404) return undefined;
      let failure: ApiRequestFailure;
      let hint = '';
      switch (err.kind) {
        case 'unauthorized':
          failure = 'unauthorized';
          break;
        case 'status':
          failure = err.status === 403 ? 'forbidden' : 'status';
          if (err.status === 403) hint = ': the credentials lack RBAC permission for this request';
          break;
        case 'malformed':
        case 'too-large':
          failure = err.kind;
          break;
        default:
          failure = 'network';
          hint = ': check that the API server is running and that the kubeconfig points to it';
      }
      throw new ApiRequestError(this.server, path, failure, `${err.message}${hint}`, err.status, { cause: err });
    }
  }

  /** Destroy the connections. Idempotent; returns the same promise. */
  close(): Promise<void> {
    this.#closing ??= this.#client.close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
