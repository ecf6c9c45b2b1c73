/** Grad-mode scopes. Grad mode is process-wide (libtorch's thread-local flag on the JS thread). */
import { native } from './native.js';
import { Tensor } from './tensor.js';

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

/**
 * The gradients of the sum of the scalar `outputs` with respect to each of `inputs`
 * (torch.autograd.grad with allow_unused=True): one new tensor per input, or undefined for an input
 * the outputs do not depend on; no `.grad` field is touched. `createGraph` records the backward
 * pass, so a function of the results can be differentiated again (double backward, e.g. the
 * Hessian-vector product of grasp); it implies `retainGraph` (keep the graph of `outputs` for
 * another backward). Throws (libtorch's message) when an output does not require grad.
 */
export function grad(outputs: readonly Tensor[], inputs: readonly Tensor[], o: { createGraph?: boolean; retainGraph?: boolean } = {}): (Tensor | undefined)[] {
  return native
    .autogradGrad(
      outputs.map((t) => t.h),
      inputs.map((t) => t.h),
      o.createGraph ?? false,
      o.retainGraph ?? false,
    )
    .map((h) => (h === undefined ? undefined : new Tensor(h)));
}
