// CLI: exit codes that scripts can rely on, and the mapping from typed errors to them.
// Consumes ClusterIPErrors (by `code`); produces a process exit status.

import { ClusterIPError } from '@clusterip/resolver';

/**
 * Exit statuses of every `clusterip` command:
 * - 0: ok;
 * - 1: the command worked and found problems (`doctor` failed a check, `endpoints` found no usable
 *   endpoint), or an unexpected failure;
 * - 2: usage error (unknown flag, bad value, malformed name);
 * - 3: cannot reach the API server / cluster (no kubeconfig, connection refused, 401/403);
 * - 4: not found (no such Service, or no such port on it).
 *
 * @example
 * ```ts
 * if (code === EXIT.notFound) console.error('no such Service')
 * ```
 */
export const EXIT = Object.freeze({ ok: 0, problems: 1, usage: 2, unreachable: 3, notFound: 4 });

const kExit = Symbol('clusterip.cli.exit');

/**
 * Attach an exit status to an error (when its code alone does not decide, e.g. a bad kubeconfig).
 *
 * @example
 * ```ts
 * throw withExit(new InvalidArgumentError('kubeconfig', 'clusterip: no cluster configured'), EXIT.unreachable)
 * ```
 */
export function withExit<E extends Error>(error: E, exit: number): E {
  Object.defineProperty(error, kExit, { value: exit, enumerable: false });
  return error;
}

/**
 * The exit status for a failure.
 *
 * @example
 * ```ts
 * exitCodeFor(new ServiceNotFoundError('web', [])) // 4
 * ```
 */
export function exitCodeFor(error: unknown): number {
  const attached = (error as { [kExit]?: unknown } | null)?.[kExit];
  if (typeof attached === 'number') return attached;
  if (!(error instanceof ClusterIPError)) return EXIT.problems;
  switch (error.code) {
    case 'CLUSTERIP_ERR_INVALID_ARG':
    case 'CLUSTERIP_ERR_INVALID_NAME':
      return EXIT.usage;
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
