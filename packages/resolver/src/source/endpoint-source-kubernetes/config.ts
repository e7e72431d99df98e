// ③ Endpoint source (Kubernetes): options of KubernetesSource, and where they come from (explicit,
// in-cluster service account, kubeconfig). Consumes user options, environment and files; produces a
// validated, frozen configuration. Secrets are kept out of every error message.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InvalidArgumentError } from '../../errors/invalid-argument-error.js';
import { type BackoffConfig, type BackoffOptions, resolveBackoffOptions } from '../../internal/backoff.js';
import { resolveTimers, type Timers } from '../../internal/timers.js';
import { describe } from '../../service/normalize-service.js';
import type { KubeApiClientConfig } from './kube-api-client.js';
import {
  type ClientNodeImporter,
  importClientNode,
  type KubernetesCredentialProvider,
  kubeconfigCredentialProvider,
} from './kubeconfig-credentials.js';

/**
 * Runs the synchronous start of one API request (`start` dispatches it and returns its promise). The SDK's
 * `Mesh` sets this to start its own list/watch requests with OpenTelemetry tracing suppressed, so that HTTP
 * instrumentations do not record them as CLIENT spans; the resolver itself knows nothing of OpenTelemetry.
 * Must call `start` exactly once, synchronously, and return its result.
 *
 * @example
 * ```ts
 * const runRequest: RunRequest = (start) => context.with(suppressTracing(context.active()), start)
 * ```
 */
export type RunRequest = <T>(start: () => T) => T;

/**
 * Options of `new KubernetesSource(options)`. Only `server` is required. TLS is verified against
 * `ca`/`caFile` (or the system roots) unless `insecureSkipTlsVerify`; plain http is used only when
 * `server` starts with `http://`.
 */
export interface KubernetesSourceOptions {
  /** API server URL: `https://host:port` (optionally with a path prefix), or `http://...`. */
  readonly server: string;
  /** Bearer token. Mutually exclusive with `tokenFile`. */
  readonly token?: string;
  /** File holding the bearer token; re-read every `tokenRefreshIntervalMs` and after a 401. */
  readonly tokenFile?: string;
  /**
   * Credentials obtained on demand (cloud token plugins, a vault): asked before the first request, when
   * its result reaches `expiresAt` (else after `tokenRefreshIntervalMs`), and after a 401 (then the request is
   * retried once). Excludes `token`, `tokenFile`, `cert*` and `key*`. `fromKubeconfig()` sets it for `exec`
   * and `auth-provider` users. See {@link KubernetesCredentialProvider}.
   */
  readonly credentials?: KubernetesCredentialProvider;
  /** PEM CA bundle to verify the server with. */
  readonly ca?: string | Uint8Array;
  readonly caFile?: string;
  /** PEM client certificate and key (mutual TLS). */
  readonly cert?: string | Uint8Array;
  readonly certFile?: string;
  readonly key?: string | Uint8Array;
  readonly keyFile?: string;
  /** Do not verify the server certificate (development only). Default false. */
  readonly insecureSkipTlsVerify?: boolean;
  /** TLS server name to verify instead of the URL host. */
  readonly tlsServerName?: string;
  /** The client's node (downward API `spec.nodeName`): local endpoints win duplicate keys. */
  readonly nodeName?: string;
  /** Close a Service's list+watch this long after its last watcher left. Default 30 000. */
  readonly idleTimeoutMs?: number;
  /** Connect and response-headers timeout of every request, and the longest wait for its credentials. Default 30 000. */
  readonly requestTimeoutMs?: number;
  /** Watches ask for `timeoutSeconds` in [this, 2 × this). Default 300 (client-go). */
  readonly minWatchTimeoutSeconds?: number;
  /** Token file re-read period. Default 60 000 (client-go). */
  readonly tokenRefreshIntervalMs?: number;
  /** Largest list response or single watch event accepted. Default 64 MiB. */
  readonly maxResponseBytes?: number;
  /** Most Services watched at once; one more throws. Default 10 000. */
  readonly maxServices?: number;
  /**
   * Once this many Services of one namespace are watched, that namespace's Services and EndpointSlices
   * are watched by one namespace-wide list+watch pair shared by all of them, instead of a pair per
   * Service (two API connections and two watches each). Below it, each Service has its own pair, which
   * receives only that Service's changes. Default 16; `1`: always namespace-wide; `Infinity`: never.
   * Services watched before the shared pair started keep their own pairs until it has listed both
   * collections, then switch with one `reset`; later ones wait for it (or use their own pairs while its
   * lists fail) or start from its state. It stays until the namespace's last watched Service is gone
   * (idle ones count until `idleTimeoutMs`). It needs list and watch of `services` and
   * `discovery.k8s.io/endpointslices` in the namespace without a name; when that is forbidden (403, RBAC
   * granting Services by `resourceNames`), or an object of the namespace does not decode, or a list or
   * event is over `maxResponseBytes`, the namespace goes back to per-Service pairs, and tries the shared
   * pair again after 1 minute, then 2, 4, … up to 30 minutes after each further failure (a RoleBinding
   * applied after the pod started is picked up; a lasting refusal costs one request per try).
   */
  readonly namespaceWatchServices?: number;
  /** Retry backoff (client-go defaults: 800 ms × 2 up to 30 s, jitter 1.0, reset after 2 min). */
  readonly backoff?: BackoffOptions;
  /** Clock, for tests. Default `Date.now`. */
  readonly now?: () => number;
  /** Random source in [0, 1), for tests. Default `Math.random`. */
  readonly random?: () => number;
  /** Timer functions, for tests. Default the global ones. */
  readonly timers?: Timers;
  /** Wraps the start of every API request (see {@link RunRequest}). Default: runs it as is. */
  readonly runRequest?: RunRequest;
}

/** Fully defaulted, frozen configuration of a KubernetesSource. */
export interface KubernetesSourceConfig {
  readonly client: KubeApiClientConfig;
  readonly nodeName: string | undefined;
  readonly idleTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly minWatchTimeoutSeconds: number;
  readonly maxServices: number;
  readonly namespaceWatchServices: number;
  readonly backoff: BackoffConfig;
  readonly now: () => number;
  readonly random: () => number;
  readonly timers: Timers;
}

const OPTION_KEYS = new Set([
  'server',
  'token',
  'tokenFile',
  'credentials',
  'ca',
  'caFile',
  'cert',
  'certFile',
  'key',
  'keyFile',
  'insecureSkipTlsVerify',
  'tlsServerName',
  'nodeName',
  'idleTimeoutMs',
  'requestTimeoutMs',
  'minWatchTimeoutSeconds',
  'tokenRefreshIntervalMs',
  'maxResponseBytes',
  'maxServices',
  'namespaceWatchServices',
  'backoff',
  'now',
  'random',
  'timers',
  'runRequest',
]);

function arg(option: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(option, message);
}

/**
 * Validate `new KubernetesSource(options)` and produce its frozen configuration.
 *
 * @example
 * ```ts
 * const config = resolveKubernetesSourceOptions({ server: 'https://127.0.0.1:6443', tokenFile: '/tmp/token' })
 * ```
 */
export function resolveKubernetesSourceOptions(options: KubernetesSourceOptions): KubernetesSourceConfig {
  if (typeof options !== 'object' || options === null) {
    throw arg('options', `kubernetes source: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      const hint = key === 'kubeconfig' ? ': use KubernetesSource.fromKubeconfig()' : '';
      throw arg(key, `kubernetes source: unexpected option ${JSON.stringify(key)}${hint}`);
    }
  }
  const o = options as unknown as Record<string, unknown>;
  if (typeof o.server !== 'string' || o.server === '') {
    throw arg(
      'server',
      `kubernetes source: server must be a URL such as https://10.96.0.1:443, got ${describe(o.server)}`,
    );
  }
  let server: URL;
  try {
    server = new URL(o.server);
  } catch {
    throw arg('server', `kubernetes source: server is not a valid URL, got ${describe(redactUrl(o.server))}`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') {
    throw arg('server', `kubernetes source: server must start with https:// or http://, got ${server.protocol}`);
  }
  if (server.username !== '' || server.password !== '') {
    throw arg('server', 'kubernetes source: server must not carry credentials in the URL: use token or tokenFile');
  }
  if (server.search !== '' || server.hash !== '') {
    throw arg('server', `kubernetes source: server must not have a query or fragment, got ${redactUrl(o.server)}`);
  }
  const str = (key: string): string | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw arg(key, `kubernetes source: ${key} must be a non-empty string`);
    return v;
  };
  const pem = (key: string): string | Uint8Array | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if ((typeof v !== 'string' || v === '') && !(v instanceof Uint8Array)) {
      throw arg(key, `kubernetes source: ${key} must be PEM text (string or bytes)`);
    }
    return v as string | Uint8Array;
  };
  const int = (key: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw arg(key, `kubernetes source: ${key} must be a number from ${min} to ${max}, got ${describe(v)}`);
    }
    return v;
  };
  const fn = <F>(key: string, def: F): F => {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'function') throw arg(key, `kubernetes source: ${key} must be a function, got ${describe(v)}`);
    return v as F;
  };
  // Never echo the token value, not even its type-coerced form.
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token === '')) {
    throw arg('token', 'kubernetes source: token must be a non-empty string');
  }
  const token = o.token as string | undefined;
  const tokenFile = str('tokenFile');
  if (token !== undefined && tokenFile !== undefined) {
    throw arg('token', 'kubernetes source: give either token or tokenFile, not both');
  }
  // Never echo the value: a token passed here by mistake must not reach a message.
  if (o.credentials !== undefined && typeof o.credentials !== 'function') {
    throw arg(
      'credentials',
      `kubernetes source: credentials must be a function returning a promise of { token?, cert?, key?, expiresAt? }, got ${typeof o.credentials}: for a fixed token use the token option`,
    );
  }
  const credentials = o.credentials as KubernetesCredentialProvider | undefined;
  const ca = pem('ca');
  const caFile = str('caFile');
  if (ca !== undefined && caFile !== undefined)
    throw arg('ca', 'kubernetes source: give either ca or caFile, not both');
  const cert = pem('cert');
  const certFile = str('certFile');
  const key = pem('key');
  const keyFile = str('keyFile');
  if (cert !== undefined && certFile !== undefined)
    throw arg('cert', 'kubernetes source: give either cert or certFile, not both');
  if (key !== undefined && keyFile !== undefined)
    throw arg('key', 'kubernetes source: give either key or keyFile, not both');
  if ((cert !== undefined || certFile !== undefined) !== (key !== undefined || keyFile !== undefined)) {
    throw arg('key', 'kubernetes source: a client certificate needs its key, and a key its certificate');
  }
  if (credentials !== undefined) {
    const clash = (['token', 'tokenFile', 'cert', 'certFile', 'key', 'keyFile'] as const).find(
      (k) => o[k] !== undefined,
    );
    if (clash !== undefined) {
      throw arg(
        'credentials',
        `kubernetes source: give either credentials or ${clash}, not both: the credential provider supplies the token and client certificate`,
      );
    }
  }
  const insecure = o.insecureSkipTlsVerify ?? false;
  if (typeof insecure !== 'boolean') {
    throw arg(
      'insecureSkipTlsVerify',
      `kubernetes source: insecureSkipTlsVerify must be a boolean, got ${describe(insecure)}`,
    );
  }
  const timers: Timers = resolveTimers(o.timers, 'kubernetes source');
  const now = fn<() => number>('now', Date.now);
  const requestTimeoutMs = int('requestTimeoutMs', 30_000, 1);
  const client: KubeApiClientConfig = Object.freeze({
    server,
    token,
    tokenFile,
    ca,
    caFile,
    cert,
    certFile,
    key,
    keyFile,
    insecureSkipTlsVerify: insecure,
    tlsServerName: str('tlsServerName'),
    tokenRefreshIntervalMs: int('tokenRefreshIntervalMs', 60_000, 0),
    requestTimeoutMs,
    maxResponseBytes: int('maxResponseBytes', 64 * 1024 * 1024, 1024),
    now,
    credentials,
    runRequest: fn<RunRequest>('runRequest', (start) => start()),
  });
  return Object.freeze({
    client,
    nodeName: str('nodeName'),
    idleTimeoutMs: int('idleTimeoutMs', 30_000, 0),
    requestTimeoutMs,
    minWatchTimeoutSeconds: int('minWatchTimeoutSeconds', 300, 1, 86_400),
    maxServices: int('maxServices', 10_000, 1),
    namespaceWatchServices: namespaceWatchServices(o.namespaceWatchServices),
    backoff: resolveBackoffOptions(o.backoff as BackoffOptions | undefined, 'backoff'),
    now,
    random: fn<() => number>('random', Math.random),
    timers,
  });
}

function namespaceWatchServices(v: unknown): number {
  if (v === undefined) return 16;
  if (v === Number.POSITIVE_INFINITY || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1)) return v;
  throw arg(
    'namespaceWatchServices',
    `kubernetes source: namespaceWatchServices must be a whole number of Services from 1 (1: always namespace-wide), or Infinity (never), got ${describe(v)}`,
  );
}

/** Default paths of the in-cluster service account (client-go `InClusterConfig`). */
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Options of `KubernetesSource.inCluster()`: the in-cluster inputs, plus any source option. */
export interface InClusterOptions extends Omit<KubernetesSourceOptions, 'server' | 'token' | 'ca'> {
  /** Environment to read `KUBERNETES_SERVICE_HOST`/`_PORT` from. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default `/var/run/secrets/kubernetes.io/serviceaccount/token`. */
  readonly tokenFile?: string;
  /**
   * Default `/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`. When it cannot be read or holds no
   * certificate, a `ClusterIPWarning` says so and the system's roots verify the API server (client-go).
   */
  readonly caFile?: string;
  /** Default `/var/run/secrets/kubernetes.io/serviceaccount/namespace`. */
  readonly namespaceFile?: string;
}

/** What `inCluster` derived from the environment, besides the source options. */
export interface InClusterConfig {
  readonly options: KubernetesSourceOptions;
  /** `$POD_NAMESPACE`, else the namespace file, else `default`. */
  readonly namespace: string;
}

/**
 * Derive the in-cluster configuration (client-go `InClusterConfig`): server
 * `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`, the service-account token file (read
 * lazily and re-read every minute), its CA bundle, and the pod's namespace.
 *
 * @example
 * ```ts
 * const { options, namespace } = inClusterConfig({ env: process.env })
 * ```
 */
export function inClusterConfig(options: InClusterOptions = {}): InClusterConfig {
  if (typeof options !== 'object' || options === null) {
    throw arg('options', `kubernetes source: inCluster options must be an object, got ${describe(options)}`);
  }
  const { env = process.env, namespaceFile = `${SA_DIR}/namespace`, ...rest } = options;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw arg(
      'env.KUBERNETES_SERVICE_HOST',
      'kubernetes source: not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set; outside a cluster use KubernetesSource.fromKubeconfig()',
    );
  }
  let namespace = env.POD_NAMESPACE?.trim();
  if (!namespace) {
    try {
      namespace = readFileSync(namespaceFile, 'utf8').trim();
    } catch {
      namespace = undefined;
    }
  }
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const { caFile = `${SA_DIR}/ca.crt`, ...others } = rest;
  return {
    namespace: namespace || 'default',
    options: {
      tokenFile: `${SA_DIR}/token`,
      // Verification off: no bundle is read, and nothing to warn about.
      ...(others.insecureSkipTlsVerify !== true && inClusterCa(caFile) ? { caFile } : {}),
      ...(others as Omit<KubernetesSourceOptions, 'server'>),
      server,
    },
  };
}

/**
 * Whether the in-cluster CA bundle can be used. As client-go's `InClusterConfig`, a bundle that cannot be read
 * or holds no certificate is left out, with a warning, and the API server's certificate is verified against
 * the system's roots: a cluster whose API server has a publicly trusted certificate still works, and any
 * other fails its TLS handshake with an error that names the certificate.
 */
function inClusterCa(caFile: string): boolean {
  let problem: string;
  try {
    if (readFileSync(caFile, 'utf8').includes('-----BEGIN CERTIFICATE-----')) return true;
    problem = 'holds no PEM certificate';
  } catch (err) {
    problem = `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  process.emitWarning(
    `clusterip: the in-cluster CA bundle ${caFile} ${problem}: the API server's certificate is verified against the system's roots, as client-go does; mount the service account's ca.crt (automountServiceAccountToken) or pass caFile`,
    'ClusterIPWarning',
  );
  return false;
}

/** Options of `KubernetesSource.fromKubeconfig()`: which file and context, plus any source option. */
export interface KubeconfigOptions extends Omit<KubernetesSourceOptions, 'server'> {
  /** Kubeconfig file. Default: the first entry of `$KUBECONFIG`, else `~/.kube/config`. */
  readonly path?: string;
  /** Context to use. Default: `current-context`. */
  readonly context?: string;
  /** Environment to read `KUBECONFIG` from. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** What a kubeconfig context resolved to. */
export interface KubeconfigResult {
  readonly options: KubernetesSourceOptions;
  /** The context's namespace, if it names one. */
  readonly namespace: string | undefined;
}

type Yaml = Record<string, unknown>;
const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);

function named(list: unknown, name: string, field: string, file: string): Yaml {
  if (Array.isArray(list)) {
    for (const entry of list) {
      if (isMap(entry) && entry.name === name && isMap(entry[field])) return entry[field] as Yaml;
    }
  }
  throw arg(`kubeconfig.${field}s`, `kubeconfig ${file}: ${field} ${JSON.stringify(name)} not found`);
}

/**
 * Read a kubeconfig file and resolve one context to source options: server, CA (data or file),
 * `insecure-skip-tls-verify`, `tls-server-name`, and the user's token, token file or client
 * certificate/key (data or file). Relative file paths are resolved against the kubeconfig's folder.
 * Users with an exec plugin (`aws eks get-token`, `gke-gcloud-auth-plugin`) or an auth provider (OIDC) get a
 * `credentials` provider backed by the optional peer `@kubernetes/client-node`, imported only then; without it
 * they throw an {@link InvalidArgumentError} naming the user, the method and the install command. Basic auth
 * is not supported.
 *
 * @example
 * ```ts
 * const { options } = await kubeconfigOptions({ context: 'kind-dev' })
 * ```
 */
export async function kubeconfigOptions(
  options: KubeconfigOptions = {},
  /** @internal A seam for tests: how `@kubernetes/client-node` is loaded. */
  internals: { readonly importClientNode?: ClientNodeImporter } = {},
): Promise<KubeconfigResult> {
  if (typeof options !== 'object' || options === null) {
    throw arg('options', `kubernetes source: fromKubeconfig options must be an object, got ${describe(options)}`);
  }
  const { path: givenPath, context: givenContext, env = process.env, ...rest } = options;
  const fromEnv = env.KUBECONFIG?.split(delimiter).find((p) => p !== '');
  const file = resolve(givenPath ?? fromEnv ?? join(homedir(), '.kube', 'config'));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw arg('path', `kubeconfig ${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let doc: unknown;
  try {
    // logLevel 'error': the parser's warnings (an unknown `!tag`) quote the line, which may hold a token,
    // on stderr (found by fuzzing); errors are thrown and handled below.
    doc = parseYaml(text, { logLevel: 'error' });
  } catch {
    // The YAML parser's message may quote file content (tokens): keep only the fact.
    throw arg('path', `kubeconfig ${file}: not valid YAML`);
  }
  if (!isMap(doc)) throw arg('path', `kubeconfig ${file}: not a kubeconfig (expected a mapping)`);
  const contextName = givenContext ?? (typeof doc['current-context'] === 'string' ? doc['current-context'] : undefined);
  if (!contextName) throw arg('context', `kubeconfig ${file}: no context given and no current-context set`);
  const context = named(doc.contexts, contextName, 'context', file);
  if (typeof context.cluster !== 'string')
    throw arg('context', `kubeconfig ${file}: context ${contextName} names no cluster`);
  const cluster = named(doc.clusters, context.cluster, 'cluster', file);
  const userName = typeof context.user === 'string' ? context.user : undefined;
  const user = userName === undefined ? {} : named(doc.users, userName, 'user', file);
  const base = dirname(file);
  const path = (v: unknown): string | undefined =>
    typeof v === 'string' && v !== '' ? (isAbsolute(v) ? v : join(base, v)) : undefined;
  const data = (v: unknown, what: string): Buffer | undefined => {
    if (typeof v !== 'string' || v === '') return undefined;
    const buf = Buffer.from(v, 'base64');
    if (buf.length === 0) throw arg(`kubeconfig.${what}`, `kubeconfig ${file}: ${what} is not base64`);
    return buf;
  };
  if (typeof cluster.server !== 'string')
    throw arg('context', `kubeconfig ${file}: cluster ${context.cluster} has no server`);

  if (user.username !== undefined || user.password !== undefined) {
    throw arg(
      `kubeconfig.users.${userName}.basic`,
      `kubeconfig ${file}: user ${JSON.stringify(userName)} uses basic authentication, which KubernetesSource does not support: use a token (kubectl create token), a token file or a client certificate`,
    );
  }
  const method =
    user.exec !== undefined && user.exec !== null
      ? 'exec'
      : user['auth-provider'] !== undefined && user['auth-provider'] !== null
        ? 'auth-provider'
        : undefined;

  const out: Record<string, unknown> = { ...rest, server: cluster.server };
  if (method !== undefined && rest.credentials === undefined) {
    // client-node reads the whole file again (it needs the plugin's settings and keeps its own caches); the
    // cluster part (server, CA, TLS name) stays ours. A static token or certificate of the user is then
    // applied by client-node too, so those keys are not set here.
    out.credentials = await kubeconfigCredentialProvider({
      file,
      context: contextName,
      user: userName ?? '',
      method,
      now: typeof rest.now === 'function' ? rest.now : Date.now,
      importer: internals.importClientNode ?? importClientNode,
    });
  }
  const setOnce = (key: string, value: unknown) => {
    if (value !== undefined && out[key] === undefined) out[key] = value;
  };
  setOnce('ca', data(cluster['certificate-authority-data'], 'certificate-authority-data'));
  setOnce('caFile', out.ca === undefined ? path(cluster['certificate-authority']) : undefined);
  if (cluster['insecure-skip-tls-verify'] === true) setOnce('insecureSkipTlsVerify', true);
  if (typeof cluster['tls-server-name'] === 'string') setOnce('tlsServerName', cluster['tls-server-name']);
  if (out.credentials === undefined) {
    if (typeof user.token === 'string' && user.token !== '') setOnce('token', user.token);
    else setOnce('tokenFile', path(user.tokenFile));
    setOnce('cert', data(user['client-certificate-data'], 'client-certificate-data'));
    setOnce('certFile', out.cert === undefined ? path(user['client-certificate']) : undefined);
    setOnce('key', data(user['client-key-data'], 'client-key-data'));
    setOnce('keyFile', out.key === undefined ? path(user['client-key']) : undefined);
  }
  const ns = typeof context.namespace === 'string' && context.namespace !== '' ? context.namespace : undefined;
  return { options: out as unknown as KubernetesSourceOptions, namespace: ns };
}

/** The URL without userinfo, for messages (got's `stripUrlAuth`). */
function redactUrl(value: string): string {
  return value.replace(/\/\/[^/@]*@/, '//');
}
