/**
 * The main job's search space: the chain-CNN space joined with training hyperparameters, built
 * from the same DSL as src/space's `joint_chain_cnn`, shaped for Fashion-MNIST on 2 cores:
 *
 *  - 3-5 conv layers, kernel 3/5, 16-128 channels, ReLU/SiLU/GELU, batch norm always on (it is
 *    what lets short trainings reach good accuracy), max pooling 1/2, residual skips; dropout
 *    0-0.3 before the classifier; the classifier head: global average pool -> linear, or flatten
 *    -> [linear 64/128 -> ReLU] -> linear (a flatten head keeps where features are, which
 *    Fashion-MNIST's centred 28x28 items reward, for a few thousand MACs).
 *  - AdamW (decoupled weight decay, Loshchilov & Hutter 2019), learning rate 1e-3..8e-3 (log), batch
 *    64/128/256, weight decay 1e-5..5e-2 (log), always a cosine schedule (what the final retraining
 *    uses; constant rates lose ~0.5 points at the end of short runs). Label smoothing and
 *    augmentation are the job's recipe, not searched. Adam with coupled L2 was in v3 and is out: in
 *    that range its heavy-decay configurations ranked near the top after one pass and then trained
 *    worst over the final epochs (measured: seed 1 of the 5-minute run, Adam with L2 0.0138, second
 *    after one pass, 90.67% after 15 epochs, below LeNet); AdamW's decay scales to long runs.
 *
 * The main job caps MACs per image (MAIN_DEFAULTS.maxMacs), which keeps wide layers at 28x28 out:
 * only networks that pool early can be wide. The value is a JointArch<ChainCnnArch>, so the trainer
 * takes it as is. `mainBaselineArch` is the hand-designed network of similar MACs the job compares
 * the winner with.
 */
import type { ChainCnnArch, ChainLayer, JointArch, TrainHparams } from '../core/arch.js';
import { analyzeArch } from '../nn/build/index.js';
import { bool, choice, conditional, constant, float, repeat, struct } from '../space/dsl.js';
import { canonicalValue } from '../space/engine.js';
import { defineSpace, type Space } from '../space/space.js';

export const MAIN_CHANNELS = [16, 24, 32, 48, 64, 96, 128] as const;

export const mainLayerDef = struct({
  kernel: choice([3, 5]),
  channels: choice(MAIN_CHANNELS),
  activation: choice(['relu', 'silu', 'gelu']),
  batchNorm: constant(true),
  pool: choice([1, 2]),
  skip: bool(),
});

export const mainHeadDef = struct({
  kind: choice(['gap', 'flatten']),
  hidden: conditional({ field: 'kind', in: ['flatten'] }, choice([0, 64, 128])),
});

export const mainArchDef = struct({
  family: constant('chain_cnn'),
  layers: repeat(mainLayerDef, 3, 5),
  dropout: float(0, 0.3),
  head: mainHeadDef,
});

export const mainHparamsDef = struct({
  optimizer: constant('adamw'),
  lr: float(1e-3, 8e-3, { log: true }),
  batchSize: choice([64, 128, 256]),
  weightDecay: float(1e-5, 5e-2, { log: true }),
  schedule: constant('cosine'),
});

export const mainJointDef = struct({ arch: mainArchDef, hparams: mainHparamsDef });

/** Versioned: a study created over the previous (narrower) space is not resumed over this one. */
export const MAIN_SPACE_NAME = 'fmnist_joint_chain_cnn_v4';

export function mainSpace(): Space<JointArch<ChainCnnArch>> {
  const space = defineSpace(MAIN_SPACE_NAME, mainJointDef, {
    // As chain_cnn: a pooling layer ignores `skip`.
    canonical: (a) =>
      canonicalValue(mainJointDef, {
        ...a,
        arch: { ...a.arch, layers: a.arch.layers.map((l) => (l.pool === 1 ? l : { ...l, skip: false })) },
      }),
  });
  return space as unknown as Space<JointArch<ChainCnnArch>>;
}

/**
 * The stronger hand-designed baseline: a VGG-style network with batch norm, as a practitioner
 * would write for Fashion-MNIST without search: conv(w) at 28x28 -> pool, conv(2w), conv(2w) at
 * 14x14 -> pool, conv(4w), conv(4w) + residual at 7x7 (all 3x3, BN, ReLU), then the classic
 * Fashion-MNIST head: flatten -> dropout 0.1 -> linear 128 -> ReLU -> dropout -> linear; AdamW
 * lr 2e-3, weight decay 5e-4, batch 128, cosine. `w` is the widest of 4..64 (step 2) whose MACs
 * per 1x28x28 image (the cost model's, src/nn/build/analyze.ts) stay within `macs` (the
 * winner's), so both spend about the same compute per image (4 when none fits).
 */
export function mainBaselineArch(macs: number): JointArch<ChainCnnArch> {
  const make = (w: number): ChainCnnArch => {
    const L = (channels: number, pool: 1 | 2, skip: boolean): ChainLayer => ({ kernel: 3, channels, activation: 'relu', batchNorm: true, pool, skip });
    return { family: 'chain_cnn', layers: [L(w, 2, false), L(2 * w, 1, false), L(2 * w, 2, false), L(4 * w, 1, false), L(4 * w, 1, true)], dropout: 0.1, head: { kind: 'flatten', hidden: 128 } };
  };
  const cost = (a: ChainCnnArch) => analyzeArch(a, { shape: [1, 28, 28], numClasses: 10 }).macs;
  let best = make(4);
  for (let w = 6; w <= 64; w += 2) if (cost(make(w)) <= macs) best = make(w);
  const hparams: TrainHparams = { optimizer: 'adamw', lr: 2e-3, batchSize: 128, weightDecay: 5e-4, schedule: 'cosine' };
  return { arch: best, hparams };
}
