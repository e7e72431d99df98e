// ① Name: what an absolute name inside the cluster domain denotes (spec §1, CoreDNS `parse.go`).
// Consumes an FQDN and the cluster domain; produces the `ClusterName` union.

/**
 * What an absolute DNS name denotes for cluster DNS. Label comparisons are case-insensitive,
 * so every field is lowercased.
 */
export type ClusterName =
  /** `<svc>.<ns>.svc.<zone>` */
  | { readonly kind: 'service'; readonly namespace: string; readonly service: string }
  /** `<hostname>.<svc>.<ns>.svc.<zone>`: one endpoint (headless per-pod name, or pod-IP dashes) */
  | { readonly kind: 'endpoint'; readonly namespace: string; readonly service: string; readonly hostname: string }
  /** `_<port>._<proto>.<svc>.<ns>.svc.<zone>`: SRV query for a named port */
  | {
      readonly kind: 'srv';
      readonly namespace: string;
      readonly service: string;
      readonly port: string;
      readonly protocol: string;
    }
  /** `a-b-c-d.<ns>.pod.<zone>`: legacy pod record */
  | { readonly kind: 'pod'; readonly namespace: string; readonly ip: string }
  /**
   * `<ns>.svc.<zone>`, `<ns>.pod.<zone>`, `svc.<zone>`, `pod.<zone>`, `<zone>`: exists, but no address
   * (NODATA). `namespace` is set for the first two: cluster DNS answers NODATA only while that namespace
   * exists, else NXDOMAIN (spec §1.8).
   */
  | { readonly kind: 'no-data'; readonly fqdn: string; readonly namespace?: string }
  /** Inside the cluster domain but no valid shape: cluster DNS answers NXDOMAIN */
  | { readonly kind: 'invalid'; readonly fqdn: string; readonly reason: string }
  /** Not under the cluster domain: only upstream DNS can answer */
  | { readonly kind: 'outside'; readonly fqdn: string };
