/**
 * Gaussian-process regression in plain Float64Array math, for model-based strategies (bo.ts).
 * Small by design: exact GP with a Cholesky factor, O(n^3) fit and O(n^2) per prediction, meant for
 * a few hundred training points (callers cap the training set).
 *
 * Kernel: k(a, b) = exp(-||a - b||^2 / (2 * scale * lengthscale)), on architecture encodings. With a
 * one-hot encoding ||a - b||^2 = 2 * (number of differing sites), so with `scale` = number of sites
 * the kernel is exp(-(fraction of differing sites) / lengthscale): an exponentiated Hamming kernel.
 */
import { NasError } from '../core/errors.js';

export interface GpOptions {
  /** Relative lengthscale (see the file comment). */
  readonly lengthscale: number;
  /** Observation noise variance, relative to the unit prior variance of the standardised targets. */
  readonly noise: number;
  /** Normaliser of squared distances (e.g. the number of one-hot sites). */
  readonly scale: number;
}

export interface GpModel {
  readonly X: readonly Float64Array[];
  /** Lower Cholesky factor of K + noise*I, row-major n x n. */
  readonly L: Float64Array;
  /** (K + noise*I)^-1 y. */
  readonly alpha: Float64Array;
  readonly opts: GpOptions;
}

function sqdist(a: Float64Array, b: Float64Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const t = a[i]! - b[i]!;
    d += t * t;
  }
  return d;
}

export function kernel(a: Float64Array, b: Float64Array, o: GpOptions): number {
  return Math.exp(-sqdist(a, b) / (2 * o.scale * o.lengthscale));
}

/** In-place lower Cholesky of a symmetric positive definite row-major matrix; adds jitter if needed. */
export function cholesky(A: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      const ri = i * n;
      const rj = j * n;
      for (let k = 0; k < j; k++) s -= L[ri + k]! * L[rj + k]!;
      if (i === j) L[ri + i] = Math.sqrt(Math.max(s, 1e-10));
      else L[ri + j] = s / L[rj + j]!;
    }
  }
  return L;
}

/** Solves L x = b (forward substitution). */
export function solveLower(L: Float64Array, n: number, b: Float64Array): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    const ri = i * n;
    for (let k = 0; k < i; k++) s -= L[ri + k]! * x[k]!;
    x[i] = s / L[ri + i]!;
  }
  return x;
}

/** Solves L^T x = b (back substitution). */
export function solveUpper(L: Float64Array, n: number, b: Float64Array): Float64Array {
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * x[k]!;
    x[i] = s / L[i * n + i]!;
  }
  return x;
}

/** Fits a zero-mean GP to standardised targets `y`. */
export function fitGp(X: readonly Float64Array[], y: Float64Array, opts: GpOptions): GpModel {
  const n = X.length;
  if (n === 0 || y.length !== n) throw new NasError('internal', `fitGp: ${n} inputs, ${y.length} targets`);
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const v = kernel(X[i]!, X[j]!, opts) + (i === j ? opts.noise : 0);
      K[i * n + j] = v;
      K[j * n + i] = v;
    }
  const L = cholesky(K, n);
  const alpha = solveUpper(L, n, solveLower(L, n, y));
  return { X, L, alpha, opts };
}

/** Posterior mean at `x`. O(n d). */
export function gpMean(m: GpModel, x: Float64Array): number {
  let mean = 0;
  for (let i = 0; i < m.X.length; i++) mean += kernel(x, m.X[i]!, m.opts) * m.alpha[i]!;
  return mean;
}

/** Posterior standard deviation of the latent function at `x` (at most 1, the prior's). O(n^2). */
export function gpSd(m: GpModel, x: Float64Array): number {
  const n = m.X.length;
  const kv = new Float64Array(n);
  for (let i = 0; i < n; i++) kv[i] = kernel(x, m.X[i]!, m.opts);
  const v = solveLower(m.L, n, kv);
  let s2 = 1;
  for (let i = 0; i < n; i++) s2 -= v[i]! * v[i]!;
  return Math.sqrt(Math.max(s2, 1e-12));
}

/** Posterior mean and standard deviation (latent function, without the noise) at `x`. */
export function predictGp(m: GpModel, x: Float64Array): { mean: number; sd: number } {
  const n = m.X.length;
  const kv = new Float64Array(n);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    kv[i] = kernel(x, m.X[i]!, m.opts);
    mean += kv[i]! * m.alpha[i]!;
  }
  const v = solveLower(m.L, n, kv);
  let s2 = 1;
  for (let i = 0; i < n; i++) s2 -= v[i]! * v[i]!;
  return { mean, sd: Math.sqrt(Math.max(s2, 1e-12)) };
}

/** Inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * Gaussian-copula transform: each value replaced by the normal quantile of its rank, (r + 0.5) / n.
 * Makes a GP indifferent to the objective's scale and to outliers (NB201's broken cells at 10%),
 * which a plain standardisation lets dominate the fit. Ties get the mean of their ranks' scores;
 * -Infinity (failed / infeasible) sorts lowest.
 */
export function copulaScores(y: readonly number[]): Float64Array {
  const n = y.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => y[a]! - y[b]! || a - b);
  const out = new Float64Array(n);
  for (let s = 0; s < n; ) {
    let e = s;
    while (e + 1 < n && y[idx[e + 1]!] === y[idx[s]!]) e++;
    let z = 0;
    for (let r = s; r <= e; r++) z += normalQuantile((r + 0.5) / n);
    z /= e - s + 1;
    for (let r = s; r <= e; r++) out[idx[r]!] = z;
    s = e + 1;
  }
  return out;
}
