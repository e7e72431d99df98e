// ⑤ Eligible endpoints, one step before: is this Service ours to balance at all (spec §4 labels, §11)?
// Consumes a Service's labels and this client's proxy name; produces the name of the proxy that owns it
// instead, or undefined when the client balances it.

import { InvalidArgumentError } from '@clusterip/resolver';
import { describe } from '../internal/options.js';

/**
 * The label that hands a Service to a proxy other than kube-proxy (`service.kubernetes.io/service-proxy-name`).
 * kube-proxy ignores every Service that carries it (its informer selector is
 * `!service.kubernetes.io/service-proxy-name`); the EndpointSlice controller copies it onto the slices.
 *
 * @example
 * ```ts
 * const owner = snapshot.service?.labels[SERVICE_PROXY_NAME_LABEL] // e.g. 'multus-proxy'
 * ```
 */
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';

/** A label value: empty, or up to 63 characters of `[A-Za-z0-9._-]` starting and ending alphanumeric. */
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * The proxy that handles `service` instead of a client named `ownName`, or `undefined` when the client
 * balances it. The rule is the one proxies that replace kube-proxy follow (Cilium's
 * `k8s-service-proxy-name`): a client with no name (`''`, the default) takes the Services without the
 * label, as kube-proxy does; a client with a name takes only the Services whose label is that name;
 * `false` ignores the label (spec §11's alternative) and takes every Service. Headless and ExternalName
 * Services are always the client's: no proxy has a virtual IP for them (kube-proxy skips them whatever
 * their labels); the client balances over a headless Service's pods as its DNS records would, and sends
 * ExternalName traffic to the external name.
 *
 * @example
 * ```ts
 * otherProxy({ labels: { 'service.kubernetes.io/service-proxy-name': 'multus-proxy' } }, '') // 'multus-proxy'
 * otherProxy({ labels: {} }, '') // undefined: balanced in-process
 * ```
 */
export function otherProxy(
  service: {
    readonly labels: Readonly<Record<string, string>>;
    readonly headless?: boolean;
    readonly type?: string;
  },
  ownName: string | false,
): string | undefined {
  if (ownName === false || service.headless === true || service.type === 'ExternalName') return undefined;
  const label = service.labels[SERVICE_PROXY_NAME_LABEL];
  if (ownName === '') return label;
  return label === ownName ? undefined : (label ?? 'kube-proxy');
}

/** @internal Validate a `serviceProxyName` option: a Kubernetes label value or `false`, `''` by default. */
export function serviceProxyNameOption(path: string, value: unknown): string | false {
  if (value === undefined) return '';
  if (value !== false && (typeof value !== 'string' || !LABEL_VALUE.test(value))) {
    throw new InvalidArgumentError(
      path,
      `${path} must be a Kubernetes label value (up to 63 of A-Z a-z 0-9 . _ -, alphanumeric at both ends), ` +
        `the value of ${SERVICE_PROXY_NAME_LABEL} on the Services this client should balance, or false to ` +
        `balance every Service; got ${describe(value)}`,
    );
  }
  return value;
}
