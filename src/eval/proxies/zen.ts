/**
 * zen (Lin et al. 2021, "Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition", ICCV):
 * Conv2d/Linear weights re-drawn from N(0, 1), batch norm in training mode; with Gaussian inputs
 * x, e ~ N(0, 1) and alpha = 0.01, f the feature map before global pooling (the input of the last
 * AdaptiveAvgPool2d; for networks without one, the input of the last Linear),
 *   score = log(mean over samples of sum |f(x) - f(x + alpha e)|) + sum over batch-norm layers of
 *           log(sqrt(mean over channels of the batch variance of its input)).
 * (The paper reads BN's running variance after the forward; with one batch that is its batch
 * variance, used here directly; one repeat instead of the paper's 32.) Data-independent: random inputs.
 */
import { AdaptiveAvgPool2d, BatchNorm1d, BatchNorm2d, Linear } from '../../nn/layers.js';
import { keep, noGrad, tidy, type Tensor } from '../../tensor/index.js';
import { withNet } from './common.js';
import { hookForward, weightLayers } from './hooks.js';
import type { ZeroCostProxy } from './types.js';

export const ZEN_BATCH = 16;

export const zenProxy: ZeroCostProxy = {
  name: 'zen',
  paper: 'Lin et al. 2021, Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition',
  needsData: false,
  compute: (input) =>
    withNet(input, (net) =>
      noGrad(() =>
        tidy(() => {
          const gen = input.gen();
          for (const l of weightLayers(net)) tidy(() => void l.weight.copy_(gen.randn(l.weight.shape)));
          net.train();
          const mods = net.modules();
          const pools = mods.filter((m) => m instanceof AdaptiveAvgPool2d);
          const target = pools.length ? pools[pools.length - 1]! : mods.filter((m) => m instanceof Linear).at(-1);
          const bns = mods.filter((m) => m instanceof BatchNorm2d || m instanceof BatchNorm1d);
          if (!target) return NaN;
          const shape = [ZEN_BATCH, ...input.sampleShape];
          const x = gen.randn(shape);
          const x2 = x.add(gen.randn(shape).mul(0.01));
          // The feature maps are made inside the network's stages (forwardStage scopes, which free
          // a stage's input once the next stage has it) and read after both passes: a kept handle
          // of each, disposed here.
          const feats: Tensor[] = [];
          let bnLog = 0;
          let first = true;
          const unhook = hookForward([target, ...bns], (m, inp) => {
            if (m === target) feats.push(keep(inp.detach()));
            else if (first) {
              const dims = inp.ndim === 4 ? [0, 2, 3] : [0];
              bnLog += Math.log(Math.sqrt(inp.var(dims, { unbiased: false }).mean().item()));
            }
          });
          try {
            net.forward(x);
            first = false;
            net.forward(x2);
            const [f1, f2] = feats as [Tensor, Tensor];
            const d = f1.sub(f2).abs().reshape([ZEN_BATCH, -1]).sum([1]).mean().item();
            return Math.log(d) + bnLog;
          } finally {
            unhook();
            for (const f of feats) f.dispose();
          }
        }),
      ),
    ),
};
