// ③ Endpoint source (DNS): one resolution of one query over `node:dns` (A, AAAA, CNAME, SRV, SOA).
// Consumes a `SourceQuery` and a c-ares resolver; produces a `DnsOutcome` (endpoints, not found, failure).

import type { promises as dnsPromises } from 'node:dns';
import { type Endpoint, endpointKey, READY } from '../../endpoint/endpoint.js';
import type { DnsFailureReason } from '../../errors/dns-unavailable-error.js';
import type { ServiceInfo } from '../../service/service-info.js';
import type { SourceQuery } from '../endpoint-source.js';
import type { NotFoundReason } from '../endpoint-update.js';

type DnsResolver = dnsPromises.Resolver;

/** The result of one resolution. Failures are values; nothing here throws. */
export type DnsOutcome =
  | {
      readonly type: 'endpoints';
      readonly endpoints: readonly Endpoint[];
      /** Smallest TTL seen, in seconds; undefined when no record carried one Node can read. */
      readonly ttlSeconds: number | undefined;
      /** Set for an ExternalName Service (CNAME on a Service name). */
      readonly service?: ServiceInfo;
    }
  | { readonly type: 'not-found'; readonly reason: NotFoundReason; readonly detail: string }
  | { readonly type: 'failure'; readonly reason: DnsFailureReason; readonly detail: string; readonly cause?: unknown };

type Failure = Extract<DnsOutcome, { type: 'failure' }>;
type NotFound = Extract<DnsOutcome, { type: 'not-found' }>;

interface AddressRecord {
  readonly address: string;
  readonly family: 4 | 6;
  readonly ttl: number | undefined;
}

/** Address lookup of one name: records, or why there are none. `cnameOnly`: an empty NOERROR answer. */
type Addresses =
  | { readonly type: 'records'; readonly records: readonly AddressRecord[] }
  | { readonly type: 'none'; readonly reason: NotFoundReason; readonly cnameOnly: boolean }
  | Failure;

type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

const MAX_CNAME_HOPS = 8;
/** Targets of one SRV answer resolved at once (a headless Service may have hundreds). */
const SRV_TARGET_CONCURRENCY = 16;

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

/** NXDOMAIN / NODATA, or undefined when the error is a transport or server failure. */
function negativeReason(code: string): NotFoundReason | undefined {
  if (code === 'ENOTFOUND') return 'nxdomain';
  if (code === 'ENODATA') return 'nodata';
  return undefined;
}

/** Map a c-ares error code to a failure reason (spec §2.2 decides what the search list does with it). */
export function failureReason(code: string): DnsFailureReason {
  switch (code) {
    case 'ESERVFAIL':
      return 'servfail';
    case 'ECONNREFUSED':
    case 'EREFUSED':
      return 'refused';
    case 'ETIMEOUT':
      return 'timeout';
    case 'EBADRESP':
    case 'EFORMERR':
      return 'malformed';
    default:
      return 'other';
  }
}

function failure(rrtype: string, name: string, error: unknown): Failure {
  const code = codeOf(error);
  return { type: 'failure', reason: failureReason(code), detail: `query${rrtype} ${name} ${code}`, cause: error };
}

const strip = (name: string): string => (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();

async function lookupAddresses(resolver: DnsResolver, name: string): Promise<Addresses> {
  const [a, aaaa] = await Promise.all([
    settle(resolver.resolve4(name, { ttl: true })),
    settle(resolver.resolve6(name, { ttl: true })),
  ]);
  const records: AddressRecord[] = [];
  const reasons: NotFoundReason[] = [];
  let cnameOnly = false;
  for (const [family, result] of [
    [4, a],
    [6, aaaa],
  ] as const) {
    if (result.ok) {
      if (result.value.length === 0) cnameOnly = true;
      for (const r of result.value) records.push({ address: r.address, family, ttl: r.ttl });
      continue;
    }
    const reason = negativeReason(codeOf(result.error));
    // A transport failure of either family fails the whole lookup: serving half the answer would
    // drop the other family's endpoints because of a lost packet.
    if (reason === undefined) return failure(family === 4 ? 'A' : 'AAAA', name, result.error);
    reasons.push(reason);
  }
  if (records.length > 0) return { type: 'records', records };
  // The name exists when any answer says so (NODATA, or an empty NOERROR behind a CNAME).
  const reason: NotFoundReason = cnameOnly || reasons.includes('nodata') ? 'nodata' : 'nxdomain';
  return { type: 'none', reason, cnameOnly };
}

/** The CNAME target of `name` (lowercase, no trailing dot), undefined when none, or a failure. */
async function lookupCname(resolver: DnsResolver, name: string): Promise<string | undefined | Failure> {
  const result = await settle(resolver.resolveCname(name));
  if (result.ok) return result.value[0] === undefined ? undefined : strip(result.value[0]);
  if (negativeReason(codeOf(result.error)) !== undefined) return undefined;
  return failure('Cname', name, result.error);
}

type SrvRecords = readonly { name: string; port: number; priority: number; weight: number }[];
type SrvAnswer = SrvRecords | NotFound | Failure;

// `Array.isArray` does not narrow readonly arrays.
const isRecords = (answer: SrvAnswer | undefined): answer is SrvRecords => Array.isArray(answer);

async function lookupSrv(resolver: DnsResolver, name: string): Promise<SrvAnswer> {
  const result = await settle(resolver.resolveSrv(name));
  if (result.ok) {
    if (result.value.length > 0) return result.value;
    return { type: 'not-found', reason: 'nodata', detail: `no SRV records for ${name}` };
  }
  const reason = negativeReason(codeOf(result.error));
  if (reason === undefined) return failure('Srv', name, result.error);
  return { type: 'not-found', reason, detail: `no SRV records for ${name} (${reason})` };
}

function minTtl(records: readonly AddressRecord[], current: number | undefined): number | undefined {
  let ttl = current;
  for (const r of records) if (r.ttl !== undefined && (ttl === undefined || r.ttl < ttl)) ttl = r.ttl;
  return ttl;
}

function toEndpoint(record: AddressRecord, port: number, hostname?: string, weight?: number): Endpoint {
  const endpoint: { -readonly [K in keyof Endpoint]: Endpoint[K] } = {
    address: record.address,
    port,
    protocol: 'TCP',
    addressType: record.family === 4 ? 'IPv4' : 'IPv6',
    conditions: READY,
  };
  if (hostname !== undefined) endpoint.hostname = hostname;
  if (weight !== undefined) endpoint.weight = weight;
  return Object.freeze(endpoint);
}

function endpointsOutcome(endpoints: Endpoint[], ttlSeconds: number | undefined, service?: ServiceInfo): DnsOutcome {
  const byKey = new Map<string, Endpoint>();
  for (const e of endpoints) byKey.set(endpointKey(e), e);
  // Sorted: CoreDNS's loadbalance plugin shuffles answers, order carries no meaning.
  const sorted = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  return service === undefined
    ? { type: 'endpoints', endpoints: Object.freeze(sorted), ttlSeconds }
    : { type: 'endpoints', endpoints: Object.freeze(sorted), ttlSeconds, service };
}

function notFound(name: string, reason: NotFoundReason): NotFound {
  return {
    type: 'not-found',
    reason,
    detail: `${name}: ${reason === 'nxdomain' ? 'no such name' : 'no address records'}`,
  };
}

/**
 * Endpoints from an SRV answer: each target's A/AAAA with the SRV port and weight. `known` holds
 * address lookups already done (the Service name itself is the target of a ClusterIP SRV).
 * `hostnameZone` is the Service name: targets below it get their first label as `hostname`.
 */
async function srvEndpoints(
  resolver: DnsResolver,
  srvName: string,
  known: ReadonlyMap<string, Addresses>,
  hostnameParent: string | undefined,
  filterTarget?: string,
  prefetched?: SrvAnswer,
): Promise<DnsOutcome> {
  const answer = prefetched ?? (await lookupSrv(resolver, srvName));
  if (!isRecords(answer)) return answer;
  const records = filterTarget === undefined ? answer : answer.filter((r) => strip(r.name) === filterTarget);
  if (records.length === 0)
    return { type: 'not-found', reason: 'nxdomain', detail: `no SRV record of ${srvName} targets ${filterTarget}` };
  const targets = [...new Set(records.map((r) => strip(r.name)))];
  const lookups = new Map<string, Addresses>(known);
  const pending = targets.filter((t) => !lookups.has(t));
  for (let i = 0; i < pending.length; i += SRV_TARGET_CONCURRENCY) {
    const batch = pending.slice(i, i + SRV_TARGET_CONCURRENCY);
    const results = await Promise.all(batch.map((t) => lookupAddresses(resolver, t)));
    for (const [j, t] of batch.entries()) lookups.set(t, results[j] as Addresses);
  }
  const endpoints: Endpoint[] = [];
  let ttl: number | undefined;
  for (const r of records) {
    const target = strip(r.name);
    const addresses = lookups.get(target);
    if (addresses === undefined) continue;
    if (addresses.type === 'failure') return addresses;
    // A target that vanished between the SRV and the address query is skipped, not an error.
    if (addresses.type !== 'records') continue;
    ttl = minTtl(addresses.records, ttl);
    const hostname =
      hostnameParent !== undefined && target.endsWith(`.${hostnameParent}`)
        ? target.slice(0, -(hostnameParent.length + 1)).split('.')[0]
        : undefined;
    for (const a of addresses.records) endpoints.push(toEndpoint(a, r.port, hostname, r.weight));
  }
  if (endpoints.length === 0)
    return { type: 'not-found', reason: 'nodata', detail: `no addresses for the targets of ${srvName}` };
  return endpointsOutcome(endpoints, ttl);
}

function externalNameService(query: SourceQuery, target: string): ServiceInfo {
  const name = query.name.kind === 'service' ? query.name : { namespace: '', service: '' };
  return Object.freeze({
    namespace: name.namespace,
    name: name.service,
    type: 'ExternalName',
    clusterIPs: Object.freeze([]),
    headless: false,
    ipFamilies: Object.freeze([]),
    ports: Object.freeze([]),
    sessionAffinity: Object.freeze({ type: 'None' }),
    internalTrafficPolicy: 'Cluster',
    publishNotReadyAddresses: false,
    externalName: target,
    labels: Object.freeze({}),
    annotations: Object.freeze({}),
  });
}

/** A Service name: ExternalName detection, named ports by SRV, the only port by the bare-name SRV. */
async function resolveService(resolver: DnsResolver, query: SourceQuery, name: string): Promise<DnsOutcome> {
  const port = query.port;
  const srvName = typeof port === 'string' ? `_${port}._tcp.${name}.` : query.fqdn;
  const [addresses, cname, srv] = await Promise.all([
    lookupAddresses(resolver, query.fqdn),
    // Always asked: an ExternalName pointing inside the zone answers A with the target's address,
    // one pointing elsewhere answers A with an empty list (no error) — neither reveals the CNAME.
    lookupCname(resolver, query.fqdn),
    // Asked in parallel: the named port's SRV, or the bare-name SRV that tells the only port.
    typeof port === 'number' ? undefined : lookupSrv(resolver, srvName),
  ]);
  // A CNAME decides alone: the addresses behind it are the external name's business.
  if (typeof cname === 'string') return endpointsOutcome([], undefined, externalNameService(query, cname));
  if (typeof cname === 'object') return cname;
  if (addresses.type === 'failure') return addresses;
  if (addresses.type === 'none') return notFound(name, addresses.reason);
  if (typeof port === 'number') {
    return endpointsOutcome(
      addresses.records.map((a) => toEndpoint(a, port)),
      minTtl(addresses.records, undefined),
    );
  }
  if (typeof port === 'string') {
    return srvEndpoints(resolver, srvName, new Map([[name, addresses]]), name, undefined, srv);
  }
  // No port asked: CoreDNS answers SRV for the bare Service name with one record per port. One
  // distinct port → that port; none (other servers) or several → 0, "addresses only".
  let only = 0;
  if (isRecords(srv)) {
    const ports = new Set(srv.map((r) => r.port));
    if (ports.size === 1) only = srv[0]?.port ?? 0;
  } else if (srv !== undefined && srv.type === 'failure') {
    return srv;
  }
  return endpointsOutcome(
    addresses.records.map((a) => toEndpoint(a, only)),
    minTtl(addresses.records, undefined),
  );
}

/** Addresses of a name outside the cluster (or a pod name), following CNAMEs the server did not. */
async function resolveAddressName(resolver: DnsResolver, query: SourceQuery, name: string): Promise<DnsOutcome> {
  if (typeof query.port === 'string')
    return srvEndpoints(resolver, `_${query.port}._tcp.${name}.`, new Map(), undefined);
  const port = query.port ?? 0;
  let current = name;
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const addresses = await lookupAddresses(resolver, `${current}.`);
    if (addresses.type === 'failure') return addresses;
    if (addresses.type === 'records') {
      return endpointsOutcome(
        addresses.records.map((a) => toEndpoint(a, port)),
        minTtl(addresses.records, undefined),
      );
    }
    // An authoritative server answers a CNAME into another zone without chasing it: follow it.
    if (!addresses.cnameOnly) return notFound(name, addresses.reason);
    const target = await lookupCname(resolver, `${current}.`);
    if (typeof target === 'object') return target;
    if (target === undefined) return notFound(name, 'nodata');
    current = target;
  }
  return { type: 'failure', reason: 'other', detail: `${name}: more than ${MAX_CNAME_HOPS} CNAME hops` };
}

/**
 * Resolve one query once. Never rejects: c-ares errors become `not-found` (NXDOMAIN, NODATA) or
 * `failure` (SERVFAIL, refused, timeout, malformed answer, other).
 */
export async function resolveQuery(resolver: DnsResolver, query: SourceQuery): Promise<DnsOutcome> {
  const name = strip(query.fqdn);
  try {
    switch (query.name.kind) {
      case 'no-data':
        return notFound(name, 'nodata');
      case 'invalid':
        return { type: 'not-found', reason: 'nxdomain', detail: `${name}: ${query.name.reason}` };
      case 'service':
        return await resolveService(resolver, query, name);
      case 'srv':
        return await srvEndpoints(resolver, query.fqdn, new Map(), parentOf(name, 2));
      case 'endpoint': {
        // `<host>.<svc>.<ns>.svc.<zone>`: a named port comes from the Service's SRV records that
        // target this endpoint (the per-pod target port).
        const hostname = query.name.hostname;
        const service = parentOf(name, 1);
        if (typeof query.port === 'string' && service !== undefined) {
          const addresses = await lookupAddresses(resolver, query.fqdn);
          if (addresses.type !== 'records')
            return addresses.type === 'failure' ? addresses : notFound(name, addresses.reason);
          return await srvEndpoints(
            resolver,
            `_${query.port}._tcp.${service}.`,
            new Map([[name, addresses]]),
            service,
            name,
          );
        }
        const addresses = await lookupAddresses(resolver, query.fqdn);
        if (addresses.type === 'failure') return addresses;
        if (addresses.type === 'none') return notFound(name, addresses.reason);
        const port = typeof query.port === 'number' ? query.port : 0;
        return endpointsOutcome(
          addresses.records.map((a) => toEndpoint(a, port, hostname)),
          minTtl(addresses.records, undefined),
        );
      }
      case 'pod':
      case 'outside':
        return await resolveAddressName(resolver, query, name);
    }
  } catch (error) {
    return failure('', name, error);
  }
}

/** `name` without its first `labels` labels, undefined when too short. */
function parentOf(name: string, labels: number): string | undefined {
  const parts = name.split('.');
  return parts.length > labels ? parts.slice(labels).join('.') : undefined;
}

/**
 * The negative-caching TTL (SOA MINIMUM, RFC 2308) of the zone holding `fqdn`, in seconds, found by
 * asking SOA of the name and its parents. `undefined` when no SOA could be read.
 */
export async function lookupSoaMinimum(
  resolver: DnsResolver,
  fqdn: string,
): Promise<{ zone: string; minimumSeconds: number } | undefined> {
  const labels = strip(fqdn).split('.');
  for (let i = 0; i < labels.length; i++) {
    const zone = labels.slice(i).join('.');
    const result = await settle(resolver.resolveSoa(`${zone}.`));
    if (result.ok) return { zone, minimumSeconds: result.value.minttl };
    const code = codeOf(result.error);
    // NXDOMAIN/NODATA: not a zone apex, go up. EBADRESP: c-ares's answer to SOA of a CNAME.
    if (negativeReason(code) === undefined && code !== 'EBADRESP') return undefined;
  }
  return undefined;
}
