// ① Name: parse what a caller asks for (`web`, `web.prod:8080`, `web:http`, `http://web/…`,
// `kubernetes:///web:grpc`, `kubernetes://prod/web:grpc`). Produces a `ServiceTarget`.

import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { InvalidNameError } from '../errors/invalid-name-error.js';
import { stripTrailingDot, validateDnsName } from './search-candidates.js';
import { isDns1123Label, validateNamespace, validatePortNumber, validateServicePortName } from './validate-names.js';

/** A parsed target: a host name (or IP literal) and an optional Service port. */
export interface ServiceTarget {
  /** The string as given. */
  readonly input: string;
  /** Host as typed, lowercased, without brackets; may end with `.` (absolute). */
  readonly host: string;
  /** Service port number, port name, or undefined (the Service's only port). */
  readonly port?: number | string;
  /** URL scheme when the target was a URL (`http`, `https`, `kubernetes`, ...). */
  readonly scheme?: string;
  /** Namespace given explicitly (`kubernetes://<namespace>/<name>`): no search list applies. */
  readonly namespace?: string;
  /** 4 or 6 when `host` is an IP literal, else 0. */
  readonly ipVersion: 0 | 4 | 6;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443, ws: 80, wss: 443 };
const AUTHORITY_SCHEMES = new Set(['kubernetes', 'clusterip']);

/**
 * Parse a target. Host names are validated as DNS names, ports as 1–65535 or Service port names.
 * URLs with `http`/`https` default the port to 80/443 (the URL port is the Service port).
 *
 * @example
 * ```ts
 * parseServiceTarget('backend-service.production:3000') // { host: 'backend-service.production', port: 3000, ... }
 * parseServiceTarget('kubernetes://prod/api:grpc')      // { host: 'api', namespace: 'prod', port: 'grpc', ... }
 * parseServiceTarget('http://web/healthz')              // { host: 'web', port: 80, scheme: 'http', ... }
 * ```
 */
export function parseServiceTarget(input: string): ServiceTarget {
  if (typeof input !== 'string' || input.trim() === '') {
    throw new InvalidNameError('target', String(input), 'must be a non-empty name, name:port or URL');
  }
  const target = input.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(target)?.[1]?.toLowerCase();
  if (scheme !== undefined && AUTHORITY_SCHEMES.has(scheme)) return parseAuthorityForm(input, target, scheme);
  if (scheme !== undefined) return parseUrl(input, target, scheme);
  return finish(input, splitHostPort(input, target), undefined, undefined);
}

// kubernetes:///name[:port] and kubernetes://namespace/name[:port] (kuberesolver's forms).
function parseAuthorityForm(input: string, target: string, scheme: string): ServiceTarget {
  const rest = target.slice(scheme.length + 3);
  const slash = rest.indexOf('/');
  if (slash === -1) {
    throw new InvalidNameError(
      'target',
      input,
      `must look like ${scheme}:///<name>[:<port>] or ${scheme}://<namespace>/<name>[:<port>]`,
    );
  }
  const authority = rest.slice(0, slash);
  const path = rest.slice(slash + 1);
  if (path === '' || path.includes('/')) {
    throw new InvalidNameError(
      'target',
      input,
      `must name exactly one Service after the "/", e.g. ${scheme}:///web:http`,
    );
  }
  let namespace: string | undefined;
  if (authority !== '') {
    validateNamespace(authority);
    namespace = authority;
  }
  const parsed = finish(input, splitHostPort(input, path), scheme, namespace);
  if (parsed.ipVersion === 0) checkClusterLabels(input, parsed.host);
  return parsed;
}

/**
 * These schemes name Kubernetes objects, so every label must be a DNS-1123 label (Services, namespaces,
 * endpoint hostnames; spec §3), or `_<label>` (SRV port and protocol). `validateDnsName` lets `_` and
 * edge hyphens through for plain DNS names; here they name nothing, and `kubernetes:///Bad_Name` or
 * `kubernetes:///-web` would only fail later as not found. Letters were lower-cased already, on purpose:
 * DNS names are case-insensitive (`kubernetes:///Web` is `web`). One regex test per label, at parse time.
 */
function checkClusterLabels(input: string, host: string): void {
  const bare = host.endsWith('.') ? host.slice(0, -1) : host;
  for (const label of bare.split('.')) {
    if (isDns1123Label(label.startsWith('_') ? label.slice(1) : label)) continue;
    throw new InvalidNameError(
      'target',
      input,
      `label ${JSON.stringify(label)} is not a DNS-1123 label: no Service, namespace or endpoint can be named so (lower case alphanumeric characters or '-', starting and ending with an alphanumeric character, e.g. 'my-name')`,
    );
  }
}

function parseUrl(input: string, target: string, scheme: string): ServiceTarget {
  let url: URL;
  try {
    url = new URL(target);
  } catch (cause) {
    throw new InvalidNameError('target', input, 'is not a valid URL', { cause });
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') throw new InvalidNameError('target', input, 'URL has no host');
  const port = url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port);
  return finish(input, { host, port }, scheme, undefined);
}

function splitHostPort(input: string, value: string): { host: string; port?: number | string } {
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close === -1) throw new InvalidNameError('target', input, 'has an unclosed "[" around an IPv6 address');
    const host = value.slice(1, close);
    const tail = value.slice(close + 1);
    if (tail === '') return { host };
    if (!tail.startsWith(':')) throw new InvalidNameError('target', input, 'expected ":<port>" after "]"');
    return { host, port: parsePort(input, tail.slice(1)) };
  }
  const colons = value.split(':').length - 1;
  if (colons === 0) return { host: value };
  if (colons > 1) {
    if (isIP(value) === 6) return { host: value };
    throw new InvalidNameError('target', input, 'has several ":"; write IPv6 addresses as [address]:port');
  }
  const colon = value.indexOf(':');
  return { host: value.slice(0, colon), port: parsePort(input, value.slice(colon + 1)) };
}

function parsePort(input: string, text: string): number | string {
  if (text === '') throw new InvalidNameError('target', input, 'has an empty port after ":"');
  if (/^\d+$/.test(text)) return Number(text);
  const name = text.toLowerCase();
  validateServicePortName(name);
  return name;
}

function finish(
  input: string,
  parts: { host: string; port?: number | string | undefined },
  scheme: string | undefined,
  namespace: string | undefined,
): ServiceTarget {
  const typed = parts.host.toLowerCase();
  const ipVersion = isIP(typed) as 0 | 4 | 6;
  if (ipVersion === 0) validateDnsName(typed);
  // With an explicit namespace the name is relative to it: a trailing dot would make `<name>..<ns>` (fuzzing).
  const host = namespace === undefined ? typed : stripTrailingDot(typed);
  if (typeof parts.port === 'number') {
    try {
      validatePortNumber(parts.port);
    } catch (cause) {
      // Name the target: the bare range message does not say which argument or URL held the port.
      throw new InvalidArgumentError(
        'port',
        `target ${JSON.stringify(input)}: port must be between 1 and 65535, inclusive, got ${parts.port}`,
        { cause },
      );
    }
  }
  const target: ServiceTarget = {
    input,
    host,
    ipVersion,
    ...(parts.port === undefined ? {} : { port: parts.port }),
    ...(scheme === undefined ? {} : { scheme }),
    ...(namespace === undefined ? {} : { namespace }),
  };
  return Object.freeze(target);
}
