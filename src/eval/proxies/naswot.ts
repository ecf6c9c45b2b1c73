/**
 * naswot (Mellor et al. 2021, "Neural Architecture Search without Training", ICML; the v2 score):
 * each activation unit (every ReLU-family module's input, per sample of one real batch, training
 * mode) gives a binary code c = [x > 0]; K[i, j] = c_i . c_j + (1 - c_i) . (1 - c_j) summed over
 * all activation layers (the number of units where samples i and j agree), and the score is
 * log|det K|. Data-dependent. Identical codes for two samples make K singular: -Infinity (ranked last).
 */
import { GELU, Hardswish, LeakyReLU, ReLU, ReLU6, SiLU } from '../../nn/layers.js';
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
      const acts = net.modules().filter((m) => m instanceof ReLU || m instanceof ReLU6 || m instanceof LeakyReLU || m instanceof GELU || m instanceof SiLU || m instanceof Hardswish);
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
      if (!acts.length) return NaN;
      return logAbsDet(k, n);
    }),
};
export type { Tensor };
