/**
 * Batch assembly: gathers samples of a subset into one contiguous Float32Array (sample-major,
 * per-sample `shape`), normalising on the fly and optionally augmenting. Only typed-array loops,
 * no per-pixel objects: the data pipeline must never be what the trainer waits for.
 */
import { NasError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { augmentSample, checkAugmentation, isIdentity, type Augmentation } from './augment.js';
import { affine, type Normalization } from './normalize.js';
import { channelLayout, sampleSize, type Subset } from './types.js';

export interface Batch {
  /** `size * prod(shape)` normalised float32 values. */
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly size: number;
  /** Full batch shape `[size, ...sampleShape]`. */
  readonly shape: readonly number[];
}

export interface BatchOptions {
  readonly batchSize: number;
  readonly normalization: Normalization;
  /** Shuffles the order with this generator; in subset order when absent. */
  readonly shuffle?: Rng;
  /** Drop a last incomplete batch (default false). */
  readonly dropLast?: boolean;
  readonly augment?: Augmentation;
  /** Required when `augment` does anything. */
  readonly augmentRng?: Rng;
}

/** Assembles the samples `order[start..end)` (dataset indices) into one batch. */
export function assembleBatch(
  s: Subset,
  order: ArrayLike<number>,
  start: number,
  end: number,
  norm: Normalization,
  aug?: Augmentation,
  augRng?: Rng,
): Batch {
  const shape = s.data.shape;
  const size = sampleSize(shape);
  const n = end - start;
  const x = new Float32Array(n * size);
  const y = new Int32Array(n);
  const { a, b } = affine(norm);
  const { channels, perChannel } = channelLayout(shape);
  const src = s.data.x;
  const labels = s.data.y;
  const augmenting = !isIdentity(aug);
  if (augmenting && !augRng) throw new NasError('internal', 'assembleBatch: augmentation without an Rng');
  for (let k = 0; k < n; k++) {
    const i = order[start + k] as number;
    y[k] = labels[i] as number;
    const so = i * size;
    const dOff = k * size;
    if (augmenting) {
      augmentSample(src, so, x, dOff, shape[0] as number, shape[1] as number, shape[2] as number, a, b, aug!, augRng!);
      continue;
    }
    if (perChannel === 1) {
      for (let c = 0; c < channels; c++) x[dOff + c] = (src[so + c] as number) * (a[c] as number) + (b[c] as number);
    } else {
      for (let c = 0; c < channels; c++) {
        const ac = a[c] as number;
        const bc = b[c] as number;
        const s0 = so + c * perChannel;
        const d0 = dOff + c * perChannel;
        for (let j = 0; j < perChannel; j++) x[d0 + j] = (src[s0 + j] as number) * ac + bc;
      }
    }
  }
  return { x, y, size: n, shape: [n, ...shape] };
}

export function numBatches(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** One pass over `s` in batches (one epoch). */
export function* batches(s: Subset, o: BatchOptions): Generator<Batch> {
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1))
    throw new NasError('invalid_config', `must be a positive integer, got ${o.batchSize}`, { field: 'hparams.batch_size' });
  if (o.augment) checkAugmentation(o.augment, s.data.shape);
  const order: ArrayLike<number> = o.shuffle ? o.shuffle.shuffle(Array.from(s.indices)) : s.indices;
  const n = order.length;
  const count = numBatches(n, o.batchSize, o.dropLast);
  for (let k = 0; k < count; k++) {
    const start = k * o.batchSize;
    yield assembleBatch(s, order, start, Math.min(n, start + o.batchSize), o.normalization, o.augment, o.augmentRng);
  }
}
