// Example test (packages/examples/src/undici-interceptors): runs the compiled program against an emulated
// cluster whose pods redirect, echo the request id and answer 404, and checks what it printed.

import test from 'ava';
import { createExampleService, exampleEnv, examplePath, runExample } from './run-example.js';

test('undici.request with composed interceptors: redirect followed, request id on every request, 404 thrown, all pods used', async (t) => {
  const ids: string[] = [];
  const { cluster } = await createExampleService(t, {
    service: 'backend-service',
    app: 'backend',
    count: 3,
    subnet: 91,
    handler: (req, res, pod) => {
      const id = String(req.headers['x-request-id']);
      ids.push(id);
      if (req.url === '/old-path') {
        res.writeHead(302, { location: '/hello' }).end();
      } else if (req.url === '/hello') {
        res.end(`hello from ${pod.name} (request ${id})\n`);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route ${req.url}\n`);
      }
    },
  });

  const env = await exampleEnv(t, cluster.api, 'shop', { REQUESTS: '45' });
  const { stdout } = await runExample(t, examplePath('undici-interceptors'), [], env);
  t.log(stdout);
  t.regex(stdout, /^GET \/old-path → 200 after redirect: hello from backend-\d \(request [0-9a-f-]{36}\)$/m);
  t.regex(stdout, /^GET \/hello × 45: 45 carried an x-request-id$/m);
  // 45 random picks over 3 pods: a pod missing all of them has probability 3·(2/3)^45 ≈ 4e-8.
  const pods = [...stdout.matchAll(/^\s+\d+ × (backend-\d)$/gm)].map((m) => m[1]);
  t.deepEqual(pods, ['backend-1', 'backend-2', 'backend-3']);
  t.regex(stdout, /^GET \/missing → UND_ERR_RESPONSE 404: no route \/missing$/m);
  // Every request the pods saw (the redirect's two hops, 45 × /hello, /missing) had a distinct id.
  t.is(ids.length, 48);
  t.is(new Set(ids).size, 48);
  t.true(ids.every((id) => /^[0-9a-f-]{36}$/.test(id)));
});
