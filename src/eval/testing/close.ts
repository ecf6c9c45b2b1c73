/**
 * Float comparisons for tests. libtorch's reductions (a loss summed over a batch, a matmul) add in
 * an order that depends on the intra-op thread count, so a value recomputed under another thread
 * count (or another process) may differ in the last float32 bits: 1.968476414680481 vs
 * 1.9684765338897705 was seen on a loaded machine (one float32 ulp). Tests that recompute a metric
 * compare it with a stated tolerance, never with ===.
 */
import assert from 'node:assert/strict';

/** Relative tolerance for a float32 metric recomputed under possibly another thread count: ~100 ulps. */
export const FLOAT32_RECOMPUTE_RTOL = 1e-5;

export function assertClose(actual: number | undefined, expected: number | undefined, what: string, rtol = FLOAT32_RECOMPUTE_RTOL): void {
  assert.ok(typeof actual === 'number' && typeof expected === 'number', `${what}: ${actual} vs ${expected}`);
  const tol = rtol * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tolerance ${tol})`);
}

/**
 * An accuracy (percent) recomputed over `n` samples: equal within one sample, since a sample whose
 * two top logits are within rounding of each other may flip between thread counts.
 */
export function assertAccClose(actual: number | undefined, expected: number | undefined, n: number, what: string): void {
  assert.ok(typeof actual === 'number' && typeof expected === 'number', `${what}: ${actual} vs ${expected}`);
  const tol = 100 / n + 1e-9;
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tolerance one sample of ${n}: ${tol.toFixed(3)} points)`);
}
