/**
 * `npm run bench -- tabular [--seeds 5] [--seed-from 0] [--trials 30] [--epochs 30] [--folds 5]
 *                           [--objective val_loss|val_acc] [--datasets wine,breast_cancer]
 *                           [--cv-repeats 1] [--enqueue-default] [--ensemble 1[,3,5...]]
 *                           [--caruana [--caruana-size 50] [--caruana-metric loss|acc]]
 *                           [--final retrain|folds] [--variants] [--space joint_mlp|joint_mlp_small]
 *                           [--peer-states N] [--early-stopping METRIC:PATIENCE[:MIN_DELTA]]
 *                           [--retrain-seeds S] [--ceiling]
 *                           [--no-cv-baseline] [--results FILE] [--json]`
 *
 * Small-data options of the CV search (issue 17.17): `--cv-repeats R` repeats the k-fold partition
 * R times (evaluator `cv_repeats`); `--enqueue-default` makes DEFAULT_CONFIG (scikit-learn's MLP
 * defaults in joint_mlp's terms) the first trial (config `enqueue`); `--ensemble K[,K2,...]`
 * reports the ensemble of the top K trials' final models (src/api/ensemble.ts; K = 1: the winner
 * alone) and records every listed size's accuracy from the same members (the first K is the
 * figure; the others are prefixes, free to compute). `--caruana`: the figure is instead Caruana et
 * al. 2004's greedy ensemble selection over the study's out-of-fold predictions (evaluator
 * `cv_predictions: true`; `tsnas ensemble --method caruana`, src/api/ensemble.ts), its chosen
 * trials retrained on all non-test rows and weighted; the winner alone is still recorded
 * (`single_test_acc`). `--final folds` (with --caruana or --ensemble): the members' final models
 * are their CV fold networks from the search, test predictions averaged, nothing retrained
 * (`tsnas ensemble --final folds`; the search then evaluates the test split, which only the
 * final models' figure reads). `--variants` (with --caruana --final folds): the line also records,
 * from the same search, the test accuracy of every final rule (`variants`: Caruana with fold
 * networks / retrained, the winner with fold networks / retrained, the enqueued default's fold
 * networks (with --enqueue-default), the top 5, the top half and all trials with fold networks,
 * the top half and all trials retrained and with both final models), and the summary
 * prints each one's paired difference to the peer. A line records these settings, and a summary
 * over `--results` counts only lines with the same ones. `--space joint_mlp_small` (default
 * joint_mlp) searches the small-data space (0-2 hidden layers incl. linear models, weight decay to
 * 0.1; src/space/mlp.ts); its enqueued default is scikit-learn's own [100] relu network. Every
 * paired difference comes with a one-sided paired sign-flip permutation test's p (H0: the
 * differences are symmetric about 0; `p_perm`, 100,000 seeded flips). `--peer-states N` (summary
 * only, nothing is searched for it): the peer refitted on every summarised split with N other
 * random states (10000, 10001, ...; bench/sklearn_mlp.py eval-states), so the summary also shows
 * the peer's own seed-to-seed spread and each figure's difference to the default's expected
 * accuracy (the mean over its 1 + N draws): a post-hoc view of the noise floor, not the target.
 * `--early-stopping train_loss:11:1e-4` sets the evaluator's `early_stopping` (metric, patience,
 * min_delta; train_loss:11:1e-4 is scikit-learn MLPClassifier's own rule, with --epochs 200 its
 * max_iter), which also stops every retraining (the default's and the members'). `--retrain-seeds
 * S` (with --variants): every retrained final model is the mean of S trainings, seeds split seed
 * .. + S-1 (`tsnas ensemble --seeds S`); the fold networks are unchanged.
 *
 * `--ceiling` (no search): the ceiling screen on the same splits. Every fixed recipe of
 * bench/sklearn_mlp.py's RECIPES (the default MLP regularised, narrower, deeper, tanh, on
 * power/quantile inputs, bagged; logistic regression over C; SVMs; k-NN; forests; boosting) and two
 * selections by 5-fold CV on each split's non-test rows (`cv_select` over every recipe,
 * `cv_select_nn` over the MLP and linear ones joint_mlp_small can express), each as a paired
 * difference to the peer and to the peer's expected accuracy (--peer-states, default 5 here): how
 * far above the default any of these, or a perfect search choosing among them, gets.
 *
 * `--seed-from K --seeds N` runs split seeds K..K+N-1, so a long run can be split into pieces that
 * each hold the benchmark lock for a short time; `--results FILE` appends every seed's line to FILE
 * (JSON lines) and prints the summary over ALL lines in FILE that were run with the same trials,
 * epochs and folds (a seed run twice counts once: the last line).
 *
 * Issue 17 fault 17: does a search tell candidates apart on small tabular data? On scikit-learn's
 * wine (178 rows) and breast-cancer (569 rows) data, for each split seed (a stratified 20% test
 * split, the same rows on both sides): a TPE search over `joint_mlp` (architecture + training
 * hyperparameters) with the train evaluator's k-fold cross-validation (`cv_folds`) and ties on the
 * mean validation accuracy broken by the mean validation loss (`--objective val_loss`: the mean
 * validation loss is the objective, ties broken by accuracy; the line's `tsnas_cv_val_acc` is then
 * the winner's objective value, a loss); its winner retrained on all
 * non-test rows and evaluated on the test rows. Peer, in the same run: scikit-learn's default
 * `MLPClassifier` with `StandardScaler` fitted on the same non-test rows (bench/sklearn_mlp.py,
 * Debian's /usr/bin/python3 + python3-sklearn). With `--cv-baseline` (default on) the same search
 * without cross-validation or tie-break (the setup the issue reported) is run as well.
 * Reported: test accuracy mean ± std over the seeds per side, the per-seed wins, and the ratio.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareSearch, search } from '../src/api/study.js';
import { prepareData } from '../src/data/prepare.js';
import { ensembleOfStudy } from '../src/api/ensemble.js';
import { openStore } from '../src/store/index.js';
import { averagePredictions, trainEnsemble } from '../src/eval/ensemble.js';
import type { JointArch } from '../src/core/arch.js';
import { parseBenchArgs } from './args.js';
import { EARLY_STOPPING_METRICS, type EarlyStopping } from '../src/eval/train.js';
import { mean, sampleStd } from '../src/core/stats.js';

type Objective = 'val_loss' | 'val_acc';
const OBJECTIVES: readonly Objective[] = ['val_loss', 'val_acc'];

type SpaceName = 'joint_mlp' | 'joint_mlp_small';
const SPACE_CHOICES: readonly SpaceName[] = ['joint_mlp', 'joint_mlp_small'];

interface Args {
  /** --ceiling: no search; the peer-side ceiling screen (bench/sklearn_mlp.py ceiling). */
  ceiling: boolean;
  objective: Objective;
  /** The searched space (lines before it was a choice: joint_mlp). */
  space: SpaceName;
  /** Summary: the peer refitted with this many other random states (0: not). */
  peerStates: number;
  /** Evaluator early_stopping (absent: none). */
  earlyStopping: EarlyStopping | undefined;
  /** Trainings per retrained final model (tsnas ensemble --seeds). */
  retrainSeeds: number;
  /** Evaluator cv_repeats (repeated k-fold); 1 = plain k-fold. */
  cvRepeats: number;
  /** Enqueue DEFAULT_CONFIG as the search's first trial (Optuna's enqueue_trial). */
  enqueueDefault: boolean;
  /**
   * Ensemble sizes: the reported figure is the first size's ensemble of the top trials' final
   * models (src/api/ensemble.ts); every size's accuracy is recorded (prefixes of the same members).
   * [1]: the single winner retrained (the setup before ensembles).
   */
  ensemble: number[];
  /** Report Caruana selection over out-of-fold predictions (`size` steps on `metric`) instead of the top-k ensemble. */
  caruana: { size: number; metric: 'loss' | 'acc' } | undefined;
  /** The members' final models: retrained on all non-test rows, or their CV fold networks. */
  final: 'retrain' | 'folds';
  /** Record every final rule's accuracy from the same search (with caruana + folds). */
  variants: boolean;
  seeds: number;
  seedFrom: number;
  results: string | undefined;
  trials: number;
  epochs: number;
  folds: number;
  datasets: string[];
  cvBaseline: boolean;
  json: boolean;
}

/** `--early-stopping METRIC:PATIENCE[:MIN_DELTA]`, e.g. train_loss:11:1e-4 (scikit-learn's rule). */
export function earlyStoppingFlag(text: string): EarlyStopping {
  const [metric, patience, minDelta, ...rest] = text.split(':');
  if (rest.length > 0 || !(EARLY_STOPPING_METRICS as readonly string[]).includes(metric ?? '') || !/^[1-9][0-9]*$/.test(patience ?? '') || (minDelta !== undefined && !(minDelta.trim() !== '' && Number(minDelta) >= 0)))
    throw new Error(`tabular: --early-stopping takes METRIC:PATIENCE[:MIN_DELTA] with METRIC one of ${EARLY_STOPPING_METRICS.join(', ')}, PATIENCE an integer >= 1, MIN_DELTA >= 0, e.g. train_loss:11:1e-4; got ${JSON.stringify(text)}`);
  return { metric: metric as NonNullable<EarlyStopping['metric']>, patience: Number(patience), ...(minDelta !== undefined ? { minDelta: Number(minDelta) } : {}) };
}

function parseArgs(argv: string[]): Args {
  const o = parseBenchArgs(argv, 'tabular', {
    seeds: 'number', 'seed-from': 'number', results: 'string', trials: 'number', epochs: 'number', folds: 'number', datasets: 'list', 'no-cv-baseline': 'flag', json: 'flag', objective: 'string',
    'cv-repeats': 'number', 'enqueue-default': 'flag', 'no-enqueue-default': 'flag', ensemble: 'list',
    caruana: 'flag', 'caruana-size': 'number', 'caruana-metric': 'string', final: 'string', variants: 'flag', space: 'string', 'peer-states': 'number',
    'early-stopping': 'string', 'retrain-seeds': 'number', ceiling: 'flag',
  });
  if (o.ceiling) {
    const searchOnly = ['results', 'trials', 'epochs', 'folds', 'no-cv-baseline', 'objective', 'cv-repeats', 'enqueue-default', 'no-enqueue-default', 'ensemble', 'caruana', 'caruana-size', 'caruana-metric', 'final', 'variants', 'space', 'early-stopping', 'retrain-seeds'].filter((k) => (o as Record<string, unknown>)[k] !== undefined);
    if (searchOnly.length > 0) throw new Error(`tabular: --ceiling runs no search, so ${searchOnly.map((k) => `--${k}`).join(', ')} ${searchOnly.length === 1 ? 'does' : 'do'} not apply; give --datasets, --seed-from, --seeds, --peer-states, --json`);
  }
  const earlyStopping = o['early-stopping'] === undefined ? undefined : earlyStoppingFlag(o['early-stopping']);
  const retrainSeeds = o['retrain-seeds'] ?? 1;
  if (!(Number.isInteger(retrainSeeds) && retrainSeeds >= 1)) throw new Error(`tabular: --retrain-seeds must be an integer >= 1, got ${retrainSeeds}`);
  if (retrainSeeds > 1 && !o.variants) throw new Error('tabular: --retrain-seeds applies to the retrained final rules of --variants');
  const peerStates = o['peer-states'] ?? (o.ceiling ? 5 : 0);
  if (!(Number.isInteger(peerStates) && peerStates >= 0 && peerStates <= 20)) throw new Error(`tabular: --peer-states must be an integer in 0..20, got ${peerStates}`);
  const space = (o.space ?? 'joint_mlp') as SpaceName;
  if (!SPACE_CHOICES.includes(space)) throw new Error(`tabular: --space must be one of ${SPACE_CHOICES.join(', ')}, got ${JSON.stringify(o.space)}`);
  const final = o.final ?? 'retrain';
  if (final !== 'retrain' && final !== 'folds') throw new Error(`tabular: --final must be retrain or folds, got ${JSON.stringify(o.final)}`);
  if (o.variants && !(o.caruana && final === 'folds')) throw new Error('tabular: --variants needs --caruana --final folds (the rules it compares share that search)');
  const caruanaSize = o['caruana-size'] ?? 50;
  if (!(Number.isInteger(caruanaSize) && caruanaSize >= 1)) throw new Error(`tabular: --caruana-size must be an integer >= 1, got ${caruanaSize}`);
  const caruanaMetric = o['caruana-metric'] ?? 'loss';
  if (caruanaMetric !== 'loss' && caruanaMetric !== 'acc') throw new Error(`tabular: --caruana-metric must be loss or acc, got ${JSON.stringify(caruanaMetric)}`);
  if (!o.caruana && (o['caruana-size'] !== undefined || o['caruana-metric'] !== undefined)) throw new Error('tabular: --caruana-size and --caruana-metric apply only with --caruana');
  if (o.caruana && o.ensemble !== undefined) throw new Error('tabular: --caruana and --ensemble are two ways to report the figure; give one');
  const ensemble = (o.ensemble ?? ['1']).map(Number);
  if (!ensemble.every((k) => Number.isInteger(k) && k >= 1)) throw new Error(`tabular: --ensemble takes sizes >= 1, e.g. 5 or 5,1,3; got ${JSON.stringify(o.ensemble)}`);
  const cvRepeats = o['cv-repeats'] ?? 1;
  if (!(Number.isInteger(cvRepeats) && cvRepeats >= 1)) throw new Error(`tabular: --cv-repeats must be an integer >= 1, got ${cvRepeats}`);
  const objective = (o.objective ?? 'val_acc') as Objective;
  if (!OBJECTIVES.includes(objective)) throw new Error(`tabular: --objective must be one of ${OBJECTIVES.join(', ')}, got ${JSON.stringify(o.objective)}`);
  return {
    ceiling: o.ceiling === true,
    earlyStopping,
    retrainSeeds,
    objective,
    space,
    peerStates,
    cvRepeats,
    enqueueDefault: o['enqueue-default'] === true && o['no-enqueue-default'] !== true,
    ensemble,
    caruana: o.caruana ? { size: caruanaSize, metric: caruanaMetric } : undefined,
    final,
    variants: o.variants === true,
    seeds: o.seeds ?? 5, seedFrom: o['seed-from'] ?? 0, results: o.results, trials: o.trials ?? 30, epochs: o.epochs ?? 30, folds: o.folds ?? 5,
    datasets: o.datasets ?? ['wine', 'breast_cancer'], cvBaseline: !o['no-cv-baseline'], json: o.json ?? false,
  };
}

const PY = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('./sklearn_mlp.py', import.meta.url));

function meanStd(xs: readonly number[]): { mean: number; std: number } {
  return { mean: mean(xs), std: sampleStd(xs) };
}

/**
 * scikit-learn's MLPClassifier defaults, as close as joint_mlp allows: one hidden layer (128; 100
 * is not a choice), relu, Adam at 1e-3, no batch norm or dropout; batch 32 (sklearn: min(200, n),
 * one step per epoch here, which at 30 epochs undertrains: 30 epochs at batch 32 trained as well as
 * 200 at batch 200 in the session-5 probe); L2 1e-6, the space's smallest (sklearn's alpha 1e-4
 * divided by the rows is ~1e-6 per step).
 */
export const DEFAULT_CONFIG = {
  arch: { family: 'mlp', hidden: [128], activation: 'relu', batchNorm: false, dropout: 0 },
  hparams: { optimizer: 'adam', lr: 0.001, batchSize: 32, weightDecay: 1e-6 },
};

/** The evaluator's early_stopping config of the bench's option. */
function esConfig(e: EarlyStopping): { metric: string; patience: number; min_delta?: number } {
  return { metric: e.metric ?? 'val_loss', patience: e.patience, ...(e.minDelta !== undefined ? { min_delta: e.minDelta } : {}) };
}

/** The line tag of --early-stopping (lines without it: absent). */
function esTag(a: Args): string | undefined {
  return a.earlyStopping ? `${a.earlyStopping.metric ?? 'val_loss'}:${a.earlyStopping.patience}:${a.earlyStopping.minDelta ?? 0}` : undefined;
}

/** The enqueued default per space: joint_mlp_small holds scikit-learn's own width (one layer of 100). */
export function defaultConfigOf(space: SpaceName): typeof DEFAULT_CONFIG {
  return space === 'joint_mlp_small' ? { ...DEFAULT_CONFIG, arch: { ...DEFAULT_CONFIG.arch, hidden: [100] } } : DEFAULT_CONFIG;
}

/**
 * One-sided paired sign-flip permutation test of mean(d) > 0 (H0: each difference is as likely
 * negative as positive): the share of `n` seeded random sign patterns whose mean is >= the
 * observed one (the observed pattern counted once: p >= 1/(n+1)). Differences of 0 flip to 0.
 */
export function permutationP(d: readonly number[], n = 100_000, seed = 0): number {
  const obs = d.reduce((a, b) => a + b, 0);
  let s = (seed >>> 0) || 0x9e3779b9;
  const next = () => {
    // xorshift32: reproducible without the project's Rng (a bench-side statistic).
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  let ge = 1;
  for (let i = 0; i < n; i++) {
    let t = 0;
    for (const x of d) t += next() & 1 ? x : -x;
    if (t >= obs - 1e-9) ge++;
  }
  return ge / (n + 1);
}

/**
 * One search on `csv` with split seed `seed`; its top trials' final models (retrained on all
 * non-test rows), the test accuracy of the single winner and of each ensemble size.
 */
async function searchAndRetrain(dir: string, csv: string, seed: number, a: Args, cv: boolean): Promise<{ test_acc: number; single_test_acc: number; ensemble_test_acc: Record<string, number>; val_acc: number; best_trial: number; members: number[]; weights?: number[]; oof?: { loss: number; acc: number }; search_s: number; winner: unknown; variants?: Record<string, number> }> {
  const study = `${csv.replace(/^.*\//, '').replace(/\.csv$/, '')}-s${seed}-${cv ? 'cv' : 'plain'}`;
  const storage = `sqlite:${join(dir, 'bench.db')}`;
  const p = prepareSearch({
    config: {
      study,
      storage,
      space: a.space,
      strategy: 'tpe',
      seed,
      trials: a.trials,
      evaluator: { name: 'train', dataset: 'csv', path: csv, epochs: a.epochs, split_seed: seed, keep_weights: false, skip_test: !(cv && a.final === 'folds'), threads: 1, ...(a.earlyStopping ? { early_stopping: esConfig(a.earlyStopping) } : {}), ...(cv ? { cv_folds: a.folds, ...(a.cvRepeats > 1 ? { cv_repeats: a.cvRepeats } : {}), ...(a.caruana || a.final === 'folds' ? { cv_predictions: true } : {}) } : {}) },
      ...(cv && a.enqueueDefault ? { enqueue: [defaultConfigOf(a.space)] } : {}),
      objectives: [
        !cv ? { metric: 'val_acc', direction: 'maximize' } : a.objective === 'val_acc' ? { metric: 'val_acc', direction: 'maximize', tie_break: 'val_loss' } : { metric: 'val_loss', direction: 'minimize', tie_break: 'val_acc' },
      ],
    },
  });
  const t0 = performance.now();
  const r = await search(p);
  const searchS = (performance.now() - t0) / 1000;
  if (!r.best) throw new Error(`${csv} seed ${seed}: no complete trial`);
  const final = cv ? a.final : 'retrain';
  if (cv && a.caruana) {
    // Caruana selection on the trials' out-of-fold predictions; the chosen trials (retrained on
    // every non-test row, or their fold networks) weighted. The winner alone: its member's
    // accuracy, or on its own.
    const e = await ensembleOfStudy(storage, study, { method: 'caruana', size: a.caruana.size, metric: a.caruana.metric, final });
    const at = e.trials.indexOf(r.best.number);
    const single = at >= 0 ? e.members[at]!.testAcc : ((await ensembleOfStudy(storage, study, { k: 1, final }).catch(() => undefined))?.acc ?? NaN);
    const variants = a.variants ? await finalRules(storage, study, csv, seed, a, e) : undefined;
    return { test_acc: e.acc, single_test_acc: single, ensemble_test_acc: { caruana: e.acc }, val_acc: r.best.values![0]!, best_trial: r.best.number, members: [...e.trials], weights: e.weights.map((w) => +w.toFixed(4)), oof: { loss: +e.selection!.loss.toFixed(5), acc: +e.selection!.acc.toFixed(3) }, search_s: searchS, winner: r.best.arch, ...(variants ? { variants } : {}) };
  }
  // The top trials retrained on every non-test row (validation fraction 0: the same test rows as
  // the peer's), seed = the study's; member 1 is the winner, so sizes [1] = the winner retrained.
  const sizes = cv ? a.ensemble : [1];
  const e = await ensembleOfStudy(storage, study, { k: Math.max(...sizes), final });
  const lost = e.failed?.find((f) => f.trial === r.best!.number);
  if (lost) throw new Error(`${csv} seed ${seed}: the winner, trial ${lost.trial}, did not retrain on all non-test rows: ${lost.message}`);
  if (e.trials[0] !== r.best.number) throw new Error(`${csv} seed ${seed}: the ensemble's first member is trial ${e.trials[0]}, the study's best ${r.best.number}`);
  const data = await prepareData({ kind: 'csv', path: csv }, { seed, valFraction: 0 });
  const ens: Record<string, number> = {};
  for (const k of sizes) ens[String(k)] = averagePredictions(e.members.slice(0, k).map((m) => m.probs), data).acc;
  return { test_acc: ens[String(sizes[0])]!, single_test_acc: e.members[0]!.testAcc, ensemble_test_acc: ens, val_acc: r.best.values![0]!, best_trial: r.best.number, members: [...e.trials], search_s: searchS, winner: r.best.arch };
}

/**
 * Every final rule's test accuracy from one search (--variants), `e` being its Caruana selection
 * with fold networks: Caruana with the chosen trials retrained (one seed), both final models of
 * the chosen trials averaged, the winner with fold networks and retrained, the enqueued default's
 * fold networks and retrained, the top 5 and all complete trials with fold networks (equal weights).
 */
async function finalRules(storage: string, study: string, csv: string, seed: number, a: Args, e: Awaited<ReturnType<typeof ensembleOfStudy>>): Promise<Record<string, number>> {
  const out: Record<string, number> = { caruana_folds: e.acc };
  // A retrained member that diverges is left out by ensembleOfStudy (the rest reweighted); when
  // all do, the rule has no figure for this seed (absent from the line's variants).
  const seeds = a.retrainSeeds > 1 ? { seeds: a.retrainSeeds } : {};
  const retrained = await ensembleOfStudy(storage, study, { method: 'caruana', size: a.caruana!.size, metric: a.caruana!.metric, ...seeds }).catch(() => undefined);
  const data = await prepareData({ kind: 'csv', path: csv }, { seed, valFraction: 0 });
  if (retrained) {
    out['caruana_retrain'] = retrained.acc;
    // Both final models of each chosen trial at once: the mean of the two ensembles' probabilities.
    out['caruana_both'] = averagePredictions([e.probs, retrained.probs], data).acc;
  }
  out['winner_folds'] = (await ensembleOfStudy(storage, study, { k: 1, final: 'folds' })).acc;
  const w = await ensembleOfStudy(storage, study, { k: 1, ...seeds }).catch(() => undefined);
  if (w) out['winner_retrain'] = w.acc;
  out['top5_folds'] = (await ensembleOfStudy(storage, study, { k: 5, final: 'folds' })).acc;
  // The better half of the ranking (k = half the complete trials, rounded up), fold networks.
  const half = await ensembleOfStudy(storage, study, { k: Math.ceil(e.selection!.library / 2), final: 'folds' });
  out['top_half_folds'] = half.acc;
  const all = await ensembleOfStudy(storage, study, { k: a.trials + 1, final: 'folds' });
  out['all_folds'] = all.acc;
  // Every trial retrained on all non-test rows (a diverging one left out); the top half is the
  // retrained members among the better half of the ranking. Both final models: the mean of the
  // fold-network and the retrained ensembles' probabilities.
  const allRe = await ensembleOfStudy(storage, study, { k: a.trials + 1, ...seeds }).catch(() => undefined);
  if (allRe) {
    out['all_retrain'] = allRe.acc;
    out['all_both'] = averagePredictions([all.probs, allRe.probs], data).acc;
    const inHalf = new Set(half.trials);
    const halfRe = allRe.members.filter((_, i) => inHalf.has(allRe.trials[i]!));
    if (halfRe.length > 0) {
      const hr = averagePredictions(halfRe.map((m) => m.probs), data);
      out['top_half_retrain'] = hr.acc;
      out['top_half_both'] = averagePredictions([half.probs, hr.probs], data).acc;
    }
  }
  if (a.enqueueDefault) {
    // The enqueued default (the trial with param `enqueued` 1, its 1-based place in the list): its fold networks alone.
    const store = await openStore(storage, { readOnly: true });
    try {
      const rec = await store.requireStudy(study);
      const d = (await store.listTrials(rec.id, { states: ['complete'] })).find((t) => t.params['enqueued'] === 1);
      const i = d === undefined ? -1 : all.trials.indexOf(d.number);
      if (i >= 0) out['default_folds'] = all.members[i]!.testAcc;
    } finally {
      await store.close();
    }
    // The default retrained on every non-test row, as the search's members are (same epochs, seed, threads).
    const runs: Awaited<ReturnType<typeof trainEnsemble>>[] = [];
    for (let j = 0; j < a.retrainSeeds; j++) {
      const d = await trainEnsemble([defaultConfigOf(a.space) as JointArch], data, { epochs: a.epochs, seed: seed + j, threads: 1, ...(a.earlyStopping ? { earlyStopping: a.earlyStopping } : {}) }).catch(() => undefined);
      if (d) runs.push(d);
    }
    if (runs.length === a.retrainSeeds) out['default_retrain'] = averagePredictions(runs.map((r) => r.probs), data).acc;
  }
  return out;
}

/** The peer's seed-to-seed spread on the summarised splits (--peer-states) and each figure's difference to its expected accuracy. */
interface PeerStates {
  /** Random states refitted (besides each split's own seed). */
  states: number[];
  /** Mean test accuracy per random state over the splits (the peer's own draw first). */
  by_state: number[];
  /** The default's expected accuracy: per split the mean over its 1 + N draws, then over splits. */
  expected: number;
  /** Paired difference to the expected accuracy: the line's figure, and each final rule (--variants). */
  diff: Record<string, { mean: number; se: number }>;
}

/** --peer-states: refits the peer with N other random states on the splits of `lines`. */
async function peerStatesOf(dir: string, csv: string, name: string, lines: readonly SeedLine[], n: number): Promise<PeerStates> {
  const states = Array.from({ length: n }, (_, i) => 10000 + i);
  const splits: Record<string, number[]> = {};
  for (const l of lines) splits[String(l.seed)] = Array.from((await prepareData({ kind: 'csv', path: csv }, { seed: l.seed })).test.indices);
  const f = join(dir, `${name}-state-splits.json`);
  writeFileSync(f, JSON.stringify(splits));
  const other = JSON.parse(execFileSync(PY, [PEER, 'eval-states', csv, f, states.join(',')], { encoding: 'utf8' })) as Record<string, number[]>;
  const expected = lines.map((l) => (l.sklearn_test_acc + other[String(l.seed)]!.reduce((a, b) => a + b, 0)) / (1 + n));
  const diffOf = (xs: readonly number[]) => {
    const m = meanStd(xs.map((x, i) => x - expected[i]!));
    return { mean: +m.mean.toFixed(2), se: +(m.std / Math.sqrt(xs.length)).toFixed(2) };
  };
  const diff: Record<string, { mean: number; se: number }> = { figure: diffOf(lines.map((l) => l.tsnas_cv_test_acc)) };
  for (const v of [...new Set(lines.flatMap((l) => Object.keys(l.variants ?? {})))]) if (lines.every((l) => l.variants?.[v] !== undefined)) diff[v] = diffOf(lines.map((l) => l.variants![v]!));
  return {
    states,
    by_state: [meanStd(lines.map((l) => l.sklearn_test_acc)).mean, ...states.map((_, j) => meanStd(lines.map((l) => other[String(l.seed)]![j]!)).mean)].map((x) => +x.toFixed(2)),
    expected: +meanStd(expected).mean.toFixed(2),
    diff,
  };
}

function peerStatesText(p: PeerStates): string {
  return `the peer with its own seed and ${p.states.length} other random states: ${p.by_state.map((x) => x.toFixed(2)).join(', ')}% (expected ${p.expected.toFixed(2)}%); difference to the expected accuracy (post hoc, not the target): ${Object.entries(p.diff).map(([k, d]) => `${k} ${d.mean >= 0 ? '+' : ''}${d.mean.toFixed(2)} (s.e. ${d.se.toFixed(2)})`).join(', ')}`;
}

interface SeedLine {
  dataset: string;
  /** The CV search's objective (lines written before it was a choice: val_acc). */
  objective?: Objective;
  /** The searched space (lines before it was a choice: absent = joint_mlp). */
  space?: SpaceName;
  /** --early-stopping METRIC:PATIENCE:MIN_DELTA (lines without it: absent). */
  early_stopping?: string;
  /** --retrain-seeds (lines without it: absent = 1). */
  retrain_seeds?: number;
  /** Lines written before these were choices: 1, false, [1]. */
  cv_repeats?: number;
  enqueue_default?: boolean;
  ensemble?: number;
  /** `caruana-<size>-<metric>` when the figure is Caruana selection (lines before it: absent). */
  ensemble_method?: string;
  seed: number;
  trials: number;
  epochs: number;
  folds: number;
  tsnas_cv_test_acc: number;
  sklearn_test_acc: number;
  tsnas_plain_test_acc?: number;
  /** Test accuracy per ensemble size (prefixes of the same ranked members). */
  ensemble_test_acc?: Record<string, number>;
  /** --variants: test accuracy of every final rule from the same search. */
  variants?: Record<string, number>;
}

/** Per final rule (--variants): mean test accuracy and the paired difference to the peer, over the lines that recorded it. */
function byVariant(lines: readonly SeedLine[]): Record<string, { n: number; mean: number; diff: number; std: number; se: number; wins: number; ties: number; losses: number; p_perm: number }> {
  const out: Record<string, { n: number; mean: number; diff: number; std: number; se: number; wins: number; ties: number; losses: number; p_perm: number }> = {};
  const names = [...new Set(lines.flatMap((l) => Object.keys(l.variants ?? {})))];
  for (const v of names) {
    const ls = lines.filter((l) => l.variants?.[v] !== undefined);
    const d = ls.map((l) => l.variants![v]! - l.sklearn_test_acc);
    const md = meanStd(d);
    const wins = d.filter((x) => x > 1e-9).length;
    const losses = d.filter((x) => x < -1e-9).length;
    out[v] = { n: ls.length, mean: +meanStd(ls.map((l) => l.variants![v]!)).mean.toFixed(2), diff: +md.mean.toFixed(2), std: +md.std.toFixed(2), se: +(md.std / Math.sqrt(ls.length)).toFixed(2), wins, ties: ls.length - wins - losses, losses, p_perm: +permutationP(d).toFixed(4) };
  }
  return out;
}

/** The line tag of a Caruana run or of fold-network final models (lines before them: absent). */
function methodTag(a: Args): string | undefined {
  const folds = a.final === 'folds' ? '-folds' : '';
  return a.caruana ? `caruana-${a.caruana.size}-${a.caruana.metric}${folds}` : folds ? 'top-folds' : undefined;
}

/** The lines to summarise for `name`: this run's, or with --results every matching line of the file (last per seed). */
function linesFor(name: string, a: Args, run: readonly SeedLine[]): SeedLine[] {
  if (a.results === undefined || !existsSync(a.results)) return run.filter((l) => l.dataset === name);
  const bySeed = new Map<number, SeedLine>();
  for (const t of readFileSync(a.results, 'utf8').split('\n')) {
    if (!t.trim()) continue;
    const l = JSON.parse(t) as SeedLine;
    if (l.dataset === name && (l.space ?? 'joint_mlp') === a.space && l.trials === a.trials && l.epochs === a.epochs && l.folds === a.folds && (l.objective ?? 'val_acc') === a.objective && (l.cv_repeats ?? 1) === a.cvRepeats && (l.enqueue_default ?? false) === a.enqueueDefault && (l.ensemble ?? 1) === a.ensemble[0] && l.ensemble_method === methodTag(a) && l.early_stopping === esTag(a) && (l.retrain_seeds ?? 1) === a.retrainSeeds) bySeed.set(l.seed, l);
  }
  return [...bySeed.values()].sort((x, y) => x.seed - y.seed);
}

/** Per ensemble size: the mean test accuracy and the paired difference to the peer, over the lines that recorded it. */
function bySize(lines: readonly SeedLine[], sizes: readonly number[]): Record<string, { n: number; mean: number; diff: number; se: number; wins: number; losses: number }> {
  const out: Record<string, { n: number; mean: number; diff: number; se: number; wins: number; losses: number }> = {};
  for (const k of sizes) {
    const ls = lines.filter((l) => l.ensemble_test_acc?.[String(k)] !== undefined);
    if (!ls.length) continue;
    const d = ls.map((l) => l.ensemble_test_acc![String(k)]! - l.sklearn_test_acc);
    const md = meanStd(d);
    out[String(k)] = {
      n: ls.length,
      mean: +meanStd(ls.map((l) => l.ensemble_test_acc![String(k)]!)).mean.toFixed(2),
      diff: +md.mean.toFixed(2),
      se: +(md.std / Math.sqrt(ls.length)).toFixed(2),
      wins: d.filter((x) => x > 1e-9).length,
      losses: d.filter((x) => x < -1e-9).length,
    };
  }
  return out;
}

/** One recipe's figures over the splits of the ceiling screen. */
export interface CeilingRow {
  recipe: string;
  n: number;
  /** Mean test accuracy, percent. */
  mean: number;
  /** Paired difference to the peer (points): mean, s.e., W/T/L, one-sided permutation p. */
  diff: number;
  se: number;
  wins: number;
  ties: number;
  losses: number;
  p_perm: number;
  /** Paired difference to the peer's expected accuracy (mean over its 1 + N random states). */
  diff_expected: number;
  se_expected: number;
  p_expected: number;
}

/**
 * The rows of the ceiling screen: per recipe (order of `acc`), paired to `peer` and to `expected`
 * (both per split seed, same keys as every recipe's map). Pure: the statistics of --ceiling.
 */
export function ceilingRows(acc: Record<string, Record<string, number>>, peer: Record<string, number>, expected: Record<string, number>): CeilingRow[] {
  const seeds = Object.keys(peer);
  return Object.entries(acc).map(([recipe, byseed]) => {
    const missing = seeds.filter((s) => byseed[s] === undefined);
    if (missing.length > 0) throw new Error(`tabular --ceiling: recipe ${recipe} has no accuracy for split seeds ${missing.join(', ')}`);
    const d = seeds.map((s) => byseed[s]! - peer[s]!);
    const e = seeds.map((s) => byseed[s]! - expected[s]!);
    const md = meanStd(d);
    const me = meanStd(e);
    const wins = d.filter((x) => x > 1e-9).length;
    const losses = d.filter((x) => x < -1e-9).length;
    const se = (m: { std: number }) => +(m.std / Math.sqrt(seeds.length)).toFixed(2);
    return {
      recipe,
      n: seeds.length,
      mean: +meanStd(seeds.map((s) => byseed[s]!)).mean.toFixed(2),
      diff: +md.mean.toFixed(2),
      se: se(md),
      wins,
      ties: seeds.length - wins - losses,
      losses,
      p_perm: +permutationP(d).toFixed(4),
      diff_expected: +me.mean.toFixed(2),
      se_expected: se(me),
      p_expected: +permutationP(e).toFixed(4),
    };
  });
}

/** --ceiling on one data set: the screen's rows and the cv_select picks per split seed. */
async function ceilingOf(dir: string, csv: string, name: string, splits: Record<string, number[]>, a: Args): Promise<{ rows: CeilingRow[]; picks: Record<string, Record<string, string>>; peer: number; expected: number }> {
  const f = join(dir, `${name}-splits.json`);
  writeFileSync(f, JSON.stringify(splits));
  const peer = JSON.parse(execFileSync(PY, [PEER, 'eval', csv, f], { encoding: 'utf8' })) as Record<string, number>;
  const states = Array.from({ length: a.peerStates }, (_, i) => 10000 + i);
  const other = states.length > 0 ? (JSON.parse(execFileSync(PY, [PEER, 'eval-states', csv, f, states.join(',')], { encoding: 'utf8' })) as Record<string, number[]>) : {};
  const expected: Record<string, number> = {};
  for (const s of Object.keys(peer)) expected[s] = (peer[s]! + (other[s] ?? []).reduce((x, y) => x + y, 0)) / (1 + (other[s]?.length ?? 0));
  // The screen's progress (one line per split) goes to this process's stderr.
  const out = JSON.parse(execFileSync(PY, [PEER, 'ceiling', csv, f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 })) as { acc: Record<string, Record<string, number>>; picks: Record<string, Record<string, string>> };
  const peerMean = meanStd(Object.values(peer)).mean;
  return { rows: ceilingRows(out.acc, peer, expected), picks: out.picks, peer: +peerMean.toFixed(2), expected: +meanStd(Object.values(expected)).mean.toFixed(2) };
}

function ceilingText(name: string, a: Args, c: Awaited<ReturnType<typeof ceilingOf>>): string {
  const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  const count = (m: Record<string, string>) => Object.entries(Object.values(m).reduce<Record<string, number>>((o, k) => ({ ...o, [k]: (o[k] ?? 0) + 1 }), {})).sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  return [
    `${name} ceiling screen (${c.rows[0]?.n ?? 0} split seeds from ${a.seedFrom}; no search): the peer scores ${c.peer.toFixed(2)}%, its expected accuracy over ${1 + a.peerStates} random states ${c.expected.toFixed(2)}%`,
    `  recipe           test acc   vs peer (s.e.)   W/T/L     p       vs expected (s.e.)  p`,
    ...c.rows.map((r) => `  ${r.recipe.padEnd(16)} ${r.mean.toFixed(2).padStart(6)}%  ${sign(r.diff).padStart(6)} (${r.se.toFixed(2)})   ${`${r.wins}/${r.ties}/${r.losses}`.padEnd(8)}  ${r.p_perm.toFixed(3)}   ${sign(r.diff_expected).padStart(6)} (${r.se_expected.toFixed(2)})     ${r.p_expected.toFixed(3)}`),
    `  cv_select picked: ${count(c.picks['cv_select'] ?? {})}`,
    `  cv_select_nn picked: ${count(c.picks['cv_select_nn'] ?? {})}`,
  ].join('\n');
}

export default async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  if (a.ceiling) return ceilingMain(a);
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-tabular-'));
  const run: SeedLine[] = [];
  try {
    execFileSync(PY, [PEER, 'export', dir]);
    for (const name of a.datasets) {
      const csv = join(dir, `${name}.csv`);
      const seeds = Array.from({ length: a.seeds }, (_, i) => a.seedFrom + i);
      // The test rows of each split seed, for the peer (prepareData's stratified 20% test split).
      const splits: Record<string, number[]> = {};
      for (const s of seeds) splits[String(s)] = Array.from((await prepareData({ kind: 'csv', path: csv }, { seed: s })).test.indices);
      const splitsFile = join(dir, `${name}-splits.json`);
      writeFileSync(splitsFile, JSON.stringify(splits));
      const peer = JSON.parse(execFileSync(PY, [PEER, 'eval', csv, splitsFile], { encoding: 'utf8' })) as Record<string, number>;
      for (const s of seeds) {
        const r = await searchAndRetrain(dir, csv, s, a, true);
        const line: SeedLine & Record<string, unknown> = {
          dataset: name,
          objective: a.objective,
          space: a.space,
          cv_repeats: a.cvRepeats,
          enqueue_default: a.enqueueDefault,
          ensemble: a.ensemble[0]!,
          ...(methodTag(a) !== undefined ? { ensemble_method: methodTag(a) } : {}),
          ...(esTag(a) !== undefined ? { early_stopping: esTag(a) } : {}),
          ...(a.retrainSeeds > 1 ? { retrain_seeds: a.retrainSeeds } : {}),
          seed: s,
          trials: a.trials,
          epochs: a.epochs,
          folds: a.folds,
          tsnas_cv_test_acc: r.test_acc,
          sklearn_test_acc: peer[String(s)]!,
          tsnas_cv_val_acc: r.val_acc,
          single_test_acc: r.single_test_acc,
          ensemble_test_acc: r.ensemble_test_acc,
          members: r.members,
          ...(r.weights ? { weights: r.weights, oof: r.oof } : {}),
          ...(r.variants ? { variants: r.variants } : {}),
          best_trial: r.best_trial,
          search_s: +r.search_s.toFixed(1),
          winner: r.winner,
        };
        if (a.cvBaseline) {
          const b = await searchAndRetrain(dir, csv, s, a, false);
          Object.assign(line, { tsnas_plain_test_acc: b.test_acc, plain_val_acc: b.val_acc, plain_best_trial: b.best_trial });
        }
        run.push(line);
        if (a.results !== undefined) appendFileSync(a.results, JSON.stringify(line) + '\n');
        console.log(a.json ? JSON.stringify(line) : `  ${name} seed ${s}: ${JSON.stringify(line)}`);
      }
      const lines = linesFor(name, a, run);
      const states = a.peerStates > 0 && lines.length > 0 ? await peerStatesOf(dir, csv, name, lines, a.peerStates) : undefined;
      const ours = lines.map((l) => l.tsnas_cv_test_acc);
      const sk = lines.map((l) => l.sklearn_test_acc);
      const plain = lines.flatMap((l) => (l.tsnas_plain_test_acc === undefined ? [] : [l.tsnas_plain_test_acc]));
      const n = lines.length;
      const o = meanStd(ours);
      const k = meanStd(sk);
      // Accuracies are k/n computed in two languages: 97.22222222222223 and 97.22222222222221 are the same 35/36.
      const same = (x: number, y: number) => Math.abs(x - y) < 1e-9;
      const wins = lines.filter((_, i) => ours[i]! > sk[i]! && !same(ours[i]!, sk[i]!)).length;
      const ties = lines.filter((_, i) => same(ours[i]!, sk[i]!)).length;
      const diff = meanStd(lines.map((_, i) => ours[i]! - sk[i]!));
      const summary: Record<string, unknown> = {
        dataset: name,
        seeds: n,
        tsnas_cv: { mean: +o.mean.toFixed(2), std: +o.std.toFixed(2) },
        sklearn_default_mlp: { mean: +k.mean.toFixed(2), std: +k.std.toFixed(2) },
        paired_diff: { mean: +diff.mean.toFixed(2), std: +diff.std.toFixed(2), se: +(diff.std / Math.sqrt(n)).toFixed(2), p_perm: +permutationP(lines.map((_, i) => ours[i]! - sk[i]!)).toFixed(4) },
        wins,
        ties,
        losses: n - wins - ties,
        ...(a.ensemble.length > 1 ? { by_ensemble_size: bySize(lines, a.ensemble) } : {}),
        ...(lines.some((l) => l.variants) ? { by_final_rule: byVariant(lines) } : {}),
        ...(states ? { peer_states: states } : {}),
        ...(plain.length ? { tsnas_plain: { mean: +meanStd(plain).mean.toFixed(2), std: +meanStd(plain).std.toFixed(2), n: plain.length } } : {}),
      };
      if (a.json) {
        console.log(JSON.stringify(summary));
        console.log(JSON.stringify({ figure: `${name}_test_acc_ratio_vs_sklearn`, value: +(o.mean / k.mean).toFixed(4) }));
      } else
        console.log(
          `${name} (${n} split seeds${a.results ? ` in ${a.results}` : ''}): tsnas TPE over ${a.space} + ${a.folds}-fold CV${a.cvRepeats > 1 ? ` x ${a.cvRepeats} repeats` : ''}, objective ${a.objective} (tie-break ${a.objective === 'val_acc' ? 'val_loss' : 'val_acc'})${a.enqueueDefault ? ', default enqueued' : ''}${a.earlyStopping ? `, early stopping ${esTag(a)}` : ''}${a.retrainSeeds > 1 ? `, ${a.retrainSeeds} seeds per retrained model` : ''}, ${a.caruana ? `Caruana selection (${a.caruana.size} steps on out-of-fold ${a.caruana.metric})` : a.ensemble[0] === 1 ? 'winner' : `ensemble of the top ${a.ensemble[0]}`}${a.final === 'folds' ? ' (final models: the CV fold networks)' : ''} ${o.mean.toFixed(2)} ± ${o.std.toFixed(2)}%` +
            (plain.length ? `, without CV/tie-break ${meanStd(plain).mean.toFixed(2)} ± ${meanStd(plain).std.toFixed(2)}% (n=${plain.length})` : '') +
            `; scikit-learn MLPClassifier() + StandardScaler ${k.mean.toFixed(2)} ± ${k.std.toFixed(2)}%; paired difference ${diff.mean.toFixed(2)} ± ${diff.std.toFixed(2)} (std; s.e. ${(diff.std / Math.sqrt(n)).toFixed(2)}; one-sided permutation p ${permutationP(lines.map((_, i) => ours[i]! - sk[i]!)).toFixed(4)}) points;` +
            ` per seed ${wins} wins, ${ties} ties, ${n - wins - ties} losses; ratio ${(o.mean / k.mean).toFixed(4)}` +
            (a.ensemble.length > 1 ? `; by ensemble size (same members): ${JSON.stringify(bySize(lines, a.ensemble))}` : '') +
            (states ? `\n  ${peerStatesText(states)}` : '') +
            (lines.some((l) => l.variants) ? `\n  every final rule from the same searches (test acc mean; paired difference to the peer: mean, std, s.e.; W/T/L):\n${Object.entries(byVariant(lines)).map(([v, x]) => `    ${v.padEnd(16)} n=${x.n} ${x.mean.toFixed(2)}%  ${x.diff >= 0 ? '+' : ''}${x.diff.toFixed(2)} ± ${x.std.toFixed(2)} (s.e. ${x.se.toFixed(2)})  ${x.wins}/${x.ties}/${x.losses}  p ${x.p_perm.toFixed(4)}`).join('\n')}` : ''),
        );
    }
    console.log(`(${a.trials} trials of ${a.epochs} epochs per search, ${a.folds}-fold CV, test rows: stratified 20% of each data set)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** --ceiling: the peer-side screen on each data set's splits, no search. */
async function ceilingMain(a: Args): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-bench-tabular-'));
  try {
    execFileSync(PY, [PEER, 'export', dir]);
    for (const name of a.datasets) {
      const csv = join(dir, `${name}.csv`);
      const splits: Record<string, number[]> = {};
      for (let s = a.seedFrom; s < a.seedFrom + a.seeds; s++) splits[String(s)] = Array.from((await prepareData({ kind: 'csv', path: csv }, { seed: s })).test.indices);
      const c = await ceilingOf(dir, csv, name, splits, a);
      console.log(a.json ? JSON.stringify({ dataset: name, ceiling: c }) : ceilingText(name, a, c));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
