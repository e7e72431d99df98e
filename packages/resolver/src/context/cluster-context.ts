// ② Service identity: where this process runs — namespace, cluster domain, resolver config, node,
// zone, pod IP. Consumes the service-account file, env and resolv.conf; produces `ClusterContext`.

import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { type DnsConfig, parseResolvConf } from '../name/resolv-conf.js';
import { stripTrailingDot, validateDnsName } from '../name/search-candidates.js';
import { validateNamespace } from '../name/validate-names.js';

/** Default path of the service-account namespace file. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
/** Default path of the resolver configuration. */
export const RESOLV_CONF_FILE = '/etc/resolv.conf';
/** kubelet's limits on a pod's search list (spec §2.1). */
const MAX_SEARCH_PATHS = 32;
const MAX_SEARCH_LIST_CHARS = 2048;
/** The conventional cluster domain. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** Where the process runs, as far as name resolution and endpoint choice are concerned. */
export interface ClusterContext {
  /** The pod's namespace: the namespace bare Service names resolve in. */
  readonly namespace: string;
  /** The cluster domain, e.g. `cluster.local`. */
  readonly clusterDomain: string;
  /** Resolver configuration (nameservers, search list, ndots). */
  readonly dns: DnsConfig;
  /** This pod's node (`spec.nodeName`), for `internalTrafficPolicy: Local` and node hints. */
  readonly nodeName?: string;
  /** This node's `topology.kubernetes.io/zone`, for zone hints. */
  readonly zone?: string;
  /** This pod's IP: the default session-affinity key (what kube-proxy sees as the client IP). */
  readonly podIP?: string;
  /** Where each value came from, for diagnostics (`clusterip doctor`). */
  readonly origin: {
    readonly namespace: 'option' | 'env' | 'service-account' | 'search' | 'default';
    readonly clusterDomain: 'option' | 'search' | 'default';
    /** `file`: the pod's resolv.conf; `synthesized`: built as kubelet would for a ClusterFirst pod. */
    readonly dns: 'option' | 'file' | 'synthesized';
  };
}

/** Options of {@link detectClusterContext}: every input can be overridden. */
export interface DetectClusterContextOptions {
  readonly namespace?: string;
  readonly clusterDomain?: string;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly podIP?: string;
  /** Use this resolver configuration as is. */
  readonly dns?: DnsConfig;
  /** resolv.conf text to parse instead of reading `resolvConfPath`. */
  readonly resolvConf?: string;
  /** Default `/etc/resolv.conf`. */
  readonly resolvConfPath?: string;
  /** Default the service-account namespace file. */
  readonly namespaceFile?: string;
  /** Environment to read (`POD_NAMESPACE`, `NODE_NAME`, `POD_IP`, ...). Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const OPTION_KEYS = new Set([
  'namespace',
  'clusterDomain',
  'nodeName',
  'zone',
  'podIP',
  'dns',
  'resolvConf',
  'resolvConfPath',
  'namespaceFile',
  'env',
]);

/**
 * Detect the cluster context of this process.
 *
 * - namespace: option, else `POD_NAMESPACE` (then `NAMESPACE`, `KUBERNETES_NAMESPACE`), else the
 *   service-account namespace file, else the first `<ns>.svc.<zone>` search entry, else `default`.
 *   The variable wins over the file as in client-go's `inClusterClientConfig.Namespace` (spec §9.4).
 * - cluster domain: option, else derived from the search list (`svc.<zone>`), else `cluster.local`.
 * - dns: option, else resolv.conf. When resolv.conf is not a pod's (no `<ns>.svc.<zone>` entry,
 *   e.g. on a laptop), the search list and ndots are synthesized exactly as kubelet writes them for a
 *   `ClusterFirst` pod (spec §2.1), so names resolve as they would inside the cluster.
 * - nodeName `NODE_NAME`, zone `NODE_ZONE`, pod IP `POD_IP` (else the first non-internal interface address).
 *
 * @example
 * ```ts
 * const ctx = await detectClusterContext()
 * // { namespace: 'prod', clusterDomain: 'cluster.local', dns: { search: ['prod.svc.cluster.local', ...], ndots: 5 } }
 * ```
 */
export async function detectClusterContext(options: DetectClusterContextOptions = {}): Promise<ClusterContext> {
  validateClusterContextOptions(options);
  const env = options.env ?? process.env;
  const fileDns =
    options.dns ??
    parseResolvConf(options.resolvConf ?? (await readOptional(options.resolvConfPath ?? RESOLV_CONF_FILE)) ?? '');
  const fromSearch = podSearchEntry(fileDns.search);

  let clusterDomain: string;
  let domainOrigin: ClusterContext['origin']['clusterDomain'];
  if (options.clusterDomain !== undefined) {
    validateDnsName(options.clusterDomain, 'cluster domain');
    clusterDomain = stripTrailingDot(options.clusterDomain.toLowerCase());
    domainOrigin = 'option';
  } else if (fromSearch !== undefined) {
    clusterDomain = fromSearch.zone;
    domainOrigin = 'search';
  } else {
    clusterDomain = DEFAULT_CLUSTER_DOMAIN;
    domainOrigin = 'default';
  }

  let namespace: string | undefined;
  let nsOrigin: ClusterContext['origin']['namespace'] = 'default';
  const envNamespace = env.POD_NAMESPACE || env.NAMESPACE || env.KUBERNETES_NAMESPACE;
  if (options.namespace !== undefined) {
    namespace = options.namespace;
    nsOrigin = 'option';
  } else if (envNamespace) {
    namespace = envNamespace.trim();
    nsOrigin = 'env';
  } else {
    const file = (await readOptional(options.namespaceFile ?? SERVICE_ACCOUNT_NAMESPACE_FILE))?.trim();
    if (file) {
      namespace = file;
      nsOrigin = 'service-account';
    } else if (fromSearch?.namespace !== undefined) {
      namespace = fromSearch.namespace;
      nsOrigin = 'search';
    }
  }
  namespace ??= 'default';
  validateNamespace(namespace);

  let dns = fileDns;
  let dnsOrigin: ClusterContext['origin']['dns'] = options.dns === undefined ? 'file' : 'option';
  if (options.dns === undefined && fromSearch === undefined) {
    dns = synthesizeClusterFirst(fileDns, namespace, clusterDomain);
    dnsOrigin = 'synthesized';
  }

  const nodeName = options.nodeName ?? (env.NODE_NAME || undefined);
  const zone = options.zone ?? (env.NODE_ZONE || undefined);
  const podIP = options.podIP ?? (env.POD_IP || firstInterfaceAddress());
  return Object.freeze({
    namespace,
    clusterDomain,
    dns,
    ...(nodeName === undefined ? {} : { nodeName }),
    ...(zone === undefined ? {} : { zone }),
    ...(podIP === undefined ? {} : { podIP }),
    origin: Object.freeze({ namespace: nsOrigin, clusterDomain: domainOrigin, dns: dnsOrigin }),
  });
}

const STRING_KEYS = [
  'namespace',
  'clusterDomain',
  'nodeName',
  'zone',
  'podIP',
  'resolvConf',
  'resolvConfPath',
  'namespaceFile',
];

/**
 * Check options for {@link detectClusterContext} without reading anything: unknown keys, values of the
 * wrong type, and a `namespace` or `clusterDomain` that breaks the naming rules. `Resolver` and the SDK's
 * `Mesh` call it in their constructors, so a misspelt context fails there rather than at the first
 * request. `path` prefixes the option names in messages (`context` gives `context.namespaces`). Types are
 * checked before anything is read (found by fuzzing: `{ dns: 0 }` was a TypeError).
 *
 * @example
 * ```ts
 * validateClusterContextOptions({ namespaces: 'shop' }, 'context')
 * // throws InvalidArgumentError: context.namespaces: unexpected option (known: namespace, clusterDomain, ...)
 * ```
 */
export function validateClusterContextOptions(options: unknown, path?: string): void {
  const at = (key: string) => (path === undefined ? key : `${path}.${key}`);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(
      path ?? 'options',
      `${path ?? 'detectClusterContext options'} must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`,
    );
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.has(key)) {
      throw new InvalidArgumentError(
        at(key),
        path === undefined
          ? `unexpected option ${JSON.stringify(key)} of detectClusterContext`
          : `${at(key)}: unexpected option (known: ${[...OPTION_KEYS].join(', ')})`,
      );
    }
    const value = o[key];
    if (value === undefined) continue;
    if (STRING_KEYS.includes(key) && typeof value !== 'string') {
      throw new InvalidArgumentError(at(key), `${at(key)} must be a string, got ${typeof value}`);
    }
  }
  if (o.env !== undefined && (typeof o.env !== 'object' || o.env === null)) {
    throw new InvalidArgumentError(
      at('env'),
      `${at('env')} must be an object of environment variables, got ${typeof o.env}`,
    );
  }
  if (o.dns !== undefined) {
    const dns = o.dns as Partial<Record<keyof DnsConfig, unknown>> | null;
    const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (
      typeof dns !== 'object' ||
      dns === null ||
      !strings(dns.nameservers) ||
      !strings(dns.search) ||
      typeof dns.ndots !== 'number' ||
      !Number.isInteger(dns.ndots) ||
      dns.ndots < 0
    ) {
      throw new InvalidArgumentError(
        at('dns'),
        `${at('dns')} must be a DnsConfig ({ nameservers, search, ndots, ... }), e.g. from parseResolvConf()`,
      );
    }
  }
  if (typeof o.namespace === 'string') validateNamespace(o.namespace);
  if (typeof o.clusterDomain === 'string') validateDnsName(o.clusterDomain, 'cluster domain');
}

/** A whole {@link ClusterContext} (as `detectClusterContext` returns it), not options to detect one. */
export function isClusterContext(value: unknown): value is ClusterContext {
  return typeof value === 'object' && value !== null && 'dns' in value && 'origin' in value;
}

/**
 * The resolver configuration kubelet writes for a `ClusterFirst` pod (spec §2.1): search
 * `<ns>.svc.<zone> svc.<zone> <zone>` followed by the node's domains without duplicates, at most 32
 * domains and 2048 characters (cut from the end), `ndots:5`, and the node's other options discarded.
 *
 * @example
 * ```ts
 * synthesizeClusterFirst(parseResolvConf('search corp.example'), 'prod', 'cluster.local').search
 * // ['prod.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example']
 * ```
 */
export function synthesizeClusterFirst(node: DnsConfig, namespace: string, clusterDomain: string): DnsConfig {
  const search: string[] = [];
  for (const entry of [`${namespace}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain, ...node.search]) {
    const domain = stripTrailingDot(entry);
    if (domain !== '' && !search.includes(domain)) search.push(domain);
  }
  // kubelet's limits (formDNSSearchFitsLimits): 32 domains, then domains cut from the end until the
  // space-joined line has at most 2048 characters (MaxDNSSearchPaths, MaxDNSSearchListChars).
  const kept = search.slice(0, MAX_SEARCH_PATHS);
  let chars = kept.join(' ').length;
  while (chars > MAX_SEARCH_LIST_CHARS) chars -= kept.pop()!.length + 1;
  return Object.freeze({
    nameservers: node.nameservers,
    search: Object.freeze(kept),
    ndots: 5,
    options: Object.freeze({ ndots: '5' }),
    timeoutSeconds: node.timeoutSeconds,
    attempts: node.attempts,
  });
}

/** The `<ns>.svc.<zone>` entry a ClusterFirst pod has first in its search list. */
function podSearchEntry(search: readonly string[]): { namespace?: string; zone: string } | undefined {
  for (const entry of search) {
    const labels = stripTrailingDot(entry.toLowerCase()).split('.');
    // The second label, not the first `svc`: a namespace may itself be named `svc` (svc.svc.<zone>).
    if (labels[1] === 'svc' && labels.length > 2 && isZone(labels.slice(2))) {
      return { namespace: labels[0]!, zone: labels.slice(2).join('.') };
    }
  }
  for (const entry of search) {
    const labels = stripTrailingDot(entry.toLowerCase()).split('.');
    if (labels[0] === 'svc' && labels.length > 1 && isZone(labels.slice(1))) return { zone: labels.slice(1).join('.') };
  }
  return undefined;
}

/** A malformed entry (`a.svc..`, found by fuzzing) must not make the cluster domain empty or invalid. */
function isZone(labels: readonly string[]): boolean {
  try {
    validateDnsName(labels.join('.'), 'cluster domain');
    return true;
  } catch {
    return false;
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

function firstInterfaceAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (!info.internal && info.family === 'IPv4') return info.address;
  }
  return undefined;
}
