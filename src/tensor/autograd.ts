/** Grad-mode scopes. Grad mode is process-wide (libtorch's thread-local flag on the JS thread). */
import { native } from './native.js';
import type { Tensor } from './tensor.js';

/** Runs fn without recording autograd history (like `with torch.no_grad()`). Synchronous fn only. */
export function noGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs fn with autograd recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/** Drops the gradients of all given tensors in one native call (zero_grad(set_to_none=True)). */
export function zeroGrads(ts: readonly Tensor[]): void {
  native.zeroGrads(ts.map((t) => t.h));
}

/**
 * Scales the gradients of `params` in place so their total `normType`-norm is at most maxNorm
 * (torch.nn.utils.clip_grad_norm_); returns the total norm before clipping.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number, normType = 2): number {
  return native.clipGradNorm(params.map((t) => t.h), maxNorm, normType);
}

/** Total 2-norm of the gradients of `params` (those without a gradient count as zero). */
export function gradNorm(params: readonly Tensor[]): number {
  return native.gradNorm(params.map((t) => t.h));
}
