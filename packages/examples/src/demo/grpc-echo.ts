// Demo (frontend, gRPC): a grpc-js client of the echo-grpc image's `/clusterip.demo.Echo/Echo` (JSON, no protos).
// Consumes a Mesh and a `kubernetes:` target; produces an EchoClient balanced per call by the SDK.

import type { Mesh } from '@clusterip/sdk';
import { echoGrpcService } from '@clusterip/sdk/cluster';
import { meshChannelOptions, register } from '@clusterip/sdk/grpc';
import * as grpc from '@grpc/grpc-js';
import type { EchoAnswer } from './traffic.js';

/** A gRPC client of the echo Service. */
export interface EchoClient {
  /** One unary call with a deadline; rejects with the grpc-js error (its `code` is the gRPC status). */
  echo(request: Record<string, unknown>, deadlineMs: number): Promise<EchoAnswer>;
  close(): void;
}

/**
 * A client for `target` (e.g. `kubernetes:///backend-grpc:grpc`) resolved and balanced by `mesh` (per call,
 * over one HTTP/2 connection per pod).
 *
 * @example
 * ```ts
 * const client = createEchoClient(mesh, 'kubernetes:///backend-grpc:grpc')
 * const { pod } = await client.echo({}, 2000)
 * client.close()
 * ```
 */
export function createEchoClient(mesh: Mesh, target: string): EchoClient {
  // register() without a mesh: the process-wide registration may already exist (the embedded cluster's pods
  // share this process); the channel resolves through the demo's mesh by its options.
  register();
  const Client = grpc.makeGenericClientConstructor(echoGrpcService, 'Echo');
  const client = new Client(target, grpc.credentials.createInsecure(), { ...meshChannelOptions(mesh) });
  const call = client as unknown as {
    Echo(
      request: unknown,
      metadata: grpc.Metadata,
      options: grpc.CallOptions,
      callback: (error: grpc.ServiceError | null, answer: EchoAnswer) => void,
    ): void;
  };
  return {
    echo: (request, deadlineMs) =>
      new Promise((resolve, reject) =>
        call.Echo(request, new grpc.Metadata({ waitForReady: true }), { deadline: Date.now() + deadlineMs }, (e, a) =>
          e ? reject(e) : resolve(a),
        ),
      ),
    close: () => client.close(),
  };
}
