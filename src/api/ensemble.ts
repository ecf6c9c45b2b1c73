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
 * The final model of each member (`final`):
 * - `retrain` (default): retrained from scratch on every non-test row (training + validation
 *   split: validation fraction 0, the same test rows) for the evaluator's `epochs`, seeds `seed`
 *   .. `seed + seeds - 1` (default the study's seed, 1 seed; several seeds: the member's
 *   probabilities are the mean over its seeds, a deep ensemble of it), the evaluator's threads and
 *   `early_stopping` (a `train_loss` rule stops it as in the search; a validation metric has no
 *   rows to watch here, so the full `epochs` train), and evaluated on the test split, which the
 *   search never saw.
 * - `folds`: nothing is retrained; the member is its k cross-validation fold networks from the
 *   search, their test probabilities averaged (auto-sklearn's `cv` resampling final model,
 *   Feurer et al. 2015; AutoGluon's k-fold bagging, Erickson et al. 2020). Needs the search's
 *   `cv_predictions: true` with the test split evaluated (no `skip_test`), which stores them in
 *   `cv_predictions` (src/eval/cv-predictions.ts). The test rows never influence the search or the
 *   selection (both use validation / out-of-fold rows only).
 *
 * A member whose retraining does not complete (it trained in the search's folds, but e.g. a high
 * learning rate diverges with the extra rows' steps) is left out and listed in `failed`, the
 * others reweighted; when every member fails, `diverged`.
 *
 * Errors: `not_found` (no such study, or no complete feasible trial), `invalid_config` (k < 1,
 * size < 1, seeds < 1, a study whose evaluator is not `train`; for caruana, no trial with
 * out-of-fold predictions, or predictions on rows that are not this split's non-test rows; for
 * folds, a member without stored test predictions or with other test rows than this split's).
 */
import { candidateValue } from '../core/metrics.js';
import { NasError, assertNever } from '../core/errors.js';
import type { JointArch, NetworkArch } from '../core/arch.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { averagePredictions, trainEnsemble, type EnsembleMemberResult, type EnsembleResult } from '../eval/ensemble.js';
import { CV_PREDICTIONS_ATTR, decodeCvPredictions, type CvPredictions } from '../eval/cv-predictions.js';
import { ensembleSelection, type SelectionMetric } from '../eval/ensemble-selection.js';
import { checkArchJson } from '../eval/train.js';
import { bestOf, objectiveOf, studyConstraints } from '../store/common.js';
import { openStore, type TrialRecord } from '../store/index.js';
import { parseTrainOptions } from './train-evaluator.js';
import { checkHeldOut } from './model-record.js';

export type EnsembleMethod = 'top' | 'caruana';
/** How each member's final model is made: retrained on all non-test rows, or its CV fold networks. */
export type EnsembleFinal = 'retrain' | 'folds';

export interface EnsembleOfStudyOptions {
  /** `top` (default): the k best trials, equal weights; `caruana`: greedy selection on out-of-fold predictions. */
  readonly method?: EnsembleMethod;
  /** top: the k best trials (>= 1), required. */
  readonly k?: number;
  /** caruana: greedy steps (>= 1); default 50 (auto-sklearn's ensemble_size). */
  readonly size?: number;
  /** caruana: the held-out score the steps optimise; default `loss` (mean log loss). */
  readonly metric?: SelectionMetric;
  /** `retrain` (default): members retrained on all non-test rows; `folds`: their CV fold networks' mean test prediction. */
  readonly final?: EnsembleFinal;
  /** retrain: seed of every member's (first) training; default the study's seed. */
  readonly seed?: number;
  /** retrain: trainings per member, seeds `seed`, `seed + 1`, ...; its probabilities are their mean. Default 1. */
  readonly seeds?: number;
  /** Once, after the study's data is read: what loading decided (CSV header, label mapping, a class of one row). */
  readonly onDataNotes?: (notes: readonly string[]) => void;
  /**
   * retrain: aborting stops the retraining after the current batch; nothing is kept (the members'
   * temporary weight files are removed) and `aborted` says which member, trial and seed stopped and
   * how many members had finished.
   */
  readonly signal?: AbortSignal;
  /** retrain: a line as each member's training starts (`retraining trial 3 (member 1 of 2, seed 0): ...`). */
  readonly log?: (line: string) => void;
}

export interface StudyEnsembleResult extends EnsembleResult {
  /** How the members' final models were made. */
  readonly final: EnsembleFinal;
  /** retrain: trainings per member. */
  readonly seeds?: number;
  /**
   * retrain: members left out because their retraining did not complete (e.g. diverged), with the
   * reason; the others' weights are renormalised to sum 1. Absent when none failed.
   */
  readonly failed?: readonly { readonly trial: number; readonly message: string }[];
  /** Trial numbers of the members: top, best first; caruana, heaviest first (then by rank). */
  readonly trials: readonly number[];
  /** The members' weights (sum 1): top, equal. */
  readonly weights: readonly number[];
  /**
   * top: the study had fewer candidates than `k` asked for: how many it had and why (complete
   * trials, those without an objective value such as a one-shot supernet trial, those outside the
   * constraints). Absent when k were available.
   */
  readonly fewer?: { readonly asked: number; readonly available: number; readonly why: string };
  /** The member with the best test accuracy (its trial number and accuracy), to set beside the ensemble's. */
  readonly bestMember: { readonly trial: number; readonly testAcc: number };
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
  const final = opts.final ?? 'retrain';
  const seeds = opts.seeds ?? 1;
  if (!(Number.isInteger(seeds) && seeds >= 1)) throw new NasError('invalid_config', `the trainings per member must be an integer >= 1, got ${opts.seeds}`, { field: 'seeds', hint: 'e.g. seeds: 5' });
  if (final === 'folds' && (opts.seeds !== undefined || opts.seed !== undefined))
    throw new NasError('invalid_config', `final: folds uses the search's fold networks, so nothing is trained and ${opts.seeds !== undefined ? 'seeds' : 'seed'} does not apply`, { field: opts.seeds !== undefined ? 'seeds' : 'seed', hint: 'drop it, or use final: retrain' });
  const store = await openStore(storage, { readOnly: true });
  let ranked: TrialRecord[];
  let rec;
  let fewer: StudyEnsembleResult['fewer'];
  try {
    rec = await store.requireStudy(study);
    const complete = await store.listTrials(rec.id, { states: ['complete'] });
    ranked = topTrials(complete, rec, method === 'top' ? opts.k! : Infinity);
    if (method === 'top' && ranked.length < opts.k!) fewer = { asked: opts.k!, available: ranked.length, why: fewerWhy(complete, rec, (await store.listStudies()).find((s) => s.id === rec!.id)?.counts.total) };
  } finally {
    await store.close();
  }
  const ev = rec.evaluator as { name?: string; options?: Record<string, unknown> };
  if (ev.name !== 'train' || !ev.options)
    throw new NasError('invalid_config', `study ${study} uses evaluator ${JSON.stringify(ev.name)}: an ensemble retrains its members, which needs the train evaluator`, { field: 'study', hint: 'use a study searched with evaluator: train' });
  if (ranked.length === 0) throw new NasError('not_found', `study ${study} has no complete trial that satisfies its constraints`, { field: 'study', hint: 'run the search first (tsnas search), or check tsnas status' });
  const { eval: o } = parseTrainOptions(ev.options as never, process.cwd());
  const data = await prepareData(o.dataset, { ...o.split, valFraction: 0 });
  opts.onDataNotes?.(data.notes ?? []);
  // The ensemble retrains on every non-test row and is measured on the test rows: those must be the
  // study's, which its search never trained or selected on (as finetune/compress check theirs).
  await checkHeldOut(o.dataset, o.split ?? {}, `study ${study}`, data, 'the ensemble');
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
  let out: EnsembleMemberResult[];
  const failed: { trial: number; message: string }[] = [];
  switch (final) {
    case 'retrain': {
      // Each member trained once per seed; its probabilities are the mean over its seeds. A member
      // that trained in the search can still fail here (more rows, so more steps per epoch: e.g. a
      // high learning rate that now diverges): it is left out, and the rest reweighted.
      const kept: EnsembleMemberResult[] = [];
      const keptWeights: number[] = [];
      const keptTrials: TrialRecord[] = [];
      for (const [m, arch] of archs.entries()) {
        const runs: EnsembleResult[] = [];
        try {
          for (let j = 0; j < seeds; j++) {
            if (opts.signal?.aborted) throw new NasError('aborted', 'stopped before its training started');
            opts.log?.(`retraining trial ${members[m]!.number} (member ${m + 1} of ${archs.length}, seed ${(opts.seed ?? rec.seed) + j}${seeds > 1 ? `, ${j + 1} of ${seeds}` : ''}): ${o.epochs ?? 10} epochs on ${data.train.indices.length} rows`);
            runs.push(
              await trainEnsemble([arch], data, {
                epochs: o.epochs ?? 10,
                seed: (opts.seed ?? rec.seed) + j,
                ...(opts.signal ? { signal: opts.signal } : {}),
                ...(o.threads === undefined ? {} : { threads: o.threads }),
                ...(o.hparams ? { hparams: o.hparams } : {}),
                // The search's stopping rule (train_loss: scikit-learn's; a validation metric
                // has no rows to watch here, every non-test row trains, so it does nothing).
                ...(o.earlyStopping ? { earlyStopping: o.earlyStopping } : {}),
                ...(o.nb201 ? { nb201: o.nb201 } : {}),
                ...(o.darts ? { darts: o.darts } : {}),
              }),
            );
          }
        } catch (e) {
          if (e instanceof NasError && e.code === 'aborted')
            throw new NasError('aborted', `the ensemble stopped while retraining trial ${members[m]!.number} (member ${m + 1} of ${archs.length}, seed ${(opts.seed ?? rec.seed) + runs.length}): ${e.text.replace(/^ensemble member \d+ of \d+ did not train: /, '')}; ${kept.length} member(s) had finished, nothing is kept`, { cause: e });
          if (!(e instanceof NasError) || e.code === 'internal') throw e;
          failed.push({ trial: members[m]!.number, message: `seed ${(opts.seed ?? rec.seed) + runs.length}: ${e.text.replace(/^ensemble member \d+ of \d+ did not train: /, '')}` });
          continue;
        }
        const p = seeds === 1 ? runs[0]!.members[0]!.probs : averagePredictions(runs.map((r) => r.members[0]!.probs), data).probs;
        kept.push({ arch, testAcc: seeds === 1 ? runs[0]!.members[0]!.testAcc : averagePredictions([p], data).acc, probs: p });
        keptWeights.push(weights[m]!);
        keptTrials.push(members[m]!);
      }
      if (kept.length === 0)
        throw new NasError('diverged', `no member of the ensemble could be retrained on all non-test rows: ${failed.map((f) => `trial ${f.trial}: ${f.message}`).join('; ')}`, {
          field: 'final',
          hint: 'use final: folds (the search\'s fold networks, nothing retrained), or another seed',
        });
      out = kept;
      const total = keptWeights.reduce((a, b) => a + b, 0);
      weights = keptWeights.map((w) => w / total);
      members = keptTrials;
      break;
    }
    case 'folds':
      out = members.map((t, m) => ({ arch: archs[m]!, ...foldTestPredictions(t, data) }));
      break;
    default:
      assertNever(final);
  }
  const avg = averagePredictions(out.map((m) => m.probs), data, weights);
  const b = out.reduce((bi, m, i) => (m.testAcc > out[bi]!.testAcc ? i : bi), 0);
  return {
    ...avg,
    members: out,
    trials: members.map((t) => t.number),
    weights,
    final,
    bestMember: { trial: members[b]!.number, testAcc: out[b]!.testAcc },
    ...(final === 'retrain' ? { seeds } : {}),
    ...(failed.length ? { failed } : {}),
    ...(fewer ? { fewer } : {}),
    ...(selection ? { selection } : {}),
  };
}

/**
 * Why fewer than k trials could be members, in words: `the study has 4 trials, 4 complete` plus,
 * when some complete ones are not candidates, how many lack an objective value (a one-shot study's
 * supernet trial 0 has none: it is no network's result) and how many are outside the constraints.
 */
export function fewerWhy(complete: readonly TrialRecord[], study: Parameters<typeof topTrials>[1], total: number | undefined): string {
  const o = objectiveOf(study, 0);
  const noValue = complete.filter((t) => candidateValue(t) === null);
  const valued = complete.filter((t) => !noValue.includes(t));
  const feasible = topTrials(valued, study, Infinity).length;
  const parts = [`the study has ${total ?? complete.length} trial(s), ${complete.length} complete`];
  if (noValue.length) parts.push(`${noValue.length} without a ${o.metric} value (trial ${noValue.map((t) => t.number).join(', ')}${noValue.some((t) => t.number === 0) ? '; a one-shot study\'s supernet trial 0 is no network\'s result' : ''})`);
  if (valued.length > feasible) parts.push(`${valued.length - feasible} outside its constraints`);
  return parts.join(', ');
}

/**
 * A trial's stored fold-network test prediction (cv_predictions' `test` part) in `data.test.indices`
 * order, and its accuracy; `invalid_config` when the trial has none or it covers other rows.
 */
function foldTestPredictions(t: TrialRecord, data: PreparedData): { testAcc: number; probs: Float32Array } {
  const v = t.userAttrs[CV_PREDICTIONS_ATTR];
  const field = `trial ${t.number}'s ${CV_PREDICTIONS_ATTR}`;
  const test = v === undefined ? undefined : decodeCvPredictions(v, field).test;
  if (!test)
    throw new NasError('invalid_config', `trial ${t.number} has no stored test predictions of its fold networks: final: folds needs them`, {
      field,
      hint: 'run the search with the train evaluator\'s cv_folds and cv_predictions: true and without skip_test, or use final: retrain',
    });
  const c = data.numClasses;
  const at = new Map<number, number>();
  test.rows.forEach((r, i) => at.set(r, i));
  if (test.classes !== c || test.rows.length !== data.test.indices.length || data.test.indices.some((r) => !at.has(r)))
    throw new NasError('invalid_config', `${field} holds test predictions for ${test.rows.length} rows x ${test.classes} classes, but this split's test split has ${data.test.indices.length} rows x ${c} classes (or other rows)`, {
      field,
      hint: 'the study\'s data or split changed since the search: re-run the search, or use final: retrain',
    });
  const probs = new Float32Array(data.test.indices.length * c);
  data.test.indices.forEach((r, i) => probs.set(test.probs.subarray(at.get(r)! * c, (at.get(r)! + 1) * c), i * c));
  return { testAcc: averagePredictions([probs], data).acc, probs };
}
