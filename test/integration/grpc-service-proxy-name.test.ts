import { meshChannelOptions, register } from '@clusterip/sdk/grpc';
import test, { type ExecutionContext } from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createEchoClient, createGrpcTestServer, type EchoClient } from '../helpers/grpc-test-server.js';

const LABEL = 'service.kubernetes.io/service-proxy-name';
const VIP = '127.0.237.100';

/**
 * Service `echo` labelled for proxy `other-proxy`, its ClusterIP a loopback address where a gRPC server
 * named `other-proxy` stands in for that proxy, and three pods behind it.
 */
async function setup(t: ExecutionContext) {
  const cluster = await createFakeCluster(t, { serviceClusterIPRange: '127.0.237.0/24' });
  const proxy = await createGrpcTestServer(t, { name: 'other-proxy', host: VIP });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'echo', labels: { [LABEL]: 'other-proxy' } },
    spec: {
      clusterIP: VIP,
      selector: { app: 'echo' },
      ports: [{ name: 'grpc', port: proxy.port, targetPort: 'grpc' }],
    },
  });
  for (const i of [1, 2, 3]) {
    const pod = await createGrpcTestServer(t, { name: `echo-${i}`, host: `127.0.237.${10 + i}` });
    cluster.addPod({ name: `echo-${i}`, ip: pod.host, labels: { app: 'echo' }, ports: { grpc: pod.port } });
  }
  const snapshot = await cluster.resolver.resolve('echo:grpc');
  t.is(snapshot.endpoints.length, 3);
  register();
  return cluster;
}

async function podsSeen(echo: EchoClient, calls: number): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < calls; i++) seen.add((await echo.who({}, { waitForReady: true })).pod);
  return [...seen].sort();
}

test('gRPC: a Service labelled for another proxy is reached through its ClusterIP; a mesh named for it balances', async (t) => {
  const cluster = await setup(t);
  const plain = createEchoClient(t, 'kubernetes:///echo:grpc', meshChannelOptions({ resolver: cluster.resolver }));
  t.deepEqual(await podsSeen(plain, 12), ['other-proxy']);
  const named = createEchoClient(
    t,
    'kubernetes:///echo:grpc',
    meshChannelOptions({ resolver: cluster.resolver, serviceProxyName: 'other-proxy' }),
  );
  t.deepEqual(await podsSeen(named, 30), ['echo-1', 'echo-2', 'echo-3']);
});

test('gRPC: a mesh given with a serviceProxyName that is not a label value is refused', (t) => {
  const error = t.throws(() =>
    meshChannelOptions({ resolver: { watch() {}, context() {} } as never, serviceProxyName: 'no way' }),
  );
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  t.is((error as { option?: string }).option, 'mesh.serviceProxyName');
});
