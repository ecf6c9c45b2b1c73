/** The layer-wise CNN chain of the classic RL-NAS setup (Zoph & Le 2017 style), up to 12 layers. */
import { ACTIVATIONS } from '../core/arch.js';
import { bool, choice, constant, float, repeat, struct } from './dsl.js';
import { canonicalValue } from './engine.js';
import { defineSpace } from './space.js';

export const chainLayerDef = struct({
  kernel: choice([3, 5, 7]),
  channels: choice([32, 64, 128]),
  activation: choice(ACTIVATIONS),
  batchNorm: bool(),
  pool: choice([1, 2, 3, 5]),
  skip: bool(),
});

export const chainCnnDef = struct({
  family: constant('chain_cnn'),
  layers: repeat(chainLayerDef, 1, 12),
  dropout: float(0, 0.5),
});

export const chainCnnSpace = defineSpace('chain_cnn', chainCnnDef, {
  // A pooling layer ignores `skip` (see ChainLayer.skip), so it does not distinguish architectures.
  canonical: (a) => canonicalValue(chainCnnDef, { ...a, layers: a.layers.map((l) => (l.pool === 1 ? l : { ...l, skip: false })) }),
});
