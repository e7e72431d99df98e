// Errors: the `clusterip` CLI cannot tell which cluster to talk to, or how (kubeconfig, in-cluster account).

import { ClusterIPError, type ClusterIPErrorOptions } from '@clusterip/resolver';

/**
 * No usable cluster configuration: no kubeconfig and not in a pod, or the kubeconfig (or in-cluster
 * service account) cannot be read or used (unreadable file, bad YAML, unknown context, an auth plugin
 * that needs `@kubernetes/client-node`). The CLI exits with 3, as for an unreachable API server. `cause`
 * holds the error of the kubeconfig reader when there is one; `kubeconfig` is the file tried.
 *
 * @example
 * ```ts
 * // clusterip: no cluster configured: no kubeconfig at /home/me/.kube/config and not in a pod: pass --kubeconfig <file> or set KUBECONFIG
 * // kubeconfig /tmp/nope: cannot read: ENOENT
 * if (err.code === 'CLUSTERIP_ERR_CLUSTER_CONFIG') process.exitCode = 3
 * ```
 */
export class ClusterConfigError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_CLUSTER_CONFIG';
  /** The kubeconfig file tried, if any (undefined for the in-cluster service account). */
  readonly kubeconfig: string | undefined;

  constructor(message: string, kubeconfig: string | undefined, options?: ClusterIPErrorOptions) {
    super(message, options);
    this.name = 'ClusterConfigError';
    this.kubeconfig = kubeconfig;
  }
}
