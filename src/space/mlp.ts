/** A multilayer perceptron: 1-4 hidden layers of 32-512 units. */
import { ACTIVATIONS } from '../core/arch.js';
import { bool, choice, constant, float, repeat, struct } from './dsl.js';
import { defineSpace } from './space.js';

export const mlpDef = struct({
  family: constant('mlp'),
  hidden: repeat(choice([32, 64, 128, 256, 512]), 1, 4),
  activation: choice(ACTIVATIONS),
  batchNorm: bool(),
  dropout: float(0, 0.5),
});
export const mlpSpace = defineSpace('mlp', mlpDef);
