import type { IncomingMessage, ServerResponse } from 'node:http';
import { Mesh } from '@clusterip/sdk';
import { channels } from '@clusterip/sdk/internal/telemetry/channels.js';
import test from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createHttpTestServer, waitForReady } from '../helpers/http-test-server.js';

// No OpenTelemetry SDK, context manager or propagator registered in this process.
test('without an OTel SDK: same responses, no trace header, nothing subscribed per request', async (t) => {
  const cluster = await createFakeCluster(t);
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  const headers: IncomingMessage['headers'][] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    headers.push(req.headers);
    res.end('ok');
  };
  const pod = await createHttpTestServer(t, { host: '127.0.65.11', name: 'web-1', handler });
  cluster.addPod({ name: 'web-1', ip: pod.host, labels: { app: 'web' }, ports: { http: pod.port } });
  await waitForReady(cluster.resolver, 'web:80', 1);

  const bodies: string[] = [];
  for (const telemetry of [false, true]) {
    const mesh = new Mesh({ resolver: cluster.resolver, telemetry });
    const res = await mesh.fetch('http://web/x', { headers: { 'x-test': '1' } });
    bodies.push(`${res.status} ${await res.text()}`);
    t.false(channels.httpRequest.hasSubscribers);
    t.false(channels.httpAttempt.hasSubscribers);
    await mesh.close();
  }
  t.deepEqual(bodies, ['200 ok', '200 ok']);
  t.is(headers.length, 2);
  const keys = headers.map((h) => Object.keys(h).sort().join(','));
  t.is(keys[0], keys[1], 'the same headers with and without telemetry');
  t.false('traceparent' in headers[1]!);
});
