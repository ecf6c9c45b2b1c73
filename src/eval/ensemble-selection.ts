/**
 * Greedy ensemble selection with replacement (Caruana, Niculescu-Mizil, Crew & Ksikes 2004,
 * "Ensemble Selection from Libraries of Models", ICML; the post-hoc ensembling of auto-sklearn,
 * Feurer et al. 2015): starting from the `init` best models of the library (sorted
 * initialization; 0 = an empty ensemble), each of `size` steps adds the library model, possibly one
 * already in, whose addition gives the equal-weight average of the members' held-out
 * probabilities the best score. As in Caruana et al. (section 2), the result is the best of the
 * nested ensembles the steps went through (the earliest on a tie; with `init`, the initialization
 * counts as step 0), so its held-out score is never worse than the best single model's; a model's
 * weight is how often it was added up to that step divided by the number of additions.
 *
 * Held-out predictions are out-of-fold predictions here (src/eval/cv-predictions.ts): every model
 * predicts every row with a network that did not train on it, so the selection never sees a
 * model's own training fit.
 *
 * Scores: `loss` = mean negative log probability of the true class (natural log, probabilities
 * floored at 1e-15; lower is better), `acc` = percent of rows whose argmax (lowest class on ties)
 * is the label. Ties on the metric are broken by the other one, then by the library order
 * (callers order it best first, so a tie keeps the better-ranked model).
 *
 * Shapes: every `library[m]` is [rows x classes] row-major; `labels` has one class index per row.
 * Errors: `invalid_config` for an empty library, a prediction of the wrong length, a label outside
 * 0..classes-1, size < 1, or init outside 0..library size.
 */
import { NasError } from '../core/errors.js';

export type SelectionMetric = 'loss' | 'acc';

export interface EnsembleSelectionOptions {
  /** Greedy steps after the initialization (>= 1). auto-sklearn's default is 50. */
  readonly size: number;
  readonly metric: SelectionMetric;
  /** Sorted initialization: the first `init` models of the library (by their own score) start the ensemble once each. Default 0. */
  readonly init?: number;
}

export interface EnsembleSelection {
  /** How often each library model was added up to the chosen step (initialization included). */
  readonly counts: readonly number[];
  /** counts / their sum. */
  readonly weights: readonly number[];
  /** The chosen step (0: the initialization alone). */
  readonly step: number;
  /** The held-out score of the chosen weighted average. */
  readonly loss: number;
  readonly acc: number;
  /** Score after each step (the initialization is step 0 when init > 0). */
  readonly trace: readonly { readonly step: number; readonly model: number; readonly loss: number; readonly acc: number }[];
}

/** Mean log loss and accuracy (percent) of probabilities `sum / div` on `labels`. */
export function scoreProbs(sum: ArrayLike<number>, div: number, labels: ArrayLike<number>, classes: number): { loss: number; acc: number } {
  const n = labels.length;
  let loss = 0;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < classes; j++) if (sum[i * classes + j]! > sum[i * classes + best]!) best = j;
    const t = labels[i]!;
    if (best === t) hits++;
    loss -= Math.log(Math.max(1e-15, sum[i * classes + t]! / div));
  }
  return { loss: loss / n, acc: (100 * hits) / n };
}

function better(a: { loss: number; acc: number }, b: { loss: number; acc: number }, metric: SelectionMetric): boolean {
  const eps = 1e-12;
  if (metric === 'loss') return a.loss < b.loss - eps || (Math.abs(a.loss - b.loss) <= eps && a.acc > b.acc + eps);
  return a.acc > b.acc + eps || (Math.abs(a.acc - b.acc) <= eps && a.loss < b.loss - eps);
}

export function ensembleSelection(library: readonly Float32Array[], labels: ArrayLike<number>, classes: number, o: EnsembleSelectionOptions): EnsembleSelection {
  const m = library.length;
  const n = labels.length;
  const init = o.init ?? 0;
  if (m === 0) throw new NasError('invalid_config', 'ensemble selection needs at least one model with held-out predictions', { field: 'library', hint: 'run the search with cv_folds and cv_predictions: true' });
  if (!(Number.isInteger(o.size) && o.size >= 1)) throw new NasError('invalid_config', `the ensemble selection size must be an integer >= 1, got ${o.size}`, { field: 'size', hint: 'e.g. size: 50 (auto-sklearn\'s default)' });
  if (!(Number.isInteger(init) && init >= 0 && init <= m)) throw new NasError('invalid_config', `the sorted initialization must take 0..${m} models, got ${init}`, { field: 'init' });
  library.forEach((p, k) => {
    if (p.length !== n * classes) throw new NasError('invalid_config', `model ${k + 1} has ${p.length} held-out probabilities, expected ${n} rows x ${classes} classes`, { field: `library[${k}]`, hint: 'every model must predict the same rows (the same study and split)' });
  });
  for (let i = 0; i < n; i++) {
    const t = labels[i]!;
    if (!(Number.isInteger(t) && t >= 0 && t < classes)) throw new NasError('invalid_config', `label ${t} of row ${i} is not a class index 0..${classes - 1}`, { field: 'labels' });
  }
  const counts = new Array<number>(m).fill(0);
  const sum = new Float64Array(n * classes);
  const trace: { step: number; model: number; loss: number; acc: number }[] = [];
  if (init > 0) {
    const own = library.map((p, k) => ({ k, s: scoreProbs(p, 1, labels, classes) }));
    own.sort((a, b) => (better(a.s, b.s, o.metric) ? -1 : better(b.s, a.s, o.metric) ? 1 : a.k - b.k));
    for (const { k } of own.slice(0, init)) {
      counts[k]!++;
      const p = library[k]!;
      for (let i = 0; i < sum.length; i++) sum[i]! += p[i]!;
    }
    trace.push({ step: 0, model: own[0]!.k, ...scoreProbs(sum, init, labels, classes) });
  }
  let chosen: { step: number; counts: number[]; score: { loss: number; acc: number } } | undefined = init > 0 ? { step: 0, counts: [...counts], score: trace[0]! } : undefined;
  const trial = new Float64Array(n * classes);
  for (let step = 1; step <= o.size; step++) {
    const div = init + step;
    let pick = -1;
    let pickScore = { loss: Infinity, acc: -Infinity };
    for (let k = 0; k < m; k++) {
      const p = library[k]!;
      for (let i = 0; i < trial.length; i++) trial[i] = sum[i]! + p[i]!;
      const s = scoreProbs(trial, div, labels, classes);
      if (pick < 0 || better(s, pickScore, o.metric)) {
        pick = k;
        pickScore = s;
      }
    }
    counts[pick]!++;
    const p = library[pick]!;
    for (let i = 0; i < sum.length; i++) sum[i]! += p[i]!;
    trace.push({ step, model: pick, ...pickScore });
    if (!chosen || better(pickScore, chosen.score, o.metric)) chosen = { step, counts: [...counts], score: pickScore };
  }
  const c = chosen!;
  const total = c.counts.reduce((a, b) => a + b, 0);
  return { counts: c.counts, weights: c.counts.map((x) => x / total), step: c.step, loss: c.score.loss, acc: c.score.acc, trace };
}
