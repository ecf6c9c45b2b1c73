/**
 * Out-of-fold predictions of a cross-validated evaluation (the train evaluator's `cv_predictions`):
 * for every pooled training + validation row, the class probabilities of the fold network that did
 * NOT train on it (the mean over repeats with cv_repeats). They are what Caruana et al. 2004's
 * ensemble selection needs (src/eval/ensemble-selection.ts): held-out predictions of every
 * candidate on the same rows, without a separate validation split.
 *
 * When the evaluation also evaluated the test split, the record holds the fold networks' bagged
 * test prediction too: for every test row, the mean of the k (x repeats) fold networks' class
 * probabilities (auto-sklearn's `cv` final model, AutoGluon's k-fold bagging: the fold networks
 * are the final model, nothing is retrained).
 *
 * Stored as the trial's user attribute `cv_predictions` (JSON):
 *   { format: 'f32le-base64', classes: C, rows: [source row index, ...ascending],
 *     probs: base64 of rows.length x C float32, little-endian, row-major,
 *     test_rows?: [source row index, ...ascending], test_probs?: base64, test_rows.length x C }
 * Rows are indices into the dataset source (the same numbering as the prepared subsets' indices).
 */
import { NasError } from '../core/errors.js';
import type { Json } from '../core/json.js';

export const CV_PREDICTIONS_ATTR = 'cv_predictions';

/** Class probabilities of some source rows. */
export interface HeldOutProbs {
  /** Source row indices, ascending. */
  readonly rows: Int32Array;
  readonly classes: number;
  /** [rows x classes] row-major. */
  readonly probs: Float32Array;
}

export interface CvPredictions extends HeldOutProbs {
  /** The test rows' probabilities, the mean over every fold network (absent: the test split was skipped). */
  readonly test?: HeldOutProbs;
}

/**
 * Pools per-fold held-out probabilities: `parts[i]` holds fold i's validation rows and their
 * [rows x classes] probabilities; a row seen in several folds (repeats) gets the mean.
 */
export function poolFoldPredictions(parts: readonly { readonly rows: ArrayLike<number>; readonly probs: Float32Array }[], classes: number): HeldOutProbs {
  const sum = new Map<number, Float64Array>();
  const count = new Map<number, number>();
  for (const p of parts) {
    if (p.probs.length !== p.rows.length * classes) throw new NasError('internal', `fold predictions of ${p.rows.length} rows x ${classes} classes have ${p.probs.length} values`);
    for (let i = 0; i < p.rows.length; i++) {
      const r = p.rows[i]!;
      let s = sum.get(r);
      if (!s) sum.set(r, (s = new Float64Array(classes)));
      for (let j = 0; j < classes; j++) s[j]! += p.probs[i * classes + j]!;
      count.set(r, (count.get(r) ?? 0) + 1);
    }
  }
  const rows = Int32Array.from([...sum.keys()].sort((a, b) => a - b));
  const probs = new Float32Array(rows.length * classes);
  rows.forEach((r, i) => {
    const s = sum.get(r)!;
    const n = count.get(r)!;
    for (let j = 0; j < classes; j++) probs[i * classes + j] = s[j]! / n;
  });
  return { rows, classes, probs };
}

function f32Base64(probs: Float32Array): string {
  const bytes = new Uint8Array(probs.length * 4);
  const view = new DataView(bytes.buffer);
  probs.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return Buffer.from(bytes).toString('base64');
}

export function encodeCvPredictions(p: CvPredictions): Json {
  if (p.test && p.test.classes !== p.classes) throw new NasError('internal', `test predictions of ${p.test.classes} classes beside out-of-fold ones of ${p.classes}`);
  return {
    format: 'f32le-base64',
    classes: p.classes,
    rows: Array.from(p.rows),
    probs: f32Base64(p.probs),
    ...(p.test ? { test_rows: Array.from(p.test.rows), test_probs: f32Base64(p.test.probs) } : {}),
  };
}

/** Decodes a stored `cv_predictions` attribute; `invalid_config` naming `field` when it is malformed. */
export function decodeCvPredictions(v: unknown, field = CV_PREDICTIONS_ATTR): CvPredictions {
  const bad = (why: string) => new NasError('invalid_config', `${field} is not a stored out-of-fold prediction record: ${why}`, { field, hint: 're-run the search with the train evaluator\'s cv_folds and cv_predictions: true' });
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('not an object');
  const o = v as Record<string, unknown>;
  if (o['format'] !== 'f32le-base64') throw bad(`format ${JSON.stringify(o['format'])}`);
  const c = o['classes'];
  if (!(typeof c === 'number' && Number.isInteger(c) && c >= 1)) throw bad('classes is not a positive integer');
  const part = (rowsKey: string, probsKey: string): HeldOutProbs => {
    const rows = o[rowsKey];
    if (!Array.isArray(rows) || !rows.every((r, i) => Number.isInteger(r) && r >= 0 && (i === 0 || r > rows[i - 1]))) throw bad(`${rowsKey} are not ascending row indices`);
    const b64 = o[probsKey];
    if (typeof b64 !== 'string') throw bad(`${probsKey} is not a string`);
    const bytes = Buffer.from(b64, 'base64');
    if (bytes.length !== rows.length * c * 4) throw bad(`${probsKey} hold ${bytes.length} bytes, expected ${rows.length} rows x ${c} classes x 4`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const probs = new Float32Array(rows.length * c);
    for (let i = 0; i < probs.length; i++) probs[i] = view.getFloat32(i * 4, true);
    return { rows: Int32Array.from(rows as number[]), classes: c, probs };
  };
  const held = part('rows', 'probs');
  if ((o['test_rows'] === undefined) !== (o['test_probs'] === undefined)) throw bad('test_rows and test_probs come together');
  return o['test_rows'] === undefined ? held : { ...held, test: part('test_rows', 'test_probs') };
}
