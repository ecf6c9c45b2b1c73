/**
 * Seeded data augmentation for image batches, applied in the fixed order of the usual CIFAR
 * pipeline: random crop with zero padding -> horizontal flip -> cutout. Padding is black (raw 0,
 * before normalisation, as torchvision pads PIL images); cutout zeroes the normalised values (as
 * the DARTS/NB201 cutout does after Normalize). All randomness comes from the caller's Rng, drawn
 * per sample in that order, so a seed fixes every augmented batch.
 */
import { NasError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';

export interface Augmentation {
  /** Pad each side by this many pixels, then crop back to the original size at a random offset. */
  readonly cropPadding?: number;
  /** Flip left-right with probability 0.5. */
  readonly hflip?: boolean;
  /** Zero a square of this side length centred at a random pixel (clipped at the borders). */
  readonly cutout?: number;
}

export function checkAugmentation(a: Augmentation, shape: readonly number[]): void {
  if (shape.length !== 3 && (a.cropPadding || a.hflip || a.cutout))
    throw new NasError('invalid_config', `augmentation needs image data [C, H, W], got sample shape [${shape.join(', ')}]`, {
      field: 'augment',
      hint: 'remove augment for tabular data',
    });
  for (const k of ['cropPadding', 'cutout'] as const) {
    const v = a[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0))
      throw new NasError('invalid_config', `${k} must be a non-negative integer, got ${v}`, { field: `augment.${k}` });
  }
}

export function isIdentity(a: Augmentation | undefined): boolean {
  return !a || (!a.cropPadding && !a.hflip && !a.cutout);
}

/**
 * Writes one augmented, normalised sample: `src` holds raw values at `srcOff` (C*H*W, CHW order),
 * `dst` receives `raw * a[c] + b[c]` at `dstOff`.
 */
export function augmentSample(
  src: Uint8Array | Float32Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  C: number,
  H: number,
  W: number,
  a: Float32Array,
  b: Float32Array,
  aug: Augmentation,
  rng: Rng,
): void {
  const pad = aug.cropPadding ?? 0;
  const dy = pad > 0 ? rng.int(0, 2 * pad + 1) - pad : 0;
  const dx = pad > 0 ? rng.int(0, 2 * pad + 1) - pad : 0;
  const flip = aug.hflip ? rng.bool(0.5) : false;
  const plane = H * W;
  for (let c = 0; c < C; c++) {
    const ac = a[c] as number;
    const bc = b[c] as number;
    const s0 = srcOff + c * plane;
    const d0 = dstOff + c * plane;
    for (let y = 0; y < H; y++) {
      const sy = y + dy;
      const drow = d0 + y * W;
      if (sy < 0 || sy >= H) {
        dst.fill(bc, drow, drow + W);
        continue;
      }
      const srow = s0 + sy * W;
      for (let x = 0; x < W; x++) {
        const sx = (flip ? W - 1 - x : x) + dx;
        dst[drow + x] = sx < 0 || sx >= W ? bc : (src[srow + sx] as number) * ac + bc;
      }
    }
  }
  const size = aug.cutout ?? 0;
  if (size > 0) {
    const cy = rng.int(0, H);
    const cx = rng.int(0, W);
    const y0 = Math.max(0, cy - (size >> 1));
    const y1 = Math.min(H, cy - (size >> 1) + size);
    const x0 = Math.max(0, cx - (size >> 1));
    const x1 = Math.min(W, cx - (size >> 1) + size);
    for (let c = 0; c < C; c++) for (let y = y0; y < y1; y++) dst.fill(0, dstOff + c * plane + y * W + x0, dstOff + c * plane + y * W + x1);
  }
}
