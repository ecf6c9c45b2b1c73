/**
 * `train`: one architecture (a JSON file or value) trained on a dataset, with the same options as
 * the `train` evaluator of study configs. Returns metrics (validation and test) and costs.
 */
import { readFileSync } from 'node:fs';
import { NasError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { trainArchitecture, type TrainResult } from '../eval/train.js';
import type { Metrics } from '../eval/types.js';
import { parseTrainOptions } from './train-evaluator.js';

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
}

export interface TrainSummary {
  readonly status: 'complete' | 'pruned' | 'failed';
  readonly metrics: Metrics;
  readonly costs: Metrics;
  readonly epochs: number;
  readonly seconds: number;
  readonly error?: string;
  /** Test-split confusion matrix, `confusion[true][predicted]`. */
  readonly confusion?: readonly (readonly number[])[];
}

const COST_KEYS = ['params', 'flops', 'macs', 'memory_bytes', 'latency_ms', 'latency_batch_ms'];

export function readArchFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new NasError('invalid_config', `cannot read architecture file ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      field: 'arch',
      hint: 'give the path of an architecture JSON file (e.g. arch.json from tsnas export)',
    });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new NasError('invalid_arch', `${path} is not valid JSON: ${(e as Error).message}`, { field: 'arch' });
  }
}

export function summarize(r: TrainResult): TrainSummary {
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
  };
}

/** Trains one architecture; bad options/files throw before training, a failing candidate is reported. */
export async function train(input: TrainInput): Promise<TrainSummary> {
  const baseDir = input.baseDir ?? process.cwd();
  const { eval: o } = parseTrainOptions(input.options, baseDir);
  const arch = typeof input.arch === 'string' ? readArchFile(input.arch) : input.arch;
  const r = await trainArchitecture(arch, { dataset: o.dataset, ...(o.split ? { split: o.split } : {}) }, {
    ...o,
    seed: input.seed ?? 0,
    progress: input.progress ?? false,
    latency: o.latency ?? true,
    ...(input.signal ? { signal: input.signal } : {}),
  });
  return summarize(r);
}
