// ① Name: Kubernetes naming rules for Services, namespaces and ports (spec §3,
// kubernetes/apimachinery validation.go). Consumes a name; throws `InvalidNameError` naming the rule.

import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { InvalidNameError, type NameKind } from '../errors/invalid-name-error.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const MAX_LABEL = 63;
const MAX_IANA_SVC_NAME = 15;

const DNS1123_MESSAGE =
  "must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')";
const DNS1035_MESSAGE =
  "must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123')";

/** Options of {@link validateServiceName}. */
export interface ServiceNameOptions {
  /**
   * Enforce DNS-1035 (a leading digit is rejected), as API servers without
   * `RelaxedServiceNameValidation` do. Default false: DNS-1123 label (KEP-5311).
   */
  readonly strict?: boolean;
}

/**
 * Validate a Service name: a DNS-1123 label (relaxed, the default) or a DNS-1035 label (`strict`).
 *
 * @example
 * ```ts
 * validateServiceName('backend-service') // ok
 * validateServiceName('My-Svc')          // throws InvalidNameError: service name "My-Svc": must consist of ...
 * validateServiceName('1abc', { strict: true }) // throws: ... start with an alphabetic character ...
 * ```
 */
export function validateServiceName(name: string, options: ServiceNameOptions = {}): void {
  if (options.strict === true) checkLabel('service name', name, DNS1035_LABEL, DNS1035_MESSAGE);
  else checkLabel('service name', name, DNS1123_LABEL, DNS1123_MESSAGE);
}

/**
 * Validate a namespace name (DNS-1123 label, at most 63 characters).
 *
 * @example
 * ```ts
 * validateNamespace('kube-system') // ok
 * ```
 */
export function validateNamespace(name: string): void {
  checkLabel('namespace', name, DNS1123_LABEL, DNS1123_MESSAGE);
}

/**
 * Validate a Service port name (`spec.ports[].name`): a DNS-1123 label. The empty string is the
 * name of a single unnamed port and is accepted.
 *
 * @example
 * ```ts
 * validateServicePortName('http-metrics') // ok
 * ```
 */
export function validateServicePortName(name: string): void {
  if (name === '') return;
  checkLabel('port name', name, DNS1123_LABEL, DNS1123_MESSAGE);
}

/**
 * Validate a target/container port name (IANA_SVC_NAME, `IsValidPortName`): at most 15
 * characters of `a-z`, `0-9` and `-`, at least one letter, no `--`, no leading or trailing `-`.
 *
 * @example
 * ```ts
 * validatePortName('grpc') // ok
 * validatePortName('http--x') // throws: target port name "http--x": must not contain consecutive hyphens
 * ```
 */
export function validatePortName(name: string): void {
  const kind: NameKind = 'target port name';
  if (typeof name !== 'string' || name === '') throw new InvalidNameError(kind, String(name), 'must not be empty');
  const reasons: string[] = [];
  if (name.length > MAX_IANA_SVC_NAME) {
    reasons.push(`must be no more than ${MAX_IANA_SVC_NAME} characters, got ${name.length}`);
  }
  if (!/^[-a-z0-9]+$/.test(name))
    reasons.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (name.includes('--')) reasons.push('must not contain consecutive hyphens');
  if (!/[a-z]/.test(name)) reasons.push('must contain at least one letter (a-z)');
  if (name.startsWith('-') || name.endsWith('-')) reasons.push('must not begin or end with a hyphen');
  if (reasons.length > 0) throw new InvalidNameError(kind, name, reasons.join('; '));
}

/**
 * Validate a port number (1–65535).
 *
 * @example
 * ```ts
 * validatePortNumber(65536) // throws InvalidArgumentError: port must be between 1 and 65535, inclusive, got 65536
 * ```
 */
export function validatePortNumber(port: number, option = 'port'): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(option, `${option} must be between 1 and 65535, inclusive, got ${String(port)}`);
  }
}

/**
 * True when `value` is a DNS-1123 label (at most 63 lowercase alphanumerics or '-', alphanumeric at
 * both ends): what every namespace and Service name is, so anything else names nothing.
 *
 * @example
 * ```ts
 * isDns1123Label('my-svc') // true
 * isDns1123Label('my_svc') // false
 * ```
 */
export function isDns1123Label(value: string): boolean {
  return value.length <= MAX_LABEL && DNS1123_LABEL.test(value);
}

function checkLabel(kind: NameKind, name: string, pattern: RegExp, message: string): void {
  if (typeof name !== 'string' || name === '') throw new InvalidNameError(kind, String(name), 'must not be empty');
  const reasons: string[] = [];
  if (name.length > MAX_LABEL) reasons.push(`must be no more than ${MAX_LABEL} characters, got ${name.length}`);
  if (!pattern.test(name)) reasons.push(message);
  if (reasons.length > 0) throw new InvalidNameError(kind, name, reasons.join('; '));
}
