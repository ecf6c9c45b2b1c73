/**
 * Mean and standard deviation of a handful of values (seeds, folds, repeated runs) without float
 * noise: values equal to within rounding (max - min <= n x 4 x Number.EPSILON x max |value|, the
 * error a sum of n such values can carry) have std exactly 0 and mean exactly their minimum.
 * Before, ten seeds that all found 91.6067 printed `± 1.498e-14` (tsnas repeat, session 11).
 * Everything that prints or stores `mean ± std` of runs uses these (src/api/repeat.ts statsOf,
 * src/eval/train.ts cv spreads, bench/).
 */

/** True when the finite values `xs` are equal to within the rounding of summing them. */
export function equalWithinRounding(xs: readonly number[]): boolean {
  if (xs.length < 2) return true;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of xs) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi - lo <= xs.length * 4 * Number.EPSILON * Math.max(Math.abs(lo), Math.abs(hi));
}

/** Arithmetic mean (NaN for no values); exactly the common value when all are equal within rounding. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  if (equalWithinRounding(xs)) return Math.min(...xs);
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); 0 for fewer than two values and for values equal within rounding. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2 || equalWithinRounding(xs)) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** Population standard deviation (n); 0 for values equal within rounding. */
export function populationStd(xs: readonly number[]): number {
  if (xs.length < 2 || equalWithinRounding(xs)) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
}
