// ⑥ Picker: the pure selection maths every picker uses (p2c pairs, peak-EWMA, ejection times, panic,
// consistent-hash ring). Consumes numbers and keys; produces indexes and estimates. No state, no clock.
// (Ejection and panic maths live with outlier detection in eligibility/, which this stage builds on.)

/**
 * Uniform index in `[0, n)` from one random draw in `[0, 1)` (what iptables' `statistic --mode random`
 * chain and nftables' `numgen random mod N` amount to: 1/n per endpoint, spec §7.1–7.2).
 *
 * @example
 * ```ts
 * uniformIndex(4, 0.99) // 3
 * ```
 */
export function uniformIndex(n: number, r: number): number {
  return (r * n) | 0;
}

/**
 * The second index of a power-of-two-choices pair: uniform over `[0, n)` minus `first`, so the pair is
 * always two distinct endpoints when `n ≥ 2` (linkerd `gen_pair`). Returns `first` when `n < 2`.
 *
 * @example
 * ```ts
 * const i = uniformIndex(n, random()); const j = p2cSecond(n, i, random())
 * ```
 */
export function p2cSecond(n: number, first: number, r: number): number {
  if (n < 2) return first;
  const j = (r * (n - 1)) | 0;
  return j >= first ? j + 1 : j;
}

/**
 * Peak-sensitive EWMA of round-trip time (Finagle `PeakEwma`, linkerd `peak_ewma.rs`): a sample above
 * the estimate replaces it at once (peak); a lower one is blended in with weight `1 - e^(-Δt/τ)`, so
 * the estimate decays towards recent samples with time constant `decayMs`.
 *
 * @param cost current estimate (ms)
 * @param elapsedMs time since the estimate was last updated
 * @param rttMs the new sample
 * @example
 * ```ts
 * peakEwmaObserve(10, 1000, 500, 10_000) // 500 (a peak is taken at once)
 * peakEwmaObserve(500, 10_000, 10, 10_000) // ≈ 190 (decays towards 10)
 * ```
 */
export function peakEwmaObserve(cost: number, elapsedMs: number, rttMs: number, decayMs: number): number {
  if (rttMs > cost) return rttMs;
  const w = Math.exp(-Math.max(0, elapsedMs) / decayMs);
  return cost * w + rttMs * (1 - w);
}

/**
 * Peak-EWMA load of an endpoint: `rtt × (inFlight + 1)` (Finagle multiplies the latency estimate by the
 * outstanding requests plus one, so an idle fast endpoint wins and a busy one pays for its queue).
 *
 * @example
 * ```ts
 * peakEwmaLoad(20, 0) // 20
 * peakEwmaLoad(20, 3) // 80
 * ```
 */
export function peakEwmaLoad(costMs: number, inFlight: number): number {
  return costMs * (inFlight + 1);
}

/**
 * Slow-start weight of an endpoint `elapsedMs` after it joined: ramps linearly from `minWeight` to 1
 * over `windowMs` (Envoy slow start with aggression 1).
 *
 * @example
 * ```ts
 * slowStartWeight(5_000, 10_000, 0.1) // 0.5
 * ```
 */
export function slowStartWeight(elapsedMs: number, windowMs: number, minWeight: number): number {
  if (elapsedMs >= windowMs) return 1;
  const w = Math.max(0, elapsedMs) / windowMs;
  return Math.max(minWeight, w);
}

/**
 * 32-bit hash of a string (FNV-1a over UTF-16 code units, then the murmur3 finaliser so nearby keys
 * spread over the whole ring). Stable across processes and versions: affinity must not move on restart.
 *
 * @example
 * ```ts
 * hash32('user-42') === hash32('user-42') // true
 * ```
 */
export function hash32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** murmur3's 32-bit finaliser: a bijection on 32-bit integers with full avalanche. */
function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hash of the `point`-th ring point of a key whose {@link hash32} is `keyHash`: the key hash mixed with a
 * per-point odd constant, so a ring of n keys × p points costs n string hashes, not n × p.
 */
export function pointHash(keyHash: number, point: number): number {
  return fmix32(keyHash ^ Math.imul(point + 1, 0x9e3779b1));
}

/** A consistent-hash ring: sorted point hashes and, for each point, the index of its owner. */
export interface Ring {
  readonly hashes: Uint32Array;
  readonly owners: Uint32Array;
}

/**
 * Build a ring (Karger consistent hashing, as Envoy/grpc `ring_hash`): each key gets `pointsPerKey`
 * points at `pointHash(hash32(key), i)`. The count does not depend on how many keys there are, and the same
 * keys give the same ring whatever their order, so adding or removing one endpoint only moves the keys
 * that hashed next to its points.
 *
 * @example
 * ```ts
 * const ring = buildRing(['10.0.0.1:80', '10.0.0.2:80'], 100)
 * const owner = ringOwner(ring, hash32('user-42')) // 0 or 1
 * ```
 */
export function buildRing(keys: readonly string[], pointsPerKey: number): Ring {
  const n = keys.length;
  if (n === 0) return { hashes: new Uint32Array(0), owners: new Uint32Array(0) };
  const per = Math.max(1, pointsPerKey);
  const total = per * n;
  // Points are laid out in key order, so that equal point hashes (expected about once in 100k points)
  // are ordered by key, never by input position: the ring depends on the set of keys only.
  const byKey = Array.from({ length: n }, (_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
  let hashes = new Uint32Array(total);
  let owners = new Uint32Array(total);
  for (let rank = 0; rank < n; rank++) {
    const kh = hash32(keys[byKey[rank]!]!);
    const owner = byKey[rank]!;
    for (let r = 0; r < per; r++) {
      hashes[rank * per + r] = pointHash(kh, r);
      owners[rank * per + r] = owner;
    }
  }
  // LSD radix sort on the hash, four 8-bit passes. It is stable, so equal hashes stay in key order, and
  // it sorts hash and owner together without packing (1000 endpoints × 100 points: ~5 ms here, against
  // ~10 ms for a typed-array sort of packed doubles).
  let hashesTmp = new Uint32Array(total);
  let ownersTmp = new Uint32Array(total);
  const count = new Uint32Array(256);
  for (let shift = 0; shift <= 24; shift += 8) {
    count.fill(0);
    for (let p = 0; p < total; p++) count[(hashes[p]! >>> shift) & 0xff]!++;
    let sum = 0;
    for (let d = 0; d < 256; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let p = 0; p < total; p++) {
      const h = hashes[p]!;
      const at = count[(h >>> shift) & 0xff]!++;
      hashesTmp[at] = h;
      ownersTmp[at] = owners[p]!;
    }
    [hashes, hashesTmp] = [hashesTmp, hashes];
    [owners, ownersTmp] = [ownersTmp, owners];
  }
  return { hashes, owners };
}

/**
 * Position on the ring of the first point at or after `hash` (wrapping), by binary search.
 * Returns -1 for an empty ring.
 */
export function ringPosition(ring: Ring, hash: number): number {
  const { hashes } = ring;
  const n = hashes.length;
  if (n === 0) return -1;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hashes[mid]! < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === n ? 0 : lo;
}

/**
 * Index of the key owning `hash` on the ring, or -1 for an empty ring.
 *
 * @example
 * ```ts
 * ringOwner(buildRing(['a', 'b'], 64), hash32('k'))
 * ```
 */
export function ringOwner(ring: Ring, hash: number): number {
  const p = ringPosition(ring, hash);
  return p < 0 ? -1 : ring.owners[p]!;
}
