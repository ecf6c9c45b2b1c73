/** The MLP: flatten -> per hidden width: linear -> [BN1d] -> activation -> [dropout]; -> linear. */
import type { MlpArch } from '../../core/arch.js';
import type { Generator } from '../../tensor/index.js';
import { BatchNorm1d, Dropout, Flatten, Linear, Sequential } from '../layers.js';
import type { Layer } from '../module.js';
import { activation } from './common.js';

export function buildMlp(arch: MlpArch, inFeatures: number, numClasses: number, gen: Generator): Sequential {
  const layers: Layer[] = [new Flatten()];
  let f = inFeatures;
  for (const h of arch.hidden) {
    layers.push(new Linear(f, h, { gen }));
    if (arch.batchNorm) layers.push(new BatchNorm1d(h));
    layers.push(activation(arch.activation));
    if (arch.dropout > 0) layers.push(new Dropout(arch.dropout, gen));
    f = h;
  }
  layers.push(new Linear(f, numClasses, { gen }));
  return new Sequential(...layers);
}
