/**
 * The compression pipeline: a trained classifier -> float stage (the network as it is) -> pruned
 * stage (pruning + fine-tuning) -> int8 stage (post-training quantization of the pruned network,
 * or of the float one without pruning). Each stage is measured the same way: test accuracy on
 * the test split, parameters, FLOPs (analyze.ts conventions), the size in bytes of the stage's
 * model file, and the median and best batch-1 latency with 1 thread and with all threads (all
 * stages timed together at the end, in turns of LATENCY_BLOCK runs: interleavedLatencyStats).
 *
 * Files (when `outDir` is given): `<outDir>/<stage>/` with `model.json` (the compression graph)
 * and `weights.bin` (state dict) for float and pruned, `model.int8.bin` for int8, and `model.onnx`
 * for each (QDQ for int8); `<outDir>/report.json` with the rows. Every option, and the pruning
 * plan (a FLOPs target that cannot be reached), is checked before any stage runs; the whole output
 * directory is written under a temporary sibling name and renamed to `outDir` only when every stage
 * succeeded (outdir.ts), so a failed or impossible compression leaves no partial output.
 */
import { gzipSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { NasError, isNasError, storageError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { batches } from '../data/batch.js';
import { affine } from '../data/normalize.js';
import type { PreparedData } from '../data/prepare.js';
import type { Module } from '../nn/module.js';
import { encodeStateDict } from '../nn/state.js';
import { Generator, Tensor, getNumThreads, noGrad, setNumThreads, tidy } from '../tensor/index.js';
import { quantizedEngines, setQuantizedEngine, type QEngine } from '../tensor/quantized.js';
import { graphCost, type Graph } from './graph.js';
import { GraphNet } from './graphnet.js';
import { applyMasks, checkDistill, finetune, zeroMasks, type FinetuneOptions } from './finetune.js';
import { lowerModule } from './lower.js';
import { exportGraphOnnx, exportQuantizedOnnx } from './onnx.js';
import { checkPruneSpec, gradualSparsity, magnitudeMasks, planChannels, prunableWeights, pruneWeights, sparsityOf, type ChannelPlan, type PruneSpec } from './prune.js';
import { atomicDir, checkOutDir, type AtomicDir } from './outdir.js';
import type { JsonObject } from '../core/json.js';
import type { Augmentation } from '../data/augment.js';
import { calibrate, disposeFused, fuse, QuantizedNet, type FusedNet, type QuantMode, type WeightScheme } from './quantize.js';
import { QatNet, qatFreezeEpochs, qatSchedule } from './qat.js';
import type { QParams } from '../tensor/quantized.js';
import { encodeInt8 } from './int8file.js';
import { didYouMeanValue } from '../core/suggest.js';
import { QUANTIZE_SYNONYMS } from '../core/synonyms.js';

export type StageName = 'float' | 'pruned' | 'int8';

/** One row of the compression table (the bench's --json objects carry these fields). */
export interface StageRow {
  readonly model: string;
  readonly stage: StageName;
  /** Percent on the test split. */
  readonly test_acc: number;
  readonly params: number;
  /** Bytes of the stage's model file (weights.bin, or model.int8.bin). */
  readonly size_bytes: number;
  readonly flops: number;
  /**
   * Median ms of a batch-1 forward with all threads (the process default) set; with chooseThreads
   * (the default) the network runs with the count it measured fastest (`latency_threads`).
   */
  readonly latency_ms: number;
  /** With chooseThreads: the intra-op threads the all-threads batch-1 forward ran with (thread-choice.ts). */
  readonly latency_threads?: number;
  /** Median ms of a batch-1 forward with 1 thread. */
  readonly latency_1t_ms: number;
  /** Fastest of the timed batch-1 runs, all threads and 1 thread (less sensitive to other load on the machine). */
  readonly latency_min_ms: number;
  readonly latency_1t_min_ms: number;
  /** int8 stage: how it was quantized (`qat` also when static quantization fell back to QAT, see `maxDrop`). */
  readonly quant_mode?: QuantMode;
  /** int8 stage after a fallback: the post-training static network's test accuracy (percent), for comparison. */
  readonly ptq_test_acc?: number;
  /** Fraction of exactly-zero conv/linear weights (magnitude pruning), else absent. */
  readonly sparsity?: number;
  /**
   * Unstructured (magnitude) pruning only: parameters that are not exactly zero - `params` counts
   * the dense tensors, which keep their shapes - so the table shows what the sparsity removed.
   */
  readonly nonzero_params?: number;
  /**
   * Float stages (float, pruned): bytes of the stage's weights.bin compressed with gzip (node:zlib,
   * level 9) - what zeros of unstructured pruning save on disk or over the wire, as a sparse format
   * would; the int8 stage has none (its file is already packed).
   */
  readonly gzip_bytes?: number;
  /** The stage's directory when files were written. */
  readonly dir?: string;
}

/** A progress display for one long step (the CLI's Progress: bar on a TTY, plain lines with ETA otherwise). */
export interface StepProgress {
  update(done: number): void;
  finish(): void;
}

export interface CompressOptions {
  /** Name of the model in the rows (default `model`). */
  readonly name?: string;
  /** What data was used and why (model-record.ts StageData), kept in report.json and each stage's metrics.json as `data`. */
  readonly dataInfo?: JsonObject;
  /**
   * What each stage directory's metrics.json records for later stages (the fields of
   * model-record.ts modelDirFields: dataset, split, classes, augment), so a finetune or compress of
   * `OUT/float` or `OUT/pruned` uses the same rows and refuses a split that overlaps them:
   * `model` is what the given network was trained on (the float stage, and a stage made from
   * another without training: a pruned stage of 0 fine-tuning epochs, a static or dynamic int8
   * stage), `data` what this compression fine-tunes on (a pruned stage fine-tuned for 1 or more
   * epochs, a QAT int8 stage). Without it a stage records its row and no data (a later stage
   * then needs --dataset). `source` (where the model came from) is written as is.
   */
  readonly record?: { readonly model: JsonObject; readonly data: JsonObject; readonly source?: JsonObject };
  /** Augmentation of the fine-tuning batches (pruned stage, QAT): the recipe the network was trained with (model-record.ts stageAugment); none by default. */
  readonly augment?: Augmentation;
  /** Aborting stops the compression at the next stage boundary or fine-tuning batch: nothing is written (`aborted`, naming the stage). */
  readonly signal?: AbortSignal;
  /** Starts a progress display for a fine-tuning of `total` optimizer steps (with ETA); none by default. */
  readonly progress?: (label: string, total: number) => StepProgress;
  readonly prune?: PruneSpec;
  /**
   * int8 quantization; absent = no int8 stage. `static`: post-training, calibrated; `qat`:
   * quantization-aware fine-tuning for `finetuneEpochs` (qat.ts), converted to the same static int8
   * network; `dynamic`: int8 linear weights.
   */
  readonly quantize?: QuantMode;
  /**
   * With `static`: the largest validation-accuracy drop (points) post-training quantization may
   * cost; beyond it QAT is run and kept when its validation accuracy is higher. Absent = no fallback.
   */
  readonly maxDrop?: number;
  /** Learning rate of QAT fine-tuning (Adam, cosine decay; default 1e-4). */
  readonly qatLr?: number;
  /**
   * QAT: the epoch (1-based) from which batch-norm statistics are frozen (running statistics used,
   * no longer updated), and from which the activation observers stop moving; default the second
   * half of the QAT epochs (qat.ts qatFreezeEpochs). A number above the epochs = never.
   */
  readonly qatFreezeBn?: number;
  readonly qatFreezeObservers?: number;
  /** Static/QAT int8 weight scales: per_channel (default) or per_tensor (quantize.ts WeightScheme). */
  readonly weightScheme?: WeightScheme;
  /** Fine-tuning epochs after pruning (default 2). */
  readonly finetuneEpochs?: number;
  /** Fine-tuning learning rate (Adam, cosine decay; default 1e-3). */
  readonly finetuneLr?: number;
  /**
   * Pruning's fine-tuning distilled from the unpruned float network (the float stage's network is
   * the teacher; Hinton et al. 2015, finetune.ts `distill`): the loss is (1 - weight) * CE(labels)
   * + weight * T^2 * CE(student / T, softmax(teacher / T)). `true` = temperature 4, weight 0.7.
   * Needs `prune` and at least 1 fine-tuning epoch. Absent or false: cross-entropy on the labels.
   */
  readonly distill?: boolean | { readonly temperature?: number; readonly weight?: number };
  /** Calibration images taken from the training split (default 256). */
  readonly calibration?: number;
  /** Calibration inputs given directly (normalised [N, ...shape] tensors), instead of `calibration` images. */
  readonly calibrationInputs?: readonly Tensor[];
  /** Quantized engine (default onednn when built in, else qnnpack). */
  readonly qengine?: QEngine;
  /** Where the stage directories are written; nothing is written without it. */
  readonly outDir?: string;
  /** Write model.onnx per stage (default true; needs outDir). */
  readonly onnx?: boolean;
  /** Timed batch-1 runs per latency figure (default 50, after 5 untimed). */
  readonly latencyRuns?: number;
  /**
   * Every stage's network (float, pruned, int8) runs forwards of up to 8 samples with the intra-op
   * thread count it measured fastest at its first such call (src/tensor/thread-choice.ts; GraphNet
   * and QuantizedNet `chooseThreads`): the all-threads latency rows are then what a latency-focused
   * runtime gets from the threads given, for float and int8 alike. Default true; false times every
   * stage with exactly the threads set.
   */
  readonly chooseThreads?: boolean;
  readonly seed?: number;
  readonly log?: (line: string) => void;
}

export interface CompressResult {
  readonly rows: StageRow[];
  readonly outDir?: string;
}

/** Test accuracy (percent) of a forward function over the test split. */
export function testAccuracy(forward: (x: Tensor) => Tensor, data: PreparedData, batchSize = 500): number {
  let hit = 0;
  let n = 0;
  for (const b of batches(data.test, { batchSize, normalization: data.normalization }))
    tidy(() =>
      noGrad(() => {
        const pred = forward(Tensor.fromArray(b.x, b.shape)).argmax(1).toInt32Array();
        for (let k = 0; k < b.size; k++) if (pred[k] === b.y[k]) hit++;
        n += b.size;
      }),
    );
  return n ? (100 * hit) / n : NaN;
}

/** Median and minimum ms of `runs` batch-1 forwards (after 5 untimed) with `threads` intra-op threads. */
export function batch1LatencyStats(forward: (x: Tensor) => Tensor, shape: readonly number[], threads: number, runs = 50): { median: number; min: number } {
  return interleavedLatencyStats([forward], shape, threads, runs)[0]!;
}

/**
 * Batch-1 latency of several forwards measured interleaved, with `threads` intra-op threads: after
 * 5 untimed runs of each, rounds take turns over the forwards (round r starts at forward r mod n,
 * so none is always first); in its turn a forward runs `block` times back to back, and with
 * `block` > 1 one more untimed run first, until each has `runs` timed runs, on the same random
 * input [1, ...shape]. Median and best (min) per forward, in ms. On a shared machine two networks
 * timed minutes apart compare two loads; timed in turns a few milliseconds long, they see the same
 * one. `block` 1 alternates every call: each call then follows another network, whose code and data
 * have replaced its own in the caches, which a deployed network running one input after another
 * does not see; the pipeline times every stage in turns of `LATENCY_BLOCK`, the same for each.
 * (Session 7 blamed the turns of 1 for the LeNet int8 stage timing 2x its read-back; the cause was
 * libtorch's oneDNN int8 primitive cache keyed on the first call, fixed in QuantizedNet callPacks.)
 */
export function interleavedLatencyStats(forwards: readonly ((x: Tensor) => Tensor)[], shape: readonly number[], threads: number, runs = 50, block = 1): { median: number; min: number }[] {
  if (!(Number.isInteger(block) && block >= 1)) throw new NasError('invalid_config', `the latency block must be an integer >= 1, got ${block}`, { field: 'block' });
  if (forwards.length === 0) return [];
  const prev = getNumThreads();
  setNumThreads(threads);
  const x = new Generator(0).randn([1, ...shape]);
  try {
    const one = (f: (x: Tensor) => Tensor) => {
      const t0 = process.hrtime.bigint();
      tidy(() => {
        noGrad(() => f(x));
      });
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    for (const f of forwards) for (let i = 0; i < 5; i++) one(f);
    const ts = forwards.map(() => [] as number[]);
    const n = forwards.length;
    for (let r = 0; ts[0]!.length < runs; r++)
      for (let j = 0; j < n; j++) {
        const k = (r + j) % n;
        const f = forwards[k]!;
        if (block > 1) one(f);
        for (let b = 0; b < block && ts[k]!.length < runs; b++) ts[k]!.push(one(f));
      }
    return ts.map((t) => {
      t.sort((a, b) => a - b);
      const m = t.length >> 1;
      return { median: t.length % 2 ? t[m]! : (t[m - 1]! + t[m]!) / 2, min: t[0]! };
    });
  } finally {
    x.dispose();
    setNumThreads(prev);
  }
}

/** Consecutive timed batch-1 runs per turn when compressNetwork times its stages (interleavedLatencyStats). */
export const LATENCY_BLOCK = 10;

/** Median ms of `runs` batch-1 forwards (after 5 untimed) with `threads` intra-op threads. */
export function batch1Latency(forward: (x: Tensor) => Tensor, shape: readonly number[], threads: number, runs = 50): number {
  return batch1LatencyStats(forward, shape, threads, runs).median;
}

/** `count` training images (seeded order), normalised, in batches of at most 64. */
export function calibrationBatches(data: PreparedData, count: number, seed = 0): Tensor[] {
  const out: Tensor[] = [];
  let left = count;
  for (const b of batches(data.train, { batchSize: Math.min(64, Math.max(1, count)), normalization: data.normalization, shuffle: Rng.fromSeed(seed).derive('calibration') })) {
    if (left <= 0) break;
    const n = Math.min(left, b.size);
    out.push(Tensor.fromArray(b.x.subarray(0, n * (b.x.length / b.size)), [n, ...b.shape.slice(1)]).keep());
    left -= n;
  }
  return out;
}

function checkOptions(o: CompressOptions, data: PreparedData, inputShape: readonly number[]): { prune?: PruneSpec; engine: QEngine | undefined } {
  const prune = o.prune ? checkPruneSpec(o.prune) : undefined;
  if (o.quantize !== undefined && o.quantize !== 'static' && o.quantize !== 'dynamic' && o.quantize !== 'qat')
    throw new NasError('invalid_config', `quantize must be static, qat or dynamic, got ${JSON.stringify(o.quantize)}${didYouMeanValue(String(o.quantize), ['static', 'qat', 'dynamic'], QUANTIZE_SYNONYMS)}`, { field: 'quantize', hint: 'use one of: static, qat, dynamic' });
  if (o.maxDrop !== undefined) {
    if (!(o.maxDrop >= 0 && Number.isFinite(o.maxDrop))) throw new NasError('invalid_config', `max drop must be a number of points >= 0, got ${o.maxDrop}`, { field: 'maxDrop', hint: 'e.g. --max-drop 0.5' });
    if (o.quantize !== 'static') throw new NasError('invalid_config', `max drop applies to static quantization (it decides the fallback to QAT), not to ${o.quantize ?? 'no quantization'}`, { field: 'maxDrop', hint: 'use --quantize static --max-drop D, or drop --max-drop' });
  }
  if (o.qatLr !== undefined && !(o.qatLr > 0 && Number.isFinite(o.qatLr))) throw new NasError('invalid_config', `QAT lr must be > 0, got ${o.qatLr}`, { field: 'qatLr' });
  for (const k of ['qatFreezeBn', 'qatFreezeObservers'] as const) {
    const v = o[k];
    if (v !== undefined && !((Number.isInteger(v) && v >= 1) || v === Infinity)) throw new NasError('invalid_config', `${k} must be an epoch number >= 1, got ${v}`, { field: k, hint: 'e.g. 2 (frozen from the second QAT epoch on); a number above the QAT epochs never freezes' });
  }
  if (o.weightScheme !== undefined && o.weightScheme !== 'per_channel' && o.weightScheme !== 'per_tensor')
    throw new NasError('invalid_config', `weight scheme must be per_channel or per_tensor, got ${JSON.stringify(o.weightScheme)}`, { field: 'weightScheme' });
  if (o.weightScheme === 'per_tensor' && o.quantize === 'dynamic') throw new NasError('invalid_config', 'the weight scheme applies to static and QAT int8 (dynamic int8 is always per tensor)', { field: 'weightScheme', hint: 'use --quantize static or qat with --per-tensor' });
  if (o.quantize === 'qat' && (o.finetuneEpochs ?? 2) < 1) throw new NasError('invalid_config', 'QAT needs at least 1 fine-tuning epoch', { field: 'finetuneEpochs', hint: 'e.g. --finetune-epochs 2, or use --quantize static' });
  const fe = o.finetuneEpochs ?? 2;
  if (!(Number.isInteger(fe) && fe >= 0)) throw new NasError('invalid_config', `finetune epochs must be an integer >= 0, got ${fe}`, { field: 'finetuneEpochs' });
  if (o.finetuneLr !== undefined && !(o.finetuneLr > 0 && Number.isFinite(o.finetuneLr))) throw new NasError('invalid_config', `finetune lr must be > 0, got ${o.finetuneLr}`, { field: 'finetuneLr' });
  if (o.distill !== undefined && o.distill !== false) {
    if (typeof o.distill !== 'boolean' && (typeof o.distill !== 'object' || o.distill === null))
      throw new NasError('invalid_config', `distill must be true, false or { temperature, weight }, got ${JSON.stringify(o.distill)}`, { field: 'distill' });
    if (!prune) throw new NasError('invalid_config', 'distillation applies to the fine-tuning after pruning, and no pruning is asked', { field: 'distill', hint: 'add --prune (e.g. flops=0.55), or drop --distill' });
    if (fe < 1) throw new NasError('invalid_config', 'distillation needs at least 1 fine-tuning epoch', { field: 'finetuneEpochs', hint: 'e.g. --finetune-epochs 4, or drop --distill' });
    checkDistill(typeof o.distill === 'object' ? { teacher: (x) => x, ...o.distill } : undefined);
  }
  const cal = o.calibration ?? 256;
  const calibrated = o.quantize === 'static' || o.quantize === 'qat';
  if (calibrated && !o.calibrationInputs && !(Number.isInteger(cal) && cal >= 1))
    throw new NasError('invalid_config', `the calibration set must hold at least 1 image, got ${cal}`, { field: 'calibration', hint: 'a few hundred training images, e.g. 256' });
  if (calibrated && !o.calibrationInputs && data.train.indices.length === 0)
    throw new NasError('invalid_config', 'the calibration set is empty: the training split has no images', { field: 'calibration', hint: 'use a dataset with training images' });
  if (calibrated && o.calibrationInputs) {
    if (o.calibrationInputs.length === 0 || o.calibrationInputs.every((x) => (x.shape[0] ?? 0) === 0))
      throw new NasError('invalid_config', 'the calibration set is empty', { field: 'calibration', hint: 'give at least one batch of training images (a few hundred is typical)' });
    for (const x of o.calibrationInputs) {
      const s = x.shape.slice(1);
      if (s.length !== inputShape.length || s.some((d, k) => d !== inputShape[k]))
        throw new NasError('shape_mismatch', `calibration batch [${x.shape.join(', ')}] does not fit the model's input [N, ${inputShape.join(', ')}]`, { field: 'calibration', hint: `calibrate with images of shape [${inputShape.join(', ')}] from the training data` });
    }
  }
  if (data.shape.length !== inputShape.length || data.shape.some((d, i) => d !== inputShape[i]))
    throw new NasError('shape_mismatch', `the dataset's samples are [${data.shape.join(', ')}], the model takes [${inputShape.join(', ')}]`, { field: 'dataset', hint: 'compress with the dataset the model was trained on' });
  let engine: QEngine | undefined;
  if (o.quantize) {
    const have = quantizedEngines();
    engine = o.qengine ?? (have.includes('onednn') ? 'onednn' : have.includes('qnnpack') ? 'qnnpack' : undefined);
    if (!engine || !have.includes(engine)) throw new NasError('invalid_config', `quantized engine ${o.qengine ?? '(default)'} is not in this libtorch build`, { field: 'qengine', hint: `use one of: ${have.join(', ') || '(none: this libtorch has no quantized engine)'}` });
  }
  if (o.outDir !== undefined) checkOutDir(o.outDir);
  return { ...(prune ? { prune } : {}), engine };
}

/** Writes one stage directory into the work directory; returns the stage's final path. */
function writeStage(out: AtomicDir, stage: StageName, files: Record<string, Uint8Array | string>): string {
  const dir = join(out.work, stage);
  try {
    mkdirSync(dir);
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    return join(out.dir, stage);
  } catch (e) {
    if (isNasError(e)) throw e;
    throw storageError('io', `cannot write ${dir}: ${(e as Error).message}`, { field: 'out', cause: e });
  }
}

/**
 * Runs the compression stages on a trained `module` whose inputs are `data`'s samples. The
 * module is not changed or disposed. Returns one row per stage; see the file comment for files.
 * Errors: invalid_config / shape_mismatch naming the option before any stage runs; a stage's
 * failure is thrown after the work directory is removed (nothing is left at `outDir`).
 */
export async function compressNetwork(module: Module<[Tensor], Tensor>, data: PreparedData, o: CompressOptions = {}): Promise<CompressResult> {
  const log = o.log ?? (() => {});
  const name = o.name ?? 'model';
  const lowered = lowerModule(module, data.shape, data.numClasses);
  const owned: Tensor[] = [...lowered.weights.values()];
  const nets: { dispose(): void }[] = [];
  let out: AtomicDir | undefined;
  try {
    const { prune, engine } = checkOptions(o, data, data.shape);
    const writeOnnx = o.outDir !== undefined && (o.onnx ?? true);
    const { a, b } = affine(data.normalization);
    const onnxOpts = { inputAffine: { a, b }, metadata: { model: name, dataset: data.name } };
    const all = availableParallelism();
    const runs = o.latencyRuns ?? 50;
    // Each stage's accuracy and size are recorded when it is built; the latencies of all stages are
    // measured together at the end, interleaved (interleavedLatencyStats), so they compare networks
    // under the same machine load rather than moments minutes apart.
    const pending: { row: Omit<StageRow, 'latency_ms' | 'latency_1t_ms' | 'latency_min_ms' | 'latency_1t_min_ms'>; forward: (x: Tensor) => Tensor; threads: () => ReadonlyMap<string, number> }[] = [];
    const chooseThreads = o.chooseThreads ?? true;
    const measure = (stage: StageName, g: Graph, net: { forward(x: Tensor): Tensor; threadChoices(): ReadonlyMap<string, number> }, size: number, extra: Partial<StageRow> = {}): void => {
      const forward = (x: Tensor) => net.forward(x);
      const c = graphCost(g);
      const row = { model: name, stage, test_acc: testAccuracy(forward, data), params: c.params, size_bytes: size, flops: c.flops, ...extra };
      log(`${name} ${stage}: test acc ${row.test_acc.toFixed(2)}%, ${row.params} params${row.nonzero_params === undefined ? '' : ` (${row.nonzero_params} nonzero)`}, ${row.size_bytes} bytes${row.gzip_bytes === undefined ? '' : ` (${row.gzip_bytes} gzipped)`}, ${row.flops} FLOPs`);
      pending.push({ row, forward, threads: () => net.threadChoices() });
    };
    const timed = (): StageRow[] => {
      const fw = pending.map((p) => p.forward);
      const allT = interleavedLatencyStats(fw, data.shape, all, runs, LATENCY_BLOCK);
      const oneT = interleavedLatencyStats(fw, data.shape, 1, runs, LATENCY_BLOCK);
      return pending.map(({ row, threads }, k) => {
        const lt = chooseThreads ? { latency_threads: threads().get(`1@${all}`) ?? all } : {};
        const r: StageRow = { ...row, latency_ms: allT[k]!.median, ...lt, latency_1t_ms: oneT[k]!.median, latency_min_ms: allT[k]!.min, latency_1t_min_ms: oneT[k]!.min };
        log(`${name} ${r.stage}: batch-1 latency median (best) ${r.latency_ms.toFixed(3)} (${r.latency_min_ms.toFixed(3)}) ms${r.latency_threads === undefined ? '' : ` (ran with ${r.latency_threads} of ${all} threads, chosen)`}, 1 thread ${r.latency_1t_ms.toFixed(3)} (${r.latency_1t_min_ms.toFixed(3)}) ms`);
        return r;
      });
    };
    /** Progress with ETA over a fine-tuning's optimizer steps (o.progress), started at its first batch. */
    const stepProgress = (label: string): { hooks: { onBatch?: (step: number, total: number) => void }; finish: () => void } => {
      if (!o.progress) return { hooks: {}, finish: () => {} };
      let p: StepProgress | undefined;
      return {
        hooks: { onBatch: (step: number, total: number) => (p ??= o.progress!(label, total)).update(step) },
        finish: () => p?.finish(),
      };
    };
    // Each stage's record (CompressOptions.record): what its weights were last trained on.
    const records = new Map<StageName, JsonObject>();
    /**
     * Stage boundaries: the event loop runs (a Ctrl-C handler, core/partial.ts or the CLI's
     * interrupt), and an aborted signal stops here, naming what was done and what was not, before
     * `next` starts; the work directory is then removed by the error path.
     */
    const done: string[] = [];
    const boundary = async (next: string): Promise<void> => {
      await new Promise<void>((r) => setImmediate(r));
      if (o.signal?.aborted) throw new NasError('aborted', `compression stopped before ${next}${done.length ? ` (done: ${done.join(', ')})` : ''}; nothing was written`);
    };
    const ftCommon = { ...(o.augment ? { augment: o.augment } : {}), ...(o.signal ? { signal: o.signal } : {}) };
    const stopped = (stage: string) => (e: unknown): never => {
      if (isNasError(e, 'aborted')) throw new NasError('aborted', `compression stopped in ${stage}: ${e.text}${done.length ? ` (done: ${done.join(', ')})` : ''}; nothing was written`, { cause: e });
      throw e;
    };
    const floatNet = new GraphNet(lowered.graph, lowered.weights, o.seed ?? 0, { chooseThreads }).eval();
    nets.push(floatNet);
    // The channel plan is decided before any stage runs: an unreachable FLOPs target fails here.
    let plan: ChannelPlan | undefined;
    if (prune?.kind === 'channels') {
      let grads: Map<string, Tensor> | undefined;
      if (prune.criterion === 'taylor') grads = taylorGrads(floatNet, data, o.seed ?? 0);
      try {
        plan = planChannels(lowered.graph, lowered.weights, prune, grads);
      } finally {
        for (const t of grads?.values() ?? []) t.dispose();
      }
    }
    if (o.outDir !== undefined) out = atomicDir(o.outDir);
    const outDir = out?.dir;
    await boundary('the float stage');

    // Float stage. The weights record the normalisation their inputs get (a later stage uses it, model-source.ts).
    const floatBytes = encodeStateDict(floatNet.stateDict(), { format: 'tsnas-compress', stage: 'float', normalization: data.normalization as unknown as JsonObject });
    const floatDir = out ? writeStage(out, 'float', { 'model.json': JSON.stringify(lowered.graph) + '\n', 'weights.bin': floatBytes, ...(writeOnnx ? { 'model.onnx': exportGraphOnnx(floatNet, { ...onnxOpts, name: `${name}-float` }) } : {}) }) : undefined;
    measure('float', lowered.graph, floatNet, floatBytes.byteLength, { gzip_bytes: gzipSync(floatBytes, { level: 9 }).byteLength, ...(floatDir ? { dir: floatDir } : {}) });
    records.set('float', o.record?.model ?? {});
    done.push('float');

    let current: { graph: Graph; net: GraphNet } = { graph: lowered.graph, net: floatNet };
    if (prune) {
      await boundary('the pruned stage');
      const epochs = o.finetuneEpochs ?? 2;
      // Distillation: the float stage's network (eval mode, its own copy of the weights) teaches.
      const distill: FinetuneOptions['distill'] = o.distill ? { teacher: (x: Tensor) => floatNet.forward(x), ...(typeof o.distill === 'object' ? o.distill : {}) } : undefined;
      if (distill) log(`${name} pruned: fine-tuning distilled from the float network (temperature ${distill.temperature ?? 4}, soft weight ${distill.weight ?? 0.7})`);
      const bar = stepProgress(`${name} pruned: fine-tune`);
      const ft = { epochs, seed: o.seed ?? 0, ...ftCommon, ...(o.finetuneLr !== undefined ? { lr: o.finetuneLr } : {}), ...(distill ? { distill } : {}), onEpoch: (e: number, l: number) => log(`${name} pruned: fine-tune epoch ${e}/${epochs}, train loss ${l.toFixed(4)}`), ...bar.hooks };
      let net: GraphNet;
      let graph: Graph;
      let extra: Partial<StageRow> = {};
      if (prune.kind === 'magnitude') {
        graph = lowered.graph;
        net = new GraphNet(graph, lowered.weights, o.seed ?? 0, { chooseThreads });
        nets.push(net);
        const keys = prunableWeights(graph, { pruneOutput: prune.pruneOutput ?? false });
        let masks: Map<string, Tensor> | undefined;
        const remask = (s: number, w: ReadonlyMap<string, Tensor>) => {
          for (const m of masks?.values() ?? []) m.dispose();
          masks = magnitudeMasks(w, keys, s, prune.scope ?? 'global', prune.minDensity, graph);
          return masks;
        };
        const gradual = prune.schedule === 'gradual' && epochs > 1;
        if (!gradual) applyMasks(net.stateDict(), remask(prune.sparsity, net.stateDict()));
        await finetune(net, data, { ...ft, ...(gradual ? { masksForEpoch: (e: number, w: ReadonlyMap<string, Tensor>) => remask(gradualSparsity(prune.sparsity, e, epochs), w) } : { masksForEpoch: () => masks }) }).catch(stopped('the pruned stage\'s fine-tuning'));
        for (const m of masks?.values() ?? []) m.dispose();
        const sparsity = sparsityOf(net.stateDict(), keys);
        const zeros = keys.reduce((a, k) => a + net.stateDict().get(k)!.numel, 0) * sparsity;
        extra = { sparsity, nonzero_params: graphCost(graph).params - Math.round(zeros) };
      } else {
        log(`${name} pruned: channel ratio ${plan!.ratio.toFixed(3)}, ${plan!.removed.size} channel classes removed`);
        const pw = pruneWeights(lowered.graph, plan!, lowered.weights);
        graph = plan!.graph;
        net = new GraphNet(graph, pw, o.seed ?? 0, { chooseThreads });
        nets.push(net);
        for (const t of pw.values()) t.dispose();
        // A sparse source (e.g. an earlier magnitude-pruned stage) keeps its zeros in the channels left.
        const held = zeroMasks(net.stateDict(), prunableWeights(graph, { pruneOutput: true }));
        try {
          await finetune(net, data, { ...ft, ...(held.masks.size ? { masksForEpoch: () => held.masks } : {}) }).catch(stopped('the pruned stage\'s fine-tuning'));
        } finally {
          for (const m of held.masks.values()) m.dispose();
        }
      }
      bar.finish();
      net.eval();
      await boundary('writing the pruned stage');
      const bytes = encodeStateDict(net.stateDict(), { format: 'tsnas-compress', stage: 'pruned', normalization: data.normalization as unknown as JsonObject });
      const dir = out ? writeStage(out, 'pruned', { 'model.json': JSON.stringify(graph) + '\n', 'weights.bin': bytes, ...(writeOnnx ? { 'model.onnx': exportGraphOnnx(net, { ...onnxOpts, name: `${name}-pruned` }) } : {}) }) : undefined;
      measure('pruned', graph, net, bytes.byteLength, { ...extra, gzip_bytes: gzipSync(bytes, { level: 9 }).byteLength, ...(dir ? { dir } : {}) });
      // Fine-tuned on this compression's data: its record; with 0 epochs it is the float network's, pruned.
      records.set('pruned', (epochs >= 1 ? o.record?.data : o.record?.model) ?? {});
      done.push('pruned');
      current = { graph, net };
    }

    if (o.quantize) {
      await boundary(`the int8 stage (${o.quantize === 'dynamic' ? 'dynamic quantization' : o.quantize === 'qat' ? 'calibration, then QAT' : 'calibration'})`);
      setQuantizedEngine(engine!);
      const seed = o.seed ?? 0;
      const scheme: WeightScheme = o.weightScheme ?? 'per_channel';
      const valAcc = (f: (x: Tensor) => Tensor) => (data.val.indices.length ? testAccuracy(f, { ...data, test: data.val }) : NaN);
      const cal = o.quantize === 'dynamic' ? [] : (o.calibrationInputs ?? calibrationBatches(data, o.calibration ?? 256, seed));
      try {
        /** Fuses `sd` (the current graph's weights) and builds the int8 network with `qp` (or calibrated). */
        const build = (sd: ReadonlyMap<string, Tensor>, mode: 'static' | 'dynamic', qp?: (f: FusedNet) => QParams[]): QuantizedNet => {
          const fused = fuse(current.graph, sd);
          nets.push({ dispose: () => disposeFused(fused) });
          const qparams = mode === 'static' ? (qp ? qp(fused) : calibrate(fused, cal)) : undefined;
          const qn = new QuantizedNet(fused, mode, qparams, undefined, mode === 'static' ? scheme : 'per_channel', { chooseThreads });
          nets.push(qn);
          return qn;
        };
        const qat = async (): Promise<QuantizedNet> => {
          const epochs = o.finetuneEpochs ?? 2;
          const qbar = stepProgress(`${name} int8: QAT`);
          const qnet = new QatNet(current.graph, current.net.stateDict(), seed, { weightScheme: scheme });
          nets.push(qnet);
          qnet.observe(cal);
          await boundary('QAT');
          // The zeros of magnitude pruning (this run's, or a sparse source's) are held through QAT too (the child's keys are `net.n<i>.weight`).
          const { masks } = zeroMasks(current.net.stateDict(), prunableWeights(current.graph, { pruneOutput: true }), 'net.');
          try {
            const at = qatFreezeEpochs(epochs, { ...(o.qatFreezeBn !== undefined ? { freezeBn: o.qatFreezeBn } : {}), ...(o.qatFreezeObservers !== undefined ? { freezeObservers: o.qatFreezeObservers } : {}) });
            const freeze = qatSchedule(qnet, at);
            await finetune(qnet, data, {
              epochs,
              seed,
              lr: o.qatLr ?? 1e-4,
              ...(masks.size ? { masksForEpoch: () => masks } : {}),
              beforeEpoch: (e: number) => {
                freeze(e);
                if (e === at.bn) log(`${name} int8: QAT batch-norm statistics frozen from epoch ${e}`);
                if (e === at.observers) log(`${name} int8: QAT observers frozen from epoch ${e}`);
              },
              onEpoch: (e: number, l: number) => log(`${name} int8: QAT epoch ${e}/${epochs}, train loss ${l.toFixed(4)}`),
              ...qbar.hooks,
              ...ftCommon,
            }).catch(stopped('QAT'));
          } finally {
            qbar.finish();
            for (const m of masks.values()) m.dispose();
          }
          qnet.eval();
          return build(qnet.net.stateDict(), 'static', (f) => qnet.toInt8Params(f));
        };
        let qn: QuantizedNet;
        let extra: Partial<StageRow> = { quant_mode: o.quantize };
        if (o.quantize === 'qat') qn = await qat();
        else if (o.quantize === 'dynamic') qn = build(current.net.stateDict(), 'dynamic');
        else {
          qn = build(current.net.stateDict(), 'static');
          if (o.maxDrop !== undefined) {
            await boundary('the validation of the int8 network');
            const before = valAcc((x) => current.net.forward(x));
            const ptq = valAcc((x) => qn.forward(x));
            log(`${name} int8: post-training static quantization: val acc ${ptq.toFixed(2)}% vs ${before.toFixed(2)}% before (drop ${(before - ptq).toFixed(2)}, max ${o.maxDrop})`);
            if (before - ptq > o.maxDrop) {
              const q2 = await qat();
              const qa = valAcc((x) => q2.forward(x));
              log(`${name} int8: QAT val acc ${qa.toFixed(2)}%: ${qa > ptq ? 'kept' : 'not better, post-training network kept'}`);
              if (qa > ptq) {
                extra = { quant_mode: 'qat', ptq_test_acc: testAccuracy((x) => qn.forward(x), data) };
                qn = q2;
              }
            }
          }
        }
        await boundary('writing the int8 stage (ONNX export)');
        const bytes = encodeInt8(qn, { engine: engine! });
        const dir = out ? writeStage(out, 'int8', { 'model.int8.bin': bytes, ...(writeOnnx ? { 'model.onnx': exportQuantizedOnnx(qn, { ...onnxOpts, name: `${name}-int8` }) } : {}) }) : undefined;
        measure('int8', current.graph, qn, bytes.byteLength, { ...extra, ...(dir ? { dir } : {}) });
        // QAT trained it on this compression's data; static/dynamic int8 is the network it was made from.
        records.set('int8', (extra.quant_mode === 'qat' ? o.record?.data : records.get(prune ? 'pruned' : 'float')) ?? {});
        done.push('int8');
      } finally {
        if (!o.calibrationInputs) for (const t of cal) t.dispose();
      }
    }
    await boundary('the latency measurement');
    const rows = timed();
    await boundary('writing report.json');
    if (out) {
      writeFileSync(join(out.work, 'report.json'), JSON.stringify({ model: name, dataset: data.name, ...(o.dataInfo ? { data: o.dataInfo } : {}), rows }, null, 2) + '\n');
      // Every stage directory holds a model and its record (what later stages read back, model-source.ts).
      for (const r of rows) writeFileSync(join(out.work, r.stage, 'metrics.json'), JSON.stringify(stageMetrics(name, r, records.get(r.stage) ?? {}, o), null, 2) + '\n');
      out.commit();
    }
    return { rows, ...(outDir ? { outDir } : {}) };
  } catch (e) {
    out?.abort();
    throw e;
  } finally {
    for (const n of nets.reverse()) n.dispose();
    for (const t of owned) t.dispose();
  }
}

/**
 * A stage directory's metrics.json: the stage, its row (test accuracy, size, latency) and its
 * record (`record`: dataset, split, classes, augment; CompressOptions.record), the data line of
 * the compression and where the model came from.
 */
function stageMetrics(name: string, row: StageRow, record: JsonObject, o: CompressOptions): JsonObject {
  const { dir: _dir, ...m } = row;
  void _dir;
  return {
    format: 'tsnas-compress',
    model: name,
    stage: row.stage,
    ...(o.record?.source ? { source: o.record.source } : {}),
    ...record,
    ...(o.dataInfo ? { data: o.dataInfo } : {}),
    metrics: m as unknown as JsonObject,
  };
}

/** Gradients of the loss summed over 8 training batches (the Taylor criterion's dL/dw), keyed like the state dict. */
export function taylorGrads(net: GraphNet, data: PreparedData, seed: number): Map<string, Tensor> {
  net.train();
  net.zeroGrad();
  let k = 0;
  for (const b of batches(data.train, { batchSize: 64, normalization: data.normalization, shuffle: Rng.fromSeed(seed).derive('taylor') })) {
    if (k++ >= 8) break;
    tidy(() => {
      const out = net.forward(Tensor.fromArray(b.x, b.shape));
      const y = Tensor.fromArray(b.y, [b.size], 'int64');
      out.logSoftmax(1).gather(1, y.unsqueeze(1)).mean().neg().backward();
    });
  }
  net.eval();
  const g = new Map<string, Tensor>();
  for (const [name, p] of net.namedParameters()) {
    const gr = p.grad;
    if (gr) g.set(name, gr.detach().clone().keep());
  }
  net.zeroGrad();
  return g;
}
