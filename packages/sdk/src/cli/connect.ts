// CLI: the connection every command uses — a KubernetesSource (kubeconfig or in-cluster), a
// KubeApiReader on the same credentials, a Resolver with this client's context (namespace, search
// list, node, zone). Consumes the shared flags and environment; produces a `ClusterConnection`.

import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import {
  type ClusterContext,
  detectClusterContext,
  KubeApiReader,
  KubernetesSource,
  parseResolvConf,
  Resolver,
  readNodeZone,
  synthesizeClusterFirst,
} from '@clusterip/resolver';
import type { ClientTopology } from '../eligibility/eligibility.js';
import { ClusterConfigError } from '../errors/cluster-config-error.js';
import type { CommonOptions } from './args.js';
import type { CliIo } from './io.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
/** A CLI should answer or fail within seconds, not the library's 30 s. */
const REQUEST_TIMEOUT_MS = 10_000;

/** How the CLI reaches the cluster, and who "this client" is. */
export interface ClusterConnection {
  readonly source: KubernetesSource;
  readonly reader: KubeApiReader;
  readonly resolver: Resolver;
  /** Namespace, search list and topology of this client. */
  readonly context: ClusterContext;
  readonly namespace: string;
  readonly client: ClientTopology;
  /** Where the configuration came from. */
  readonly via: 'kubeconfig' | 'in-cluster';
  /** Close the resolver, the reader and the source (children first). Idempotent. */
  close(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Open the connection: `--kubeconfig`/`--context` when given; else the in-cluster service account
 * in a pod; else `$KUBECONFIG` or `~/.kube/config`. Configuration failures throw ClusterConfigError
 * (`CLUSTERIP_ERR_CLUSTER_CONFIG`, exit 3).
 *
 * @example
 * ```ts
 * const conn = await connect(args.common, io)
 * try { await resolveModel(conn, 'web') } finally { await conn.close() }
 * ```
 */
export async function connect(common: CommonOptions, io: CliIo): Promise<ClusterConnection> {
  const env = io.env;
  const nodeName = common.node ?? (env.NODE_NAME || undefined);
  const sourceOptions = {
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    env,
    ...(nodeName === undefined ? {} : { nodeName }),
  };
  let source: KubernetesSource;
  let via: ClusterConnection['via'];
  let kubeconfig = common.kubeconfig === undefined ? undefined : resolve(io.cwd, common.kubeconfig);
  try {
    if (common.kubeconfig !== undefined || common.context !== undefined) {
      source = await KubernetesSource.fromKubeconfig({
        ...sourceOptions,
        ...(kubeconfig === undefined ? {} : { path: kubeconfig }),
        ...(common.context === undefined ? {} : { context: common.context }),
      });
      via = 'kubeconfig';
    } else if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && (await exists(SERVICE_ACCOUNT_TOKEN))) {
      source = KubernetesSource.inCluster(sourceOptions);
      via = 'in-cluster';
    } else {
      const path =
        env.KUBECONFIG?.split(delimiter).find((p) => p !== '') ?? join(env.HOME ?? homedir(), '.kube', 'config');
      kubeconfig = resolve(io.cwd, path);
      if (!(await exists(path))) {
        throw new ClusterConfigError(
          `clusterip: no cluster configured: no kubeconfig at ${path} and not in a pod: pass --kubeconfig <file> or set KUBECONFIG`,
          kubeconfig,
        );
      }
      source = await KubernetesSource.fromKubeconfig({ ...sourceOptions, path: kubeconfig });
      via = 'kubeconfig';
    }
  } catch (err) {
    // Whatever stops the configuration (the reader throws InvalidArgumentError) is one failure mode of the
    // CLI, with its own code and exit status 3, not a usage error (2).
    if (err instanceof ClusterConfigError) throw err;
    throw new ClusterConfigError(err instanceof Error ? err.message : String(err), kubeconfig, { cause: err });
  }
  const namespace = common.namespace ?? source.namespace ?? 'default';
  const reader = new KubeApiReader(source);
  try {
    // Fail fast (exit 3) when the server is unreachable or refuses the credentials, before any watch
    // starts retrying with backoff. `/version` is readable by every authenticated client.
    await reader.get('/version');
  } catch (err) {
    await reader.close();
    await source.close();
    throw err;
  }
  let zone = common.zone ?? (env.NODE_ZONE || undefined);
  if (zone === undefined && nodeName !== undefined) zone = await readNodeZone(source, nodeName);
  // The search list a pod of `namespace` gets from kubelet (ClusterFirst), whatever this machine's
  // resolv.conf says: the CLI answers "what would a client in that namespace see".
  const detected = await detectClusterContext({ namespace, env: {}, ...(nodeName === undefined ? {} : { nodeName }) });
  const context: ClusterContext = Object.freeze({
    ...detected,
    dns: synthesizeClusterFirst(parseResolvConf(''), namespace, detected.clusterDomain),
    ...(zone === undefined ? {} : { zone }),
  });
  const resolver = new Resolver({ source, context });
  const client: ClientTopology = Object.freeze({
    ...(nodeName === undefined ? {} : { nodeName }),
    ...(zone === undefined ? {} : { zone }),
  });
  let closing: Promise<void> | undefined;
  return {
    source,
    reader,
    resolver,
    context,
    namespace,
    client,
    via,
    close() {
      closing ??= (async () => {
        await resolver.close();
        await reader.close();
        await source.close();
      })();
      return closing;
    },
  };
}
