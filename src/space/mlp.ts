/** Multilayer perceptrons: `mlp` (1-4 hidden layers of 32-512 units) and `mlp_small` (0-2 of 16-256, for small tabular data). */
import { ACTIVATIONS, type MlpArch } from '../core/arch.js';
import { bool, choice, constant, float, repeat, struct } from './dsl.js';
import { canonicalValue } from './engine.js';
import { defineSpace } from './space.js';

export const mlpDef = struct({
  family: constant('mlp'),
  hidden: repeat(choice([32, 64, 128, 256, 512]), 1, 4),
  activation: choice(ACTIVATIONS),
  batchNorm: bool(),
  dropout: float(0, 0.5),
});
export const mlpSpace = defineSpace('mlp', mlpDef);

/**
 * The MLP for small tabular data (tens to a few thousand rows): 0-2 hidden layers of 16-256 units,
 * no batch norm (batches of 16-128 rows give noisy statistics). 0 hidden layers is multinomial
 * logistic regression, the linear baseline such data often favours; one layer of 100 relu units
 * is scikit-learn's default `MLPClassifier`. A network without hidden layers has no activation or
 * dropout, so its key ignores them (one linear model, not 5 x dropout copies of it).
 */
export const mlpSmallDef = struct({
  family: constant('mlp'),
  hidden: repeat(choice([16, 32, 64, 100, 128, 256]), 0, 2),
  activation: choice(ACTIVATIONS),
  batchNorm: constant(false),
  dropout: float(0, 0.5),
});
export const mlpSmallSpace = defineSpace('mlp_small', mlpSmallDef, {
  canonical: (a) => canonicalValue(mlpSmallDef, a.hidden.length === 0 ? { ...a, activation: 'relu', dropout: 0 } : a),
});

/** scikit-learn's MLPClassifier() architecture as an MlpArch (one hidden layer of 100 relu units). */
export const SKLEARN_DEFAULT_MLP: MlpArch = { family: 'mlp', hidden: [100], activation: 'relu', batchNorm: false, dropout: 0 };
