/**
 * grasp (Wang et al. 2020, "Picking Winning Tickets Before Training by Preserving Gradient Flow";
 * as a NAS proxy, Abdelfattah et al. 2021, foresight/pruners/measures/grasp.py): -sum over
 * Conv2d/Linear weights of theta * (H g), H the Hessian and g the gradient of the cross-entropy of
 * one real batch (training mode, so batch norm uses the batch's statistics). Data-dependent.
 *
 * H g is exact, by double backward as in the reference code: g = dL/dtheta with `createGraph`, then
 * z = sum_l <stopgrad(g_l), g_l> is differentiated once more, dz/dtheta = H g (H symmetric).
 * Cost: about three forward passes' worth of backward work.
 *
 * `graspFiniteDifference` is a central finite difference of gradients along g, kept as an
 * independent check. It is only reliable with a tiny step on a smooth network: with ReLU the
 * gradient is piecewise constant in the weights' neighbourhood of a kink, so a step of 1e-3 (the
 * earlier implementation's) crosses activation kinks and its value can even change sign (see
 * proxies.test.ts and README: that approximation scored rho -0.03 on NB201).
 */
import { Tensor, crossEntropy, grad, noGrad, tidy } from '../../tensor/index.js';
import { batchX, batchY, ceBackward, needBatch, total, withNet } from './common.js';
import { weightLayers } from './hooks.js';
import type { ProxyInput, ZeroCostProxy } from './types.js';

export const graspProxy: ZeroCostProxy = {
  name: 'grasp',
  paper: 'Wang et al. 2020, Picking Winning Tickets Before Training by Preserving Gradient Flow',
  needsData: true,
  compute: (input) =>
    withNet(input, (net) =>
      tidy(() => {
        const b = needBatch(input, 'grasp');
        const ws = weightLayers(net).map((l) => l.weight);
        net.train();
        const gs = grad([crossEntropy(net.forward(batchX(b)), batchY(b))], ws, { createGraph: true });
        let z: Tensor | undefined;
        for (const g of gs) {
          if (!g) continue;
          const t = g.mul(g.detach()).sum();
          z = z ? z.add(t) : t;
        }
        if (!z || !z.requiresGrad) return 0;
        const hgs = grad([z], ws);
        let s = 0;
        ws.forEach((w, i) => {
          const hg = hgs[i];
          if (hg) s += total(w.detach().mul(hg));
        });
        return -s;
      }),
    ),
};

/**
 * grasp with H g from a central finite difference of gradients along g:
 * (grad L(theta + eps g) - grad L(theta - eps g)) / (2 eps), eps = `step` / ||g|| (two extra
 * forward/backward passes). Not registered as a proxy: tests compare it with `graspProxy`.
 */
export function graspFiniteDifference(input: ProxyInput, step = 1e-3): number {
  return withNet(input, (net) =>
    tidy(() => {
      const b = needBatch(input, 'grasp');
      const ws = weightLayers(net).map((l) => l.weight);
      ceBackward(net, b);
      const g0: (Tensor | undefined)[] = ws.map((w) => w.grad?.clone());
      let sq = 0;
      for (const g of g0) if (g) sq += total(g.square());
      const norm = Math.sqrt(sq);
      if (!(norm > 0) || !Number.isFinite(norm)) return norm === 0 ? 0 : NaN;
      const eps = step / norm;
      const move = (k: number) => noGrad(() => ws.forEach((w, i) => g0[i] && tidy(() => void w.copy_(w.addScaled(g0[i]!, k * eps)))));
      move(1);
      ceBackward(net, b);
      const gp = ws.map((w) => w.grad?.clone());
      move(-2);
      ceBackward(net, b);
      move(1);
      let s = 0;
      ws.forEach((w, i) => {
        const gm = w.grad;
        if (gm && gp[i]) s += total(w.detach().mul(gp[i]!.sub(gm)));
      });
      net.zeroGrad();
      return -s / (2 * eps);
    }),
  );
}
