/**
 * synflow (Tanaka et al. 2020, "Pruning neural networks without any data by iteratively conserving
 * synaptic flow"; as a NAS proxy, Abdelfattah et al. 2021): every parameter replaced by its absolute
 * value, R = sum of the network's output on an all-ones input (eval mode, so batch norm applies its
 * initial running statistics: the identity up to eps), score = sum over Conv2d/Linear weights of
 * |theta * dR/dtheta|. Data-independent.
 *
 * Reported as ln(score) (rankings are unchanged). A deep network's float32 products can overflow;
 * the network with absolute weights is positively homogeneous in its input (ReLU, convolutions,
 * pooling, batch norm with zero bias), so the input is then scaled by 2^-k, which scales the score
 * by 2^-k for every architecture alike (up to the last layer's bias), and k ln 2 is added back.
 */
import { Tensor, noGrad, tidy } from '../../tensor/index.js';
import type { Layer } from '../../nn/module.js';
import { total, withNet } from './common.js';
import { weightLayers } from './hooks.js';
import type { ProxyInput, ZeroCostProxy } from './types.js';

/** ln(synflow) of a throw-away module (its weights are rewritten); NaN when no scaling avoids overflow. */
export function synflowLog(net: Layer, sampleShape: readonly number[]): number {
  net.eval();
  const layers = weightLayers(net);
  noGrad(() => {
    for (const p of net.parameters()) tidy(() => void p.copy_(p.abs()));
  });
  for (const k of [0, 40, 80, 120]) {
    net.zeroGrad();
    const v = tidy(() => {
      net.forward(Tensor.full([1, ...sampleShape], 2 ** -k)).sum().backward();
      let sum = 0;
      for (const l of layers) {
        const g = l.weight.grad;
        if (g) sum += total(l.weight.mul(g).abs());
      }
      return sum;
    });
    net.zeroGrad();
    if (Number.isFinite(v)) return v > 0 ? Math.log(v) + k * Math.LN2 : v === 0 ? -Infinity : NaN;
  }
  return NaN;
}

export const synflowProxy: ZeroCostProxy = {
  name: 'synflow',
  paper: 'Tanaka et al. 2020, Pruning neural networks without any data by iteratively conserving synaptic flow',
  needsData: false,
  compute: (input: ProxyInput) => withNet(input, (net) => synflowLog(net, input.sampleShape)),
};
