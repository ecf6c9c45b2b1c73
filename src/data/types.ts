/**
 * In-memory classification datasets and views on them. A `Dataset` owns the samples (row-major,
 * one sample = `shape` elements); a `Subset` is a list of sample indices into one dataset, which is
 * how splits, class-balanced subsets and shuffles are expressed without copying pixels.
 *
 * Image samples stay `Uint8Array` (raw 0-255 bytes, as in the files) and are converted to float32
 * with normalisation fused into batch assembly (see batch.ts); tabular samples are `Float32Array`.
 */
export interface Dataset {
  /** Human-readable origin, e.g. `fashion_mnist/train` or the CSV path. */
  readonly name: string;
  /** `n * prod(shape)` values, sample-major. */
  readonly x: Uint8Array | Float32Array;
  /** `n` labels in [0, numClasses). */
  readonly y: Int32Array;
  /** Per-sample shape: `[C, H, W]` for images, `[F]` for tabular rows. */
  readonly shape: readonly number[];
  readonly numClasses: number;
  /** The label of each class index (CSV: the file's label values, see csv.ts). */
  readonly classNames?: readonly string[];
  /** What the reader decided and the user may want to know (e.g. header detection, label mapping). */
  readonly notes?: readonly string[];
}

export interface Subset {
  readonly data: Dataset;
  /** Indices into `data`, each < data.y.length; order matters only where documented. */
  readonly indices: Int32Array;
}

export function datasetSize(d: Dataset): number {
  return d.y.length;
}

export function sampleSize(shape: readonly number[]): number {
  let s = 1;
  for (const v of shape) s *= v;
  return s;
}

/**
 * Channels for per-channel normalisation: `C` of `[C,H,W]`, every feature of `[F]` (so tabular
 * standardisation is per-feature), and the number of values per channel per sample.
 */
export function channelLayout(shape: readonly number[]): { channels: number; perChannel: number } {
  if (shape.length === 3) return { channels: shape[0] as number, perChannel: (shape[1] as number) * (shape[2] as number) };
  if (shape.length === 1) return { channels: shape[0] as number, perChannel: 1 };
  return { channels: 1, perChannel: sampleSize(shape) };
}

export function fullSubset(d: Dataset): Subset {
  const idx = new Int32Array(d.y.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return { data: d, indices: idx };
}

/** Per-class counts of a subset's labels. */
export function classCounts(s: Subset): number[] {
  const c = new Array<number>(s.data.numClasses).fill(0);
  for (const i of s.indices) c[s.data.y[i] as number]!++;
  return c;
}
