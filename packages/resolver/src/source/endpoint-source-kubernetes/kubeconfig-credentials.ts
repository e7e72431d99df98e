// ③ Endpoint source (Kubernetes): credentials of kubeconfig users that run code (exec plugins such as
// `aws eks get-token`, auth providers such as OIDC), obtained through the optional `@kubernetes/client-node`
// peer. Consumes a kubeconfig file and context; produces a KubernetesCredentialProvider. Secrets never leave it
// except as the provider's result.

import { InvalidArgumentError } from '../../errors/invalid-argument-error.js';

/**
 * Credentials for the Kubernetes API, as a {@link KubernetesCredentialProvider} returns them: a bearer token,
 * a client certificate and key, or both.
 *
 * @example
 * ```ts
 * const credentials: KubernetesCredentials = { token: await getToken(), expiresAt: Date.now() + 600_000 }
 * ```
 */
export interface KubernetesCredentials {
  /** Bearer token sent in the `Authorization` header. */
  readonly token?: string | undefined;
  /** PEM client certificate (mutual TLS); needs `key`. */
  readonly cert?: string | Uint8Array | undefined;
  /** PEM client key; needs `cert`. */
  readonly key?: string | Uint8Array | undefined;
  /**
   * When these credentials stop being valid (milliseconds since the epoch, on the source's `now()` clock).
   * The provider is asked again once this is reached. Default: asked again after `tokenRefreshIntervalMs`.
   */
  readonly expiresAt?: number | undefined;
}

/**
 * Why a {@link KubernetesCredentialProvider} is called.
 *
 * @example
 * ```ts
 * const provider: KubernetesCredentialProvider = async (request: KubernetesCredentialRequest) => ({ token: await fetchToken(request.reason === 'unauthorized') })
 * ```
 */
export interface KubernetesCredentialRequest {
  /**
   * `initial`: first request; `expired`: the last credentials reached `expiresAt` or
   * `tokenRefreshIntervalMs`; `unauthorized`: the server answered 401 to the last credentials, so any
   * cache the provider keeps must be bypassed.
   */
  readonly reason: 'initial' | 'expired' | 'unauthorized';
}

/**
 * Supplies API credentials on demand (the `credentials` option of `KubernetesSource`). Called before the
 * first request, when the last result expired, and right after a 401 (then the request is retried once).
 * Calls never overlap. A rejection fails that request (the watch backs off and retries); its message is not
 * repeated in errors, so it may mention secrets without leaking them.
 *
 * @example
 * ```ts
 * const credentials: KubernetesCredentialProvider = async ({ reason }) => ({ token: await vault.token({ fresh: reason === 'unauthorized' }) })
 * new KubernetesSource({ server: 'https://10.0.0.1:6443', caFile: '/etc/k8s/ca.crt', credentials })
 * ```
 */
export type KubernetesCredentialProvider = (request: KubernetesCredentialRequest) => Promise<KubernetesCredentials>;

/** The part of `@kubernetes/client-node`'s `KubeConfig` used here. */
interface KubeConfigLike {
  loadFromFile(file: string): void;
  setCurrentContext(context: string): void;
  applyToHTTPSOptions(opts: Record<string, unknown>): Promise<void>;
}

/** The part of the `@kubernetes/client-node` module used here. */
export interface ClientNodeModule {
  readonly KubeConfig: new () => KubeConfigLike;
}

/** Loads `@kubernetes/client-node`; a seam so tests can simulate its absence. */
export type ClientNodeImporter = () => Promise<ClientNodeModule>;

/** The default importer: a lazy `import()`, so the ~0.5 s module costs nothing unless a user needs it. */
export const importClientNode: ClientNodeImporter = async () => {
  const name = '@kubernetes/client-node';
  return (await import(name)) as ClientNodeModule;
};

/**
 * A credential provider for a kubeconfig user with `exec` or `auth-provider`, through `@kubernetes/client-node`
 * (its `KubeConfig.applyToHTTPSOptions`). The module is imported now, so a missing peer fails at construction
 * with an {@link InvalidArgumentError} that names the user, the method and the install command.
 *
 * client-node caches exec credentials until their `expirationTimestamp` and refreshes OIDC tokens itself, so the
 * provider's results expire at once (`expiresAt: now()`): every list or watch request asks it, and only
 * client-node decides when the plugin runs again. After a 401 a fresh `KubeConfig` is loaded, which drops
 * client-node's caches and runs the plugin again.
 *
 * @example
 * ```ts
 * const credentials = await kubeconfigCredentialProvider({ file, context: 'eks', user: 'eks-admin', method: 'exec' })
 * ```
 */
export async function kubeconfigCredentialProvider(options: {
  readonly file: string;
  readonly context: string;
  readonly user: string;
  readonly method: 'exec' | 'auth-provider';
  readonly now: () => number;
  readonly importer?: ClientNodeImporter;
}): Promise<KubernetesCredentialProvider> {
  const { file, context, user, method, now, importer = importClientNode } = options;
  const subject = `kubeconfig ${file}: user ${JSON.stringify(user)} uses ${method} authentication`;
  let mod: ClientNodeModule;
  try {
    mod = await importer();
  } catch (err) {
    throw new InvalidArgumentError(
      `kubeconfig.users.${user}.${method}`,
      `${subject}, which needs the optional package @kubernetes/client-node: install it with npm install @kubernetes/client-node`,
      { cause: err },
    );
  }
  const load = (): KubeConfigLike => {
    try {
      const kc = new mod.KubeConfig();
      kc.loadFromFile(file);
      kc.setCurrentContext(context);
      return kc;
    } catch (err) {
      // client-node's messages may quote the file; keep only the fact.
      throw new InvalidArgumentError('path', `${subject}: @kubernetes/client-node cannot load it`, { cause: err });
    }
  };
  let kc = load();
  return async ({ reason }) => {
    if (reason === 'unauthorized') kc = load();
    const opts: Record<string, unknown> = {};
    try {
      await kc.applyToHTTPSOptions(opts);
    } catch (err) {
      // client-node applies the credentials first, then builds an agent we do not use; for an `http://` server
      // without insecure-skip-tls-verify that last step throws (client-node 1.4 `createAgent`). The credentials
      // it applied before are what we need; any other failure (the plugin's) is real.
      if (!(err instanceof Error && /^HTTP protocol is not allowed/.test(err.message))) throw err;
    }
    const headers = (opts.headers ?? {}) as Record<string, unknown>;
    const auth = headers.Authorization ?? headers.authorization;
    const token = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
    const pem = (v: unknown): string | Uint8Array | undefined =>
      typeof v === 'string' || v instanceof Uint8Array ? v : undefined;
    return { token: token || undefined, cert: pem(opts.cert), key: pem(opts.key), expiresAt: now() };
  };
}
