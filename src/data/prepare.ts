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
import { stratifiedSplit } from './split.js';
import { balancedSubset } from './subset.js';
import { fullSubset, type Subset } from './types.js';

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
  readonly classNames?: readonly string[];
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
      const test = readCsv(spec.testPath, { ...opts, numClasses: Math.max(train.numClasses, spec.numClasses ?? 0) });
      if (test.shape[0] !== train.shape[0])
        throw new NasError('data_error', `${spec.testPath}: ${test.shape[0]} features, but ${spec.path} has ${train.shape[0]}`, { field: 'dataset.testPath' });
      if (JSON.stringify(test.classNames) !== JSON.stringify(train.classNames))
        throw new NasError('data_error', `${spec.testPath}: its label values differ from ${spec.path}'s`, { field: 'dataset.testPath', hint: 'both files must use the same class labels' });
      return { train, test };
    }
    default:
      return assertNever(spec, 'dataset kind');
  }
}

function checkFraction(v: number, field: string): void {
  if (!(v >= 0 && v < 1)) throw new NasError('invalid_config', `${field} must be in [0, 1), got ${v}`, { field });
}

/** Splits and normalises an already-loaded source (pure; no I/O). */
export function prepareSplits(src: TrainTest, split: SplitSpec = {}): PreparedData {
  const seed = split.seed ?? 0;
  const valFraction = split.valFraction ?? 0.1;
  const testFraction = split.testFraction ?? 0.2;
  checkFraction(valFraction, 'split.valFraction');
  let train: Subset;
  let val: Subset;
  let test: Subset;
  if (src.test) {
    [val, train] = stratifiedSplit(fullSubset(src.train), [valFraction], `${seed}/val`) as [Subset, Subset];
    test = fullSubset(src.test);
  } else {
    checkFraction(testFraction, 'split.testFraction');
    if (valFraction + testFraction >= 1)
      throw new NasError('invalid_config', `valFraction + testFraction = ${valFraction + testFraction} leaves no training data`, { field: 'split' });
    [test, val, train] = stratifiedSplit(fullSubset(src.train), [testFraction, valFraction], `${seed}/test-val`) as [Subset, Subset, Subset];
  }
  const sub = Rng.fromSeed(`${seed}/subset`);
  if (split.trainPerClass !== undefined) train = balancedSubset(train, split.trainPerClass, sub.derive('train'));
  if (split.valPerClass !== undefined) val = balancedSubset(val, split.valPerClass, sub.derive('val'));
  if (train.indices.length === 0) throw new NasError('invalid_config', 'the training split is empty', { field: 'split' });
  const d = src.train;
  return {
    name: d.name.replace(/\/train$/, ''),
    shape: d.shape,
    numClasses: d.numClasses,
    ...(d.classNames ? { classNames: d.classNames } : {}),
    train,
    val,
    test,
    normalization: fitNormalization(train),
  };
}

export async function prepareData(spec: DatasetSpec, split: SplitSpec = {}): Promise<PreparedData> {
  return prepareSplits(await loadSource(spec), split);
}
