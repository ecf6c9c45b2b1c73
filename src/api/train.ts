/**
 * `train`: one architecture (a JSON file or value) trained on a dataset, with the same options as
 * the `train` evaluator of study configs. Returns metrics (validation and test) and costs.
 * `trainRepeated`: the same training once per seed, with mean ± std over the seeds.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NasError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { checkArchBeforeData, trainArchitecture, type TrainResult } from '../eval/train.js';
import type { Metrics } from '../eval/types.js';
import { summarizeRuns, type Stat } from './repeat.js';
import type { Augmentation } from '../data/augment.js';
import { BUILD_OPTION_KEYS, DATA_OPTION_KEYS, TRAINING_OPTION_KEYS, augmentPhrase, buildPhrase, readArchRecord, splitCounts, splitPhrase, type ModelRecord, type TrainData } from './model-record.js';
import { analyzeArch } from '../nn/build/index.js';
import { parseTrainOptions } from './train-evaluator.js';
import { Issues } from './validate.js';
import { readArchPath } from './arch-source.js';

export interface TrainInput {
  /** Path of a JSON file, or the architecture itself (NetworkArch or {arch, hparams}). */
  readonly arch: string | unknown;
  /** The train evaluator's options: { dataset, data_dir, path, epochs, train_per_class, threads, latency, hparams, ... }. */
  readonly options: JsonObject;
  readonly seed?: number;
  readonly signal?: AbortSignal;
  /** Progress bar / lines on stderr. */
  readonly progress?: boolean;
  readonly baseDir?: string;
  /**
   * An architecture path with a `metrics.json` beside it (tsnas export): its recorded builder
   * options (nb201/darts) and data settings (dataset, files, subsets, fractions, split seed) fill
   * in every option `options` does not give (default true); false ignores the record.
   */
  readonly useRecord?: boolean;
  /**
   * The record to use instead of reading one beside the path: e.g. for an architecture taken from a
   * study's trial, `recordOfEvaluator(study.evaluator, 'study NAME', trial.metrics.params)`, so it is
   * built with that study's builder options and data settings as an export of it would be.
   */
  readonly record?: ModelRecord;
  /**
   * Where an architecture given as a value came from, for messages: e.g. `study s trial 3`
   * (archOfStudy's name). Said when neither the options nor a record give a dataset.
   */
  readonly from?: { readonly name: string; readonly evaluator?: unknown };
}

export type { TrainData } from './model-record.js';

export interface TrainSummary {
  readonly status: 'complete' | 'pruned' | 'failed';
  readonly metrics: Metrics;
  readonly costs: Metrics;
  readonly epochs: number;
  readonly seconds: number;
  readonly error?: string;
  /** Test-split confusion matrix, `confusion[true][predicted]`. */
  readonly confusion?: readonly (readonly number[])[];
  /** The label of each class index (CSV data: the file's label values), as the confusion matrix and weights use them. */
  readonly classes?: readonly string[];
  /** What loading the data decided (header detection, label mapping). */
  readonly dataNotes?: readonly string[];
  /** The data and settings used (counts per split; which came from the exported model's record). */
  readonly data?: TrainData;
  /** Things the user should not take silently (e.g. a network of another size than the record's). */
  readonly warnings?: readonly string[];
}

const COST_KEYS = ['params', 'flops', 'macs', 'memory_bytes', 'latency_ms', 'latency_batch_ms', 'latency_threads'];

/** The architecture JSON at `path`, a file or an export directory (readArchPath, the one resolver). */
export function readArchFile(path: string): unknown {
  return readArchPath(path).json;
}

export function summarize(r: TrainResult, data?: Pick<PreparedData, 'classNames' | 'notes'>, used?: { data?: TrainData; warnings?: readonly string[] }): TrainSummary {
  const o = r.outcome;
  const all: Record<string, number> = o.status === 'failed' ? {} : { ...o.metrics };
  const costs = Object.fromEntries(Object.entries(all).filter(([k]) => COST_KEYS.includes(k)));
  const metrics = Object.fromEntries(Object.entries(all).filter(([k]) => !COST_KEYS.includes(k)));
  return {
    status: o.status,
    metrics,
    costs,
    epochs: r.epochs,
    seconds: r.seconds,
    ...(o.status === 'failed' ? { error: `${o.reason}: ${o.message}` } : {}),
    ...(r.test?.confusion ? { confusion: r.test.confusion } : {}),
    ...(data?.classNames ? { classes: data.classNames } : {}),
    ...(data?.notes?.length ? { dataNotes: data.notes } : {}),
    ...(used?.data ? { data: used.data } : {}),
    ...(used?.warnings?.length ? { warnings: used.warnings } : {}),
  };
}

/**
 * The options a training of `archPath` uses: the caller's, with the record beside the architecture
 * (readArchRecord) filling in the builder options and the training settings (epochs, hparams)
 * always and the data settings when the caller names no dataset or the same one. Returns which were taken and which the caller changed.
 */
export function withRecord(options: JsonObject, rec: ModelRecord | undefined): { options: JsonObject; recorded: string[]; overridden: string[]; augment?: Augmentation } {
  if (!rec) return { options, recorded: [], overridden: [] };
  const out: Record<string, unknown> = { ...options };
  const recorded: string[] = [];
  const overridden: string[] = [];
  const sameData = options['dataset'] === undefined || options['dataset'] === rec.options['dataset'];
  // The recorded training settings (epochs, the evaluator's hparams) are the defaults too (new user
  // 10b: `tsnas train winner/` trained the default 10 epochs, not the record's 2, and said nothing).
  const always: readonly string[] = [...BUILD_OPTION_KEYS, ...TRAINING_OPTION_KEYS];
  for (const k of [...DATA_OPTION_KEYS, ...BUILD_OPTION_KEYS, ...TRAINING_OPTION_KEYS]) {
    const r = rec.options[k];
    if (options[k] === undefined) {
      if (r !== undefined && (sameData || always.includes(k))) {
        out[k] = r;
        recorded.push(k);
      }
    } else if (JSON.stringify(options[k]) !== JSON.stringify(r)) overridden.push(k);
  }
  // The augmentation of its training batches (tsnas main's final training: hflip) on the same data;
  // on other data it is not reused (what suits the model's images need not suit other data).
  if (rec.augment && sameData) {
    recorded.push('augment');
    return { options: out as JsonObject, recorded, overridden, augment: rec.augment };
  }
  return { options: out as JsonObject, recorded, overridden };
}

/**
 * Why `input` has no dataset to train on, naming the source the user gave: a study's trial (its
 * study did not train: `evaluated by nb201, a table lookup`), an export or architecture file
 * (no metrics.json beside it, or one of a study that did not train), the record not read
 * (useRecord false, `--no-record`), or an architecture given as a value.
 */
function noDatasetWhy(input: TrainInput): string {
  const evaluatorOf = (e: unknown): string | undefined => {
    const n = (e as { name?: unknown } | null | undefined)?.name;
    return typeof n === 'string' ? n : undefined;
  };
  const notTrained = (ev: string | undefined): string => (ev === undefined ? 'records no evaluator' : `was evaluated by ${ev}, not by training on a dataset`);
  if (input.from !== undefined) return `the study of ${input.from.name} ${notTrained(evaluatorOf(input.from.evaluator))}, so it records no dataset`;
  if (typeof input.arch !== 'string') return 'the architecture (given as a value) comes with no record of one';
  if (input.useRecord === false) return `the record beside ${input.arch} is not read (--no-record)`;
  let dir: string;
  try {
    dir = statSync(input.arch).isDirectory() ? input.arch : dirname(input.arch);
  } catch {
    return `${input.arch} has no metrics.json beside it recording one`;
  }
  const file = join(dir, 'metrics.json');
  if (!existsSync(file)) return `${input.arch} has no metrics.json beside it recording one, as an export has`;
  let ev: string | undefined;
  try {
    ev = evaluatorOf((JSON.parse(readFileSync(file, 'utf8')) as { evaluator?: unknown }).evaluator);
  } catch {
    ev = undefined;
  }
  return `${file} records none: its study ${notTrained(ev)}`;
}

/** Trains one architecture; bad options/files throw before training, a failing candidate is reported. */
export async function train(input: TrainInput): Promise<TrainSummary> {
  return (await trainer(input)).run(input.seed ?? 0, input.progress ?? false);
}

/**
 * Checks options and architecture (throwing on bad input), loads and splits the data once, and
 * returns a function training with a given seed. The seed fixes weight init, batch order and
 * augmentation; the split is fixed by the options' `split_seed` (default 0) whatever the seed.
 */
async function trainer(input: TrainInput): Promise<{ run: (seed: number, progress: boolean) => Promise<TrainSummary> }> {
  const baseDir = input.baseDir ?? process.cwd();
  // Options and architecture are checked in full before any data is loaded; every problem found
  // is reported at once (exit 2), each naming its field.
  const I = new Issues();
  // An exported winner: its recorded builder options and data settings (metrics.json beside it).
  const rec = input.useRecord === false ? undefined : (input.record ?? (typeof input.arch === 'string' ? I.take(() => readArchRecord(input.arch as string), undefined) : undefined));
  const { options, recorded, overridden, augment } = withRecord(input.options, rec);
  if (options['dataset'] === undefined)
    I.take(() => {
      throw new NasError('invalid_config', `no dataset given, and ${noDatasetWhy(input)}`, { field: 'dataset', hint: 'give --dataset (e.g. digits, fashion_mnist, or csv --path FILE.csv)' });
    }, undefined);
  const o = options['dataset'] === undefined ? undefined : I.take(() => parseTrainOptions(options, baseDir).eval, undefined);
  if (o?.cvFolds !== undefined)
    I.take(() => {
      throw new NasError('invalid_config', 'cv_folds applies to searches (the train evaluator of a study), not to training one architecture', {
        field: 'cv_folds',
        hint: 'remove cv_folds; tsnas train reports validation and test metrics of one training (use --seeds for a spread)',
      });
    }, undefined);
  const arch = I.take(() => {
    // A path: a file or an export directory (readArchPath), named in the architecture's errors.
    const read = typeof input.arch === 'string' ? readArchPath(input.arch) : undefined;
    return checkArchBeforeData(read ? read.json : input.arch, o?.dataset, o ?? {}, read?.file);
  }, undefined);
  I.throwIfAny('the training input');
  if (o === undefined || arch === undefined) throw new NasError('internal', 'unreachable: checks passed without a value');
  const data: PreparedData = await prepareData(o.dataset, o.split ?? {});
  // The network built must be the one recorded: same params, unless the caller changed its data or builder options.
  const warnings: string[] = [];
  const network = 'hparams' in arch ? arch.arch : arch;
  const built = analyzeArch(network, { shape: data.shape, numClasses: data.numClasses }, { ...(o.nb201 ? { nb201: o.nb201 } : {}), ...(o.darts ? { darts: o.darts } : {}) }).params;
  if (rec?.params !== undefined && built !== rec.params) {
    const changed = overridden.filter((k) => k !== 'latency' && !(TRAINING_OPTION_KEYS as readonly string[]).includes(k));
    const msg = `the network built has ${built} parameters, but ${rec.from} records ${rec.params}${buildPhrase(o) ? ` (built with ${buildPhrase(o)})` : ' (built with the default builder options)'}`;
    if (changed.length === 0)
      throw new NasError('shape_mismatch', msg, { field: 'arch', hint: `the record's evaluator options do not rebuild the trained network; give the builder options it was searched with (e.g. --nb201-width/--nb201-cells), or --no-record to train the architecture as given` });
    warnings.push(`${msg}: expected, as ${changed.join(', ')} differ from the record`);
  }
  // Weights retrained after the search (tsnas main) on another split: a training anew takes the search's, said.
  if (rec?.final && !overridden.some((k) => (DATA_OPTION_KEYS as readonly string[]).includes(k)))
    warnings.push(`the recorded weights were retrained on ${splitPhrase(rec.final.split) || 'the default split'} (${rec.from}); this training keeps the search's validation split (${splitPhrase(o.split ?? {}) || 'the default split'}) to report validation metrics`);
  const counts = splitCounts(data);
  const used: TrainData = {
    dataset: data.name,
    ...counts,
    ...(rec ? { record: rec.from } : {}),
    recorded,
    overridden,
    settings: [splitPhrase(o.split ?? {}), buildPhrase(o), augment ? `augmentation ${augmentPhrase(augment)}` : ''].filter(Boolean).join('; '),
  };
  // Latency is measured unless the options turn it off (parseTrainOptions drops `latency: false`).
  const latency = options['latency'] === undefined ? true : (o.latency ?? false);
  return {
    run: async (seed, progress) =>
      summarize(
        await trainArchitecture(arch, data, {
          ...o,
          ...(augment ? { augment } : {}),
          seed,
          progress,
          latency,
          ...(input.signal ? { signal: input.signal } : {}),
        }),
        data,
        { data: used, warnings },
      ),
  };
}

export interface SeedTrain extends TrainSummary {
  readonly seed: number;
}

export interface RepeatedTrain {
  readonly seeds: readonly number[];
  /** One per seed run, in seed order; failed seeds included (with `error`). */
  readonly runs: readonly SeedTrain[];
  /** Seeds that did not complete; they are left out of `summary`. */
  readonly failed: number;
  /** True when the signal stopped the runs; the seeds after the stopped one are not in `runs`. */
  readonly aborted: boolean;
  /** Over the complete runs: every metric (val_*, test_*, train_loss, train_seconds, ...) and cost. */
  readonly summary: Record<string, Stat>;
}

/**
 * Trains the architecture once per seed on the same data split; per-seed results and
 * mean ± sample std over the seeds that completed. Bad input throws before any training.
 */
export async function trainRepeated(input: TrainInput, seeds: readonly number[]): Promise<RepeatedTrain> {
  if (seeds.length === 0) throw new NasError('invalid_config', 'no seeds given', { field: 'seeds', hint: 'e.g. --seeds 0,1,2' });
  const t = await trainer(input);
  const runs: SeedTrain[] = [];
  let aborted = false;
  for (const [i, seed] of seeds.entries()) {
    if (input.signal?.aborted) {
      aborted = true;
      break;
    }
    if (input.progress) process.stderr.write(`seed ${seed} (${i + 1}/${seeds.length})\n`);
    runs.push({ seed, ...(await t.run(seed, input.progress ?? false)) });
  }
  if (input.signal?.aborted) aborted = true;
  const ok = runs.filter((r) => r.status === 'complete');
  return {
    seeds: runs.map((r) => r.seed),
    runs,
    failed: runs.length - ok.length,
    aborted,
    summary: summarizeRuns(ok.map((r) => ({ ...r.metrics, ...r.costs }))),
  };
}
