// ① Name: search-list expansion, the ordered absolute names a pod's resolver queries (spec §2.2–2.3).
// Consumes a name as typed plus `search`/`ndots`; produces absolute candidates with trailing dots.

import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { InvalidNameError } from '../errors/invalid-name-error.js';

/** Which libc's search rules to follow: glibc/c-ares (Debian, Ubuntu, distroless) or musl (Alpine). */
export type ResolverMode = 'glibc' | 'musl';

/** Options of {@link searchCandidates}. */
export interface SearchOptions {
  /** Search domains in order (as in resolv.conf; a trailing dot or `.` for the root is allowed). */
  readonly search: readonly string[];
  /** Names with at least this many dots are tried as-is first. */
  readonly ndots: number;
  /** Default `glibc`. */
  readonly mode?: ResolverMode;
}

/** Longest presentation-format name without the trailing dot (255 octets on the wire). */
export const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/**
 * The absolute names (each ending in `.`) a pod's resolver would query for `name`, in order.
 *
 * - A trailing dot makes the name absolute: it is the only candidate.
 * - glibc: with `dots >= ndots` the name as-is comes first; then `name.<domain>` for each search
 *   domain; then, if not yet tried, the name as-is last.
 * - musl: with `dots >= ndots` **only** the name as-is; otherwise the search domains, then as-is.
 *
 * Candidates longer than 253 characters are skipped, as resolvers skip names they cannot send.
 *
 * @example
 * ```ts
 * searchCandidates('web.other', { search: ['prod.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5 })
 * // ['web.other.prod.svc.cluster.local.', 'web.other.svc.cluster.local.', 'web.other.cluster.local.', 'web.other.']
 * ```
 */
export function searchCandidates(name: string, options: SearchOptions): string[] {
  const mode = options.mode ?? 'glibc';
  if (mode !== 'glibc' && mode !== 'musl') {
    throw new InvalidArgumentError('mode', `mode must be 'glibc' or 'musl', got ${JSON.stringify(mode)}`);
  }
  if (!Number.isInteger(options.ndots) || options.ndots < 0) {
    throw new InvalidArgumentError('ndots', `ndots must be a non-negative integer, got ${String(options.ndots)}`);
  }
  validateDnsName(name);
  if (name.endsWith('.')) return [name];

  const asIs = `${name}.`;
  const out: string[] = [];
  const add = (candidate: string) => {
    if (candidate.length - 1 <= MAX_NAME_LENGTH && !out.includes(candidate)) out.push(candidate);
  };
  if (triesAsIsFirst(name, options.ndots)) {
    add(asIs);
    if (mode === 'musl') return out;
  }
  for (const entry of options.search) {
    const domain = entry.endsWith('.') ? entry.slice(0, -1) : entry;
    add(domain === '' ? asIs : `${name}.${domain}.`);
  }
  add(asIs);
  return out;
}

/**
 * Check DNS name syntax: labels of 1–63 characters from letters, digits, `-` and `_`, at most
 * 253 characters without the trailing dot. Throws {@link InvalidNameError} naming the rule.
 *
 * @example
 * ```ts
 * validateDnsName('web..prod') // throws: dns name "web..prod": must not contain an empty label
 * ```
 */
export function validateDnsName(name: string, kind: 'dns name' | 'cluster domain' = 'dns name'): void {
  if (typeof name !== 'string' || name === '' || name === '.') {
    throw new InvalidNameError(kind, String(name), 'must not be empty');
  }
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length > MAX_NAME_LENGTH) {
    throw new InvalidNameError(kind, name, `must be no more than ${MAX_NAME_LENGTH} characters, got ${bare.length}`);
  }
  for (const label of bare.split('.')) {
    if (label === '') throw new InvalidNameError(kind, name, 'must not contain an empty label');
    if (label.length > MAX_LABEL_LENGTH) {
      throw new InvalidNameError(
        kind,
        name,
        `label ${JSON.stringify(label)} must be no more than ${MAX_LABEL_LENGTH} characters, got ${label.length}`,
      );
    }
    if (!/^[A-Za-z0-9_-]+$/.test(label)) {
      throw new InvalidNameError(
        kind,
        name,
        `label ${JSON.stringify(label)} must consist of letters, digits, '-' or '_'`,
      );
    }
  }
}

/** `name` without one trailing dot. */
export function stripTrailingDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/**
 * Whether a resolver tries relative `name` as-is before the search domains: it has at least `ndots`
 * dots (glibc and musl alike). Not for absolute names (those are tried alone).
 */
export function triesAsIsFirst(name: string, ndots: number): boolean {
  return countDots(name) >= ndots;
}

function countDots(name: string): number {
  let n = 0;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) === 46) n++;
  return n;
}
