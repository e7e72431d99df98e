// ④ Endpoint set: the endpoint value type shared by every source and by the SDK's eligibility stage.
// Consumes nothing; produces `Endpoint` and its identity key.

/** L4 protocol of a Service port (`TCP` when unset in the API). */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** Address family of an endpoint (EndpointSlice `addressType`). */
export type AddressType = 'IPv4' | 'IPv6';

/**
 * Endpoint conditions with Kubernetes' nil rules already applied (spec §5.1): `ready` and
 * `serving` default to true, `terminating` to false.
 */
export interface EndpointConditions {
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

/** EndpointSlice topology hints of one endpoint. */
export interface EndpointHints {
  /** Zones that should consume this endpoint (`hints.forZones[].name`). */
  readonly forZones: readonly string[];
  /** Nodes that should consume this endpoint (`hints.forNodes[].name`, PreferSameNode). */
  readonly forNodes: readonly string[];
}

/** The object an endpoint stands for, usually a Pod. */
export interface EndpointTargetRef {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
}

/**
 * One reachable backend of one Service port: an address and the **target** port to connect to.
 *
 * Sources fill what they know: the Kubernetes source fills everything; DNS fills address, port
 * (from SRV, or the requested port) and `hostname`.
 */
export interface Endpoint {
  /** IP address in canonical form (`10.0.0.7`, `fd00::7`). */
  readonly address: string;
  /** Port to connect to (the target port of this endpoint for the requested Service port). */
  readonly port: number;
  readonly protocol: Protocol;
  readonly addressType: AddressType;
  readonly conditions: EndpointConditions;
  /** Node hosting the endpoint; absent means it is never "local". */
  readonly nodeName?: string;
  /** `topology.kubernetes.io/zone` of that node. */
  readonly zone?: string;
  /** DNS hostname label (headless per-pod names). */
  readonly hostname?: string;
  readonly hints?: EndpointHints;
  readonly targetRef?: EndpointTargetRef;
  /** Relative weight (SRV weight); absent means equal weights. */
  readonly weight?: number;
}

/** Conditions of an endpoint that is ready (what DNS-sourced endpoints get). */
export const READY: EndpointConditions = Object.freeze({ ready: true, serving: true, terminating: false });

/**
 * Identity of an endpoint within one Service port, as kube-proxy computes it:
 * `net.JoinHostPort(address, port)`, e.g. `10.0.0.1:8080` or `[fd00::1]:8080` (spec §5.4).
 *
 * @example
 * ```ts
 * endpointKey({ address: 'fd00::1', port: 80 }) // '[fd00::1]:80'
 * ```
 */
export function endpointKey(endpoint: Pick<Endpoint, 'address' | 'port'>): string {
  return joinHostPort(endpoint.address, endpoint.port);
}

/** `host:port`, bracketing IPv6 literals as Go's `net.JoinHostPort` does. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The dashed form of an IP that cluster DNS uses as an endpoint's name when it has no hostname
 * (CoreDNS `endpointHostname`, spec §1.3): `.`/`:` become `-`, and a trailing `-` gets a `0`.
 *
 * @example
 * ```ts
 * dashedIp('10.11.12.13')                    // '10-11-12-13'
 * dashedIp('2001:db8:3333:4444:5555:6666::') // '2001-db8-3333-4444-5555-6666--0'
 * ```
 */
export function dashedIp(address: string): string {
  const dashed = address.replace(/[.:]/g, '-');
  return dashed.endsWith('-') ? `${dashed}0` : dashed;
}

/**
 * The label cluster DNS names an endpoint by below its Service (CoreDNS `endpointHostname`, spec §1.3):
 * its `hostname` when it has one, else its {@link dashedIp}. Lowercase: DNS compares names case-insensitively.
 *
 * @example
 * ```ts
 * endpointDnsLabel({ address: '10.0.0.7', hostname: 'db-0' }) // 'db-0' (not '10-0-0-7')
 * endpointDnsLabel({ address: '10.0.0.7' })                   // '10-0-0-7'
 * ```
 */
export function endpointDnsLabel(endpoint: Pick<Endpoint, 'address' | 'hostname'>): string {
  return endpoint.hostname ? endpoint.hostname.toLowerCase() : dashedIp(endpoint.address);
}

/** True when two endpoints carry the same data (used to suppress no-op updates). */
export function endpointEqual(a: Endpoint, b: Endpoint): boolean {
  if (a === b) return true;
  return (
    a.address === b.address &&
    a.port === b.port &&
    a.protocol === b.protocol &&
    a.addressType === b.addressType &&
    a.conditions.ready === b.conditions.ready &&
    a.conditions.serving === b.conditions.serving &&
    a.conditions.terminating === b.conditions.terminating &&
    a.nodeName === b.nodeName &&
    a.zone === b.zone &&
    a.hostname === b.hostname &&
    a.weight === b.weight &&
    sameList(a.hints?.forZones, b.hints?.forZones) &&
    sameList(a.hints?.forNodes, b.hints?.forNodes) &&
    a.targetRef?.kind === b.targetRef?.kind &&
    a.targetRef?.name === b.targetRef?.name &&
    a.targetRef?.namespace === b.targetRef?.namespace &&
    a.targetRef?.uid === b.targetRef?.uid
  );
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
