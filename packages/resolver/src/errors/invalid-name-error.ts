// Errors: a Service, namespace, port or DNS name breaks a Kubernetes naming rule.

import { ClusterIPError, type ClusterIPErrorOptions } from './clusterip-error.js';

/** What kind of name was rejected. */
export type NameKind =
  | 'service name'
  | 'namespace'
  | 'port name'
  | 'target port name'
  | 'dns name'
  | 'cluster domain'
  | 'target';

/**
 * A name breaks a Kubernetes (or DNS) naming rule; the message says which rule.
 *
 * @example
 * ```ts
 * validateServiceName('My-Svc') // throws: service name "My-Svc": must consist of lower case ...
 * ```
 */
export class InvalidNameError extends ClusterIPError {
  override readonly code = 'CLUSTERIP_ERR_INVALID_NAME';
  /** The rejected value. */
  readonly value: string;
  /** The kind of name. */
  readonly kind: NameKind;

  constructor(kind: NameKind, value: string, reason: string, options?: ClusterIPErrorOptions) {
    super(`${kind} ${JSON.stringify(value)}: ${reason}`, options);
    this.name = 'InvalidNameError';
    this.kind = kind;
    this.value = value;
  }
}
