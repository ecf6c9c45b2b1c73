/**
 * The collapse guard: beta-decay regularisation (Ye et al. 2022, "β-DARTS: Beta-Decay
 * Regularization for Differentiable Architecture Search", CVPR). DARTS' architecture weights tend
 * to collapse onto parameter-free ops (skip connections), because those make the supernet train
 * fastest early on (Zela et al. 2020; Chu et al. 2021). β-DARTS adds to the architecture loss
 *     L_beta = lambda_t * mean_e logsumexp(alpha_e)
 * (the smooth maximum of each edge's logits). Its gradient w.r.t. alpha_e is softmax(alpha_e) /
 * |E|: it pulls the dominant logits down hardest, keeping the logits' scale and spread small, so
 * no op can run away with an edge on early training speed alone. lambda_t grows linearly over the
 * epochs (0 at the first, `guardLambda` at the last), as β-DARTS' schedule.
 *
 * Why this guard and not the other two the issue names: it costs one logsumexp per edge per step,
 * where RobustDARTS' early stop needs the dominant Hessian eigenvalue of the validation loss
 * w.r.t. alpha (power iteration over finite-difference Hessian-vector products: several extra
 * forward/backward passes of the whole supernet per check, expensive on two cores), and DrNAS
 * needs reparameterised Dirichlet sampling (gamma draws with implicit gradients) that the engine
 * does not have.
 */
import { stack, type Tensor } from '../tensor/index.js';
import type { OneShotOptions } from './options.js';

/** lambda at epoch e (1-based) of E. */
export function betaDecayLambda(o: OneShotOptions, epoch: number, epochs: number): number {
  return epochs <= 1 ? o.guardLambda : (o.guardLambda * (epoch - 1)) / (epochs - 1);
}

/** The guard's loss term (a scalar tensor in the caller's scope), or undefined when no guard is on. */
export function guardLoss(alpha: readonly Tensor[], o: OneShotOptions, epoch: number, epochs: number): Tensor | undefined {
  switch (o.guard) {
    case 'none':
      return undefined;
    case 'beta_decay': {
      const lambda = betaDecayLambda(o, epoch, epochs);
      if (lambda === 0) return undefined;
      return stack(alpha.map((a) => a.logsumexp(0))).mean().mul(lambda);
    }
  }
}
