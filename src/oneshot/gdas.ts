/**
 * GDAS: Searching for a Robust Neural Architecture in Four GPU Hours (Dong & Yang, CVPR 2019).
 * Every step samples one op per edge by a hard Gumbel-softmax of alpha (gumbel.ts): the forward
 * pass runs only the sampled op (cheaper than DARTS' mixture), scaled by the straight-through
 * one-hot weight, so the loss is differentiable w.r.t. every alpha of the edge. Each step trains
 * the weights on a batch of the weights half, then alpha (Adam) on a batch of the architecture
 * half, each with its own sample, as the authors' code. The temperature falls linearly from
 * `tauMax` (10) to `tauMin` (0.1) over the epochs (paper section 4.1). Derivation: argmax of
 * alpha per edge (the supernet's rule).
 */
import { NasError } from '../core/errors.js';
import type { Batch } from '../data/batch.js';
import { crossEntropy, tidy, zeroGrads, type Tensor } from '../tensor/index.js';
import { gdasTemperature, gumbelHard } from './gumbel.js';
import { alphaProbs, inputOf, labelsOf, weightStep, type Derivation, type MethodContext, type OneShotMethod, type ReportMode, type StepResult } from './method.js';
import { argmaxRows, type ForwardMode } from './supernet.js';

function sample<A>(ctx: MethodContext<A>, detach: boolean): ForwardMode {
  const tau = gdasTemperature(ctx.epoch, ctx.epochs, ctx.opts.tauMax, ctx.opts.tauMin);
  const s = ctx.net.alpha.map((a) => gumbelHard(detach ? a.detach() : a, tau, ctx.gen));
  return { kind: 'hard', weights: s.map((x) => x.hard), index: s.map((x) => x.index) };
}

export const gdas: OneShotMethod = {
  name: 'gdas',
  usesAlpha: true,
  step<A>(ctx: MethodContext<A>, w: Batch, a: Batch): StepResult {
    if (!ctx.aOpt) throw new NasError('internal', 'GDAS needs an alpha optimizer');
    const r = weightStep(ctx, w, () => sample(ctx, true));
    if (!Number.isFinite(r.loss)) return r;
    const l: Tensor = tidy(() => {
      ctx.net.setMode(sample(ctx, false));
      return crossEntropy(ctx.net.module.forward(inputOf(a)), labelsOf(a));
    });
    try {
      const v = l.item();
      if (!Number.isFinite(v)) return { ...r, archLoss: v };
      ctx.aOpt.zeroGrad();
      l.backward();
      ctx.aOpt.step();
      return { ...r, archLoss: v };
    } finally {
      l.dispose();
      zeroGrads(ctx.params);
    }
  },
  reportMode<A>(ctx: MethodContext<A>): ReportMode {
    const index = argmaxRows(alphaProbs(ctx.net.alpha));
    return { mode: () => ({ kind: 'path', index }), batchStats: true };
  },
  async derive<A>(ctx: MethodContext<A>): Promise<Derivation<A>> {
    return { arch: ctx.net.derive(alphaProbs(ctx.net.alpha)) };
  },
};
