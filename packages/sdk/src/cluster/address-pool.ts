// Local cluster: the pod IP allocator over a loopback range (each pod its own 127.0.0.x).
// Consumes allocate/release calls; produces addresses, never one that is still held.

import { numberToIpv4 } from './local-cluster-options.js';

/**
 * Hands out the lowest free address of `[first, last]`. An address comes back only through
 * `release`, which the kubelet calls once every container of the pod holding it has stopped, so a
 * late packet to an old pod never reaches a new one.
 */
export class AddressPool {
  readonly #first: number;
  readonly #last: number;
  readonly #held = new Set<number>();

  constructor(first: number, last: number) {
    this.#first = first;
    this.#last = last;
  }

  /** Number of addresses held. */
  get inUse(): number {
    return this.#held.size;
  }

  /** A free address, or undefined when every one is held. */
  allocate(): string | undefined {
    for (let n = this.#first; n <= this.#last; n++) {
      if (this.#held.has(n)) continue;
      this.#held.add(n);
      return numberToIpv4(n);
    }
    return undefined;
  }

  release(ip: string): void {
    const n = ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
    this.#held.delete(n);
  }
}
