/**
 * The final models of a study's configurations as an ensemble: an explicit step after a search
 * with the `train` evaluator, for small data where one winner picked among close candidates is
 * mostly chance. Two methods:
 *
 * - `top` (default): the k best trials, equal weights (Caruana et al. 2004's sorted
 *   initialization; src/eval/ensemble.ts). Members: the k best complete trials by the study's
 *   ranking (first objective, its tie-break, constraints: the order `best` uses, so member 1 is the
 *   study's winner), fewer when fewer are complete and feasible.
 * - `caruana`: greedy ensemble selection with replacement (Caruana et al. 2004; auto-sklearn's
 *   post-hoc ensembling; src/eval/ensemble-selection.ts) over every complete feasible trial's
 *   OUT-OF-FOLD predictions, which the search keeps with `cv_folds` + `cv_predictions: true`
 *   (trial user attribute `cv_predictions`). `size` greedy steps (default 50) on the mean held-out
 *   log loss (`metric: loss`, default) or accuracy; each chosen trial's weight is how often it was
 *   picked. The trials ranked in the study's order, so ties keep the better-ranked trial.
 *
 *   const r = await ensembleOfStudy('sqlite:./tsnas.db', 'wine-tpe', { method: 'caruana' });
 *   r.acc          // test accuracy (percent) of the weighted average of class probabilities
 *   r.trials       // the chosen trials (heaviest first), r.weights their weights (sum 1)
 *
 * Either way each member is retrained from scratch on every non-test row (training + validation
 * split: validation fraction 0, the same test rows) for the evaluator's `epochs`, seed `seed`
 * (default the study's seed), the evaluator's threads, and evaluated on the test split, which the
 * search never saw. Errors: `not_found` (no such study, or no complete feasible trial),
 * `invalid_config` (k < 1, size < 1, a study whose evaluator is not `train`; for caruana, no trial
 * with out-of-fold predictions, or predictions on rows that are not this split's non-test rows).
 */
import { NasError, assertNever } from '../core/errors.js';
import type { JointArch, NetworkArch } from '../core/arch.js';
import { prepareData } from '../data/prepare.js';
import { averagePredictions, trainEnsemble, type EnsembleResult } from '../eval/ensemble.js';
import { CV_PREDICTIONS_ATTR, decodeCvPredictions, type CvPredictions } from '../eval/cv-predictions.js';
import { ensembleSelection, type SelectionMetric } from '../eval/ensemble-selection.js';
import { checkArchJson } from '../eval/train.js';
import { bestOf, objectiveOf, studyConstraints } from '../store/common.js';
import { openStore, type TrialRecord } from '../store/index.js';
import { parseTrainOptions } from './train-evaluator.js';

export type EnsembleMethod = 'top' | 'caruana';

export interface EnsembleOfStudyOptions {
  /** `top` (default): the k best trials, equal weights; `caruana`: greedy selection on out-of-fold predictions. */
  readonly method?: EnsembleMethod;
  /** top: the k best trials (>= 1), required. */
  readonly k?: number;
  /** caruana: greedy steps (>= 1); default 50 (auto-sklearn's ensemble_size). */
  readonly size?: number;
  /** caruana: the held-out score the steps optimise; default `loss` (mean log loss). */
  readonly metric?: SelectionMetric;
  /** Seed of every member's training; default the study's seed. */
  readonly seed?: number;
}

export interface StudyEnsembleResult extends EnsembleResult {
  /** Trial numbers of the members: top, best first; caruana, heaviest first (then by rank). */
  readonly trials: readonly number[];
  /** The members' weights (sum 1): top, equal. */
  readonly weights: readonly number[];
  /** caruana: the selection's out-of-fold score, the library size, and the trials left out for lacking predictions. */
  readonly selection?: { readonly loss: number; readonly acc: number; readonly library: number; readonly withoutPredictions: readonly number[]; readonly size: number; readonly metric: SelectionMetric };
}

/** The k best complete feasible trials in the study's own order (best first). */
export function topTrials(trials: readonly TrialRecord[], study: Parameters<typeof objectiveOf>[0] & Parameters<typeof studyConstraints>[0], k: number): TrialRecord[] {
  const o = objectiveOf(study, 0);
  const constraints = studyConstraints(study);
  const left = trials.filter((t) => t.state === 'complete');
  const out: TrialRecord[] = [];
  while (out.length < k) {
    const b = bestOf(left, 0, o.direction, constraints, o.tieBreak);
    if (!b) break;
    out.push(b);
    left.splice(left.indexOf(b), 1);
  }
  return out;
}

/** Caruana selection over `ranked` (study order): the chosen trials, their weights and the selection's score. */
function selectByOutOfFold(study: string, ranked: readonly TrialRecord[], labelsOf: (rows: Int32Array) => Int32Array, classes: number, size: number, metric: SelectionMetric): { chosen: TrialRecord[]; weights: number[]; selection: NonNullable<StudyEnsembleResult['selection']> } {
  const lib: { t: TrialRecord; p: CvPredictions }[] = [];
  const without: number[] = [];
  for (const t of ranked) {
    const v = t.userAttrs[CV_PREDICTIONS_ATTR];
    if (v === undefined) without.push(t.number);
    else lib.push({ t, p: decodeCvPredictions(v, `trial ${t.number}'s ${CV_PREDICTIONS_ATTR}`) });
  }
  if (lib.length === 0)
    throw new NasError('invalid_config', `study ${study} has no trial with out-of-fold predictions (${CV_PREDICTIONS_ATTR}): Caruana selection needs them`, {
      field: 'method',
      hint: 'run the search with the train evaluator\'s cv_folds and cv_predictions: true, or use --method top --k K',
    });
  const rows = lib[0]!.p.rows;
  for (const { t, p } of lib)
    if (p.classes !== classes || p.rows.length !== rows.length || p.rows.some((r, i) => r !== rows[i]))
      throw new NasError('invalid_config', `trial ${t.number}'s out-of-fold predictions cover other rows or classes than trial ${lib[0]!.t.number}'s (${p.rows.length} rows x ${p.classes} vs ${rows.length} x ${classes})`, {
        field: CV_PREDICTIONS_ATTR,
        hint: 'every trial of the study must be evaluated on the same data and split',
      });
  const sel = ensembleSelection(lib.map((l) => l.p.probs), labelsOf(rows), classes, { size, metric });
  const order = lib.map((_, i) => i).filter((i) => sel.counts[i]! > 0).sort((a, b) => sel.counts[b]! - sel.counts[a]! || a - b);
  return {
    chosen: order.map((i) => lib[i]!.t),
    weights: order.map((i) => sel.weights[i]!),
    selection: { loss: sel.loss, acc: sel.acc, library: lib.length, withoutPredictions: without, size, metric },
  };
}

export async function ensembleOfStudy(storage: string, study: string, opts: EnsembleOfStudyOptions): Promise<StudyEnsembleResult> {
  const method = opts.method ?? 'top';
  if (method === 'top' && !(opts.k !== undefined && Number.isInteger(opts.k) && opts.k >= 1)) throw new NasError('invalid_config', `the ensemble size k must be an integer >= 1, got ${opts.k}`, { field: 'k', hint: 'e.g. k: 5' });
  const size = opts.size ?? 50;
  if (method === 'caruana' && !(Number.isInteger(size) && size >= 1)) throw new NasError('invalid_config', `the number of selection steps must be an integer >= 1, got ${size}`, { field: 'size', hint: 'e.g. size: 50' });
  const store = await openStore(storage, { readOnly: true });
  let ranked: TrialRecord[];
  let rec;
  try {
    rec = await store.requireStudy(study);
    ranked = topTrials(await store.listTrials(rec.id, { states: ['complete'] }), rec, method === 'top' ? opts.k! : Infinity);
  } finally {
    await store.close();
  }
  const ev = rec.evaluator as { name?: string; options?: Record<string, unknown> };
  if (ev.name !== 'train' || !ev.options)
    throw new NasError('invalid_config', `study ${study} uses evaluator ${JSON.stringify(ev.name)}: an ensemble retrains its members, which needs the train evaluator`, { field: 'study', hint: 'use a study searched with evaluator: train' });
  if (ranked.length === 0) throw new NasError('not_found', `study ${study} has no complete trial that satisfies its constraints`, { field: 'study', hint: 'run the search first (tsnas search), or check tsnas status' });
  const { eval: o } = parseTrainOptions(ev.options as never, process.cwd());
  const data = await prepareData(o.dataset, { ...o.split, valFraction: 0 });
  let members: TrialRecord[];
  let weights: number[];
  let selection: StudyEnsembleResult['selection'];
  switch (method) {
    case 'top':
      members = ranked;
      weights = ranked.map(() => 1 / ranked.length);
      break;
    case 'caruana': {
      const pool = new Set(data.train.indices);
      const labelsOf = (rows: Int32Array): Int32Array => {
        if (rows.length !== pool.size || rows.some((r) => !pool.has(r)))
          throw new NasError('invalid_config', `the out-of-fold predictions cover ${rows.length} rows, but this split has ${pool.size} non-test rows (or other ones)`, {
            field: CV_PREDICTIONS_ATTR,
            hint: 'the study\'s data or split changed since the search (or it used train_per_class/val_per_class subsets): re-run the search',
          });
        return Int32Array.from(rows, (r) => data.train.data.y[r] as number);
      };
      ({ chosen: members, weights, selection } = selectByOutOfFold(study, ranked, labelsOf, data.numClasses, size, opts.metric ?? 'loss'));
      break;
    }
    default:
      assertNever(method);
  }
  const archs = members.map((t) => checkArchJson(t.arch) as NetworkArch | JointArch);
  const r = await trainEnsemble(archs, data, {
    epochs: o.epochs ?? 10,
    seed: opts.seed ?? rec.seed,
    ...(o.threads === undefined ? {} : { threads: o.threads }),
    ...(o.hparams ? { hparams: o.hparams } : {}),
    ...(o.nb201 ? { nb201: o.nb201 } : {}),
    ...(o.darts ? { darts: o.darts } : {}),
  });
  const avg = averagePredictions(r.members.map((m) => m.probs), data, weights);
  return { ...r, ...avg, trials: members.map((t) => t.number), weights, ...(selection ? { selection } : {}) };
}
