// Example (gRPC): the service definition the client calls — `examples.Greeter/SayHello` with JSON messages,
// so the example needs no protobuf code generation. Your app would use generated stubs or proto-loader here.

import type { ServiceDefinition } from '@grpc/grpc-js';

/** `SayHello` request. */
export interface HelloRequest {
  readonly name: string;
}

/** `SayHello` reply: the greeting and the pod that produced it. */
export interface HelloReply {
  readonly message: string;
  readonly pod: string;
}

const serialize = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const deserialize = (bytes: Buffer): never => JSON.parse(bytes.toString('utf8')) as never;

/**
 * The Greeter service, for `makeGenericClientConstructor` (clients) and `Server.addService` (servers).
 *
 * @example
 * ```ts
 * const Greeter = makeGenericClientConstructor(greeterService, 'Greeter')
 * const client = new Greeter('kubernetes:///greeter:grpc', credentials.createInsecure())
 * ```
 */
export const greeterService: ServiceDefinition = {
  sayHello: {
    path: '/examples.Greeter/SayHello',
    requestStream: false,
    responseStream: false,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  },
};
