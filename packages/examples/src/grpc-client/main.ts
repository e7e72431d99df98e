// Example (transport, gRPC): a grpc-js client on a `kubernetes:///` target, balanced per RPC by the clusterip
// LB policy after `register()`. Consumes KUBECONFIG (or the service account) and GRPC_TARGET; prints who answered.

import { Mesh } from '@clusterip/sdk';
import { register, serviceConfig } from '@clusterip/sdk/grpc';
import { type Client, credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { greeterService, type HelloReply, type HelloRequest } from './greeter-service.js';

const target = process.env.GRPC_TARGET ?? 'kubernetes:///greeter:grpc';
const calls = Number.parseInt(process.env.CALLS ?? '30', 10);

// One Mesh for HTTP and gRPC: both share its discovery cache (one watch per Service).
const mesh = new Mesh();
// Registers the `kubernetes` resolver and the `clusterip` LB policy with your @grpc/grpc-js, once.
const grpcPlugin = register(mesh);

const Greeter = makeGenericClientConstructor(greeterService, 'Greeter');
const client = new Greeter(target, credentials.createInsecure(), {
  // Per-RPC balancing over every ready pod; without a service config the policy's defaults apply.
  'grpc.service_config': serviceConfig({ policy: 'round-robin', waitForReady: true, retry: { maxAttempts: 3 } }),
});

/** The generic client's method, promisified (generated stubs give you a typed one). */
type SayHello = (
  request: HelloRequest,
  options: { deadline: number },
  callback: (error: ServiceError | null, reply: HelloReply) => void,
) => void;

function sayHello(c: Client, request: HelloRequest): Promise<HelloReply> {
  return new Promise((resolve, reject) => {
    (c as unknown as { sayHello: SayHello }).sayHello(request, { deadline: Date.now() + 5000 }, (error, reply) =>
      error ? reject(error) : resolve(reply),
    );
  });
}

try {
  const pods = new Map<string, number>();
  let first: HelloReply | undefined;
  // One channel, one HTTP/2 connection per pod: kube-proxy would send all of it to one pod.
  for (let i = 0; i < calls; i++) {
    const reply = await sayHello(client, { name: `call ${i + 1}` });
    first ??= reply;
    pods.set(reply.pod, (pods.get(reply.pod) ?? 0) + 1);
  }
  console.log(`${target}: ${calls} RPCs on one channel; first reply "${first?.message}"`);
  for (const [pod, n] of [...pods].sort()) console.log(`  ${String(n).padStart(3)} × ${pod}`);
} finally {
  client.close();
  await grpcPlugin.close();
  await mesh.close();
}
