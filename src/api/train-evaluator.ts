/**
 * The `train` evaluator in study configs: real training on a dataset (src/eval/train.ts), with its
 * options checked before anything runs (dataset kind, readable files, budgets).
 *
 *   evaluator:
 *     name: train
 *     dataset: fashion_mnist        # fashion_mnist | mnist | cifar10 | digits | csv
 *     data_dir: /usr/share/datasets/fashion-mnist   # fashion_mnist, mnist, cifar10
 *     path: data.csv                # digits (optional), csv
 *     label: species                # csv: label column, header name or 0-based index (default: last)
 *     header: auto                  # csv: true | false | auto (default: a header when line 1 has a
 *                                   # non-numeric cell, the label's name, the column indices
 *                                   # 0..n-1 / 1..n, a label cell that would be a class of one
 *                                   # row, or integers above decimals; the choice is printed)
 *     epochs: 3                     # full budget per candidate (multi-fidelity strategies ask less)
 *     train_per_class: 500          # low fidelity: a class-balanced training subset
 *     budget_samples: 6000          # one budget unit = 6,000 training samples instead of one epoch
 *                                   # (epochs: then the full budget in units; with inherit a
 *                                   # promotion continues for the units it lacks)
 *     val_per_class: 200
 *     val_fraction: 0.1             # held out for validation (default 0.1)
 *     test_fraction: 0.2            # digits, csv: held out for test (default 0.2; datasets with
 *                                   # an official test partition use it instead)
 *     threads: 2
 *     time_limit: 120               # seconds per candidate
 *     cv_folds: 5                   # k-fold cross-validation over train+val: the objective is the
 *                                   # mean over folds (val_acc_std, val_loss_std: the spread)
 *     cv_repeats: 3                 # repeated k-fold (with cv_folds): 3 shuffles of the k folds,
 *                                   # the mean over all k x 3 trainings (a less noisy objective)
 *     early_stopping: { metric: train_loss, patience: 11, min_delta: 1e-4 }
 *                                   # stop a training when the metric stops improving:
 *                                   # train_loss = scikit-learn MLPClassifier's rule (tol,
 *                                   # n_iter_no_change 10; last weights kept; also in folds and
 *                                   # in tsnas ensemble's retraining); val_loss / val_acc: the
 *                                   # validation split's (the held-out fold under cv_folds),
 *                                   # best epoch's weights restored. epochs is then the maximum
 *     cv_predictions: true          # with cv_folds: keep each trial's out-of-fold class
 *                                   # probabilities (user attribute cv_predictions), for
 *                                   # `tsnas ensemble --method caruana`; without skip_test
 *                                   # also the fold networks' mean test prediction
 *                                   # (`tsnas ensemble --final folds`)
 *     keep_weights: true            # default: keep every complete trial's trained weights
 *     artifacts_dir: ./weights      # where; default <db file>.artifacts/<study>/ for SQLite,
 *                                   # required for PostgreSQL (a directory all workers can reach)
 *     nb201: { width: 16, cells: 5 } # size of the NB201 network (default: the benchmark's C=16, N=5)
 *     darts: { width: 16, layers: 8 } # size of the DARTS network (default: the search proxy's)
 *     inherit: exact                # weight inheritance (default off): a promoted trial (ASHA,
 *                                   # successive halving, Hyperband) continues from its lower
 *                                   # rung's kept weights and trains only the extra epochs; an
 *                                   # evolution child starts from its parent's weights (exact:
 *                                   # same-shape tensors; morph: also sliced/zero-padded blocks)
 *     inherit_lr_scale: 0.5         # with inherit: a training from inherited weights runs at
 *                                   # lr x this (default 1; trainings from scratch keep lr)
 *     inherit_optimizer: true       # with inherit: keep each trial's optimizer state beside its
 *                                   # weights (<weights>.optim.sd) and start an inheriting
 *                                   # training from its parent's steps and moments for the
 *                                   # tensors copied whole (fresh for new/reshaped ones)
 *
 * A kept weights file is a state dict (src/nn/state.ts), named `trial-<n>-a<attempt>-s<seed>-<hash>.sd`;
 * the study records its absolute path as the trial's user attribute `weights_path`.
 */
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JointArch, NetworkArch, TrainHparams } from '../core/arch.js';
import { NasError, isNasError, nestError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { DATASET_KINDS, type DataNotes, type DatasetSpec, type SplitSpec } from '../data/prepare.js';
import { FASHION_MNIST_DIR, checkCachedDataset } from '../data/sources.js';
import { EARLY_STOPPING_METRICS, HPARAM_NAMES, TrainingEvaluator, resolveHparams, type EarlyStopping, type TrainingEvaluatorOptions } from '../eval/train.js';
import { optionKeys, snakeCase } from '../core/issues.js';
import type { Evaluator } from '../eval/types.js';
import type { Space } from '../space/space.js';
import { parseStoreUrl } from '../store/index.js';
import { defaultArtifactsDir, type StudyConfig } from './config.js';
import { Issues, bool, checkReadableFile, fail, noExtraKeys, num, obj, oneOf, str } from './validate.js';
import { DATASET_SYNONYMS, HEADER_SYNONYMS } from '../core/synonyms.js';
import { didYouMeanValue } from '../core/suggest.js';

export const TRAIN_OPTIONS = [
  'dataset',
  'data_dir',
  'path',
  'label',
  'header',
  'epochs',
  'train_per_class',
  'val_per_class',
  'val_fraction',
  'test_fraction',
  'split_seed',
  'threads',
  'time_limit',
  'latency',
  'hparams',
  'skip_test',
  'keep_weights',
  'artifacts_dir',
  'nb201',
  'darts',
  'cv_folds',
  'cv_repeats',
  'cv_predictions',
  'inherit',
  'inherit_lr_scale',
  'inherit_optimizer',
  'budget_samples',
  'early_stopping',
] as const;

const IDX = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

/** A readable directory holding the four idx files (plain or .gz), else a `data_error` naming the field. */
function checkIdxDir(dir: string, field: string): void {
  let names: string[];
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir);
  } catch (e) {
    throw new NasError('data_error', `cannot read dataset directory ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      field,
      hint: 'give a readable directory holding the idx-ubyte(.gz) files',
    });
  }
  const missing = IDX.filter((f) => !names.includes(f) && !names.includes(`${f}.gz`));
  if (missing.length > 0)
    throw new NasError('data_error', `dataset directory ${dir} lacks ${missing.map((m) => `${m}(.gz)`).join(', ')}`, {
      field,
      hint: 'the directory must hold the four idx-ubyte(.gz) files',
    });
  for (const f of IDX) checkReadableFile(resolve(dir, names.includes(f) ? f : `${f}.gz`), field, 'dataset file');
}

export interface TrainEvaluatorParts {
  evaluator: Evaluator<unknown>;
  options: JsonObject;
  /** Loads and splits the data (once); costs() (constraints) need the data's shape. Resolves to the data's notes. */
  ready: () => Promise<DataNotes>;
}

/**
 * Training hyperparameters from a config (`evaluator.hparams`): snake_case names (`batch_size`,
 * `weight_decay`, `label_smoothing`, `warmup_epochs`; the TrainHparams camelCase names are accepted
 * too), checked now rather than failing every trial later; every problem at once.
 */
export function parseHparams(raw: unknown, field: string): Partial<TrainHparams> {
  const h = obj(raw, field);
  const I = new Issues();
  const given = optionKeys(h, HPARAM_NAMES, field, I, 'hyperparameter');
  const out: Record<string, unknown> = {};
  for (const [name, key] of given) out[name] = h[key];
  I.take(() => resolveHparams(out as Partial<TrainHparams>, field, (n) => given.get(n) ?? snakeCase(n)), undefined);
  I.throwIfAny(field);
  return out as Partial<TrainHparams>;
}

/**
 * The train evaluator's options, checked (every problem at once) and normalised. `allowed`: the
 * fields the caller's evaluator takes (default TRAIN_OPTIONS; the proxy evaluator passes its own
 * subset plus its own fields, so an unknown field's error lists what is allowed there).
 */
export function parseTrainOptions(o: JsonObject, baseDir: string, allowed: readonly string[] = TRAIN_OPTIONS): { eval: TrainingEvaluatorOptions; options: JsonObject } {
  // Every bad option is reported at once (Issues): each check runs, a bad one leaves a placeholder.
  const I = new Issues();
  I.take(() => noExtraKeys(o, 'evaluator', allowed), undefined);
  const norm: JsonObject = { ...o };
  let dataset: DatasetSpec = { kind: 'digits' };
  I.take(() => {
    const kind = oneOf(o['dataset'], 'evaluator.dataset', DATASET_KINDS, DATASET_SYNONYMS);
    switch (kind) {
      case 'fashion_mnist': {
        const dir = o['data_dir'] === undefined ? FASHION_MNIST_DIR : resolve(baseDir, str(o['data_dir'], 'evaluator.data_dir'));
        checkIdxDir(dir, o['data_dir'] === undefined ? 'evaluator.dataset' : 'evaluator.data_dir');
        norm['data_dir'] = dir;
        dataset = { kind, dataDir: dir };
        break;
      }
      case 'mnist':
      case 'cifar10': {
        if (o['data_dir'] === undefined) {
          // Nothing is downloaded: the files must already be in the cache (checked now, before a study is created).
          try {
            checkCachedDataset(kind);
          } catch (e) {
            throw isNasError(e) ? nestError(e, 'evaluator.dataset') : e;
          }
          dataset = { kind };
        } else {
          const dir = resolve(baseDir, str(o['data_dir'], 'evaluator.data_dir'));
          if (!existsSync(dir)) throw new NasError('data_error', `dataset directory ${dir} does not exist`, { field: 'evaluator.data_dir' });
          if (kind === 'mnist') checkIdxDir(dir, 'evaluator.data_dir');
          norm['data_dir'] = dir;
          dataset = { kind, dataDir: dir };
        }
        break;
      }
      case 'digits': {
        if (o['path'] === undefined) dataset = { kind };
        else {
          const p = resolve(baseDir, str(o['path'], 'evaluator.path'));
          checkReadableFile(p, 'evaluator.path', 'dataset file');
          norm['path'] = p;
          dataset = { kind, path: p };
        }
        break;
      }
      case 'csv': {
        const p = resolve(baseDir, str(o['path'], 'evaluator.path', 'the CSV file with features and a label column'));
        checkReadableFile(p, 'evaluator.path', 'dataset file');
        norm['path'] = p;
        const label = o['label'];
        if (label !== undefined && typeof label !== 'string' && !(typeof label === 'number' && Number.isInteger(label)))
          fail('evaluator.label', `must be a header name or a 0-based column index, got ${JSON.stringify(label)}`);
        const header = o['header'];
        if (header !== undefined && header !== true && header !== false && header !== 'auto')
          fail('evaluator.header', `must be true, false or "auto", got ${JSON.stringify(header)}${didYouMeanValue(String(header), ['true', 'false', 'auto'], HEADER_SYNONYMS)}`, 'auto (default): a header when line 1 has a non-numeric cell, the label name, the column indices 0..n-1 / 1..n, or a label cell that would be a class of one row');
        dataset = { kind, path: p, ...(label !== undefined ? { label: label as string | number } : {}), ...(header !== undefined ? { header: header as boolean | 'auto' } : {}) };
        break;
      }
    }
  }, undefined);
  const split: { -readonly [K in keyof SplitSpec]: SplitSpec[K] } = {};
  if (o['train_per_class'] !== undefined) I.take(() => (split.trainPerClass = num(o['train_per_class'], 'evaluator.train_per_class', { integer: true, min: 1 })), undefined);
  if (o['val_per_class'] !== undefined) I.take(() => (split.valPerClass = num(o['val_per_class'], 'evaluator.val_per_class', { integer: true, min: 1 })), undefined);
  if (o['val_fraction'] !== undefined) I.take(() => (split.valFraction = num(o['val_fraction'], 'evaluator.val_fraction', { min: 0.01, max: 0.9 })), undefined);
  if (o['test_fraction'] !== undefined)
    I.take(() => {
      const kind = o['dataset'];
      if (kind === 'fashion_mnist' || kind === 'mnist' || kind === 'cifar10')
        fail('evaluator.test_fraction', `${kind} has an official test partition, which is its test split`, 'remove test_fraction (it applies to digits and csv, which are split three ways)');
      split.testFraction = num(o['test_fraction'], 'evaluator.test_fraction', { min: 0.01, max: 0.9 });
    }, undefined);
  if (o['split_seed'] !== undefined) I.take(() => (split.seed = num(o['split_seed'], 'evaluator.split_seed', { integer: true, min: 0 })), undefined);
  const epochs = I.take(() => num(o['epochs'] ?? 10, 'evaluator.epochs', { integer: true, min: 1, max: 10_000 }), 10);
  const cvFolds = I.take(() => o['cv_folds'] === undefined ? undefined : num(o['cv_folds'], 'evaluator.cv_folds', { integer: true, min: 2, max: 100 }), undefined);
  const cvRepeats = I.take(() => o['cv_repeats'] === undefined ? undefined : num(o['cv_repeats'], 'evaluator.cv_repeats', { integer: true, min: 1, max: 100 }), undefined);
  I.take(() => { if (cvRepeats !== undefined && cvFolds === undefined && o['cv_folds'] === undefined) fail('evaluator.cv_repeats', 'cv_repeats repeats a k-fold cross-validation, but cv_folds is not set', 'add cv_folds (e.g. cv_folds: 5), or remove cv_repeats'); }, undefined);
  const cvPredictions = I.take(() => o['cv_predictions'] === undefined ? false : bool(o['cv_predictions'], 'evaluator.cv_predictions'), false);
  I.take(() => { if (cvPredictions && cvFolds === undefined && o['cv_folds'] === undefined) fail('evaluator.cv_predictions', 'cv_predictions keeps out-of-fold predictions, but cv_folds is not set', 'add cv_folds (e.g. cv_folds: 5), or remove cv_predictions'); }, undefined);
  const threads = I.take(() => o['threads'] === undefined ? undefined : num(o['threads'], 'evaluator.threads', { integer: true, min: 1, max: 256 }), undefined);
  const timeLimit = I.take(() => o['time_limit'] === undefined ? undefined : num(o['time_limit'], 'evaluator.time_limit', { min: 1 }), undefined);
  const latency = I.take(() => o['latency'] === undefined ? false : bool(o['latency'], 'evaluator.latency'), false);
  const skipTest = I.take(() => o['skip_test'] === undefined ? false : bool(o['skip_test'], 'evaluator.skip_test'), false);
  const hparams = I.take(() => (o['hparams'] === undefined ? undefined : parseHparams(o['hparams'], 'evaluator.hparams')), undefined);
  const keepWeights = I.take(() => o['keep_weights'] === undefined ? true : bool(o['keep_weights'], 'evaluator.keep_weights'), true);
  let weightsDir: string | undefined;
  if (o['artifacts_dir'] !== undefined)
    I.take(() => {
      const dir = resolve(baseDir, str(o['artifacts_dir'], 'evaluator.artifacts_dir', 'a directory for the trained weights'));
      if (!keepWeights) fail('evaluator.artifacts_dir', 'artifacts_dir is set but keep_weights is false', 'remove one of the two options');
      norm['artifacts_dir'] = dir;
      weightsDir = dir;
    }, undefined);
  const size = (key: 'nb201' | 'darts', depth: 'cells' | 'layers'): { width?: number; cells?: number; layers?: number } | undefined => {
    if (o[key] === undefined) return undefined;
    const v = obj(o[key], `evaluator.${key}`);
    noExtraKeys(v, `evaluator.${key}`, ['width', depth]);
    return {
      ...(v['width'] === undefined ? {} : { width: num(v['width'], `evaluator.${key}.width`, { integer: true, min: 1, max: 4096 }) }),
      ...(v[depth] === undefined ? {} : { [depth]: num(v[depth], `evaluator.${key}.${depth}`, { integer: true, min: depth === 'layers' ? 3 : 1, max: 1000 }) }),
    };
  };
  const inherit = I.take(() => o['inherit'] === undefined ? 'off' : o['inherit'] === true ? 'morph' : o['inherit'] === false ? 'off' : oneOf(o['inherit'], 'evaluator.inherit', ['off', 'exact', 'morph'] as const), 'off' as const);
  I.take(() => { if (inherit !== 'off' && !keepWeights) fail('evaluator.inherit', 'weight inheritance needs the parents\' kept weights, but keep_weights is false', 'remove keep_weights: false (or inherit)'); }, undefined);
  I.take(() => { if (inherit !== 'off' && cvFolds !== undefined) fail('evaluator.inherit', 'weight inheritance is not supported with cv_folds', 'remove one of the two options'); }, undefined);
  const inheritLrScale = I.take(() => (o['inherit_lr_scale'] === undefined ? undefined : num(o['inherit_lr_scale'], 'evaluator.inherit_lr_scale', { min: 1e-6, max: 1000 })), undefined);
  I.take(() => { if (inheritLrScale !== undefined && inherit === 'off') fail('evaluator.inherit_lr_scale', 'inherit_lr_scale applies to trainings from inherited weights, but inherit is off', 'add inherit: exact (or morph), or remove inherit_lr_scale'); }, undefined);
  const inheritOptimizer = I.take(() => (o['inherit_optimizer'] === undefined ? false : bool(o['inherit_optimizer'], 'evaluator.inherit_optimizer')), false);
  I.take(() => { if (inheritOptimizer && inherit === 'off') fail('evaluator.inherit_optimizer', 'inherit_optimizer restores a parent\'s optimizer state with its weights, but inherit is off', 'add inherit: morph (or exact), or remove inherit_optimizer'); }, undefined);
  const budgetSamples = I.take(() => o['budget_samples'] === undefined ? undefined : num(o['budget_samples'], 'evaluator.budget_samples', { integer: true, min: 1 }), undefined);
  I.take(() => { if (budgetSamples !== undefined && cvFolds !== undefined) fail('evaluator.budget_samples', 'budget_samples cannot be combined with cv_folds', 'remove one of the two options'); }, undefined);
  const earlyStopping = I.take(() => (o['early_stopping'] === undefined ? undefined : parseEarlyStopping(o['early_stopping'], 'evaluator.early_stopping')), undefined);
  const nb201 = I.take(() => size('nb201', 'cells'), undefined);
  const dartsSize = I.take(() => size('darts', 'layers'), undefined);
  I.throwIfAny('the evaluator options');
  return {
    eval: {
      dataset,
      split,
      ...(nb201 ? { nb201 } : {}),
      ...(dartsSize ? { darts: dartsSize } : {}),
      epochs,
      ...(threads === undefined ? {} : { threads }),
      ...(timeLimit === undefined ? {} : { timeLimitSeconds: timeLimit }),
      ...(latency ? { latency: true } : {}),
      ...(skipTest ? { skipTest } : {}),
      ...(hparams ? { hparams } : {}),
      ...(weightsDir === undefined ? {} : { weightsDir }),
      ...(cvFolds === undefined ? {} : { cvFolds }),
      ...(cvRepeats === undefined ? {} : { cvRepeats }),
      ...(cvPredictions ? { cvPredictions } : {}),
      ...(inherit === 'off' ? {} : { inherit }),
      ...(inheritLrScale === undefined ? {} : { inheritLrScale }),
      ...(inheritOptimizer ? { inheritOptimizer } : {}),
      ...(budgetSamples === undefined ? {} : { budgetSamples }),
      ...(earlyStopping === undefined ? {} : { earlyStopping }),
    },
    options: norm,
  };
}

/**
 * Fills the `train` evaluator's default `artifacts_dir` from the study's storage and name
 * (defaultArtifactsDir), so studies keep their trials' weights unless `keep_weights: false`. A
 * storage without a default directory (PostgreSQL) keeps weights only where `artifacts_dir` says;
 * an explicit `keep_weights: true` without one is an error naming that field. Other evaluators'
 * configs are returned unchanged.
 */
export function withWeightsDefaults(c: StudyConfig): StudyConfig {
  const o = c.evaluator.options;
  if (c.evaluator.name !== 'train' || o['keep_weights'] === false || o['artifacts_dir'] !== undefined) return c;
  const dir = defaultArtifactsDir(c.storage, c.study);
  if (dir === null) {
    if (o['keep_weights'] === true)
      fail('evaluator.artifacts_dir', `a study in ${parseStoreUrl(c.storage).kind} storage keeps weights only in an artifacts_dir`, 'set evaluator.artifacts_dir to a directory every worker can write, or keep_weights: false');
    return c;
  }
  return { ...c, evaluator: { ...c.evaluator, options: { ...o, artifacts_dir: dir } } };
}

/**
 * `early_stopping: { metric, patience, min_delta }` (src/eval/train.ts EarlyStopping): metric
 * val_loss (default) | val_acc | train_loss, patience an integer >= 1 (required), min_delta >= 0
 * (default 0). Every problem of the object at once (Issues), unknown keys with did-you-mean.
 */
export function parseEarlyStopping(v: unknown, field: string): EarlyStopping {
  const e = obj(v, field);
  const I = new Issues();
  I.take(() => noExtraKeys(e, field, ['metric', 'patience', 'min_delta']), undefined);
  const metric = I.take(() => (e['metric'] === undefined ? undefined : oneOf(e['metric'], `${field}.metric`, EARLY_STOPPING_METRICS)), undefined);
  const patience = I.take(() => (e['patience'] === undefined ? fail(`${field}.patience`, 'is required', 'the epochs without improvement before a training stops, e.g. patience: 11') : num(e['patience'], `${field}.patience`, { integer: true, min: 1, max: 100_000 })), 1);
  const minDelta = I.take(() => (e['min_delta'] === undefined ? undefined : num(e['min_delta'], `${field}.min_delta`, { min: 0 })), undefined);
  I.throwIfAny(field);
  return { patience, ...(metric === undefined ? {} : { metric }), ...(minDelta === undefined ? {} : { minDelta }) };
}

/** The `train` evaluator factory (registered in extensions.ts). */
export function trainEvaluatorFactory(o: JsonObject, baseDir: string, space: Space<unknown>): TrainEvaluatorParts {
  const family = (space.def as { fields?: Record<string, unknown> }).fields;
  if (space.name.includes('darts')) fail('space', `evaluator train cannot build ${space.name} networks yet`, 'use a chain_cnn, mlp or nb201 space (or their joint_ versions)');
  void family;
  const { eval: opts, options } = parseTrainOptions(o, baseDir);
  const ev = new TrainingEvaluator(opts);
  return {
    evaluator: ev as unknown as Evaluator<unknown>,
    options,
    ready: async () => {
      ev.checkWeightsDir();
      return (await ev.prepared()).notes ?? [];
    },
  };
}

export type TrainArch = NetworkArch | JointArch;
