/**
 * From a dataset spec (plain data) to the three splits a trainer uses: train, validation (what
 * search decisions may look at) and test (reported only). A dataset with an official test
 * partition keeps it as the test split and carves validation out of its training partition; one
 * without (digits, CSV) is split three ways. Normalisation is fitted on the train split only.
 */
import { NasError, assertNever } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { readCsv } from './csv.js';
import { fitNormalization, type Normalization } from './normalize.js';
import { loadCifar10, loadDigits, loadFashionMnist, loadMnist, type TrainTest } from './sources.js';
import { stratifiedKFold, stratifiedSplit } from './split.js';
import { balancedSubset } from './subset.js';
import { classCounts, fullSubset, type Dataset, type Subset } from './types.js';

export type DatasetSpec =
  | { readonly kind: 'fashion_mnist'; readonly dataDir?: string }
  | { readonly kind: 'mnist'; readonly dataDir?: string; readonly cacheDir?: string; readonly download?: boolean; readonly mirror?: string }
  | { readonly kind: 'cifar10'; readonly dataDir?: string; readonly cacheDir?: string; readonly download?: boolean; readonly mirror?: string }
  | { readonly kind: 'digits'; readonly path?: string }
  | {
      readonly kind: 'csv';
      readonly path: string;
      /** Optional separate test file with the same columns. */
      readonly testPath?: string;
      readonly label?: string | number;
      readonly header?: boolean | 'auto';
      readonly delimiter?: string;
      readonly numClasses?: number;
    };

export const DATASET_KINDS = ['fashion_mnist', 'mnist', 'cifar10', 'digits', 'csv'] as const;

/**
 * What loading a dataset decided and the user should be told once per command (CSV: the header
 * decision, the label mapping, a class of one row): `PreparedData.notes`, printed as `data: ...`.
 */
export type DataNotes = readonly string[];

export interface SplitSpec {
  /** Seeds the split (not the training). Default 0: every trial of a study sees the same split. */
  readonly seed?: number;
  /** Fraction of the training partition held out for validation. Default 0.1. */
  readonly valFraction?: number;
  /** Fraction held out for test when the dataset has no official test partition. Default 0.2. */
  readonly testFraction?: number;
  /** Low fidelity: keep only this many training samples per class (class-balanced). */
  readonly trainPerClass?: number;
  /** Likewise for validation. */
  readonly valPerClass?: number;
}

export interface PreparedData {
  readonly name: string;
  /** Per-sample shape, `[C, H, W]` or `[F]`. */
  readonly shape: readonly number[];
  readonly numClasses: number;
  /** The label of each class index (e.g. a CSV's label values), for reports and export. */
  readonly classNames?: readonly string[];
  /** What loading decided (header detection, label mapping), for the user to see. */
  readonly notes?: readonly string[];
  readonly train: Subset;
  readonly val: Subset;
  readonly test: Subset;
  readonly normalization: Normalization;
}

export async function loadSource(spec: DatasetSpec): Promise<TrainTest> {
  switch (spec.kind) {
    case 'fashion_mnist':
      return loadFashionMnist(spec.dataDir !== undefined ? { dataDir: spec.dataDir } : {});
    case 'mnist':
      return loadMnist(spec);
    case 'cifar10':
      return loadCifar10(spec);
    case 'digits':
      return loadDigits(spec.path);
    case 'csv': {
      const opts = {
        ...(spec.label !== undefined ? { label: spec.label } : {}),
        ...(spec.header !== undefined ? { header: spec.header } : {}),
        ...(spec.delimiter !== undefined ? { delimiter: spec.delimiter } : {}),
        ...(spec.numClasses !== undefined ? { numClasses: spec.numClasses } : {}),
      };
      const train = readCsv(spec.path, opts);
      if (spec.testPath === undefined) return { train };
      // The test file's labels are mapped with the training file's classes; an unseen one is an error.
      const test = readCsv(spec.testPath, train.classNames ? { ...opts, classes: train.classNames } : { ...opts, numClasses: train.numClasses });
      if (test.shape[0] !== train.shape[0])
        throw new NasError('data_error', `${spec.testPath}: ${test.shape[0]} features, but ${spec.path} has ${train.shape[0]}`, { field: 'dataset.testPath' });
      return { train, test };
    }
    default:
      return assertNever(spec, 'dataset kind');
  }
}

function checkFraction(v: number, field: string): void {
  if (!(v >= 0 && v < 1)) throw new NasError('invalid_config', `must be in [0, 1), got ${v}`, { field });
}

/**
 * Split sizes are checked before any training: the training split must hold every class of the
 * data (a class it lacks could never be predicted, and its label would be unseen in training), and
 * the validation split (and a test split carved from the same data) must not be empty, which
 * per-class rounding gives for small classes (4 rows per class x 0.1 = 0 rows). The error names the
 * fractions, the class counts and the smallest fraction that would work. A fraction of exactly 0
 * asks for no such split (e.g. a final training without validation) and is not an error.
 */
function checkSplitSizes(
  d: Dataset,
  parts: { train: Subset; val: Subset; test: Subset },
  fr: { valFraction: number; testFraction?: number },
  split: SplitSpec,
): void {
  const counts = classCounts(fullSubset(d));
  const present = counts.map((c, k) => [k, c] as const).filter(([, c]) => c > 0);
  const minRows = Math.min(...present.map(([, c]) => c));
  const label = (k: number) => (d.classNames?.[k] !== undefined ? `${d.classNames[k]}` : String(k));
  const countList = present.length <= 12 ? present.map(([k, c]) => `${label(k)}: ${c}`).join(', ') : `${present.length} classes, ${minRows} to ${Math.max(...present.map(([, c]) => c))} rows each`;
  const fractions = `val_fraction ${fr.valFraction}${fr.testFraction !== undefined ? `, test_fraction ${fr.testFraction}` : ''}`;
  // round(f * n) >= 1 needs f >= 0.5 / n for the smallest class.
  const need = Math.ceil((0.5 / minRows) * 1000) / 1000;
  const tooSmall = (what: string, field: string): never => {
    throw new NasError('invalid_config', `the ${what} split would be empty: ${fractions} of rows per class (${countList}) rounds to 0 rows in every class`, {
      field,
      hint: need < 1 ? `raise ${field} (flag --${field.replace('_', '-')}) to at least ${need}, or give more rows per class` : 'give more rows per class',
      details: { classCounts: counts, ...fr },
    });
  };
  if (fr.valFraction > 0 && parts.val.indices.length === 0) tooSmall('validation', 'val_fraction');
  if (fr.testFraction !== undefined && fr.testFraction > 0 && parts.test.indices.length === 0) tooSmall('test', 'test_fraction');
  if (parts.train.indices.length === 0) throw new NasError('invalid_config', `the training split is empty (${fractions}; rows per class: ${countList})`, { field: 'val_fraction' });
  const inTrain = classCounts(parts.train);
  const missing = present.filter(([k]) => inTrain[k] === 0).map(([k]) => label(k));
  if (missing.length > 0)
    throw new NasError('invalid_config', `class(es) ${missing.join(', ')} have no row in the training split (${fractions}; rows per class: ${countList})`, {
      field: 'val_fraction',
      hint: 'lower val_fraction/test_fraction (flags --val-fraction/--test-fraction) or give more rows of those classes: a class never trained on cannot be predicted',
      details: { classCounts: counts, ...fr },
    });
}

/** Splits and normalises an already-loaded source (pure; no I/O). */
export function prepareSplits(src: TrainTest, split: SplitSpec = {}): PreparedData {
  const seed = split.seed ?? 0;
  const valFraction = split.valFraction ?? 0.1;
  const testFraction = split.testFraction ?? 0.2;
  checkFraction(valFraction, 'val_fraction');
  let train: Subset;
  let val: Subset;
  let test: Subset;
  if (src.test) {
    [val, train] = stratifiedSplit(fullSubset(src.train), [valFraction], `${seed}/val`) as [Subset, Subset];
    test = fullSubset(src.test);
  } else {
    checkFraction(testFraction, 'test_fraction');
    if (valFraction + testFraction >= 1)
      throw new NasError('invalid_config', `val_fraction + test_fraction = ${valFraction + testFraction} leaves no training data`, {
        field: 'val_fraction',
        hint: 'keep val_fraction + test_fraction (flags --val-fraction, --test-fraction) below 1; defaults 0.1 and 0.2',
      });
    [test, val, train] = stratifiedSplit(fullSubset(src.train), [testFraction, valFraction], `${seed}/test-val`) as [Subset, Subset, Subset];
  }
  const sub = Rng.fromSeed(`${seed}/subset`);
  if (split.trainPerClass !== undefined) train = balancedSubset(train, split.trainPerClass, sub.derive('train'));
  if (split.valPerClass !== undefined) val = balancedSubset(val, split.valPerClass, sub.derive('val'), 'val_per_class');
  checkSplitSizes(src.train, { train, val, test }, { valFraction, ...(src.test ? {} : { testFraction }) }, split);
  const d = src.train;
  return {
    name: d.name.replace(/\/train$/, ''),
    shape: d.shape,
    numClasses: d.numClasses,
    ...(d.classNames ? { classNames: d.classNames } : {}),
    ...(d.notes ? { notes: d.notes } : {}),
    train,
    val,
    test,
    normalization: fitNormalization(train),
  };
}

export async function prepareData(spec: DatasetSpec, split: SplitSpec = {}): Promise<PreparedData> {
  return prepareSplits(await loadSource(spec), split);
}

/**
 * k-fold cross-validation views of prepared data: the training and validation splits are pooled
 * and dealt into k stratified folds (`stratifiedKFold`, seeded by `seed`); view i trains on the
 * other folds and validates on fold i, with its normalisation fitted on its own training part. The
 * test split is the same in every view (reported only). Each view's training part must hold every
 * class (else `invalid_config` naming cv_folds and the class counts).
 */
export function crossValidationViews(data: PreparedData, k: number, seed: number | string = 0): PreparedData[] {
  const pool: Subset = { data: data.train.data, indices: Int32Array.from([...data.train.indices, ...data.val.indices]) };
  const folds = stratifiedKFold(pool, k, `${seed}/cv`);
  return folds.map((val, i) => {
    const inVal = new Set(val.indices);
    const train: Subset = { data: pool.data, indices: pool.indices.filter((x) => !inVal.has(x)) };
    const counts = classCounts(train);
    const missing = counts.map((c, j) => [j, c] as const).filter(([j, c]) => c === 0 && classCounts(pool)[j]! > 0);
    if (missing.length > 0)
      throw new NasError('invalid_config', `cv_folds ${k}: fold ${i + 1}'s training part has no row of class(es) ${missing.map(([j]) => data.classNames?.[j] ?? j).join(', ')} (rows per class: ${classCounts(pool).join(', ')})`, {
        field: 'cv_folds',
        hint: 'use fewer folds, or more rows of the small classes',
      });
    return { ...data, train, val, normalization: fitNormalization(train) };
  });
}
