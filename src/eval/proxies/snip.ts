/**
 * snip (Lee et al. 2019, "SNIP: Single-shot Network Pruning based on Connection Sensitivity"; as a
 * NAS proxy, Abdelfattah et al. 2021): the sum over Conv2d/Linear weights of |theta * dL/dtheta|,
 * L the cross-entropy of one real batch, training mode. Data-dependent.
 */
import { tidy } from '../../tensor/index.js';
import { ceBackward, needBatch, total, withNet } from './common.js';
import { weightLayers } from './hooks.js';
import type { ZeroCostProxy } from './types.js';

export const snipProxy: ZeroCostProxy = {
  name: 'snip',
  paper: 'Lee et al. 2019, SNIP: Single-shot Network Pruning based on Connection Sensitivity',
  needsData: true,
  compute: (input) =>
    withNet(input, (net) =>
      tidy(() => {
        ceBackward(net, needBatch(input, 'snip'));
        let s = 0;
        for (const l of weightLayers(net)) {
          const g = l.weight.grad;
          if (g) s += total(l.weight.mul(g).abs());
        }
        return s;
      }),
    ),
};
