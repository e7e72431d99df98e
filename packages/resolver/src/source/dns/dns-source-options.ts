// ③ Endpoint source (DNS): options of `DnsSource`, validated once and frozen.
// Consumes user options and the pod's resolv.conf; produces `DnsSourceConfig`.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../../errors/invalid-argument-error.js';
import { type BackoffConfig, type BackoffOptions, resolveBackoffOptions } from '../../internal/backoff.js';
import { functionOption, integerOption } from '../../internal/options.js';
import { resolveTimers, type Timers } from '../../internal/timers.js';
import { parseResolvConf } from '../../name/resolv-conf.js';

/** Options of `DnsSource`. Every duration is in milliseconds. */
export interface DnsSourceOptions {
  /**
   * DNS servers: `10.96.0.10`, `127.0.0.1:5353`, `[fd00::10]:53`, `fd00::10`. Default: the
   * `nameserver` lines of `resolvConfPath` (`127.0.0.1` when there are none, as libc does).
   */
  readonly servers?: readonly string[];
  /** File to read the servers from when `servers` is not given. Default `/etc/resolv.conf`. */
  readonly resolvConfPath?: string;
  /**
   * Per-try timeout of one query (c-ares `timeout`). Default: when the servers come from
   * resolv.conf and it sets `options timeout:N`, N seconds (at least 1, as glibc waits at least
   * 1 s); otherwise 2000.
   */
  readonly timeoutMs?: number;
  /**
   * Tries per server before a query fails (c-ares `tries`). Default: when the servers come from
   * resolv.conf and it sets `options attempts:N`, N (1 to 5, glibc's cap); otherwise 2.
   */
  readonly tries?: number;
  /** Floor of the re-resolution period (TTL 0 answers are re-asked this often). Default 1000. */
  readonly minTtlMs?: number;
  /** Cap of the re-resolution period, whatever the TTL. Default 30000. */
  readonly maxTtlMs?: number;
  /**
   * Re-check period of a negative answer when the zone's SOA minimum cannot be read, and of answers
   * that carry no TTL Node can read (a CNAME-only ExternalName). Default 5000 (CoreDNS's TTL).
   */
  readonly negativeTtlMs?: number;
  /** Retry delays after a failed query (same shape and defaults as KubernetesSource: 800 ms ×2 ≤ 30 s). */
  readonly backoff?: BackoffOptions;
  /** Clock in milliseconds (SOA cache expiry). Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Random number in [0, 1) for backoff jitter: each delay × (1 + `backoff.jitter` × random), so 0–100 %
   * added with the default jitter of 1. Default `Math.random`.
   */
  readonly random?: () => number;
  /** Timer functions. Default the global `setTimeout`/`clearTimeout`. */
  readonly timers?: Timers;
}

/** Fully defaulted, frozen configuration. */
export interface DnsSourceConfig {
  readonly servers: readonly string[];
  readonly timeoutMs: number;
  readonly tries: number;
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  readonly negativeTtlMs: number;
  readonly backoff: BackoffConfig;
  readonly now: () => number;
  readonly random: () => number;
  readonly timers: Timers;
}

const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';
const KNOWN = new Set<string>([
  'servers',
  'resolvConfPath',
  'timeoutMs',
  'tries',
  'minTtlMs',
  'maxTtlMs',
  'negativeTtlMs',
  'backoff',
  'now',
  'random',
  'timers',
]);

/**
 * Normalize one server to what `dns.Resolver#setServers` accepts, or throw naming the entry.
 * Accepts `ip`, `ipv4:port`, `[ipv6]:port` and a bare IPv6 literal.
 */
export function normalizeServer(value: unknown, path: string): string {
  const bad = (why: string) =>
    new InvalidArgumentError(
      path,
      `${path} must be an IP address with an optional port, got ${JSON.stringify(value)}: ${why}`,
    );
  if (typeof value !== 'string' || value === '') throw bad('not a non-empty string');
  if (isIP(value) !== 0) return value.includes(':') ? `[${value}]:53` : `${value}:53`;
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value);
  const plain = /^([^:]+):(\d{1,5})$/.exec(value);
  const host = bracketed?.[1] ?? plain?.[1];
  const port = Number(bracketed?.[2] ?? plain?.[2]);
  if (host === undefined) throw bad('write IPv6 with a port as [addr]:port');
  if (isIP(host) === 0) throw bad('not an IP address (host names cannot be DNS servers)');
  if (!(port >= 1 && port <= 65535)) throw bad('port must be from 1 to 65535');
  return bracketed === null ? `${host}:${port}` : `[${host}]:${port}`;
}

/** What the pod's resolv.conf says about where and how to query. */
interface ResolvConfDefaults {
  readonly servers: string[];
  /** `options timeout:N` in ms, when the file sets it. */
  readonly timeoutMs: number | undefined;
  /** `options attempts:N`, when the file sets it. */
  readonly tries: number | undefined;
}

function fromResolvConf(path: string, explicit: boolean): ResolvConfDefaults {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (explicit) {
      throw new InvalidArgumentError('resolvConfPath', `resolvConfPath ${path}: cannot be read: give servers instead`, {
        cause: err,
      });
    }
    // No resolv.conf: libc then asks the local host.
    return { servers: ['127.0.0.1:53'], timeoutMs: undefined, tries: undefined };
  }
  const conf = parseResolvConf(text);
  // parseResolvConf keeps IPv6 zone suffixes (`fe80::1%eth0`); c-ares cannot take them here.
  const servers = conf.nameservers.filter((s) => !s.includes('%')).map((s) => normalizeServer(s, 'resolvConfPath'));
  // Only options the file really sets (well-formed) replace our defaults; parseResolvConf has
  // already applied glibc's caps (timeout ≤ 30 s, attempts ≤ 5). glibc waits at least 1 s per try
  // (timeout:0 → 1 s) and c-ares needs at least one try.
  const set = (name: string) => typeof conf.options[name] === 'string' && /^\d+$/.test(conf.options[name] as string);
  return {
    servers: servers.length > 0 ? servers : ['127.0.0.1:53'],
    timeoutMs: set('timeout') ? Math.max(1, conf.timeoutSeconds) * 1000 : undefined,
    tries: set('attempts') ? Math.max(1, conf.attempts) : undefined,
  };
}

/**
 * Validate options (unknown keys rejected), read resolv.conf when needed, and freeze the result.
 * When the servers come from resolv.conf, its `timeout` and `attempts` options default `timeoutMs`
 * and `tries` (explicit options still win). Throws `InvalidArgumentError` naming the option.
 *
 * @example
 * ```ts
 * resolveDnsSourceOptions({ resolvConfPath: '/etc/resolv.conf' }) // servers, timeoutMs, tries from the file
 * ```
 */
export function resolveDnsSourceOptions(options: DnsSourceOptions = {}): DnsSourceConfig {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', `options must be an object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidArgumentError(key, `unexpected option ${key}`);
  }
  const minTtlMs = integerOption(options, 'minTtlMs', 1000, 0, 86_400_000);
  const maxTtlMs = integerOption(options, 'maxTtlMs', Math.max(30_000, minTtlMs), minTtlMs, 86_400_000);
  const negativeTtlMs = integerOption(options, 'negativeTtlMs', 5000, 0, 86_400_000);
  const backoff = resolveBackoffOptions(options.backoff, 'backoff');
  const timers = resolveTimers(options.timers, 'dns source');

  let servers: string[];
  let conf: ResolvConfDefaults | undefined;
  if (options.servers !== undefined) {
    if (options.resolvConfPath !== undefined) {
      throw new InvalidArgumentError(
        'resolvConfPath',
        'resolvConfPath cannot be combined with servers: give one of them',
      );
    }
    if (!Array.isArray(options.servers) || options.servers.length === 0) {
      throw new InvalidArgumentError('servers', 'servers must be a non-empty array of addresses such as 10.96.0.10:53');
    }
    servers = options.servers.map((s, i) => normalizeServer(s, `servers[${i}]`));
  } else {
    const path = options.resolvConfPath;
    if (path !== undefined && (typeof path !== 'string' || path === '')) {
      throw new InvalidArgumentError('resolvConfPath', `resolvConfPath must be a file path, got ${String(path)}`);
    }
    conf = fromResolvConf(path ?? DEFAULT_RESOLV_CONF, path !== undefined);
    servers = conf.servers;
  }
  const timeoutMs = integerOption(options, 'timeoutMs', conf?.timeoutMs ?? 2000, 1, 600_000);
  const tries = integerOption(options, 'tries', conf?.tries ?? 2, 1, 10);

  return Object.freeze({
    servers: Object.freeze(servers),
    timeoutMs,
    tries,
    minTtlMs,
    maxTtlMs,
    negativeTtlMs,
    backoff,
    now: functionOption(options, 'now', Date.now),
    random: functionOption(options, 'random', Math.random),
    timers,
  });
}
