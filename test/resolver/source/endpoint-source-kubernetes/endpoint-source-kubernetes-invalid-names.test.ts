import test from 'ava';
import { createFakeCluster } from '../../../helpers/fake-cluster.js';

// A name that cannot be a Service (not a DNS-1123 label) is NXDOMAIN in cluster DNS: the source
// answers not-found without asking the API, instead of reporting the API's 400 as an outage.
// The kubernetes: scheme names Kubernetes objects only, so such a label is already malformed there.
const cases: [string, string, string][] = [
  ['-bad-', '-bad-:80', 'CLUSTERIP_ERR_SERVICE_NOT_FOUND'],
  ['my_svc', 'my_svc:80', 'CLUSTERIP_ERR_SERVICE_NOT_FOUND'],
  ['x_y (explicit namespace)', 'kubernetes://default/x_y:80', 'CLUSTERIP_ERR_INVALID_NAME'],
];
for (const [name, target, code] of cases) {
  test(`${JSON.stringify(name)} rejects with ${code} without an API request`, async (t) => {
    const cluster = await createFakeCluster(t);
    cluster.api.clearRequests();
    const error = await t.throwsAsync(cluster.resolver.resolve(target));
    t.is((error as { code?: string }).code, code);
    t.deepEqual(
      cluster.api.requests.filter((r) => r.path.includes('/services') || r.path.includes('/endpointslices')),
      [],
    );
  });
}
