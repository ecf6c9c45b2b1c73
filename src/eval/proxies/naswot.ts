/**
 * naswot (Mellor et al. 2021, "Neural Architecture Search without Training", ICML; the v2 score):
 * each activation unit (every activation module's input, per sample of one real batch, training
 * mode) gives a binary code c = [x > 0]; K[i, j] = c_i . c_j + (1 - c_i) . (1 - c_j) summed over
 * all activation layers (the number of units where samples i and j agree), and the score is
 * log|det K|. Data-dependent.
 *
 * The paper's codes are those of ReLU units (which side of the kink). For tanh and sigmoid the same
 * code [x > 0] says which side of the inflection point a unit is on; they are included, so a
 * network whose only nonlinearities are tanh/sigmoid (half of the chain CNN's draws have some) gets
 * a score instead of failing: until session 10 only ReLU-family modules were hooked, such networks
 * scored NaN and were reported as "no path from input to output, or an overflow" (new user,
 * session 10: 12 of 52 prescreened chain CNN candidates). Failures now throw with their real reason:
 * a network with no activation module at all (a linear model) has no codes; two samples with
 * identical codes make K singular (log|det K| = -Infinity). Either ranks last.
 */
import { GELU, Hardswish, LeakyReLU, ReLU, ReLU6, SiLU, Sigmoid, Tanh } from '../../nn/layers.js';
import { Tensor, noGrad, tidy } from '../../tensor/index.js';
import { batchX, needBatch, withNet } from './common.js';
import { hookForward } from './hooks.js';
import { logAbsDet } from './linalg.js';
import type { ZeroCostProxy } from './types.js';

export const naswotProxy: ZeroCostProxy = {
  name: 'naswot',
  paper: 'Mellor et al. 2021, Neural Architecture Search without Training (ICML)',
  needsData: true,
  compute: (input) =>
    withNet(input, (net) => {
      const b = needBatch(input, 'naswot');
      const n = b.shape[0]!;
      const k = new Float64Array(n * n);
      const acts = net.modules().filter((m) => m instanceof ReLU || m instanceof ReLU6 || m instanceof LeakyReLU || m instanceof GELU || m instanceof SiLU || m instanceof Hardswish || m instanceof Sigmoid || m instanceof Tanh);
      if (!acts.length) throw new Error('the network has no activation module (a linear model): naswot has no activation codes to compare');
      noGrad(() =>
        tidy(() => {
          net.train();
          const unhook = hookForward(acts, (_m, x) => {
            tidy(() => {
              const c = x.gt(0).float().reshape([n, -1]);
              const d = c.rsub(1);
              const kk = c.matmul(c.t()).add(d.matmul(d.t())).toFloat32Array();
              for (let i = 0; i < kk.length; i++) k[i]! += kk[i]!;
            });
          });
          try {
            net.forward(batchX(b));
          } finally {
            unhook();
          }
        }),
      );
      const v = logAbsDet(k, n);
      if (v === -Infinity) throw new Error(`two of the batch's ${n} samples have identical activation codes (K is singular, log|det K| = -Infinity)`);
      return v;
    }),
};
export type { Tensor };
