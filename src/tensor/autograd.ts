/** Grad-mode scopes. Grad mode is process-wide (libtorch's thread-local flag on the JS thread). */
import { native } from './native.js';

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
