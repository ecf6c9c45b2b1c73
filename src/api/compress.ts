/**
 * Compression as an API stage: prune, fine-tune and quantize a trained network, measured per stage
 * (src/compress/pipeline.ts). Three entry points:
 *   compressNetwork(module, data, opts)   a module in memory (e.g. tsnas main's retrained winner)
 *   compressModel({ dir }, opts)          a directory written by `tsnas export` (arch.json, weights.bin, metrics.json)
 *   compressModel({ study, storage }, opts)  a study's best trial with kept weights
 * The model's dataset comes from the study's `train` evaluator options (metrics.json's `evaluator`
 * for an exported directory) unless `opts.dataset` is given; fine-tuning and calibration use its
 * whole training split, accuracy its test split, and the weights' own normalisation when the
 * weights file records one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { JointArch, NetworkArch } from '../core/arch.js';
import { NasError, isNasError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { Normalization } from '../data/normalize.js';
import { prepareData, type DatasetSpec, type PreparedData } from '../data/prepare.js';
import { checkArchJson } from '../eval/train.js';
import { buildNetwork, type DartsOptions, type Nb201Options } from '../nn/build/index.js';
import { loadModule } from '../nn/state.js';
import { Generator } from '../tensor/index.js';
import { compressNetwork, type CompressOptions, type CompressResult } from '../compress/pipeline.js';
import { bestTrial } from './results.js';
import { parseTrainOptions } from './train-evaluator.js';

export { compressNetwork, testAccuracy, batch1Latency, type CompressOptions, type CompressResult, type StageRow, type StageName } from '../compress/pipeline.js';
export { checkPruneSpec, type PruneSpec } from '../compress/prune.js';
export type { QuantMode } from '../compress/quantize.js';
export { quantizedEngines } from '../tensor/quantized.js';

export type CompressSource = { readonly dir: string } | { readonly study: string; readonly storage: string };

export interface CompressModelOptions extends CompressOptions {
  /** The data to fine-tune, calibrate and test on (default: the study's dataset). */
  readonly dataset?: DatasetSpec;
  /** Seeds the validation split of the data (default 0). */
  readonly splitSeed?: number;
}

function normalizationOf(v: unknown): Normalization | undefined {
  const n = v as Partial<Normalization> | undefined;
  const nums = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((e) => typeof e === 'number' && Number.isFinite(e));
  if (!n || typeof n.scale !== 'number' || !nums(n.mean) || !nums(n.std) || n.mean.length !== n.std.length) return undefined;
  return { scale: n.scale, mean: n.mean, std: n.std };
}

interface Resolved {
  arch: NetworkArch;
  weightsPath: string;
  evaluator: JsonObject | undefined;
  name: string;
}

async function resolveSource(src: CompressSource): Promise<Resolved> {
  if ('dir' in src) {
    const dir = resolve(src.dir);
    const need = (f: string, hint: string) => {
      const p = join(dir, f);
      if (!existsSync(p)) throw new NasError('not_found', `${p} does not exist`, { field: 'model', hint });
      return p;
    };
    const archPath = need('arch.json', 'give a directory written by tsnas export');
    const weightsPath = need('weights.bin', 'the model has no trained weights: export a study whose trials kept weights');
    const aj: NetworkArch | JointArch = checkArchJson(JSON.parse(readFileSync(archPath, 'utf8')));
    let evaluator: JsonObject | undefined;
    const mp = join(dir, 'metrics.json');
    if (existsSync(mp)) {
      const m = JSON.parse(readFileSync(mp, 'utf8')) as { evaluator?: { name?: string; options?: JsonObject } };
      if (m.evaluator?.name === 'train') evaluator = m.evaluator.options;
    }
    return { arch: 'hparams' in aj ? aj.arch : aj, weightsPath, evaluator, name: dir.split('/').pop() || 'model' };
  }
  const { study: rec, best } = await bestTrial(src.storage, src.study);
  if (!best) throw new NasError('not_found', `study ${src.study} has no complete trial`, { field: 'study', hint: 'run the search first' });
  const w = best.userAttrs['weights_path'];
  if (typeof w !== 'string' || !existsSync(w))
    throw new NasError('not_found', `trial ${best.number} of study ${src.study} kept no weights`, { field: 'study', hint: 'compress a study trained with keep_weights (the train evaluator keeps them by default)' });
  const aj: NetworkArch | JointArch = checkArchJson(best.arch);
  return { arch: 'hparams' in aj ? aj.arch : aj, weightsPath: w, evaluator: rec.evaluator.name === 'train' ? rec.evaluator.options : undefined, name: `${src.study}-trial-${best.number}` };
}

/**
 * Compresses an exported model directory or a study's best trial (see the file comment); writes
 * `opts.outDir` as compressNetwork does. Errors name the option (`model`, `study`, `dataset`,
 * `prune.*`, `quantize`, `calibration`, `out`) before any file is written.
 */
export async function compressModel(src: CompressSource, opts: CompressModelOptions = {}): Promise<CompressResult> {
  const r = await resolveSource(src);
  let dataset = opts.dataset;
  let nb201: Nb201Options | undefined;
  let darts: DartsOptions | undefined;
  if (r.evaluator) {
    const { eval: ev } = parseTrainOptions(r.evaluator, process.cwd());
    dataset ??= ev.dataset;
    nb201 = ev.nb201;
    darts = ev.darts;
  }
  if (!dataset) throw new NasError('invalid_config', 'the model names no dataset', { field: 'dataset', hint: 'pass --dataset (e.g. fashion_mnist, digits)' });
  const data0 = await prepareData(dataset, { seed: opts.splitSeed ?? 0 });
  const { module } = buildNetwork(r.arch, { shape: data0.shape, numClasses: data0.numClasses }, { gen: new Generator(0), ...(nb201 ? { nb201 } : {}), ...(darts ? { darts } : {}) });
  try {
    let meta: Record<string, unknown>;
    try {
      meta = loadModule(r.weightsPath, module);
    } catch (e) {
      if (!isNasError(e, 'shape_mismatch')) throw e;
      throw new NasError('shape_mismatch', `the weights ${r.weightsPath} do not fit the architecture on ${data0.name}: ${e.message}`, { field: 'dataset', hint: 'compress with the dataset the model was trained on', cause: e });
    }
    const norm = normalizationOf(meta['normalization']);
    const data: PreparedData = norm ? { ...data0, normalization: norm } : data0;
    return await compressNetwork(module, data, { name: r.name, ...opts });
  } finally {
    module.dispose();
  }
}
