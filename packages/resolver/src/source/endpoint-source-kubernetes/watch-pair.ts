// ③ Endpoint source (Kubernetes): the two list+watch loops that feed Services — one of Services, one of
// EndpointSlices — selected for one Service or unselected for a whole namespace.
// Consumes the source's configuration and client; produces the two (unstarted) ListWatches.

import { normalizeService } from '../../service/normalize-service.js';
import type { ServiceInfo } from '../../service/service-info.js';
import type { KubernetesSourceConfig } from './config.js';
import { type DecodedSlice, decodeEndpointSlice, SERVICE_NAME_LABEL } from './endpoint-slice-merge.js';
import type { KubeApiClient } from './kube-api-client.js';
import { ListWatch, type ListWatchHandlers } from './list-watch.js';

/** A Service list+watch and an EndpointSlice list+watch. */
export interface WatchPair {
  readonly services: ListWatch<ServiceInfo>;
  readonly slices: ListWatch<DecodedSlice>;
}

/**
 * The pair for `service` in `namespace` (the Service by `fieldSelector=metadata.name`, its slices by
 * `labelSelector=kubernetes.io/service-name`), or, with `service` undefined, for every Service and slice
 * of the namespace. Not started.
 *
 * @example
 * ```ts
 * const pair = createWatchPair(config, client, 'prod', 'web', { services: {...}, slices: {...} })
 * pair.services.start(); pair.slices.start()
 * ```
 */
export function createWatchPair(
  config: KubernetesSourceConfig,
  client: KubeApiClient,
  namespace: string,
  service: string | undefined,
  handlers: { readonly services: ListWatchHandlers<ServiceInfo>; readonly slices: ListWatchHandlers<DecodedSlice> },
): WatchPair {
  const settings = {
    client,
    backoff: config.backoff,
    minWatchTimeoutSeconds: config.minWatchTimeoutSeconds,
    requestTimeoutMs: config.requestTimeoutMs,
    now: config.now,
    random: config.random,
    timers: config.timers,
  };
  const ns = encodeURIComponent(namespace);
  const scope = service === undefined ? `${namespace} (namespace-wide)` : `${namespace}/${service}`;
  return {
    services: new ListWatch<ServiceInfo>({
      ...settings,
      path: `/api/v1/namespaces/${ns}/services`,
      selector: service === undefined ? {} : { fieldSelector: `metadata.name=${service}` },
      listKind: 'ServiceList',
      itemKind: 'Service',
      decode: normalizeService,
      ...(service === undefined ? {} : { accept: (s: ServiceInfo) => s.name === service }),
      subject: `services ${scope}`,
      handlers: handlers.services,
    }),
    slices: new ListWatch<DecodedSlice>({
      ...settings,
      path: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
      selector: service === undefined ? {} : { labelSelector: `${SERVICE_NAME_LABEL}=${service}` },
      listKind: 'EndpointSliceList',
      itemKind: 'EndpointSlice',
      decode: decodeEndpointSlice,
      ...(service === undefined ? {} : { accept: (s: DecodedSlice) => s.serviceName === service }),
      subject: `endpointslices ${scope}`,
      handlers: handlers.slices,
    }),
  };
}
