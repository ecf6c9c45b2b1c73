/**
 * fisher (Theis et al. 2018, "Faster gaze prediction with dense networks and Fisher pruning"; the
 * channel-pruning form of Turner et al. 2020; as a NAS proxy, Abdelfattah et al. 2021): for every
 * Conv2d/Linear output activation a (training mode, one real batch, cross-entropy L), per channel
 * c: 0.5 * mean over samples n of (sum over positions of a * dL/da)^2, summed over channels and
 * layers. Data-dependent.
 *
 * dL/da of an intermediate activation is read through a multiplicative ones-mask m [N, C, 1, 1]
 * (a leaf): dL/dm[n, c] = sum over positions of a * dL/da, exactly the per-sample channel term.
 */
import { Tensor, keep, tidy } from '../../tensor/index.js';
import { batchX, batchY, needBatch, total, withNet } from './common.js';
import { hookForward, weightLayers } from './hooks.js';
import type { ZeroCostProxy } from './types.js';
import { crossEntropy } from '../../tensor/index.js';

export const fisherProxy: ZeroCostProxy = {
  name: 'fisher',
  paper: 'Theis et al. 2018, Faster gaze prediction with dense networks and Fisher pruning',
  needsData: true,
  compute: (input) =>
    withNet(input, (net) =>
      tidy(() => {
        const b = needBatch(input, 'fisher');
        net.train();
        net.zeroGrad();
        // The masks are made inside the network's stages (forwardStage scopes) and read after the
        // backward pass: kept, and disposed here.
        const masks: Tensor[] = [];
        try {
          const unhook = hookForward(weightLayers(net), (_m, _x, y) => {
            const shape = y.shape.map((d, i) => (i < 2 ? d : 1));
            const m = keep(Tensor.ones(shape).requiresGrad_(true));
            masks.push(m);
            return y.mul(m);
          });
          try {
            crossEntropy(net.forward(batchX(b)), batchY(b)).backward();
          } finally {
            unhook();
          }
          let s = 0;
          for (const m of masks) {
            const g = m.grad;
            if (g) s += 0.5 * total(g.square().mean([0]));
          }
          return s;
        } finally {
          for (const m of masks) m.dispose();
        }
      }),
    ),
};
