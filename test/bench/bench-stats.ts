// Benchmark helper: the statistics every benchmark reports (median, nearest-rank quantiles, a
// distribution-free interval for the median). No imports: the HTTP load clients load it too.

/** Median of `values` (mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The `q` quantile (nearest rank, 0 ≤ q ≤ 1) of `values`; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  return quantileSorted(
    [...values].sort((a, b) => a - b),
    q,
  );
}

/**
 * The `q` quantile (nearest rank: the smallest value with at least `q` of the values at or below it) of
 * `sorted`, ascending, without a copy; NaN when empty.
 *
 * @example
 * ```ts
 * quantileSorted([1, 2, 3, 4], 0.5) // 2
 * ```
 */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * A distribution-free confidence interval for the median of `values`: the order statistics
 * `[x(k), x(n+1−k)]` with the largest `k` whose binomial tail (p = ½) stays within `(1 − confidence) / 2`
 * on each side. `coverage` is the interval's exact coverage (at least `confidence` when `n` allows it:
 * n ≥ 6 for 95 %; below that the whole range, with its smaller coverage). NaNs when empty.
 *
 * @example
 * ```ts
 * medianInterval(perRoundRatios) // { low: 0.97, high: 1.04, coverage: 0.96 } for 20 rounds
 * ```
 */
export function medianInterval(
  values: readonly number[],
  confidence = 0.95,
): { low: number; high: number; coverage: number } {
  const n = values.length;
  if (n === 0) return { low: Number.NaN, high: Number.NaN, coverage: Number.NaN };
  const s = [...values].sort((a, b) => a - b);
  // tail = P(X ≤ k − 1) for X ~ Binomial(n, ½), in log space for the pmf (0.5^n underflows past n ≈ 1074).
  let logPmf = n * Math.log(0.5); // log P(X = k − 1)
  let tail = Math.exp(logPmf);
  let k = 1;
  while (k + 1 <= (n + 1) / 2) {
    logPmf += Math.log(n - (k - 1)) - Math.log(k); // log P(X = k)
    const next = tail + Math.exp(logPmf);
    if (next > (1 - confidence) / 2) break;
    tail = next;
    k++;
  }
  return { low: s[k - 1]!, high: s[n - k]!, coverage: 1 - 2 * tail };
}

/** p50 / p99 / max / count of `values`. */
export function distribution(values: readonly number[]): { p50: number; p99: number; max: number; n: number } {
  return {
    p50: quantile(values, 0.5),
    p99: quantile(values, 0.99),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
    n: values.length,
  };
}
