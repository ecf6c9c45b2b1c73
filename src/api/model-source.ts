/**
 * Loading a trained model for the after-search stages (compress, finetune), from:
 *   { dir }                 a directory written by `tsnas export` (arch.json + weights.bin + metrics.json),
 *                           or by `tsnas finetune` / a `tsnas compress` float or pruned stage
 *                           (model.json = compression graph + weights.bin [+ metrics.json])
 *   { study, storage, trial? }  a study's best trial, or trial N, with kept weights (trialOfStudy,
 *                           the resolver of train's --study/--trial; the weights file is found
 *                           after the study's folder moved, resolveArtifact)
 * The result is a float module with its per-sample input shape and class count, the normalisation
 * its weights were trained with (when the weights file records one), and what is known of its
 * data (the dataset spec and, after a transfer, the class selection).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { JointArch, NetworkArch } from '../core/arch.js';
import { NasError, isNasError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { Normalization } from '../data/normalize.js';
import { prepareData, type DatasetSpec } from '../data/prepare.js';
import { checkArchBeforeData, checkArchJson } from '../eval/train.js';
import { buildNetwork, type DartsOptions, type Nb201Options } from '../nn/build/index.js';
import type { Module } from '../nn/module.js';
import { decodeStateDict, loadModule } from '../nn/state.js';
import { Generator, type Tensor } from '../tensor/index.js';
import type { Graph } from '../compress/graph.js';
import { GraphNet } from '../compress/graphnet.js';
import { resolveArtifact } from './artifacts.js';
import { recordOfEvaluator, recordOfSplit, type ModelRecord } from './model-record.js';
import { readArchPath, trialOfStudy } from './arch-source.js';

export type ModelSource = { readonly dir: string } | { readonly study: string; readonly storage: string; readonly trial?: number };

export interface LoadedModel {
  /** The float network (owned by the caller: dispose()). */
  readonly module: Module<[Tensor], Tensor>;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly normalization?: Normalization;
  /** The data the model was trained on, when recorded (the `train` evaluator's, or a finetune's). */
  readonly dataset?: DatasetSpec;
  /**
   * What was recorded of its training (model-record.ts): the data subset (`split`: train_per_class,
   * fractions, split seed) and builder options, so later stages use the same data by default.
   */
  readonly record?: ModelRecord;
  /** After a transfer: the dataset classes the model's outputs stand for (output j = class classes[j]). */
  readonly classes?: readonly number[];
  readonly name: string;
  /** Where it came from (for provenance in written metrics). */
  readonly source: JsonObject;
}

export function normalizationOf(v: unknown): Normalization | undefined {
  const n = v as Partial<Normalization> | undefined;
  const nums = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((e) => typeof e === 'number' && Number.isFinite(e));
  if (!n || typeof n.scale !== 'number' || !nums(n.mean) || !nums(n.std) || n.mean.length !== n.std.length) return undefined;
  return { scale: n.scale, mean: n.mean, std: n.std };
}

const ints = (v: unknown): number[] | undefined => (Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x > 0) ? (v as number[]) : undefined);

function readJson(p: string, field: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new NasError('data_error', `cannot read ${p}: ${(e as Error).message}`, { field, hint: 'give a directory written by tsnas export, tsnas finetune or tsnas compress' });
  }
}

/** The evaluator's dataset, subset settings and builder options (model-record.ts, the one loader; {} when not a train evaluator). */
function trainInfo(evaluator: unknown, from: string, params?: unknown, final?: unknown): { dataset?: DatasetSpec; nb201?: Nb201Options; darts?: DartsOptions; record?: ModelRecord } {
  const r = recordOfEvaluator(evaluator, from, params, final);
  return r ? { dataset: r.dataset, ...(r.nb201 ? { nb201: r.nb201 } : {}), ...(r.darts ? { darts: r.darts } : {}), record: r } : {};
}

async function archModel(aj0: unknown, weightsPath: string, info: { metrics?: Record<string, unknown>; evaluator?: unknown; from: string; params?: unknown; final?: unknown; file?: string }, name: string, source: JsonObject, datasetOverride?: DatasetSpec): Promise<LoadedModel> {
  const aj: NetworkArch | JointArch = checkArchJson(aj0, info.file);
  const arch = 'hparams' in aj ? aj.arch : aj;
  const t = trainInfo(info.evaluator, info.from, info.params, info.final);
  const onnx = info.metrics?.['onnx'] as { input_shape?: unknown[]; output_shape?: unknown[] } | null | undefined;
  let inputShape = ints(info.metrics?.['input_shape']) ?? ints(onnx?.input_shape?.slice(1));
  let numClasses = (info.metrics?.['num_classes'] as number | undefined) ?? (typeof onnx?.output_shape?.[1] === 'number' ? (onnx.output_shape[1] as number) : undefined);
  const dataset = t.dataset ?? datasetOverride;
  if (!inputShape || !numClasses) {
    if (!dataset) throw new NasError('invalid_config', `the model in ${name} records neither its input shape nor its dataset`, { field: 'dataset', hint: 'pass --dataset with the data the model was trained on' });
    // The architecture is checked on the dataset's known input before the data is loaded.
    checkArchBeforeData(aj, dataset, { ...(t.nb201 ? { nb201: t.nb201 } : {}), ...(t.darts ? { darts: t.darts } : {}) });
    const d = await prepareData(dataset);
    inputShape = [...d.shape];
    numClasses = d.numClasses;
  }
  const { module } = buildNetwork(arch, { shape: inputShape, numClasses }, { gen: new Generator(0), ...(t.nb201 ? { nb201: t.nb201 } : {}), ...(t.darts ? { darts: t.darts } : {}) });
  let meta: Record<string, unknown>;
  try {
    meta = loadModule(weightsPath, module);
  } catch (e) {
    module.dispose();
    if (!isNasError(e, 'shape_mismatch')) throw e;
    throw new NasError('shape_mismatch', `the weights ${weightsPath} do not fit the architecture for [${inputShape.join(', ')}] -> ${numClasses} classes: ${e.message}`, { field: 'dataset', hint: 'use the dataset the model was trained on', cause: e });
  }
  const norm = normalizationOf(meta['normalization']);
  return { module, inputShape, numClasses, ...(norm ? { normalization: norm } : {}), ...(t.dataset ? { dataset: t.dataset } : {}), ...(t.record ? { record: t.record } : {}), name, source };
}

/** `was evaluated by nb201, not trained` for a study evaluator that trains no network (so keeps no weights); undefined for the train evaluator or none recorded. */
function notTrainedBy(evaluator: unknown): string | undefined {
  const n = (evaluator as { name?: unknown } | null | undefined)?.name;
  return typeof n === 'string' && n !== 'train' ? `was evaluated by ${n}, not by training networks` : undefined;
}

/**
 * Loads a model (see the file comment). `datasetOverride` is only used to learn the input shape of
 * an exported architecture whose metrics record neither the shape nor a dataset. Errors: not_found
 * naming `model` / `study` / `trial`, shape_mismatch naming `dataset` when the weights do not fit;
 * `command` (compress, finetune) is named in the hint refusing a one-shot study's supernet trial.
 */
export async function loadModel(src: ModelSource, datasetOverride?: DatasetSpec, command: 'compress' | 'finetune' = 'compress'): Promise<LoadedModel> {
  if ('dir' in src) {
    // The directory's arch.json (or model.json) given as a file: its directory, as tsnas train takes both.
    const given = resolve(src.dir);
    const dir = /\.json$/i.test(given) && existsSync(given) && statSync(given).isFile() ? dirname(given) : given;
    const name = dir.split('/').pop() || 'model';
    if (!existsSync(dir)) throw new NasError('not_found', `${dir} does not exist`, { field: 'model', hint: 'give a directory written by tsnas export, tsnas finetune or tsnas compress' });
    const weightsPath = join(dir, 'weights.bin');
    const metrics = existsSync(join(dir, 'metrics.json')) ? readJson(join(dir, 'metrics.json'), 'model') : undefined;
    if (!existsSync(weightsPath)) {
      // An export of a study that trained nothing (a table lookup) has no weights to keep: said so.
      const untrained = notTrainedBy(metrics?.['evaluator']);
      throw new NasError('not_found', `${weightsPath} does not exist${untrained ? `: ${join(dir, 'metrics.json')} records a study that ${untrained}` : ''}`, {
        field: 'model',
        hint: existsSync(join(dir, 'model.int8.bin'))
          ? 'give the float or pruned stage directory, not the int8 one'
          : untrained
            ? 'a trained network is needed: export a study searched with the train evaluator (its trials keep their weights)'
            : 'the model has no trained weights: export a study whose trials kept weights',
      });
    }
    const source: JsonObject = { dir };
    if (existsSync(join(dir, 'model.json'))) {
      const g = readJson(join(dir, 'model.json'), 'model') as unknown as Graph;
      if (g.format !== 'tsnas-compress-graph') throw new NasError('data_error', `${join(dir, 'model.json')} is not a compression graph`, { field: 'model' });
      const { tensors, meta } = decodeStateDict(readFileSync(weightsPath), weightsPath);
      try {
        const module = new GraphNet(g, tensors);
        const norm = normalizationOf(meta['normalization']);
        const dataset = metrics?.['dataset'] as DatasetSpec | undefined;
        const c = metrics?.['classes'];
        const classes = Array.isArray(c) && c.length > 0 && c.every((x) => Number.isInteger(x) && x >= 0) ? (c as number[]) : undefined;
        // A finetune's model and a compress stage record the split they trained on (metrics.json
        // `split`) and their batches' augmentation (`augment`): later stages use them too (model-record.ts modelDirFields).
        const record = dataset ? recordOfSplit(metrics?.['split'], dataset, join(dir, 'metrics.json'), metrics?.['augment']) : undefined;
        return { module, inputShape: g.inputShape, numClasses: g.numClasses, ...(norm ? { normalization: norm } : {}), ...(dataset ? { dataset } : {}), ...(record ? { record } : {}), ...(classes ? { classes } : {}), name, source };
      } finally {
        for (const t of tensors.values()) t.dispose();
      }
    }
    const archPath = join(dir, 'arch.json');
    if (!existsSync(archPath)) throw new NasError('not_found', `${dir} has neither arch.json nor model.json`, { field: 'model', hint: 'give a directory written by tsnas export, tsnas finetune or tsnas compress' });
    const costs = metrics?.['costs'] as { params?: unknown } | undefined;
    // Read by the resolver of every command that takes an architecture; its errors name the file.
    const read = readArchPath(archPath, 'model');
    return archModel(read.json, weightsPath, { ...(metrics ? { metrics, evaluator: metrics['evaluator'], params: costs?.params, final: metrics['final_record'] } : {}), from: join(dir, 'metrics.json'), file: read.file }, name, source, datasetOverride);
  }
  const { study: rec, trial: best } = await trialOfStudy(src, command);
  const w = best.userAttrs['weights_path'];
  const found = typeof w === 'string' ? resolveArtifact(src.storage, rec, w) : undefined;
  if (!found?.found) {
    const which = `trial ${best.number} of study ${src.study}`;
    if (best.state !== 'complete')
      throw new NasError('not_found', `${which} is ${best.state}, not complete: it has no trained weights`, { field: 'trial', hint: `give a complete trial (tsnas trials --study ${src.study} --state complete), or leave out --trial for the best` });
    if (found && !found.found)
      throw new NasError('not_found', `${which}'s weights file is missing (looked in ${found.tried.join(' and ')})`, { field: 'study', hint: 'if the study folder was moved, keep <db>.artifacts/ beside the database' });
    const untrained = notTrainedBy(rec.evaluator);
    if (untrained) throw new NasError('not_found', `${which} has no trained weights: the study ${untrained}`, { field: 'study', hint: 'a trained network is needed: use a study searched with the train evaluator (its trials keep their weights)' });
    throw new NasError('not_found', `${which} kept no weights`, { field: 'study', hint: 'use a study trained with keep_weights (the train evaluator keeps them by default)' });
  }
  return archModel(best.arch, found.path, { evaluator: rec.evaluator, from: `study ${src.study}`, params: best.metrics?.['params'], final: best.userAttrs['final_record'] }, `${src.study}-trial-${best.number}`, { study: src.study, storage: src.storage, trial: best.number }, datasetOverride);
}
