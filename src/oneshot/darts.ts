/**
 * DARTS: Differentiable Architecture Search (Liu, Simonyan & Yang, ICLR 2019). Every edge mixes
 * its candidates by softmax(alpha_e); each step first updates alpha on a batch of the
 * architecture half (Adam), then the weights on a batch of the weights half (SGD), alternating as
 * in the paper's Algorithm 1.
 *
 * First order (`darts`): grad_alpha L_val(w, alpha), the current weights taken as optimal.
 * Second order (`darts2`, the paper's eq. 6-8): with the virtual step
 *     w' = w - xi * (grad_w L_train(w, alpha) + wd * w),
 * the architecture gradient is
 *     grad_alpha L_val(w', alpha) - xi * (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps)
 * where w± = w ± eps * grad_w' L_val(w', alpha) and eps = 0.01 / ||grad_w' L_val(w', alpha)||:
 * the Hessian-vector product by central finite differences, as the paper (eq. 8). The paper's
 * code also folds the SGD momentum buffer into the virtual step; here it is omitted (the virtual
 * step is plain SGD with weight decay), a simplification of one term.
 *
 * Guard: `guard: beta_decay` adds the β-DARTS term to the architecture loss (guard.ts).
 * Derivation: the supernet's own rule over softmax(alpha) (NB201: argmax per edge; DARTS cells:
 * top-2 inputs per node by their strongest non-zero op).
 */
import { NasError } from '../core/errors.js';
import { crossEntropy, noGrad, tidy, zeroGrads, type Tensor } from '../tensor/index.js';
import { guardLoss } from './guard.js';
import { alphaProbs, inputOf, labelsOf, softmaxWeights, weightStep, type Derivation, type MethodContext, type OneShotMethod, type ReportMode, type StepResult } from './method.js';
import type { Batch } from '../data/batch.js';

/** The architecture loss (+ guard) of batch `b` under mixed weights softmax(alpha); in the caller's scope. */
function archLoss<A>(ctx: MethodContext<A>, b: Batch, withGuard: boolean): Tensor {
  ctx.net.setMode({ kind: 'mixed', weights: softmaxWeights(ctx.net.alpha, false) });
  const l = crossEntropy(ctx.net.module.forward(inputOf(b)), labelsOf(b));
  const g = withGuard ? guardLoss(ctx.net.alpha, ctx.opts, ctx.epoch, ctx.epochs) : undefined;
  return g ? l.add(g) : l;
}

/** Train-half loss with alpha live and the weights as they are (for the finite differences). */
function alphaGradOfTrainLoss<A>(ctx: MethodContext<A>, b: Batch): Tensor[] {
  zeroGrads(ctx.net.alpha);
  const l = tidy(() => {
    ctx.net.setMode({ kind: 'mixed', weights: softmaxWeights(ctx.net.alpha, false) });
    return crossEntropy(ctx.net.module.forward(inputOf(b)), labelsOf(b));
  });
  try {
    l.backward();
  } finally {
    l.dispose();
  }
  return ctx.net.alpha.map((a) => gradOrZero(a));
}

function gradOrZero(t: Tensor): Tensor {
  const g = t.grad;
  if (!g) return t.detach().mul(0);
  const c = g.clone();
  g.dispose();
  return c;
}

/** First-order architecture step. Returns the architecture loss. */
function firstOrder<A>(ctx: MethodContext<A>, a: Batch): number {
  const l = tidy(() => archLoss(ctx, a, true));
  try {
    const v = l.item();
    if (!Number.isFinite(v)) return v;
    ctx.aOpt!.zeroGrad();
    l.backward();
    ctx.aOpt!.step();
    return v;
  } finally {
    l.dispose();
    zeroGrads(ctx.params);
  }
}

/** Second-order (unrolled) architecture step, as the paper's eq. 7-8. Returns L_val(w', alpha). */
function secondOrder<A>(ctx: MethodContext<A>, w: Batch, a: Batch): number {
  const xi = ctx.opts.xi ?? ctx.wOpt.lr;
  const wd = ctx.opts.weightDecay;
  const params = ctx.params;
  return tidy(() => {
    const original = noGrad(() => params.map((p) => p.detach().clone()));
    try {
      // grad_w L_train(w, alpha), alpha fixed
      zeroGrads(params);
      const lt = tidy(() => {
        ctx.net.setMode({ kind: 'mixed', weights: softmaxWeights(ctx.net.alpha, true) });
        return crossEntropy(ctx.net.module.forward(inputOf(w)), labelsOf(w));
      });
      const ltv = lt.item();
      if (!Number.isFinite(ltv)) return ltv;
      lt.backward();
      lt.dispose();
      // virtual step w' = w - xi (g + wd w)
      noGrad(() =>
        params.forEach((p) => {
          const g = p.grad;
          if (g) {
            p.sub_(g.addScaled(p, wd).mul(xi));
            g.dispose();
          }
        }),
      );
      // L_val(w', alpha): gradients w.r.t. alpha and w'
      zeroGrads(params);
      zeroGrads(ctx.net.alpha);
      const lv = tidy(() => archLoss(ctx, a, true));
      const lvv = lv.item();
      if (!Number.isFinite(lvv)) return lvv;
      lv.backward();
      lv.dispose();
      const dAlpha = ctx.net.alpha.map((t) => gradOrZero(t));
      const dW = params.map((p) => gradOrZero(p));
      const norm = Math.sqrt(dW.reduce((s, g) => s + g.square().sum().item(), 0));
      const eps = 0.01 / Math.max(norm, 1e-12);
      // w+ and w- around the original weights
      noGrad(() => params.forEach((p, i) => p.copy_(original[i]!.addScaled(dW[i]!, eps))));
      const gPlus = alphaGradOfTrainLoss(ctx, w);
      noGrad(() => params.forEach((p, i) => p.copy_(original[i]!.addScaled(dW[i]!, -eps))));
      const gMinus = alphaGradOfTrainLoss(ctx, w);
      noGrad(() => params.forEach((p, i) => p.copy_(original[i]!)));
      zeroGrads(params);
      ctx.net.alpha.forEach((t, i) => {
        t.grad = dAlpha[i]!.sub(gPlus[i]!.sub(gMinus[i]!).mul(xi / (2 * eps)));
      });
      ctx.aOpt!.step();
      zeroGrads(ctx.net.alpha);
      return lvv;
    } finally {
      // Whatever happened, the real weights are the original ones.
      noGrad(() => params.forEach((p, i) => p.copy_(original[i]!)));
    }
  });
}

function makeDarts(order: 1 | 2): OneShotMethod {
  return {
    name: order === 1 ? 'darts' : 'darts2',
    usesAlpha: true,
    step<A>(ctx: MethodContext<A>, w: Batch, a: Batch): StepResult {
      if (!ctx.aOpt) throw new NasError('internal', 'DARTS needs an alpha optimizer');
      const archLossValue = order === 1 ? firstOrder(ctx, a) : secondOrder(ctx, w, a);
      if (!Number.isFinite(archLossValue)) return { loss: archLossValue, correct: 0, archLoss: archLossValue };
      const r = weightStep(ctx, w, () => ({ kind: 'mixed', weights: softmaxWeights(ctx.net.alpha, true) }));
      return { ...r, archLoss: archLossValue };
    },
    reportMode<A>(ctx: MethodContext<A>): ReportMode {
      return { mode: () => ({ kind: 'mixed', weights: softmaxWeights(ctx.net.alpha, true) }), batchStats: false };
    },
    async derive<A>(ctx: MethodContext<A>): Promise<Derivation<A>> {
      return { arch: ctx.net.derive(alphaProbs(ctx.net.alpha)) };
    },
  };
}

/** DARTS, first-order approximation. */
export const darts: OneShotMethod = makeDarts(1);
/** DARTS, second order (unrolled weights, finite-difference Hessian-vector product). */
export const darts2: OneShotMethod = makeDarts(2);
