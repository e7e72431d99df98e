// CLI: exit codes that scripts can rely on, and the mapping from typed errors to them.
// Consumes ClusterIPErrors (by `code`); produces a process exit status.

import { ClusterIPError } from '@clusterip/resolver';

/**
 * Exit statuses of every `clusterip` command, decided by the error's `code` alone (the README's
 * table lists the codes of each):
 * - 0: ok;
 * - 1: the command worked and found problems (`doctor` failed a check, `endpoints` found no usable
 *   endpoint), or an unexpected failure;
 * - 2: usage error (unknown flag, bad value, malformed name): `CLUSTERIP_ERR_INVALID_ARG`,
 *   `CLUSTERIP_ERR_INVALID_NAME`;
 * - 3: cannot reach the API server / cluster: no usable kubeconfig (`CLUSTERIP_ERR_CLUSTER_CONFIG`),
 *   connection refused or 401/403 (`CLUSTERIP_ERR_API_REQUEST`), a failed watch or DNS lookup
 *   (`CLUSTERIP_ERR_WATCH_FAILED`, `CLUSTERIP_ERR_DNS_UNAVAILABLE`);
 * - 4: not found (no such Service, or no such port on it): `CLUSTERIP_ERR_SERVICE_NOT_FOUND`,
 *   `CLUSTERIP_ERR_PORT_NOT_FOUND`.
 *
 * @example
 * ```ts
 * if (code === EXIT.notFound) console.error('no such Service')
 * ```
 */
export const EXIT = Object.freeze({ ok: 0, problems: 1, usage: 2, unreachable: 3, notFound: 4 });

/**
 * The exit status for a failure.
 *
 * @example
 * ```ts
 * exitCodeFor(new ServiceNotFoundError('web', [])) // 4
 * ```
 */
export function exitCodeFor(error: unknown): number {
  if (!(error instanceof ClusterIPError)) return EXIT.problems;
  switch (error.code) {
    case 'CLUSTERIP_ERR_INVALID_ARG':
    case 'CLUSTERIP_ERR_INVALID_NAME':
      return EXIT.usage;
    case 'CLUSTERIP_ERR_CLUSTER_CONFIG':
    case 'CLUSTERIP_ERR_API_REQUEST':
    case 'CLUSTERIP_ERR_WATCH_FAILED':
    case 'CLUSTERIP_ERR_DNS_UNAVAILABLE':
      return EXIT.unreachable;
    case 'CLUSTERIP_ERR_SERVICE_NOT_FOUND':
    case 'CLUSTERIP_ERR_PORT_NOT_FOUND':
      return EXIT.notFound;
    default:
      return EXIT.problems;
  }
}

/**
 * The exit-code paragraph of every `--help`.
 *
 * @example
 * ```ts
 * io.stdout(`${WATCH_HELP}`) // ends with EXIT_HELP
 * ```
 */
export const EXIT_HELP = `Exit codes:
  0  ok
  1  problems found (doctor failed a check, no usable endpoints)
  2  usage error
  3  cannot reach the API server / cluster
  4  not found (Service or port)`;
