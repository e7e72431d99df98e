// Test fixtures for the sdk tests: endpoint and Service builders, a manual clock.

import type { Endpoint, EndpointConditions, ServiceInfo } from '@clusterip/resolver';

export const READY_C: EndpointConditions = { ready: true, serving: true, terminating: false };
export const NOT_READY: EndpointConditions = { ready: false, serving: false, terminating: false };
export const SERVING_TERMINATING: EndpointConditions = { ready: false, serving: true, terminating: true };
export const TERMINATING_NOT_SERVING: EndpointConditions = { ready: false, serving: false, terminating: true };
export const SERVING_NOT_READY: EndpointConditions = { ready: false, serving: true, terminating: false };

export interface EpOptions {
  readonly port?: number;
  readonly conditions?: EndpointConditions;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly forZones?: readonly string[];
  readonly forNodes?: readonly string[];
}

/** An endpoint at `address` (default port 8080, ready). */
export function ep(address: string, o: EpOptions = {}): Endpoint {
  const hints =
    o.forZones === undefined && o.forNodes === undefined
      ? undefined
      : { forZones: o.forZones ?? [], forNodes: o.forNodes ?? [] };
  return {
    address,
    port: o.port ?? 8080,
    protocol: 'TCP',
    addressType: address.includes(':') ? 'IPv6' : 'IPv4',
    conditions: o.conditions ?? READY_C,
    ...(o.nodeName === undefined ? {} : { nodeName: o.nodeName }),
    ...(o.zone === undefined ? {} : { zone: o.zone }),
    ...(hints === undefined ? {} : { hints }),
  };
}

/** `n` ready endpoints 10.0.x.y:8080. */
export function eps(n: number): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ep(`10.0.${i >> 8}.${i & 255}`));
}

/** A ClusterIP Service `web.shop` with Kubernetes defaults. */
export function svc(o: Partial<ServiceInfo> = {}): ServiceInfo {
  return {
    namespace: 'shop',
    name: 'web',
    type: 'ClusterIP',
    clusterIPs: ['10.96.0.10'],
    headless: false,
    ipFamilies: ['IPv4'],
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
    sessionAffinity: { type: 'None' },
    internalTrafficPolicy: 'Cluster',
    publishNotReadyAddresses: false,
    labels: {},
    annotations: {},
    ...o,
  };
}

/** A manual monotonic clock in ms. */
export function manualClock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
    set(ms: number) {
      t = ms;
    },
  };
}

/** Pearson chi-square statistic of observed counts against a uniform expectation. */
export function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  let x = 0;
  for (const c of counts) x += (c - expected) ** 2 / expected;
  return x;
}

/**
 * Upper bound for a chi-square statistic with `df` degrees of freedom that a uniform picker exceeds with
 * probability about 1e-6: the Wilson–Hilferty approximation of the 1 − 1e-6 quantile (z = 4.753), which
 * errs on the high side for small `df`. (A "mean + 6 standard deviations" bound is not enough: the
 * distribution is skewed, and for df = 1 it is exceeded with probability 0.002, which made property runs
 * over small endpoint counts flaky.) A picker that favours one endpoint by a few percent over thousands of
 * picks does not stay under it.
 */
export function chiSquareBound(df: number): number {
  const z = 4.753;
  const k = 2 / (9 * df);
  return df * (1 - k + z * Math.sqrt(k)) ** 3;
}
