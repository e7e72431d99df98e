// Example test (packages/examples/src/fetch-with-mesh): runs the compiled program against an emulated cluster
// (FakeKubernetesApi + EndpointSlice controller, three HTTP pods on loopback) through a kubeconfig file.

import test from 'ava';
import { createExampleService, exampleEnv, examplePath, runExample } from './run-example.js';

test('fetch through a Mesh reaches every pod of the Service, found through KUBECONFIG', async (t) => {
  const { cluster } = await createExampleService(t, {
    service: 'backend-service',
    app: 'backend',
    count: 3,
    subnet: 90,
    handler: (_req, res, pod) => res.end(`hello from ${pod.name}\n`),
  });

  const env = await exampleEnv(t, cluster.api, 'shop', { REQUESTS: '60' });
  const { stdout } = await runExample(t, examplePath('fetch-with-mesh'), [], env);
  t.log(stdout);
  t.regex(stdout, /http:\/\/backend-service\/ → backend-service\.shop\.svc\.cluster\.local\. \(ok\)/);
  for (const pod of ['backend-1', 'backend-2', 'backend-3']) {
    t.regex(stdout, new RegExp(`endpoint ${pod} 127\\.0\\.90\\.\\d+:\\d+ eligible \\(ready\\)`));
  }
  // 60 random picks over 3 pods: every pod answers (a pod missing all 60 has probability 3·(2/3)^60 ≈ 1e-10).
  const counts = [...stdout.matchAll(/^\s+(\d+) × 200 hello from (backend-\d)$/gm)].map((m) => [m[2], Number(m[1])]);
  t.deepEqual(counts.map(([pod]) => pod).sort(), ['backend-1', 'backend-2', 'backend-3']);
  t.is(
    counts.reduce((sum, [, n]) => sum + Number(n), 0),
    60,
  );
});
