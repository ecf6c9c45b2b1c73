/**
 * synflow (Tanaka et al. 2020, "Pruning neural networks without any data by iteratively conserving
 * synaptic flow"; as a NAS proxy, Abdelfattah et al. 2021): every parameter replaced by its absolute
 * value, R = sum of the network's output on an all-ones input (eval mode, so batch norm applies its
 * initial running statistics: the identity up to eps), score = sum over Conv2d/Linear weights of
 * |theta * dR/dtheta|. Data-independent.
 *
 * Reported as ln(score) (rankings are unchanged). A deep network's float32 values overflow (a
 * connected NB201 network C=16 N=5 reaches synflow ~1e45; float32's largest is 3.4e38). Reference
 * code avoids that by computing in float64 (Abdelfattah et al.'s zero-cost-proxies
 * `compute_synflow_per_weight`: `net.double()`). Here the float32 computation is rescaled instead,
 * exactly: the network with absolute weights is positively homogeneous in its input and biases
 * together (ReLU, convolutions, pooling, batch norm at its initial statistics), so scaling the
 * input and every bias by 2^-k scales every forward activation by 2^-k, and seeding the backward
 * pass with 2^-m instead of 1 scales every gradient by 2^-m (no weight's gradient depends on the
 * last layer's bias, so on NB201, whose convolutions have no bias, session 10's unscaled biases
 * gave the same values). Then
 * theta * dR/dtheta scales by 2^-(k+m) for every weight alike, and (k+m) ln 2 is added back.
 * Scaling the input alone (session 10) cannot help: an early layer's gradient is the product of
 * the later layers' weights, independent of the input, and it overflowed. Powers of two are exact
 * in floating point, so a value that did not overflow before is bit-identical.
 *
 * Failures throw with their real reason (as naswot does): a score of exactly 0 means no weight has
 * a gradient (no path from input to output); a value that stays non-finite at every scaling is
 * an overflow (or a NaN inside the network).
 */
import { Tensor, noGrad, tidy } from '../../tensor/index.js';
import type { Layer } from '../../nn/module.js';
import { total, withNet } from './common.js';
import { weightLayers } from './hooks.js';
import type { ProxyInput, ZeroCostProxy } from './types.js';

/**
 * The (k, m) tried in order: input (and biases) 2^-k, backward seed 2^-m. The first four are
 * session 10's (input only), kept first so that the values computed then are reproduced bit for
 * bit (on networks whose biases do not reach a weight's gradient, e.g. every NB201 network); the
 * others balance forward and backward, which covers scores up to about 2^(2*112) = 1e67.
 */
export const SYNFLOW_SCALES: readonly (readonly [number, number])[] = [[0, 0], [40, 0], [80, 0], [120, 0], [32, 32], [48, 48], [64, 64], [80, 80], [96, 96], [112, 112]];

/**
 * ln(synflow) of a throw-away module (its weights are rewritten). Throws an Error saying why when
 * there is no finite positive score: no path from input to output (score 0), or an overflow at
 * every scaling of SYNFLOW_SCALES.
 */
export function synflowLog(net: Layer, sampleShape: readonly number[]): number {
  net.eval();
  const layers = weightLayers(net);
  noGrad(() => {
    for (const p of net.parameters()) tidy(() => void p.copy_(p.abs()));
  });
  const biases = net.namedParameters().filter(([n]) => n === 'bias' || n.endsWith('.bias')).map(([, p]) => p);
  let biasK = 0;
  const seen: string[] = [];
  for (const [k, m] of SYNFLOW_SCALES) {
    if (k !== biasK) {
      const f = 2 ** (biasK - k);
      noGrad(() => {
        for (const b of biases) tidy(() => void b.copy_(b.mul(f)));
      });
      biasK = k;
    }
    net.zeroGrad();
    const v = tidy(() => {
      const r = net.forward(Tensor.full([1, ...sampleShape], 2 ** -k)).sum();
      (m === 0 ? r : r.mul(2 ** -m)).backward();
      let sum = 0;
      for (const l of layers) {
        const g = l.weight.grad;
        if (g) sum += total(l.weight.mul(g).abs());
      }
      return sum;
    });
    net.zeroGrad();
    if (Number.isFinite(v)) {
      if (v > 0) return Math.log(v) + (k + m) * Math.LN2;
      if (v === 0 && k === 0 && m === 0)
        throw new Error('synflow is 0: no weight has a gradient, the network has no path from input to output');
    }
    seen.push(`${v} at 2^-${k} input, 2^-${m} gradient`);
  }
  throw new Error(`synflow overflows float32 at every scaling tried (${seen.join('; ')})`);
}

export const synflowProxy: ZeroCostProxy = {
  name: 'synflow',
  paper: 'Tanaka et al. 2020, Pruning neural networks without any data by iteratively conserving synaptic flow',
  needsData: false,
  compute: (input: ProxyInput) => withNet(input, (net) => synflowLog(net, input.sampleShape)),
};
