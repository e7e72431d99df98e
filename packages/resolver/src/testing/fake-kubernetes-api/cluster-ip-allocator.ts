// Fake Kubernetes API: allocates Service ClusterIPs from an IPv4 CIDR and node ports from 30000-32767.
// Consumes allocation and release requests; produces free addresses/ports (random start, linear probe, like a bitmap allocator).

import { InvalidArgumentError } from '../../errors/invalid-argument-error.js';

function ipv4ToInt(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

function intToIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** A range of integers handing out free values; values can also be reserved explicitly. */
class RangeAllocator {
  readonly #first: number;
  readonly #size: number;
  readonly #used = new Set<number>();
  readonly #random: () => number;

  constructor(first: number, last: number, random: () => number) {
    this.#first = first;
    this.#size = last - first + 1;
    this.#random = random;
  }

  contains(value: number): boolean {
    return value >= this.#first && value < this.#first + this.#size;
  }

  isUsed(value: number): boolean {
    return this.#used.has(value);
  }

  allocate(): number | undefined {
    const start = Math.floor(this.#random() * this.#size) % this.#size;
    for (let i = 0; i < this.#size; i++) {
      const candidate = this.#first + ((start + i) % this.#size);
      if (!this.#used.has(candidate)) {
        this.#used.add(candidate);
        return candidate;
      }
    }
    return undefined;
  }

  reserve(value: number): void {
    this.#used.add(value);
  }

  release(value: number): void {
    this.#used.delete(value);
  }
}

/** Why a requested address or port cannot be used. */
export type AllocationProblem = 'out-of-range' | 'in-use' | 'exhausted';

/** ClusterIP allocation for one IPv4 service CIDR (`--service-cluster-ip-range`). */
export class ClusterIpAllocator {
  readonly cidr: string;
  readonly #ips: RangeAllocator;
  readonly #ports: RangeAllocator;

  /** @throws InvalidArgumentError when `cidr` is not an IPv4 CIDR with room for at least 2 hosts. */
  constructor(cidr: string, random: () => number, option = 'serviceClusterIPRange') {
    const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
    const base = m ? ipv4ToInt(m[1] ?? '') : undefined;
    const bits = m ? Number(m[2]) : Number.NaN;
    if (base === undefined || !(bits >= 8 && bits <= 30)) {
      throw new InvalidArgumentError(
        option,
        `${option} must be an IPv4 CIDR with a prefix from /8 to /30, e.g. 10.96.0.0/16, got ${JSON.stringify(cidr)}`,
      );
    }
    const size = 2 ** (32 - bits);
    const network = base - (base % size);
    this.cidr = `${intToIpv4(network)}/${bits}`;
    // Network and broadcast addresses are never handed out, as in the real allocator.
    this.#ips = new RangeAllocator(network + 1, network + size - 2, random);
    this.#ports = new RangeAllocator(30000, 32767, random);
  }

  /** A free ClusterIP, now reserved; undefined when the range is full. */
  allocateIp(): string | undefined {
    const value = this.#ips.allocate();
    return value === undefined ? undefined : intToIpv4(value);
  }

  /** Reserve a caller-chosen ClusterIP. */
  reserveIp(ip: string): AllocationProblem | undefined {
    const value = ipv4ToInt(ip);
    if (value === undefined || !this.#ips.contains(value)) return 'out-of-range';
    if (this.#ips.isUsed(value)) return 'in-use';
    this.#ips.reserve(value);
    return undefined;
  }

  releaseIp(ip: string): void {
    const value = ipv4ToInt(ip);
    if (value !== undefined) this.#ips.release(value);
  }

  allocatePort(): number | undefined {
    return this.#ports.allocate();
  }

  reservePort(port: number): AllocationProblem | undefined {
    if (!this.#ports.contains(port)) return 'out-of-range';
    if (this.#ports.isUsed(port)) return 'in-use';
    this.#ports.reserve(port);
    return undefined;
  }

  releasePort(port: number): void {
    this.#ports.release(port);
  }
}
