/**
 * Class probabilities of a trained classifier on a subset: the softmax of the logits of `module`
 * in eval mode (dropout off, batch norm on its running statistics), inputs normalised by
 * `normalization` exactly as in training (src/data/batch.ts).
 *
 * Shapes: the result is [rows x numClasses] row-major, rows in `s.indices` order, each row summing
 * to 1 (float32). The module's training flag is restored afterwards; nothing else is changed.
 */
import { batches } from '../data/batch.js';
import type { Normalization } from '../data/normalize.js';
import type { Subset } from '../data/types.js';
import type { Layer } from '../nn/module.js';
import { Tensor, noGrad, tidy } from '../tensor/index.js';

export function predictProbs(module: Layer, s: Subset, normalization: Normalization, numClasses: number, batchSize = 1000): Float32Array {
  const n = s.indices.length;
  const out = new Float32Array(n * numClasses);
  const wasTraining = module.training;
  module.eval();
  try {
    let row = 0;
    for (const b of batches(s, { batchSize, normalization })) {
      const p = tidy(() => noGrad(() => module.forward(Tensor.fromArray(b.x, b.shape)).softmax(1).toFloat32Array()));
      out.set(p, row * numClasses);
      row += b.size;
    }
  } finally {
    module.train(wasTraining);
  }
  return out;
}
