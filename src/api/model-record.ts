/**
 * What was recorded with a trained model, read by one loader for every stage after the search
 * (tsnas train of an exported winner, compress, finetune): how its network was built (the space's
 * builder options: `nb201: {width, cells}`, `darts: {width, layers}`), what data it was trained on
 * (dataset, files, subset sizes `train_per_class`/`val_per_class`, `val_fraction`/`test_fraction`,
 * `split_seed`) and its recorded parameter count. The source is the `train` evaluator's options of
 * the study (a study's trial), or `metrics.json` beside an exported `arch.json` (tsnas export
 * writes the study's evaluator and the winner's costs there).
 *
 * New user, session 10: `tsnas train fmw/arch.json` built the default NB201 (C=16, N=5, 587,098
 * params) instead of the searched width 8 / 1 cell (44,466 params) recorded in metrics.json, and
 * `tsnas compress` fine-tuned a model trained on 300 images per class on all 54,000.
 */
import { NasError } from '../core/errors.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { JsonObject } from '../core/json.js';
import { checkAugmentation, isIdentity, type Augmentation } from '../data/augment.js';
import type { DatasetSpec, PreparedData, SplitSpec } from '../data/prepare.js';
import type { DartsOptions, Nb201Options } from '../nn/build/index.js';
import { parseTrainOptions } from './train-evaluator.js';

/** The train evaluator's options that say which data (and which part of it) a model was trained on. */
export const DATA_OPTION_KEYS = ['dataset', 'data_dir', 'path', 'label', 'header', 'train_per_class', 'val_per_class', 'val_fraction', 'test_fraction', 'split_seed'] as const;
/** The train evaluator's options that say how the network of an architecture is built. */
export const BUILD_OPTION_KEYS = ['nb201', 'darts'] as const;
/** The train evaluator's options that say how a model was trained (the defaults of a retraining of it). */
export const TRAINING_OPTION_KEYS = ['epochs', 'hparams'] as const;

export interface ModelRecord {
  /** Where it was read (a metrics.json path, or `study NAME`), named in messages. */
  readonly from: string;
  /** The recorded train evaluator options (raw, as written). */
  readonly options: JsonObject;
  readonly dataset: DatasetSpec;
  readonly split: SplitSpec;
  readonly nb201?: Nb201Options;
  readonly darts?: DartsOptions;
  /** The recorded parameter count of the trained network (costs.params), when recorded. */
  readonly params?: number;
  /**
   * The augmentation its training batches had (tsnas main's final trainings: horizontal flips),
   * when recorded; reused by a later training on the same data (train of an export, finetune and
   * compress on the model's own data), never on other data.
   */
  readonly augment?: Augmentation;
  /** The weights were retrained after the search on `final.split` (tsnas main), not on the options' split. */
  readonly final?: FinalRecord;
}

/**
 * What a model was trained on when it was retrained after the search (tsnas main's final training:
 * every training image, no validation split, with its recipe's augmentation): the trial attribute
 * `final_record`, written into an export's metrics.json beside `final_training`. It replaces the
 * search evaluator's data split and epochs in the record (recordOfEvaluator).
 */
export interface FinalRecord {
  readonly split: SplitSpec;
  readonly epochs: number;
  readonly augment?: Augmentation;
}

/** A recorded augmentation (an object of cropPadding/hflip/cutout), undefined for none, an identity or anything else. */
export function augmentOf(v: unknown): Augmentation | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const a = v as Record<string, unknown>;
  const out: { -readonly [K in keyof Augmentation]: Augmentation[K] } = {};
  if (typeof a['hflip'] === 'boolean') out.hflip = a['hflip'];
  for (const k of ['cropPadding', 'cutout'] as const) if (Number.isInteger(a[k]) && (a[k] as number) >= 0) out[k] = a[k] as number;
  return isIdentity(out) ? undefined : out;
}

/** `hflip, crop padding 4, cutout 16` for an augmentation. */
export function augmentPhrase(a: Augmentation): string {
  return [a.hflip ? 'hflip' : '', a.cropPadding ? `crop padding ${a.cropPadding}` : '', a.cutout ? `cutout ${a.cutout}` : ''].filter(Boolean).join(', ');
}

function finalOf(v: unknown): FinalRecord | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const f = v as Record<string, unknown>;
  const split = splitOf(f['split']);
  if (!split || !(Number.isInteger(f['epochs']) && (f['epochs'] as number) >= 1)) return undefined;
  const augment = augmentOf(f['augment']);
  return { split, epochs: f['epochs'] as number, ...(augment ? { augment } : {}) };
}

function splitOf(v: unknown): SplitSpec | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const s = v as Record<string, unknown>;
  const out: { -readonly [K in keyof SplitSpec]: SplitSpec[K] } = {};
  for (const k of ['trainPerClass', 'valPerClass', 'valFraction', 'testFraction', 'seed'] as const) if (typeof s[k] === 'number' && Number.isFinite(s[k])) out[k] = s[k] as number;
  return out;
}

/**
 * The record of a `train` evaluator (`{name: 'train', options}`) with the model's recorded params;
 * undefined for any other evaluator (a table, a synthetic one: no network was built from data).
 * With `final` (a FinalRecord: the weights were retrained after the search, tsnas main), its split,
 * epochs and augmentation replace the search's: the record says what the weights were trained on.
 */
export function recordOfEvaluator(evaluator: unknown, from: string, params?: unknown, final?: unknown): ModelRecord | undefined {
  const e = evaluator as { name?: unknown; options?: unknown } | undefined;
  if (e?.name !== 'train' || !e.options || typeof e.options !== 'object') return undefined;
  const f = finalOf(final);
  let options = e.options as JsonObject;
  if (f) {
    // A budget in samples was the search's fidelity; the final training ran whole epochs. The
    // options keep the search's split (a training of the architecture anew validates on it; the
    // train evaluator takes no val_fraction 0); `split` below is the final training's.
    const o: Record<string, unknown> = { ...options, epochs: f.epochs };
    delete o['budget_samples'];
    options = o as JsonObject;
  }
  const { eval: ev } = parseTrainOptions(options, process.cwd());
  return {
    from: f ? `${from} (its final training)` : from,
    options,
    dataset: ev.dataset,
    split: f ? f.split : (ev.split ?? {}),
    ...(f ? { final: f } : {}),
    ...(ev.nb201 ? { nb201: ev.nb201 } : {}),
    ...(ev.darts ? { darts: ev.darts } : {}),
    ...(typeof params === 'number' && Number.isInteger(params) && params > 0 ? { params } : {}),
    ...(f?.augment ? { augment: f.augment } : {}),
  };
}

/**
 * The record of a fine-tuned model directory (model.json + metrics.json with `dataset` and the
 * `split` it trained on, as tsnas finetune writes): its data settings, no builder options (the
 * compression graph is the network). Undefined when no split object is recorded.
 */
export function recordOfSplit(split: unknown, dataset: DatasetSpec, from: string, augment?: unknown): ModelRecord | undefined {
  const out = splitOf(split);
  if (!out) return undefined;
  const a = augmentOf(augment);
  return { from, options: {}, dataset, split: out, ...(a ? { augment: a } : {}) };
}

/**
 * What every model directory tsnas writes without an arch.json (a finetune output, a compress
 * float/pruned/int8 stage, tsnas main's compressed winner) records in its metrics.json for later
 * stages, read back by model-source.ts (recordOfSplit): the data it was trained on (`dataset` spec,
 * the `split` settings), the class selection (`classes`, null for all) and the `augment` of its
 * training batches (null for none). An unknown dataset (a module compressed in memory without
 * one) records none, and a later stage then needs --dataset.
 */
export interface ModelDirRecord {
  readonly dataset?: DatasetSpec;
  readonly split?: SplitSpec;
  readonly classes?: readonly number[];
  readonly augment?: Augmentation;
}

/** The metrics.json fields of a ModelDirRecord (see there). */
export function modelDirFields(r: ModelDirRecord): JsonObject {
  return {
    // No split without a dataset, and none invented for a model whose split is not known.
    ...(r.dataset ? { dataset: r.dataset as unknown as JsonObject, ...(r.split ? { split: r.split as unknown as JsonObject } : {}) } : {}),
    classes: r.classes ? [...r.classes] : null,
    augment: r.augment && !isIdentity(r.augment) ? (r.augment as unknown as JsonObject) : null,
  };
}

/** The ModelDirRecord of a loaded model's record: its data and split, class selection and augmentation. */
export function modelDirRecord(rec: ModelRecord | undefined, dataset: DatasetSpec | undefined, classes: readonly number[] | undefined): ModelDirRecord {
  const d = rec?.dataset ?? dataset;
  return { ...(d ? { dataset: d } : {}), ...(rec ? { split: rec.split } : {}), ...(classes ? { classes } : {}), ...(rec?.augment ? { augment: rec.augment } : {}) };
}

/**
 * The recorded augmentation a stage reuses: the record's on the model's own data of image samples
 * (`shape` [C, H, W]), with the line that says so; on other data it is not reused (what suits the
 * model's images need not suit other data), and that is said too. Undefined augment when none.
 */
export function stageAugment(rec: ModelRecord | undefined, own: boolean, shape: readonly number[], stage: string): { augment?: Augmentation; line?: string } {
  const a = rec?.augment;
  if (!a) return {};
  if (!own) return { line: `augmentation: the model was trained with ${augmentPhrase(a)} (${rec.from}); not used for ${stage} on other data than the model's` };
  checkAugmentation(a, shape);
  return { augment: a, line: `augmentation: ${augmentPhrase(a)} in ${stage}, as recorded with the model (${rec.from})` };
}

/**
 * The record beside an architecture file or in an export directory: `metrics.json` in the same
 * directory (its `evaluator`, `costs.params` and, for weights retrained after the search, `final_record`). Undefined when there is none or it names no
 * train evaluator (e.g. a hand-written arch.json).
 */
export function readArchRecord(archPath: string): ModelRecord | undefined {
  let dir: string;
  try {
    dir = statSync(archPath).isDirectory() ? archPath : dirname(archPath);
  } catch {
    return undefined;
  }
  const file = join(dir, 'metrics.json');
  if (!existsSync(file)) return undefined;
  let m: { evaluator?: unknown; costs?: { params?: unknown }; metrics?: { params?: unknown }; final_record?: unknown };
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as typeof m;
  } catch {
    return undefined; // not ours to judge here: the architecture itself is still checked
  }
  return recordOfEvaluator(m.evaluator, file, m.costs?.params ?? m.metrics?.params, m.final_record);
}

/** `3,000 train / 600 val / 10,000 test` rows of prepared data. */
export function splitCounts(d: Pick<PreparedData, 'train' | 'val' | 'test'>): { train: number; val: number; test: number } {
  return { train: d.train.indices.length, val: d.val.indices.length, test: d.test.indices.length };
}

/** A phrase for the subset settings of a split (`train_per_class 300, val_fraction 0.1`), or '' for none. */
export function splitPhrase(s: SplitSpec): string {
  const parts: string[] = [];
  if (s.trainPerClass !== undefined) parts.push(`train_per_class ${s.trainPerClass}`);
  if (s.valPerClass !== undefined) parts.push(`val_per_class ${s.valPerClass}`);
  if (s.valFraction !== undefined) parts.push(`val_fraction ${s.valFraction}`);
  if (s.testFraction !== undefined) parts.push(`test_fraction ${s.testFraction}`);
  if (s.seed !== undefined && s.seed !== 0) parts.push(`split_seed ${s.seed}`);
  return parts.join(', ');
}

/** A phrase for the builder options (`nb201 width 8, cells 1`), or '' for the defaults. */
export function buildPhrase(b: { nb201?: Nb201Options; darts?: DartsOptions }): string {
  const parts: string[] = [];
  if (b.nb201) parts.push(`nb201 ${Object.entries(b.nb201).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (b.darts) parts.push(`darts ${Object.entries(b.darts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return parts.join('; ');
}

/**
 * What a training on a model's data used: the data's name, the rows of each split (images or CSV
 * rows: fine-tuning and calibration on train, selection on val, the table on test), the subset and
 * builder settings in words ('' for the whole splits and defaults), the record they came from
 * (metrics.json beside the architecture, or `study NAME`) when one was read, the settings taken from
 * it and those the caller gave instead. `tsnas train` reports it as is (TrainSummary.data).
 */
export interface TrainData {
  readonly dataset: string;
  readonly train: number;
  readonly val: number;
  readonly test: number;
  readonly settings: string;
  readonly record?: string;
  readonly recorded: readonly string[];
  readonly overridden: readonly string[];
}

/** What an after-search stage (compress, finetune) trains and measures on, and why: TrainData and its line for the user (printed as `data: ...`, kept in report.json / metrics.json). */
export interface StageData extends TrainData {
  readonly line: string;
}

/**
 * The split an after-search stage uses on the model's own data: the recorded subset settings
 * (train_per_class, val_per_class, fractions, split seed) unless `opts` overrides one
 * (`trainPerClass: 'all'` is the whole training split; `splitSeed`). On other data than the
 * model's (`own` false) nothing is taken from the record.
 */
export function stageSplit(rec: ModelRecord | undefined, own: boolean, opts: { splitSeed?: number; trainPerClass?: number | 'all' }): { split: SplitSpec; recorded: string[]; overridden: string[]; said: string[] } {
  const r: SplitSpec = own && rec ? rec.split : {};
  const split: { -readonly [K in keyof SplitSpec]: SplitSpec[K] } = { ...r };
  const recorded = Object.keys(r).map((k) => ({ trainPerClass: 'train_per_class', valPerClass: 'val_per_class', valFraction: 'val_fraction', testFraction: 'test_fraction', seed: 'split_seed' })[k as keyof SplitSpec]);
  const overridden: string[] = [];
  const said: string[] = [];
  if (opts.trainPerClass !== undefined) {
    const was = r.trainPerClass;
    if (opts.trainPerClass === 'all') delete split.trainPerClass;
    else split.trainPerClass = opts.trainPerClass;
    if (was !== (opts.trainPerClass === 'all' ? undefined : opts.trainPerClass)) {
      overridden.push('train_per_class');
      said.push(`--train-per-class ${opts.trainPerClass}: ${opts.trainPerClass === 'all' ? 'the whole training split' : `${opts.trainPerClass} per class`}, not the model's ${was === undefined ? 'whole training split' : `recorded train_per_class ${was}`}`);
    }
  }
  if (opts.splitSeed !== undefined) {
    if ((r.seed ?? 0) !== opts.splitSeed) {
      overridden.push('split_seed');
      said.push(`split seed ${opts.splitSeed}, not the model's ${r.seed ?? 0}: its validation rows checked against the model's training rows`);
    }
    split.seed = opts.splitSeed;
  }
  return { split, recorded: recorded.filter((k) => !overridden.includes(k)), overridden, said };
}

/** The StageData of prepared data chosen by stageSplit. */
export function stageData(d: Pick<PreparedData, 'name' | 'train' | 'val' | 'test'>, rec: ModelRecord | undefined, own: boolean, chosen: ReturnType<typeof stageSplit>): StageData {
  const c = splitCounts(d);
  const settings = splitPhrase(chosen.split);
  const whence = chosen.said.length ? chosen.said.join('; ') : own && rec ? (chosen.recorded.length ? 'as recorded with the model' : 'the whole training split, as the model was trained') : own ? 'no training data recorded with the model: the whole training split' : 'other data than the model\'s';
  return {
    dataset: d.name,
    ...c,
    settings,
    ...(own && rec ? { record: rec.from } : {}),
    recorded: chosen.recorded,
    overridden: chosen.overridden,
    line: `data: ${d.name}, ${c.train} train / ${c.val} val / ${c.test} test rows${settings ? ` (${settings})` : ''}, ${whence}`,
  };
}

/**
 * Refuses a split of the model's own data whose validation or test rows include rows the source
 * model was trained on (new user 10b: `finetune --test-fraction 0.5` put 24 of the model's training
 * rows in the new test split and said "as the model was trained"). Both splits are deterministic
 * from their settings (stratifiedSplit with the split seed), so the recorded split is prepared
 * again and the overlap counted from the actual row indices: `chosen` (after any class selection)
 * against the recorded training rows. No check on other data than the model's, without a record,
 * or when the split equals the recorded one. A separate test file (its own rows) is not compared.
 * Throws `invalid_config` naming the first changed setting's flag, the overlapping row count and
 * the fix.
 */
export async function checkNoLeak(spec: DatasetSpec, rec: ModelRecord | undefined, own: boolean, split: SplitSpec, chosen: Pick<PreparedData, 'train' | 'val' | 'test'>, stage: string): Promise<void> {
  if (!own || !rec) return;
  const r = rec.split;
  const keys = ['valFraction', 'testFraction', 'seed', 'trainPerClass', 'valPerClass'] as const;
  const dflt = { valFraction: 0.1, testFraction: 0.2, seed: 0, trainPerClass: undefined, valPerClass: undefined } as const;
  const changed = keys.filter((k) => (split[k] ?? dflt[k]) !== (r[k] ?? dflt[k]));
  if (changed.length === 0) return;
  const { prepareData } = await import('../data/prepare.js');
  const recorded = await prepareData(spec, r);
  const trained = new Set(recorded.train.indices);
  const count = (s: Pick<PreparedData, 'train'>['train']) => (s.data === chosen.train.data || s.data.x === chosen.train.data.x ? s.indices.filter((i) => trained.has(i)).length : 0);
  const inVal = count(chosen.val);
  const inTest = count(chosen.test);
  if (inVal + inTest === 0) return;
  const flag = { valFraction: '--val-fraction', testFraction: '--test-fraction', seed: 'split_seed', trainPerClass: '--train-per-class', valPerClass: '--val-per-class' } as const;
  const where = [inTest ? `${inTest} of its ${chosen.test.indices.length} test rows` : '', inVal ? `${inVal} of its ${chosen.val.indices.length} validation rows` : ''].filter(Boolean).join(' and ');
  throw new NasError('invalid_config', `${changed.map((k) => flag[k]).join(', ')}: this split differs from the one recorded with the model (${splitPhrase(r) || 'the default split'}, ${rec.from}), and ${where} are rows the model was trained on; ${stage} would measure on its own training data`, {
    field: flag[changed[0]!],
    hint: `use the recorded split (drop ${changed.map((k) => flag[k]).join(', ')}), or give other data with a separate test file`,
  });
}

/**
 * The dataset of an after-search stage given only file flags (`--path`, `--data-dir`, `--label`,
 * `--header` without `--dataset`): `withFiles` applied to the model's recorded dataset, as tsnas
 * train takes the record's dataset kind. Undefined without `withFiles`; `invalid_config` (field
 * dataset) when the model records no dataset.
 */
export function recordedWithFiles(recorded: DatasetSpec | undefined, withFiles: ((r: DatasetSpec) => DatasetSpec) | undefined, model: string): DatasetSpec | undefined {
  if (!withFiles) return undefined;
  if (!recorded) throw new NasError('invalid_config', `the model ${model} records no dataset to read the given files as`, { field: 'dataset', hint: 'give --dataset too (e.g. --dataset csv --path FILE.csv)' });
  return withFiles(recorded);
}

/**
 * The held-out rows of a stage after a search (tsnas ensemble) against the study's split: the
 * stage's test rows must be none of the rows the search trained or selected on (the study's
 * training and validation rows), and its training rows none of the study's test rows, so the
 * stage's test accuracy is measured on rows no part of the search or its own training saw (as
 * checkNoLeak does for finetune/compress of a model). The study's split is prepared again (both are
 * deterministic from their settings) and the rows compared by index; a separate test file (its own
 * rows) needs no comparison. Throws `invalid_config` (field study) with the counts.
 */
export async function checkHeldOut(spec: DatasetSpec, studySplit: SplitSpec, from: string, chosen: Pick<PreparedData, 'train' | 'val' | 'test'>, stage: string): Promise<void> {
  if (chosen.test.data !== chosen.train.data && chosen.test.data.x !== chosen.train.data.x) return;
  const { prepareData } = await import('../data/prepare.js');
  const study = await prepareData(spec, studySplit);
  const searched = new Set([...study.train.indices, ...study.val.indices]);
  const tested = new Set(study.test.indices);
  const inTest = chosen.test.indices.filter((i) => searched.has(i)).length;
  const inTrain = [...chosen.train.indices, ...chosen.val.indices].filter((i) => tested.has(i)).length;
  if (inTest + inTrain === 0) return;
  const where = [
    inTest ? `${inTest} of its ${chosen.test.indices.length} test rows are rows the search trained or selected on` : '',
    inTrain ? `${inTrain} of the rows it trains on are the study's test rows` : '',
  ].filter(Boolean).join(', and ');
  throw new NasError('invalid_config', `${stage}'s split differs from ${from}'s (${splitPhrase(studySplit) || 'the default split'}): ${where}; its test accuracy would not be on held-out rows`, {
    field: 'study',
    hint: 'keep the study\'s split settings (split_seed, test_fraction) for the ensemble, or re-run the search with the split wanted',
  });
}
