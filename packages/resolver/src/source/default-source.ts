// ③ Endpoint source: the source a process gets when it does not choose one — the Kubernetes API in
// a pod, the kubeconfig's cluster on a workstation, else cluster DNS. Produces a source and why.

import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import type { EndpointSource } from './endpoint-source.js';
import { DnsSource } from './endpoint-source-dns.js';
import { KubernetesSource } from './endpoint-source-kubernetes/endpoint-source-kubernetes.js';

/** Where the default source came from. */
export type DefaultSourceKind = 'in-cluster' | 'kubeconfig' | 'dns';

/** Options of {@link createDefaultSource}. */
export interface DefaultSourceOptions {
  /** Environment to read; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Service-account token file; default the in-cluster path. */
  readonly tokenFile?: string;
  /** This pod's node, for `internalTrafficPolicy: Local` tie-breaking in the Kubernetes source. */
  readonly nodeName?: string;
}

/** The chosen source, its kind, and the namespace its configuration names (if any). */
export interface DefaultSource {
  readonly source: EndpointSource;
  readonly kind: DefaultSourceKind;
  /** Namespace from the service account or the kubeconfig context, when there is one. */
  readonly namespace?: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Choose a source the way users expect: inside a pod (`KUBERNETES_SERVICE_HOST` set and a
 * service-account token present) the Kubernetes API with the pod's service account; else the
 * current kubeconfig context when `$KUBECONFIG` or `~/.kube/config` exists; else DNS through the
 * nameservers of `/etc/resolv.conf` (no API permissions needed).
 *
 * @example
 * ```ts
 * const { source, kind } = await createDefaultSource()
 * const resolver = new Resolver({ source })
 * ```
 */
export async function createDefaultSource(options: DefaultSourceOptions = {}): Promise<DefaultSource> {
  for (const key of Object.keys(options)) {
    if (key !== 'env' && key !== 'tokenFile' && key !== 'nodeName') {
      throw new InvalidArgumentError(key, `unexpected option ${JSON.stringify(key)} of createDefaultSource`);
    }
  }
  const env = options.env ?? process.env;
  const tokenFile = options.tokenFile ?? SERVICE_ACCOUNT_TOKEN;
  const node = options.nodeName === undefined ? {} : { nodeName: options.nodeName };
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && (await exists(tokenFile))) {
    const source = KubernetesSource.inCluster({ env, tokenFile, ...node });
    return withNamespace(source, 'in-cluster');
  }
  const kubeconfig =
    env.KUBECONFIG?.split(delimiter).find((p) => p !== '') ?? join(env.HOME ?? homedir(), '.kube', 'config');
  if (await exists(kubeconfig)) {
    const source = await KubernetesSource.fromKubeconfig({ path: kubeconfig, env, ...node });
    return withNamespace(source, 'kubeconfig');
  }
  return { source: new DnsSource(), kind: 'dns' };
}

function withNamespace(source: KubernetesSource, kind: DefaultSourceKind): DefaultSource {
  return source.namespace === undefined ? { source, kind } : { source, kind, namespace: source.namespace };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
