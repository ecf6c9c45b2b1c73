/**
 * The one interface every one-shot method implements (DARTS first/second order, GDAS, SPOS), and
 * the pieces they share: the weight step, the supernet's loss on a batch, the data halves.
 *
 * Data protocol (DARTS, Liu et al. 2019, section 3.1): the training split is divided in two
 * class-stratified halves; network weights are trained on the *weights half*, architecture
 * decisions (alpha updates, SPOS path scores) use the *architecture half*. The validation split
 * is not touched by the search (it scores the retrained winner), the test split never is.
 */
import type { Json } from '../core/json.js';
import type { Rng } from '../core/rng.js';
import type { Batch } from '../data/batch.js';
import type { Normalization } from '../data/normalize.js';
import type { Subset } from '../data/types.js';
import type { Adam, SGD } from '../nn/optim.js';
import { Tensor, clipGradNorm, crossEntropy, tidy, zeroGrads, type Generator } from '../tensor/index.js';
import type { OneShotMethodName, OneShotOptions } from './options.js';
import type { ForwardMode, Supernet } from './supernet.js';

export interface OneShotData {
  /** Trains the network weights. */
  readonly weights: Subset;
  /** Trains alpha / scores paths. */
  readonly arch: Subset;
  readonly normalization: Normalization;
  readonly shape: readonly number[];
  readonly numClasses: number;
}

export interface MethodContext<A> {
  readonly net: Supernet<A>;
  readonly opts: OneShotOptions;
  /** Network weights (the supernet module's parameters). */
  readonly params: readonly Tensor[];
  readonly wOpt: SGD;
  /** Adam over alpha; undefined for methods without alpha (SPOS). */
  readonly aOpt: Adam | undefined;
  /** 1-based epoch and the total. */
  readonly epoch: number;
  readonly epochs: number;
  /** Randomness of this epoch (derived from the seed and the epoch, so a resumed epoch repeats). */
  readonly gen: Generator;
  readonly rng: Rng;
  readonly data: OneShotData;
}

export interface StepResult {
  /** Loss and correct predictions of the weight step's batch. */
  readonly loss: number;
  readonly correct: number;
  /** Loss of the architecture step (methods with alpha). */
  readonly archLoss?: number;
}

/** How the supernet is run to report its validation metrics after an epoch. */
export interface ReportMode {
  /** One mode for the whole pass, or a fresh one per batch (SPOS: a random path each). */
  readonly mode: () => ForwardMode;
  /** Normalise with batch statistics (train-mode batch norm) instead of the running ones. */
  readonly batchStats: boolean;
}

export interface Derivation<A> {
  readonly arch: A;
  /** Method-specific record of how it was chosen (SPOS: the evaluated paths and scores). */
  readonly details?: Json;
}

export interface OneShotMethod {
  readonly name: OneShotMethodName;
  /** True when the method learns alpha (recorded per epoch). */
  readonly usesAlpha: boolean;
  /** One optimisation step on a batch of each half. Returns NaN losses rather than throwing. */
  step<A>(ctx: MethodContext<A>, w: Batch, a: Batch): StepResult;
  reportMode<A>(ctx: MethodContext<A>): ReportMode;
  /** The discrete architecture at the end of the search. */
  derive<A>(ctx: MethodContext<A>, signal?: AbortSignal): Promise<Derivation<A>>;
}

export const inputOf = (b: Batch): Tensor => Tensor.fromArray(b.x, b.shape);
export const labelsOf = (b: Batch): Tensor => Tensor.fromArray(b.y, [b.size], 'int64');

/** softmax(alpha_e) per edge (in the caller's tidy scope). */
export function softmaxWeights(alpha: readonly Tensor[], detach: boolean): Tensor[] {
  return alpha.map((a) => (detach ? a.detach() : a).softmax(0));
}

/** Per-edge softmax of alpha as plain numbers [edge][op]. */
export function alphaProbs(alpha: readonly Tensor[]): number[][] {
  return tidy(() => alpha.map((a) => Array.from(a.detach().softmax(0).toFloat32Array(), (v) => Number(v.toPrecision(6)))));
}

/**
 * One SGD step of the network weights on batch `b` under the forward mode `mode()` (built inside
 * the step's scope): zero grads, cross-entropy, backward, clip, step. Gradients that reach alpha
 * are dropped. Returns NaN loss (and takes no step) when the loss is not finite.
 */
export function weightStep<A>(ctx: MethodContext<A>, b: Batch, mode: () => ForwardMode): { loss: number; correct: number } {
  const [loss, hits] = tidy(() => {
    ctx.net.setMode(mode());
    const out = ctx.net.module.forward(inputOf(b));
    const y = labelsOf(b);
    return [crossEntropy(out, y), out.argmax(1).eq(y).sum()] as const;
  });
  try {
    const v = loss.item();
    if (!Number.isFinite(v)) return { loss: v, correct: 0 };
    ctx.wOpt.zeroGrad();
    loss.backward();
    clipGradNorm(ctx.params, ctx.opts.gradClip);
    ctx.wOpt.step();
    if (ctx.net.alpha.length) zeroGrads(ctx.net.alpha);
    return { loss: v, correct: hits.item() };
  } finally {
    loss.dispose();
    hits.dispose();
  }
}

/** Cosine learning rate of epoch e (1-based) of E, from lr to lrMin (DARTS' per-epoch schedule). */
export function cosineLr(o: OneShotOptions, epoch: number, epochs: number): number {
  return o.lrMin + 0.5 * (o.lr - o.lrMin) * (1 + Math.cos((Math.PI * (epoch - 1)) / epochs));
}
