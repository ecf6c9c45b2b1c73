/**
 * grasp (Wang et al. 2020, "Picking Winning Tickets Before Training by Preserving Gradient Flow";
 * as a NAS proxy, Abdelfattah et al. 2021): -sum over Conv2d/Linear weights of theta * (H g), H the
 * Hessian and g the gradient of the cross-entropy of one real batch (training mode). Data-dependent.
 *
 * The engine has no double backward, so H g is the central-free finite difference of gradients
 * along g: H g ~ (grad L(theta + eps g) - grad L(theta)) / eps, eps = 1e-3 / ||g|| (one extra
 * forward/backward; exact for quadratic losses, O(eps) otherwise).
 */
import { Tensor, noGrad, tidy } from '../../tensor/index.js';
import { ceBackward, needBatch, total, withNet } from './common.js';
import { weightLayers } from './hooks.js';
import type { ZeroCostProxy } from './types.js';

export const graspProxy: ZeroCostProxy = {
  name: 'grasp',
  paper: 'Wang et al. 2020, Picking Winning Tickets Before Training by Preserving Gradient Flow',
  needsData: true,
  compute: (input) =>
    withNet(input, (net) =>
      tidy(() => {
        const b = needBatch(input, 'grasp');
        const ws = weightLayers(net).map((l) => l.weight);
        ceBackward(net, b);
        const g0: (Tensor | undefined)[] = ws.map((w) => w.grad?.clone());
        let sq = 0;
        for (const g of g0) if (g) sq += total(g.square());
        const norm = Math.sqrt(sq);
        if (!(norm > 0) || !Number.isFinite(norm)) return norm === 0 ? 0 : NaN;
        const eps = 1e-3 / norm;
        noGrad(() => ws.forEach((w, i) => g0[i] && tidy(() => void w.copy_(w.addScaled(g0[i]!, eps)))));
        ceBackward(net, b);
        noGrad(() => ws.forEach((w, i) => g0[i] && tidy(() => void w.copy_(w.addScaled(g0[i]!, -eps)))));
        let s = 0;
        ws.forEach((w, i) => {
          const g1 = w.grad;
          if (g1 && g0[i]) s += total(w.mul(g1.sub(g0[i]!)));
        });
        return -s / eps;
      }),
    ),
};
