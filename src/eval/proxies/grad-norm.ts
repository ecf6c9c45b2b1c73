/**
 * grad_norm (Abdelfattah et al. 2021, "Zero-Cost Proxies for Lightweight NAS", sec. 3, the
 * gradient-norm baseline): the sum over Conv2d/Linear weight tensors of the L2 norm of the
 * cross-entropy gradient on one real batch, network in training mode. Data-dependent.
 */
import { tidy } from '../../tensor/index.js';
import { ceBackward, needBatch, withNet } from './common.js';
import { weightLayers } from './hooks.js';
import type { ZeroCostProxy } from './types.js';

export const gradNormProxy: ZeroCostProxy = {
  name: 'grad_norm',
  paper: 'Abdelfattah et al. 2021, Zero-Cost Proxies for Lightweight NAS (grad_norm baseline)',
  needsData: true,
  compute: (input) =>
    withNet(input, (net) =>
      tidy(() => {
        ceBackward(net, needBatch(input, 'grad_norm'));
        let s = 0;
        for (const l of weightLayers(net)) {
          const g = l.weight.grad;
          if (g) s += g.norm().item();
        }
        return s;
      }),
    ),
};
