/** Helpers for tests that compare the weights a model directory holds. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeStateDict } from '../../nn/state.js';
import { noGrad, tidy, type Tensor } from '../../tensor/index.js';

/** The tensors of `DIR/weights.bin` by state-dict name (caller disposes them). */
export const weightsOf = (dir: string): Map<string, Tensor> => decodeStateDict(readFileSync(join(dir, 'weights.bin'))).tensors;

/** True when two float32 tensors have the same shape and bit-identical values. */
export const sameBits = (a: Tensor, b: Tensor): boolean =>
  a.shape.join() === b.shape.join() &&
  tidy(() => noGrad(() => Buffer.from((a.toTypedArray() as Float32Array).buffer).equals(Buffer.from((b.toTypedArray() as Float32Array).buffer))));
