/**
 * Compression as an API stage: prune, fine-tune and quantize a trained network, measured per stage
 * (src/compress/pipeline.ts). Three entry points:
 *   compressNetwork(module, data, opts)   a module in memory (e.g. tsnas main's retrained winner)
 *   compressModel({ dir }, opts)          a directory written by `tsnas export` (arch.json, weights.bin, metrics.json),
 *                                         `tsnas finetune`, or a compress float/pruned stage (model.json + weights.bin)
 *   compressModel({ study, storage }, opts)  a study's best trial with kept weights
 * The model's dataset comes from the study's `train` evaluator options (metrics.json's `evaluator`
 * for an exported directory) unless `opts.dataset` is given; fine-tuning and calibration use the
 * training split the model was trained on (its recorded train_per_class and fractions, model-record.ts;
 * `opts.trainPerClass` overrides, said in the data line and report.json), accuracy its test split, and the weights' own normalisation when the
 * weights file records one; a fine-tuned model's class selection (metrics.json `classes`) is applied.
 * Loading is shared with `tsnas finetune` (model-source.ts).
 */
import { NasError } from '../core/errors.js';
import { selectClasses } from '../data/classes.js';
import { prepareData, type DatasetSpec, type PreparedData } from '../data/prepare.js';
import { compressNetwork, type CompressOptions, type CompressResult } from '../compress/pipeline.js';
import { loadModel, type ModelSource } from './model-source.js';
import { checkNoLeak, modelDirFields, modelDirRecord, recordedWithFiles, stageAugment, stageData, stageSplit } from './model-record.js';
import type { JsonObject } from '../core/json.js';

export { compressNetwork, testAccuracy, batch1Latency, type CompressOptions, type CompressResult, type StageRow, type StageName } from '../compress/pipeline.js';
export { checkPruneSpec, type PruneSpec } from '../compress/prune.js';
export type { QuantMode } from '../compress/quantize.js';
export { quantizedEngines } from '../tensor/quantized.js';

export type CompressSource = ModelSource;

export interface CompressModelOptions extends CompressOptions {
  /** The data to fine-tune, calibrate and test on (default: the study's dataset). */
  readonly dataset?: DatasetSpec;
  /** Without `dataset`: the model's recorded dataset with other files (the file flags alone), as finetune and tsnas train. */
  readonly datasetFromRecord?: (recorded: DatasetSpec) => DatasetSpec;
  /** Seeds the validation split of the data (default: the model's recorded split seed, else 0). */
  readonly splitSeed?: number;
  /**
   * Training rows per class for fine-tuning and calibration (default: the model's recorded
   * `train_per_class`, so the stages are compared on the data the model was trained on); 'all' is
   * the whole training split. Said in the data line and report.json.
   */
  readonly trainPerClass?: number | 'all';
  /** Receives the data line (`data: ...`: rows used and why) before any training. */
  readonly onData?: (line: string) => void;
}

/**
 * Compresses an exported model directory or a study's best trial (see the file comment); writes
 * `opts.outDir` as compressNetwork does. Errors name the option (`model`, `study`, `dataset`,
 * `prune.*`, `quantize`, `calibration`, `out`) before any file is written.
 */
export async function compressModel(src: CompressSource, opts: CompressModelOptions = {}): Promise<CompressResult> {
  const m = await loadModel(src, opts.dataset);
  try {
    const given = opts.dataset ?? recordedWithFiles(m.dataset, opts.datasetFromRecord, m.name);
    const dataset = given ?? m.dataset;
    if (!dataset) throw new NasError('invalid_config', 'the model names no dataset', { field: 'dataset', hint: 'pass --dataset (e.g. fashion_mnist, digits)' });
    // The model's own data: the subset it was trained on (its record), unless a flag says otherwise.
    const own = given === undefined || (m.dataset !== undefined && JSON.stringify(given) === JSON.stringify(m.dataset));
    const chosen = stageSplit(m.record, own, { ...(opts.splitSeed !== undefined ? { splitSeed: opts.splitSeed } : {}), ...(opts.trainPerClass !== undefined ? { trainPerClass: opts.trainPerClass } : {}) });
    let data: PreparedData = await prepareData(dataset, chosen.split);
    // What loading decided (CSV header, label mapping, a class of one row), said once.
    for (const n of data.notes ?? []) opts.log?.(`data: ${n}`);
    if (m.classes) data = selectClasses(data, m.classes, 'model classes');
    if (m.normalization) data = { ...data, normalization: m.normalization };
    if (data.numClasses !== m.numClasses)
      throw new NasError('shape_mismatch', `the model has ${m.numClasses} outputs, ${data.name} has ${data.numClasses} classes`, { field: 'dataset', hint: 'compress with the dataset the model was trained on' });
    await checkNoLeak(dataset, m.record, own, chosen.split, data, 'compression');
    const used = stageData(data, m.record, own, chosen);
    (opts.onData ?? opts.log)?.(used.line);
    // The recorded augmentation of the model's training, in its fine-tuning on its own data (said either way).
    const aug = opts.augment !== undefined ? { augment: opts.augment } : stageAugment(m.record, own, data.shape, 'the fine-tuning (pruned stage, QAT)');
    if (aug.line && (opts.prune || opts.quantize === 'qat' || opts.maxDrop !== undefined)) (opts.onData ?? opts.log)?.(aug.line);
    // Each stage directory records what it was trained on: the float stage the model's own record,
    // a fine-tuned stage this compression's data and split (model-record.ts modelDirFields).
    const record = {
      model: modelDirFields(modelDirRecord(m.record, m.dataset, m.classes)),
      data: modelDirFields({ dataset, split: chosen.split, ...(m.classes ? { classes: m.classes } : {}), ...(aug.augment ? { augment: aug.augment } : {}) }),
      source: m.source,
    };
    return await compressNetwork(m.module, data, { name: m.name, ...opts, ...(aug.augment ? { augment: aug.augment } : {}), record, dataInfo: used as unknown as JsonObject });
  } finally {
    m.module.dispose();
  }
}
