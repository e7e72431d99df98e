// ② Service identity: what a client needs to know about a Service, with Kubernetes defaults applied.
// Consumes nothing; produces the `ServiceInfo` type that `normalizeService` and sources fill.

import type { Protocol } from '../endpoint/endpoint.js';

/** Service `spec.type`. */
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

/** One entry of Service `spec.ports`, defaults applied (protocol TCP, targetPort = port). */
export interface ServicePort {
  /** Port name; `''` for the single unnamed port. */
  readonly name: string;
  readonly protocol: Protocol;
  /** The Service (virtual) port. */
  readonly port: number;
  /** Target port: a number, or a container port name resolved per endpoint. */
  readonly targetPort: number | string;
  readonly appProtocol?: string;
  readonly nodePort?: number;
}

/** `spec.sessionAffinity` with its timeout. */
export type SessionAffinity =
  | { readonly type: 'None' }
  | { readonly type: 'ClientIP'; readonly timeoutSeconds: number };

/** Service `spec.trafficDistribution` (`PreferClose` is the old name of `PreferSameZone`). */
export type TrafficDistribution = 'PreferClose' | 'PreferSameZone' | 'PreferSameNode';

/**
 * A Service as a client sees it, with the API server's defaults applied (spec §4).
 * Produced by `normalizeService` from an API object, or partially by DNS/env sources.
 */
export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly type: ServiceType;
  /** `spec.clusterIPs` (first = `spec.clusterIP`); empty for headless and ExternalName. */
  readonly clusterIPs: readonly string[];
  /** True when `spec.clusterIP` is `None`. */
  readonly headless: boolean;
  readonly ipFamilies: readonly ('IPv4' | 'IPv6')[];
  readonly ports: readonly ServicePort[];
  /** `spec.selector`; undefined when endpoints are managed outside the EndpointSlice controller. */
  readonly selector?: Readonly<Record<string, string>>;
  readonly sessionAffinity: SessionAffinity;
  readonly internalTrafficPolicy: 'Cluster' | 'Local';
  readonly trafficDistribution?: TrafficDistribution;
  readonly publishNotReadyAddresses: boolean;
  /** CNAME target of an ExternalName Service, without trailing dot. */
  readonly externalName?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** `metadata.resourceVersion`, when known (opaque). */
  readonly resourceVersion?: string;
  /** `metadata.uid`, when known. */
  readonly uid?: string;
}
