/**
 * The main job's search space: the chain-CNN space joined with training hyperparameters, built
 * from the same DSL as src/space's `joint_chain_cnn`, but narrowed so that one candidate trains in
 * seconds on 2 cores: 2-4 layers, kernels 3/5, 16-64 channels, pooling 1/2 (28x28 inputs), Adam or
 * AdamW, constant or cosine learning rate. The value is a JointArch<ChainCnnArch>, so the trainer takes it as is.
 */
import type { ChainCnnArch, JointArch } from '../core/arch.js';
import { bool, choice, constant, float, repeat, struct } from '../space/dsl.js';
import { canonicalValue } from '../space/engine.js';
import { defineSpace, type Space } from '../space/space.js';

export const mainLayerDef = struct({
  kernel: choice([3, 5]),
  channels: choice([16, 32, 48, 64]),
  activation: choice(['relu', 'silu', 'gelu']),
  batchNorm: choice([true, false]),
  pool: choice([1, 2]),
  skip: bool(),
});

export const mainArchDef = struct({
  family: constant('chain_cnn'),
  layers: repeat(mainLayerDef, 2, 4),
  dropout: float(0, 0.3),
});

export const mainHparamsDef = struct({
  optimizer: choice(['adam', 'adamw']),
  lr: float(5e-4, 5e-3, { log: true }),
  batchSize: choice([64, 128]),
  weightDecay: float(1e-6, 1e-3, { log: true }),
  schedule: choice(['constant', 'cosine']),
});

export const mainJointDef = struct({ arch: mainArchDef, hparams: mainHparamsDef });

export const MAIN_SPACE_NAME = 'fmnist_joint_chain_cnn';

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
