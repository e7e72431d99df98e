import { meshChannelOptions, register } from '@clusterip/sdk/grpc';
import test from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createEchoClient, createGrpcTestServer } from '../helpers/grpc-test-server.js';

test('gRPC: an ExternalName Service connects to its external name; turned into a ClusterIP Service, to its pods', async (t) => {
  const cluster = await createFakeCluster(t);
  // `localhost` stands in for the external name: the system resolver answers it, as it would api.example.com.
  const external = await createGrpcTestServer(t, { name: 'external', host: '127.0.0.1' });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'ext' },
    spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'grpc', port: external.port }] },
  });
  register();
  const options = meshChannelOptions({ resolver: cluster.resolver });
  const byNumber = createEchoClient(t, `kubernetes:///ext:${external.port}`, options);
  t.is((await byNumber.who({}, { waitForReady: true, deadlineMs: 10_000 })).pod, 'external');
  const byName = createEchoClient(t, 'kubernetes:///ext:grpc', options);
  t.is(
    (await byName.who({}, { waitForReady: true, deadlineMs: 10_000 })).pod,
    'external',
    'a port name is looked up in the Service',
  );

  // The Service becomes a ClusterIP Service with a pod: the channel follows, no new channel needed.
  const pod = await createGrpcTestServer(t, { name: 'ext-1', host: '127.0.239.11' });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'ext' },
    spec: { selector: { app: 'ext' }, ports: [{ name: 'grpc', port: external.port, targetPort: 'grpc' }] },
  });
  cluster.addPod({ name: 'ext-1', ip: pod.host, labels: { app: 'ext' }, ports: { grpc: pod.port } });
  await new Promise<void>((resolve) => {
    const watch = cluster.resolver.watch('ext:grpc', (s) => {
      if (s.service?.type === 'ClusterIP' && s.endpoints.length === 1) {
        void watch.close();
        resolve();
      }
    });
  });
  let seen = '';
  for (let i = 0; i < 200 && seen !== 'ext-1'; i++)
    seen = (await byName.who({}, { waitForReady: true, deadlineMs: 10_000 })).pod;
  t.is(seen, 'ext-1');
});

test('gRPC: an ExternalName whose name does not resolve fails calls with UNAVAILABLE and the reason', async (t) => {
  const cluster = await createFakeCluster(t);
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'gone' },
    spec: { type: 'ExternalName', externalName: 'no-such-host.invalid' },
  });
  register();
  const echo = createEchoClient(t, 'kubernetes:///gone:443', meshChannelOptions({ resolver: cluster.resolver }));
  const error = (await echo.who({}, { deadlineMs: 5000 }).catch((e: unknown) => e)) as {
    code?: number;
    details?: string;
  };
  t.is(error.code, 14);
  t.regex(error.details ?? '', /gone\.default:443: ExternalName no-such-host\.invalid: .*(ENOTFOUND|EAI_AGAIN)/);
});
