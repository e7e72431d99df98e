// Benchmark helper: an endpoint pool that answers every request from memory, so that only the layers
// above the connection cost anything (sdk-dispatch, http-instructions --in-process).
//
// It is undici's own DispatcherBase with a `Request` built exactly as undici's Client builds it (so the
// cost of reading the caller's options shape is counted), then driven through connect → headers → body
// → complete synchronously. It is not a socket: the socket costs of the network benchmarks come on top,
// the same for every path.

import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';

// undici internals (the package has no exports map): the base every undici dispatcher extends and the
// Request its Client builds per request. Read, not changed.
const require = createRequire(import.meta.url);
type DispatcherBaseClass = new () => Dispatcher & Record<symbol, unknown>;
const DispatcherBase = require('undici/lib/dispatcher/dispatcher-base.js') as DispatcherBaseClass;
interface UndiciRequest {
  onConnect(abort: (e?: Error) => void): void;
  onHeaders(status: number, raw: Buffer[], resume: () => void, text: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: Buffer[]): void;
}
const UndiciRequest = require('undici/lib/core/request.js') as new (
  origin: string,
  opts: Dispatcher.DispatchOptions,
  handler: unknown,
) => UndiciRequest;
const symbols = require('undici/lib/core/symbols.js') as Record<'kDispatch' | 'kClose' | 'kDestroy' | 'kUrl', symbol>;

const BODY = Buffer.from('ok');
const noop = (): void => {};

/**
 * An endpoint pool that answers every request at once: 200, `x-pod`, a 2-byte body.
 *
 * @example
 * ```ts
 * const pool = new AnsweringPool('http://10.0.0.1:8080')
 * const { body } = await request('http://10.0.0.1:8080/', { dispatcher: pool })
 * ```
 */
export class AnsweringPool extends DispatcherBase {
  readonly #origin: string;
  readonly #raw: Buffer[];
  /** Requests answered. */
  requests = 0;

  constructor(origin: string) {
    super();
    this.#origin = origin;
    this[symbols.kUrl] = new URL(origin); // what BalancedPool reads of its pools
    this.#raw = [Buffer.from('x-pod'), Buffer.from(origin), Buffer.from('content-length'), Buffer.from('2')];
    this[symbols.kDispatch] = (opts: Dispatcher.DispatchOptions, handler: unknown): boolean => {
      const r = new UndiciRequest(this.#origin, opts, handler);
      this.requests++;
      r.onConnect(noop);
      r.onHeaders(200, this.#raw, noop, 'OK');
      r.onData(BODY);
      r.onComplete([]);
      return true;
    };
    this[symbols.kClose] = async (): Promise<void> => {};
    this[symbols.kDestroy] = async (): Promise<void> => {};
  }
}
