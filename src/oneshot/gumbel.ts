/**
 * Gumbel-softmax sampling with a straight-through hard one-hot (Jang et al. 2017; used by GDAS,
 * Dong & Yang 2019, eq. 3-5), composed from engine ops: g = -log(-log(U)), U ~ uniform(0, 1)
 * from a seeded Generator; probs = softmax((log_softmax(alpha) + g) / tau); the hard weights
 * `h = onehot(argmax probs) - probs.detach() + probs` are one-hot in value and carry the softmax's
 * gradient to every alpha.
 */
import { NasError } from '../core/errors.js';
import { Tensor, oneHot, type Generator } from '../tensor/index.js';

export interface GumbelSample {
  /** Straight-through one-hot weights [K] (value one-hot, gradient of the soft sample). */
  readonly hard: Tensor;
  /** The chosen index. */
  readonly index: number;
}

/** One hard Gumbel-softmax sample for a logit vector `alpha` [K] at temperature `tau` > 0. */
export function gumbelHard(alpha: Tensor, tau: number, gen: Generator): GumbelSample {
  if (!(tau > 0)) throw new NasError('invalid_config', `Gumbel-softmax temperature must be > 0, got ${tau}`, { field: 'tau' });
  const k = alpha.size(0);
  // Uniforms are clamped away from 0 and 1, so the noise is finite (GDAS re-samples on inf instead).
  const u = gen.rand([k]).clamp(1e-10, 1 - 1e-7);
  const g = u.log().neg().log().neg();
  const probs = alpha.logSoftmax(0).add(g).div(tau).softmax(0);
  const index = probs.argmax().item();
  const onehot = oneHot(Tensor.fromArray(BigInt64Array.from([BigInt(index)]), [1], 'int64'), k).reshape([k]).to('float32');
  const hard = onehot.sub(probs.detach()).add(probs);
  return { hard, index };
}

/** GDAS's linear temperature schedule: tauMax at epoch 1 down to tauMin at the last epoch. */
export function gdasTemperature(epoch: number, epochs: number, tauMax: number, tauMin: number): number {
  if (epochs <= 1) return tauMin;
  return tauMax - ((tauMax - tauMin) * (epoch - 1)) / (epochs - 1);
}
