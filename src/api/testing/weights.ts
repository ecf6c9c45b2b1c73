/** Helpers for tests that compare the weights a model directory holds. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkArch } from '../../core/arch.js';
import { buildNetwork } from '../../nn/build/index.js';
import { decodeStateDict, saveStateDict } from '../../nn/state.js';
import { Generator, noGrad, tidy, type Tensor } from '../../tensor/index.js';

/** The tensors of `DIR/weights.bin` by state-dict name (caller disposes them). */
export const weightsOf = (dir: string): Map<string, Tensor> => decodeStateDict(readFileSync(join(dir, 'weights.bin'))).tensors;

/** True when two float32 tensors have the same shape and bit-identical values. */
export const sameBits = (a: Tensor, b: Tensor): boolean =>
  a.shape.join() === b.shape.join() &&
  tidy(() => noGrad(() => Buffer.from((a.toTypedArray() as Float32Array).buffer).equals(Buffer.from((b.toTypedArray() as Float32Array).buffer))));

/**
 * Writes an exported-style model directory DIR (created; must not exist) holding ARCH with freshly
 * initialised weights (seed 0) for the digits data (input [1, 8, 8], 10 classes): arch.json,
 * weights.bin, and a metrics.json naming the train evaluator on digits, as `tsnas export` writes.
 * Enough for tests of finetune/compress plumbing; tests that need accuracy train it first.
 */
export function writeUntrainedDigitsModel(dir: string, arch: NetworkArch): void {
  writeUntrainedModel(dir, arch, { shape: [1, 8, 8], numClasses: 10 }, { dataset: 'digits' });
}

/** The same for any input (e.g. a CSV's `[F]` features and K classes) and train evaluator options (e.g. `{ dataset: 'csv', path }`). */
export function writeUntrainedModel(dir: string, arch: NetworkArch, input: { shape: number[]; numClasses: number }, evaluatorOptions: Record<string, unknown>): void {
  mkdirSync(dir);
  const { module } = buildNetwork(arch, input, { gen: new Generator(0) });
  try {
    writeFileSync(join(dir, 'arch.json'), JSON.stringify(arch));
    saveStateDict(join(dir, 'weights.bin'), module.stateDict());
  } finally {
    module.dispose();
  }
  writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ evaluator: { name: 'train', options: evaluatorOptions } }));
}
