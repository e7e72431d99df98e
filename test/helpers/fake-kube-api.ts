// Test helper: starts a FakeKubernetesApi for one ava test and closes it in t.teardown.
// Consumes the ava context and server options; produces a running FakeKubernetesApi.

import { FakeKubernetesApi, type FakeKubernetesApiOptions } from '@clusterip/resolver/testing';
import type { ExecutionContext } from 'ava';

/**
 * Start a fake Kubernetes API server on loopback for the duration of test `t`.
 *
 * @example
 * ```ts
 * test('lists slices', async (t) => {
 *   const api = await createFakeKubeApi(t, { historySize: 10 })
 *   api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } })
 *   const res = await fetch(`${api.url}/api/v1/namespaces/default/services`)
 * })
 * ```
 */
export async function createFakeKubeApi(
  t: ExecutionContext,
  options?: FakeKubernetesApiOptions,
): Promise<FakeKubernetesApi> {
  const api = await FakeKubernetesApi.start(options);
  t.teardown(() => api.close());
  return api;
}
