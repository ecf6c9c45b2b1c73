/**
 * Compression as an API stage: prune, fine-tune and quantize a trained network, measured per stage
 * (src/compress/pipeline.ts). Three entry points:
 *   compressNetwork(module, data, opts)   a module in memory (e.g. tsnas main's retrained winner)
 *   compressModel({ dir }, opts)          a directory written by `tsnas export` (arch.json, weights.bin, metrics.json),
 *                                         `tsnas finetune`, or a compress float/pruned stage (model.json + weights.bin)
 *   compressModel({ study, storage }, opts)  a study's best trial with kept weights
 * The model's dataset comes from the study's `train` evaluator options (metrics.json's `evaluator`
 * for an exported directory) unless `opts.dataset` is given; fine-tuning and calibration use its
 * whole training split, accuracy its test split, and the weights' own normalisation when the
 * weights file records one; a fine-tuned model's class selection (metrics.json `classes`) is applied.
 * Loading is shared with `tsnas finetune` (model-source.ts).
 */
import { NasError } from '../core/errors.js';
import { selectClasses } from '../data/classes.js';
import { prepareData, type DatasetSpec, type PreparedData } from '../data/prepare.js';
import { compressNetwork, type CompressOptions, type CompressResult } from '../compress/pipeline.js';
import { loadModel, type ModelSource } from './model-source.js';

export { compressNetwork, testAccuracy, batch1Latency, type CompressOptions, type CompressResult, type StageRow, type StageName } from '../compress/pipeline.js';
export { checkPruneSpec, type PruneSpec } from '../compress/prune.js';
export type { QuantMode } from '../compress/quantize.js';
export { quantizedEngines } from '../tensor/quantized.js';

export type CompressSource = ModelSource;

export interface CompressModelOptions extends CompressOptions {
  /** The data to fine-tune, calibrate and test on (default: the study's dataset). */
  readonly dataset?: DatasetSpec;
  /** Seeds the validation split of the data (default 0). */
  readonly splitSeed?: number;
}

/**
 * Compresses an exported model directory or a study's best trial (see the file comment); writes
 * `opts.outDir` as compressNetwork does. Errors name the option (`model`, `study`, `dataset`,
 * `prune.*`, `quantize`, `calibration`, `out`) before any file is written.
 */
export async function compressModel(src: CompressSource, opts: CompressModelOptions = {}): Promise<CompressResult> {
  const m = await loadModel(src, opts.dataset);
  try {
    const dataset = opts.dataset ?? m.dataset;
    if (!dataset) throw new NasError('invalid_config', 'the model names no dataset', { field: 'dataset', hint: 'pass --dataset (e.g. fashion_mnist, digits)' });
    let data: PreparedData = await prepareData(dataset, { seed: opts.splitSeed ?? 0 });
    // What loading decided (CSV header, label mapping, a class of one row), said once.
    for (const n of data.notes ?? []) opts.log?.(`data: ${n}`);
    if (m.classes) data = selectClasses(data, m.classes, 'model classes');
    if (m.normalization) data = { ...data, normalization: m.normalization };
    if (data.numClasses !== m.numClasses)
      throw new NasError('shape_mismatch', `the model has ${m.numClasses} outputs, ${data.name} has ${data.numClasses} classes`, { field: 'dataset', hint: 'compress with the dataset the model was trained on' });
    return await compressNetwork(m.module, data, { name: m.name, ...opts });
  } finally {
    m.module.dispose();
  }
}
