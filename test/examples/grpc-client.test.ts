// Example test (packages/examples/src/grpc-client): three grpc-js servers as pods of Service `greeter` in an
// emulated cluster; the compiled client program runs with a kubeconfig and must reach all of them.

import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { jsonGrpcMethod } from '../helpers/grpc-test-server.js';
import { waitForReady } from '../helpers/http-test-server.js';
import { exampleEnv, examplePath, runExample } from './run-example.js';

// The example's service definition (examples.Greeter/SayHello, JSON messages), server side.
const greeter = {
  sayHello: jsonGrpcMethod('/examples.Greeter/SayHello'),
} as unknown as grpc.ServiceDefinition;

test('a grpc-js client on kubernetes:///greeter:grpc spreads its RPCs over every pod', async (t) => {
  const cluster = await createFakeCluster(t, { namespace: 'shop' });
  cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'greeter' },
    spec: { selector: { app: 'greeter' }, ports: [{ name: 'grpc', port: 50051, targetPort: 'grpc' }] },
  });
  for (let i = 1; i <= 3; i++) {
    const pod = `greeter-${i}`;
    const server = new grpc.Server();
    server.addService(greeter, {
      sayHello: (
        call: grpc.ServerUnaryCall<{ name: string }, unknown>,
        callback: grpc.sendUnaryData<{ message: string; pod: string }>,
      ) => callback(null, { message: `hello, ${call.request.name}`, pod }),
    });
    const ip = `127.0.92.${10 + i}`;
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${ip}:0`, grpc.ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(error) : resolve(p),
      ),
    );
    t.teardown(() => server.forceShutdown());
    cluster.addPod({ name: pod, ip, labels: { app: 'greeter' }, ports: { grpc: port } });
  }
  await waitForReady(cluster.resolver, 'greeter:grpc', 3);

  const env = await exampleEnv(t, cluster.api, 'shop', { CALLS: '60' });
  const { stdout } = await runExample(t, examplePath('grpc-client'), [], env);
  t.log(stdout);
  t.regex(stdout, /^kubernetes:\/\/\/greeter:grpc: 60 RPCs on one channel; first reply "hello, call 1"$/m);
  const counts = [...stdout.matchAll(/^\s+(\d+) × (greeter-\d)$/gm)].map((m) => [m[2], Number(m[1])] as const);
  t.deepEqual(
    counts.map(([pod]) => pod),
    ['greeter-1', 'greeter-2', 'greeter-3'],
  );
  t.is(
    counts.reduce((sum, [, n]) => sum + n, 0),
    60,
  );
});
