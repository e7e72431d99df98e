// Demo (cluster driver): a small Kubernetes API client — the only way the demo changes the cluster, so the
// embedded cluster and a real one share one code path. Consumes a kubeconfig; produces API calls and waits.

import { readFile } from 'node:fs/promises';
import {
  ApiRequestError,
  type ApiRequestFailure,
  ClosedError,
  InvalidArgumentError,
  type KubernetesSourceOptions,
  kubeconfigOptions,
} from '@clusterip/resolver';
import { Agent, request } from 'undici';

/** A Kubernetes object as JSON. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly resourceVersion?: string;
    readonly generation?: number;
    readonly deletionTimestamp?: string;
    readonly [key: string]: unknown;
  };
  readonly spec?: Record<string, unknown>;
  readonly status?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

/** Where a kind lives in the API (from discovery). */
interface ResourceInfo {
  readonly plural: string;
  readonly namespaced: boolean;
}

/** Result of {@link KubeClient.apply}. */
export type ApplyResult = { readonly applied: true } | { readonly applied: false; readonly reason: string };

const FIELD_MANAGER = 'clusterip-demo';

/**
 * A minimal client for what the demo does: server-side apply, merge patches, deletes, reads, and
 * "wait until a list satisfies a predicate" (list, then watch from the list's resourceVersion).
 *
 * @example
 * ```ts
 * const kube = await KubeClient.fromKubeconfig('kubeconfig.yaml')
 * await kube.patch('/apis/apps/v1/namespaces/demo/deployments/backend/scale', { spec: { replicas: 5 } })
 * await kube.close()
 * ```
 */
export class KubeClient {
  /** API server URL (no credentials). */
  readonly server: string;
  /** The kubeconfig context's namespace, if it names one. */
  readonly namespace: string | undefined;
  /** Options for `new KubernetesSource()` that reach the same server with the same credentials. */
  readonly sourceOptions: KubernetesSourceOptions;
  readonly #agent: Agent;
  readonly #token: () => Promise<string | undefined>;
  readonly #discovery = new Map<string, Promise<Map<string, ResourceInfo> | undefined>>();
  #closing: Promise<void> | undefined;

  private constructor(options: KubernetesSourceOptions, namespace: string | undefined) {
    this.sourceOptions = options;
    this.server = options.server.replace(/\/+$/, '');
    this.namespace = namespace;
    const tls = {
      ...(options.ca === undefined ? {} : { ca: toPem(options.ca) }),
      ...(options.cert === undefined ? {} : { cert: toPem(options.cert) }),
      ...(options.key === undefined ? {} : { key: toPem(options.key) }),
      ...(options.insecureSkipTlsVerify === true ? { rejectUnauthorized: false } : {}),
      ...(options.tlsServerName === undefined ? {} : { servername: options.tlsServerName }),
    };
    this.#agent = new Agent({ connect: tls, connections: 8, bodyTimeout: 0 });
    const { token, tokenFile } = options;
    this.#token = async () =>
      token ?? (tokenFile === undefined ? undefined : (await readFile(tokenFile, 'utf8')).trim() || undefined);
  }

  /**
   * Read a kubeconfig (token, token file or client certificate; CA data or file). Files named for the
   * CA or client certificate are read now.
   *
   * @example
   * ```ts
   * const kube = await KubeClient.fromKubeconfig(process.env.KUBECONFIG ?? `${homedir()}/.kube/config`)
   * ```
   */
  static async fromKubeconfig(path: string, context?: string): Promise<KubeClient> {
    const { options, namespace } = await kubeconfigOptions({ path, ...(context === undefined ? {} : { context }) });
    const read = async (file: string | undefined, what: string): Promise<Uint8Array | undefined> => {
      if (file === undefined) return undefined;
      try {
        return await readFile(file);
      } catch (error) {
        throw new InvalidArgumentError(
          `kubeconfig.${what}`,
          `kubeconfig ${path}: cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
    };
    const { caFile, certFile, keyFile, ...rest } = options;
    const ca = options.ca ?? (await read(caFile, 'certificate-authority'));
    const cert = options.cert ?? (await read(certFile, 'client-certificate'));
    const key = options.key ?? (await read(keyFile, 'client-key'));
    const resolved: KubernetesSourceOptions = {
      ...rest,
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    };
    return new KubeClient(resolved, namespace);
  }

  /** One request; resolves with the status and parsed JSON body. Never rejects on HTTP statuses. */
  async call(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; body: unknown }> {
    if (this.#closing !== undefined) throw new ClosedError('demo api client');
    const token = await this.#token();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = contentType;
    try {
      const res = await request(`${this.server}${path}`, {
        method: method as 'GET',
        headers,
        dispatcher: this.#agent,
        headersTimeout: 30_000,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.body.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        // not JSON (e.g. a proxy's HTML error page): keep the text for the message
      }
      return { status: res.statusCode, body: parsed };
    } catch (error) {
      throw this.#error(method, path, undefined, (error as Error).message, error);
    }
  }

  /** Like {@link call}, but a status ≥ 300 throws ApiRequestError (`CLUSTERIP_ERR_API_REQUEST`) with the API's Status message. */
  async ok(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> {
    const res = await this.call(method, path, body, contentType);
    if (res.status >= 300) throw this.#error(method, path, res.status, statusMessage(res.body));
    return res.body;
  }

  /** GET one object, or undefined when it does not exist. */
  async get(path: string): Promise<KubeObject | undefined> {
    const res = await this.call('GET', path);
    if (res.status === 404) return undefined;
    if (res.status >= 300) throw this.#error('GET', path, res.status, statusMessage(res.body));
    return res.body as KubeObject;
  }

  /** A JSON merge patch (RFC 7386), what `kubectl patch --type=merge` sends. */
  patch(path: string, body: unknown): Promise<unknown> {
    return this.ok('PATCH', path, body, 'application/merge-patch+json');
  }

  /** Delete an object; `gracePeriodSeconds: 0` is a forced, immediate delete (what a crash looks like). */
  async delete(path: string, options: { gracePeriodSeconds?: number } = {}): Promise<void> {
    const body =
      options.gracePeriodSeconds === undefined
        ? undefined
        : { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: options.gracePeriodSeconds };
    const res = await this.call('DELETE', path, body);
    if (res.status >= 300 && res.status !== 404) {
      throw this.#error('DELETE', path, res.status, statusMessage(res.body));
    }
  }

  /** The URL path of an object (or of its collection when `name` is undefined), found through discovery. */
  async pathOf(apiVersion: string, kind: string, namespace: string | undefined, name?: string): Promise<string> {
    const info = await this.#resource(apiVersion, kind);
    if (info === undefined) {
      throw this.#error('GET', apiVersion, 404, `${kind} (${apiVersion}) is not served by this api server`);
    }
    return objectPath(apiVersion, info, namespace, name);
  }

  /**
   * Server-side apply (`kubectl apply --server-side --force-conflicts`). Kinds this API server does not
   * serve (e.g. RBAC objects on the embedded cluster) are skipped, not failed.
   */
  async apply(object: KubeObject, defaultNamespace: string): Promise<ApplyResult> {
    const info = await this.#resource(object.apiVersion, object.kind);
    if (info === undefined) return { applied: false, reason: `${object.apiVersion} ${object.kind} is not served here` };
    const namespace = info.namespaced ? (object.metadata.namespace ?? defaultNamespace) : undefined;
    const path = objectPath(object.apiVersion, info, namespace, object.metadata.name);
    const body = { ...object, metadata: { ...object.metadata, ...(namespace === undefined ? {} : { namespace }) } };
    // JSON is YAML: the apply patch body may be either.
    await this.ok('PATCH', `${path}?fieldManager=${FIELD_MANAGER}&force=true`, body, 'application/apply-patch+yaml');
    return { applied: true };
  }

  /**
   * Resolve with `check(items)`'s first defined answer: list `collectionPath`, then watch it from the
   * list's resourceVersion and check again after every event (re-listing when the watch ends). Rejects
   * with the signal's reason when `signal` aborts first.
   */
  async waitFor<T>(
    collectionPath: string,
    check: (items: readonly KubeObject[]) => T | undefined,
    signal: AbortSignal,
  ): Promise<T> {
    for (let round = 0; ; round++) {
      signal.throwIfAborted();
      const list = (await this.ok('GET', collectionPath)) as {
        items?: KubeObject[];
        metadata?: { resourceVersion?: string };
      };
      const items = new Map<string, KubeObject>();
      for (const item of list.items ?? []) items.set(keyOf(item), item);
      const first = check([...items.values()]);
      if (first !== undefined) return first;
      const found = await this.#watch(collectionPath, list.metadata?.resourceVersion, items, check, signal);
      if (found !== undefined) return found.value;
      // The watch ended (server timeout, 410): list again; bounded by the signal.
      if (round > 1000) throw this.#error('WATCH', collectionPath, undefined, 'the watch ended 1000 times');
    }
  }

  async #watch<T>(
    collectionPath: string,
    resourceVersion: string | undefined,
    items: Map<string, KubeObject>,
    check: (items: readonly KubeObject[]) => T | undefined,
    signal: AbortSignal,
  ): Promise<{ value: T } | undefined> {
    const token = await this.#token();
    const sep = collectionPath.includes('?') ? '&' : '?';
    const query = `watch=1&allowWatchBookmarks=true&timeoutSeconds=60${resourceVersion ? `&resourceVersion=${resourceVersion}` : ''}`;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${this.server}${collectionPath}${sep}${query}`, {
        headers: { accept: 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
        dispatcher: this.#agent,
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw this.#error('WATCH', collectionPath, undefined, (error as Error).message, error);
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      if (res.statusCode === 410) return undefined;
      throw this.#error('WATCH', collectionPath, res.statusCode, statusMessage(safeJson(text)));
    }
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += (chunk as Buffer).toString('utf8');
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line === '') continue;
          const event = safeJson(line) as { type?: string; object?: KubeObject } | undefined;
          if (event?.object === undefined) continue;
          if (event.type === 'ERROR') return undefined;
          if (event.type === 'BOOKMARK') continue;
          if (event.type === 'DELETED') items.delete(keyOf(event.object));
          else items.set(keyOf(event.object), event.object);
          const value = check([...items.values()]);
          if (value !== undefined) {
            res.body.destroy();
            return { value };
          }
        }
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      // a broken stream: re-list
      void error;
    }
    return undefined;
  }

  async #resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    let found = this.#discovery.get(apiVersion);
    if (found === undefined) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      found = this.call('GET', path).then((res) => {
        if (res.status === 404) return undefined;
        if (res.status >= 300) throw this.#error('GET', path, res.status, statusMessage(res.body));
        const map = new Map<string, ResourceInfo>();
        const resources = (res.body as { resources?: { name: string; kind: string; namespaced: boolean }[] }).resources;
        for (const r of resources ?? []) {
          if (!r.name.includes('/')) map.set(r.kind, { plural: r.name, namespaced: r.namespaced });
        }
        return map;
      });
      this.#discovery.set(apiVersion, found);
    }
    return (await found)?.get(kind);
  }

  /** `kubernetes api <server>: <METHOD> <path>: HTTP <status> <message>` (the server without credentials). */
  #error(method: string, path: string, status: number | undefined, detail: string, cause?: unknown): ApiRequestError {
    const failure: ApiRequestFailure =
      status === undefined ? 'network' : status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : 'status';
    const what = `${method} ${path}: ${status === undefined ? '' : `HTTP ${status} `}${detail}`;
    return new ApiRequestError(
      this.server.replace(/\/\/[^/@]*@/, '//'),
      path,
      failure,
      what,
      status,
      cause === undefined ? undefined : { cause },
    );
  }

  /** Close the connections. Idempotent: the same promise. */
  close(): Promise<void> {
    this.#closing ??= this.#agent.close();
    return this.#closing;
  }
}

function objectPath(apiVersion: string, info: ResourceInfo, namespace: string | undefined, name?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = info.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${info.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The message of a `Status` body, or a short description of an unexpected body. */
function statusMessage(body: unknown): string {
  const message = (body as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string') return message;
  if (typeof body === 'string') return body.slice(0, 200);
  return 'unexpected response';
}

function toPem(value: string | Uint8Array): string | Buffer {
  return typeof value === 'string' ? value : Buffer.from(value);
}
