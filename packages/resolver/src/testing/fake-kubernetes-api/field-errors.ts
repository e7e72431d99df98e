// Fake Kubernetes API: apimachinery-style field errors (`spec.ports[0].port: Invalid value: 0: ...`).
// Consumes validation findings; produces `StatusCause` entries for a 422 Invalid Status.

import { isDns1123Label } from '../../name/validate-names.js';
import type { StatusCause } from './api-status.js';

/** Collects field errors in the order they are found. */
export class FieldErrors {
  readonly causes: StatusCause[] = [];

  required(field: string): void {
    this.causes.push({ reason: 'FieldValueRequired', message: 'Required value', field });
  }

  invalid(field: string, value: unknown, why: string): void {
    this.causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
      field,
    });
  }

  notSupported(field: string, value: unknown, supported: readonly string[]): void {
    this.causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
      field,
    });
  }

  duplicate(field: string, value: unknown): void {
    this.causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(value)}`, field });
  }

  forbidden(field: string, why: string): void {
    this.causes.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${why}`, field });
  }
}

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** RFC 1123 label: lower-case alphanumerics and '-', at most 63 characters (the client's own rule). */
export { isDns1123Label };

/** RFC 1035 label (Service names): as a 1123 label but starting with a letter. */
export function isDns1035Label(value: string): boolean {
  return value.length <= 63 && DNS1035_LABEL.test(value);
}

/** RFC 1123 subdomain: dot-separated labels, at most 253 characters. */
export function isDns1123Subdomain(value: string): boolean {
  return value.length <= 253 && DNS1123_SUBDOMAIN.test(value);
}

/** IANA service name (named ports): 1-15 characters, lower-case alphanumerics and '-', at least one letter. */
export function isIanaServiceName(value: string): boolean {
  return (
    value.length >= 1 &&
    value.length <= 15 &&
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(value) &&
    /[a-z]/.test(value) &&
    !value.includes('--')
  );
}

/** Canonical dotted-quad IPv4 address. */
export function isIPv4(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/** Syntactically an IPv6 address (loose: hex groups and colons, optional embedded IPv4). */
export function isIPv6(value: string): boolean {
  return value.includes(':') && /^[0-9a-fA-F:.]+$/.test(value) && value.split('::').length <= 2;
}

/** A port number 1-65535. */
export function isPortNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}
