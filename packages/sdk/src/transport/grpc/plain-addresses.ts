// ⑧ Transport (gRPC): addresses that something else balances — another resolver's (`ipv4:`, `dns:`), a
// proxy's ClusterIP, an ExternalName's target. Consumes host and port; produces ready endpoints and an
// eligible set that takes them all.

import { type Endpoint, READY } from '@clusterip/resolver';
import type { EligibleEndpoints } from '../../eligibility/eligibility.js';

/** One address as an always-ready endpoint. */
export function plainEndpoint(address: string, port: number): Endpoint {
  return { address, port, protocol: 'TCP', addressType: address.includes(':') ? 'IPv6' : 'IPv4', conditions: READY };
}

/** Every endpoint eligible, no topology: nothing of kube-proxy's rules applies to plain addresses. */
export function plainEligible(endpoints: Endpoint[]): EligibleEndpoints {
  return { endpoints, outcome: { type: 'ok', policy: 'Cluster', topology: 'none', terminatingFallback: false } };
}
