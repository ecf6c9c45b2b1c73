/**
 * Per-channel affine normalisation `(raw * scale - mean[c]) / std[c]`, fitted on the training
 * subset only (validation and test statistics never leak into it). For images a channel is a
 * colour plane; for tabular rows every feature is its own channel, which makes this the usual
 * per-feature standardisation.
 */
import type { Subset } from './types.js';
import { channelLayout, sampleSize } from './types.js';

export interface Normalization {
  /** Applied to raw values first (1/255 for byte images, 1 for float data). */
  readonly scale: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export function defaultScale(s: Subset): number {
  return s.data.x instanceof Uint8Array ? 1 / 255 : 1;
}

export function fitNormalization(train: Subset, scale = defaultScale(train)): Normalization {
  const { channels, perChannel } = channelLayout(train.data.shape);
  const size = sampleSize(train.data.shape);
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  const x = train.data.x;
  for (const i of train.indices) {
    const base = i * size;
    for (let c = 0; c < channels; c++) {
      let s = 0;
      let q = 0;
      const o = base + c * perChannel;
      for (let j = 0; j < perChannel; j++) {
        const v = x[o + j] as number;
        s += v;
        q += v * v;
      }
      sum[c]! += s;
      sq[c]! += q;
    }
  }
  const n = train.indices.length * perChannel;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = (sum[c] as number) / n;
    const v = Math.max(0, (sq[c] as number) / n - m * m);
    mean.push(m * scale);
    // A constant channel/feature would divide by zero: leave it centred but unscaled.
    std.push(v > 1e-12 ? Math.sqrt(v) * scale : 1);
  }
  return { scale, mean, std };
}

export function identityNormalization(channels: number, scale = 1): Normalization {
  return { scale, mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1) };
}

/** Per-channel `a, b` with normalised = raw * a + b. */
export function affine(n: Normalization): { a: Float32Array; b: Float32Array } {
  const a = new Float32Array(n.mean.length);
  const b = new Float32Array(n.mean.length);
  for (let c = 0; c < a.length; c++) {
    a[c] = n.scale / (n.std[c] as number);
    b[c] = -(n.mean[c] as number) / (n.std[c] as number);
  }
  return { a, b };
}
