// ① Name: the pod's resolver configuration, parsed the way libc reads /etc/resolv.conf.
// Consumes resolv.conf text; produces `DnsConfig` (nameservers, search list, ndots, options).

import { isIP } from 'node:net';

/** Parsed resolver configuration (the fields that matter for name resolution). */
export interface DnsConfig {
  /** Nameserver addresses in file order (at most 3, as libc uses). */
  readonly nameservers: readonly string[];
  /** Search domains of the last `search` (or `domain`) line, as written. */
  readonly search: readonly string[];
  /** `options ndots:N`, default 1, capped at 15 like glibc and musl. */
  readonly ndots: number;
  /** Every option of the `options` lines: `name` → value (`true` for flags); later lines win. */
  readonly options: Readonly<Record<string, string | true>>;
  /** `options timeout:N` in seconds (default 5, capped at 30 like glibc). */
  readonly timeoutSeconds: number;
  /** `options attempts:N` (default 2, capped at 5 like glibc). */
  readonly attempts: number;
}

/** At most this many nameservers are used by glibc (`MAXNS`) and musl. */
const MAX_NAMESERVERS = 3;
const MAX_NDOTS = 15;
const MAX_TIMEOUT_SECONDS = 30;
const MAX_ATTEMPTS = 5;

/**
 * Parse resolv.conf text as glibc does: `#` and `;` start comments; `nameserver` lines
 * accumulate (first 3 kept, non-IP values skipped); the last `search` or `domain` line wins;
 * `options` accumulate with later values overriding earlier ones; unknown lines are ignored.
 * Never throws on malformed content: a resolver does not refuse to start over a bad line.
 *
 * @example
 * ```ts
 * parseResolvConf('nameserver 10.96.0.10\nsearch prod.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5')
 * // { nameservers: ['10.96.0.10'], search: ['prod.svc.cluster.local', ...], ndots: 5, ... }
 * ```
 */
export function parseResolvConf(text: string): DnsConfig {
  const nameservers: string[] = [];
  let search: string[] = [];
  const options: Record<string, string | true> = {};
  for (const raw of String(text).split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (line === '') continue;
    const [keyword, ...args] = line.split(/[ \t]+/);
    switch (keyword) {
      case 'nameserver': {
        const address = args[0];
        if (address !== undefined && isNameserverAddress(address) && nameservers.length < MAX_NAMESERVERS) {
          nameservers.push(address);
        }
        break;
      }
      case 'search':
        search = args;
        break;
      case 'domain':
        search = args.slice(0, 1);
        break;
      case 'options':
        for (const option of args) {
          const colon = option.indexOf(':');
          if (colon === -1) options[option] = true;
          else options[option.slice(0, colon)] = option.slice(colon + 1);
        }
        break;
      default:
        break;
    }
  }
  return Object.freeze({
    nameservers: Object.freeze(nameservers),
    search: Object.freeze(search),
    ndots: numericOption(options.ndots, 1, MAX_NDOTS),
    options: Object.freeze(options),
    timeoutSeconds: numericOption(options.timeout, 5, MAX_TIMEOUT_SECONDS),
    attempts: numericOption(options.attempts, 2, MAX_ATTEMPTS),
  });
}

function isNameserverAddress(value: string): boolean {
  // glibc accepts an IPv6 address with a zone suffix (`fe80::1%eth0`).
  return isIP(value.replace(/%.*$/, '')) !== 0;
}

// glibc parses the digits with atoi and clamps; a malformed value keeps the default.
function numericOption(value: string | true | undefined, fallback: number, max: number): number {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return fallback;
  return Math.min(Number(value), max);
}
