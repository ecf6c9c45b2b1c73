/** Ranking helpers shared by proxies, predictors and benchmarks (pure; no imports). */

/**
 * Ranks scores, larger value = better: rank 1 is the best; every non-finite or missing value ranks
 * after all finite ones (tied among themselves at the mean of the last ranks); ties share the mean
 * rank. Returns ranks as numbers 1..n (fractional on ties).
 */
export function rankScores(values: readonly (number | undefined | null)[]): Float64Array {
  const n = values.length;
  const idx = [...values.keys()];
  const key = (i: number) => {
    const v = values[i];
    return typeof v === 'number' && Number.isFinite(v) ? v : -Infinity;
  };
  idx.sort((a, b) => key(b) - key(a) || a - b);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && key(idx[j + 1]!) === key(idx[i]!)) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[idx[k]!] = r;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's rank correlation of two equally long series (average ranks for ties; NaN-valued entries rank last in x). */
export function spearman(x: readonly (number | undefined | null)[], y: readonly number[]): number {
  const rx = rankScores(x);
  const ry = rankScores(y);
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += rx[i]!;
    my += ry[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = rx[i]! - mx;
    const b = ry[i]! - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxy / Math.sqrt(sxx * syy);
}
