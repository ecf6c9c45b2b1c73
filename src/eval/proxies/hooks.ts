/**
 * Forward hooks for proxies that read or alter intermediate activations (NASWOT's activation
 * codes, fisher's activation gradients, zen-score's feature map): the instance's `forward` is
 * wrapped and restored afterwards. Only the proxies' throw-away networks are hooked.
 */
import { Conv2d, Linear } from '../../nn/layers.js';
import type { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/index.js';

type AnyModule = Module<any, any>;

/**
 * Wraps `forward` of each module: `fn(module, input, output)` may return a replacement output.
 * Returns the function that removes the hooks.
 */
export function hookForward(modules: readonly AnyModule[], fn: (m: AnyModule, x: Tensor, y: Tensor) => Tensor | void): () => void {
  for (const m of modules) {
    const orig = Object.getPrototypeOf(m).forward as (x: Tensor) => Tensor;
    (m as unknown as { forward: (x: Tensor) => Tensor }).forward = (x: Tensor) => {
      const y = orig.call(m, x);
      return fn(m, x, y) ?? y;
    };
  }
  return () => {
    for (const m of modules) delete (m as unknown as { forward?: unknown }).forward;
  };
}

/** Conv2d and Linear layers: the "prunable" layers of the zero-cost proxy literature. */
export function weightLayers(net: AnyModule): (Conv2d | Linear)[] {
  return net.modules().filter((m): m is Conv2d | Linear => m instanceof Conv2d || m instanceof Linear);
}
