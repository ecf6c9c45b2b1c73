/**
 * Real training of one candidate network: the trainer (`trainOnData`), a one-call entry point for
 * the CLI (`trainArchitecture`) and the training `Evaluator` for studies (`TrainingEvaluator`).
 *
 * Contract: a bad candidate never throws. An architecture that does not fit the data ends as
 * `failed/invalid_arch`, a NaN/Inf training loss as `failed/diverged`, the wall-clock limit as
 * `failed/timeout`, an aborted signal as `failed/aborted`, an `onProgress` answer 'stop' as
 * `pruned`; the model's native memory is freed in every case. Every training step runs in a tidy
 * scope, so memory stays flat across epochs and trials. Metrics follow types.ts (val_* for search,
 * test_* reported only, accuracies in percent); the test split is evaluated once, at the end.
 */
import { didYouMean } from '../core/suggest.js';
import { existsSync, mkdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { JointArch, NetworkArch, TrainHparams } from '../core/arch.js';
import { Issues } from '../core/issues.js';
import { checkNetworkArchFields, inArchFile } from '../core/arch-check.js';
import { NasError, assertNever, isNasError, storageError } from '../core/errors.js';
import { canonicalJson } from '../core/json.js';
import { Rng, hash32 } from '../core/rng.js';
import { batches, numBatches } from '../data/batch.js';
import type { Augmentation } from '../data/augment.js';
import { crossValidationViews, prepareData, type DatasetSpec, type PreparedData, type SplitSpec } from '../data/prepare.js';
import type { Subset } from '../data/types.js';
import { analyzeArch, buildNetwork, type CostOptions, type CostReport, type DartsOptions, type InputSpec, type Nb201Options } from '../nn/build/index.js';
import type { Layer } from '../nn/module.js';
import { compileNative, type NativeNetwork } from '../nn/native-exec.js';
import { inheritWeights, type InheritMode } from '../nn/inherit.js';
import { loadStateDict, saveStateDict } from '../nn/state.js';
import { disposeOptimizerState, loadOptimizerState, optimizerStatePath, restoreOptimizerState, saveOptimizerState, type SavedOptimizerState } from '../nn/optim-state.js';
import { Adam, AdamW, SGD, clipGradNorm, type Optimizer } from '../nn/optim.js';
import { lrAt, type LrSchedule } from '../nn/schedule.js';
import { Generator, Tensor, crossEntropy, getNumThreads, noGrad, setNumThreads, tidy, trimMemory } from '../tensor/index.js';
import { costMetrics, latencyMetrics, measureLatency, type LatencyOptions, type LatencyResult } from './cost.js';
import { CV_PREDICTIONS_ATTR, encodeCvPredictions, poolFoldPredictions } from './cv-predictions.js';
import { predictProbs } from './predict.js';
import { ConfusionAccumulator, type ClassificationMetrics } from './train-metrics.js';
import { consoleProgress, type TrainProgressSink } from './train-progress.js';
import type { EvalOutcome, EvalRequest, Evaluator, Metrics, Progress, ProgressAnswer } from './types.js';
import { sampleStd } from '../core/stats.js';
import { yieldIfDue } from '../core/yield.js';

export const DEFAULT_HPARAMS: TrainHparams = { optimizer: 'adam', lr: 1e-3, batchSize: 64, weightDecay: 0, schedule: 'constant' };

/**
 * Stop training when `metric` stops improving.
 * - `val_loss` (default, minimised) / `val_acc` (maximised): measured on the validation split after
 *   every epoch; training stops after `patience` epochs without an improvement of more than
 *   `minDelta`, and the best epoch's weights are restored (Keras' EarlyStopping with
 *   restore_best_weights). Needs validation rows (without them it does nothing). Under cv_folds the
 *   validation rows are the held-out fold, so they then also decide when to stop: the fold's
 *   metrics become optimistic (a selection among candidates still compares like with like).
 * - `train_loss`: the epoch's mean training loss, scikit-learn MLPClassifier's own stopping rule
 *   (`tol` = minDelta, `n_iter_no_change` = patience; sklearn/neural_network/_multilayer_perceptron.py
 *   `_update_no_improvement_count`): an epoch counts as no improvement when its loss is above the
 *   lowest so far minus `minDelta`; training stops after `patience` such epochs in a row; the last
 *   epoch's weights are kept (as scikit-learn keeps them). Needs no validation rows, so it works
 *   alike in a search's folds and in a retraining on all non-test rows (tsnas ensemble).
 *   scikit-learn stops when the count EXCEEDS n_iter_no_change (10): patience 11 is its rule.
 */
export interface EarlyStopping {
  /** Epochs without improvement of `metric` before training stops (integer >= 1). */
  readonly patience: number;
  /** Default `val_loss` (minimised); `val_acc` is maximised; `train_loss` is minimised (see above). */
  readonly metric?: EarlyStoppingMetric;
  /** Smallest change that counts as an improvement (default 0; in the metric's units: loss, or accuracy points). */
  readonly minDelta?: number;
}

/**
 * One epoch of scikit-learn MLPClassifier's stopping count on the training loss
 * (`_update_no_improvement_count` without early_stopping): the epoch is no improvement when `loss`
 * is above the lowest loss so far minus `tol` (count + 1, else 0); the lowest is updated whenever
 * `loss` is lower, even by less than `tol`. Start from { best: Infinity, count: 0 }.
 */
export function noImprovementStep(s: { readonly best: number; readonly count: number }, loss: number, tol: number): { best: number; count: number } {
  return { best: Math.min(s.best, loss), count: loss > s.best - tol ? s.count + 1 : 0 };
}

export const EARLY_STOPPING_METRICS = ['val_loss', 'val_acc', 'train_loss'] as const;
export type EarlyStoppingMetric = (typeof EARLY_STOPPING_METRICS)[number];

export interface TrainOptions {
  /** Hyperparameters (a JointArch's own override these); defaults DEFAULT_HPARAMS. */
  readonly hparams?: Partial<TrainHparams>;
  /** Epoch budget when the request gives none (default 10). */
  readonly epochs?: number;
  /** Optional step budget: stop after this many optimizer steps (mid-epoch allowed). */
  readonly maxSteps?: number;
  readonly augment?: Augmentation;
  readonly earlyStopping?: EarlyStopping;
  /** Wall-clock limit for the whole evaluation (training and final metrics), in seconds. */
  readonly timeLimitSeconds?: number;
  /** libtorch intra-op threads during this evaluation (restored afterwards). */
  readonly threads?: number;
  /** Batch size of validation/test passes (default: defaultEvalBatch of the network's costs, at most 1000). */
  readonly evalBatchSize?: number;
  /** Clip the gradient norm to this value (off by default). */
  readonly gradClip?: number;
  /** Progress display: true = bar on a TTY stderr / lines otherwise; or a custom sink. */
  readonly progress?: boolean | TrainProgressSink;
  /** Measure inference latency after training (off by default: it costs time). */
  readonly latency?: LatencyOptions | boolean;
  /** Width/cells of the NB201 skeleton (default C=16, N=5). */
  readonly nb201?: Nb201Options;
  /** Width/layers of the DARTS network (default 16, 8). */
  readonly darts?: DartsOptions;
  /** Skip the test split (e.g. inside a search, where it is not needed). Default false. */
  readonly skipTest?: boolean;
  /**
   * Keep the trained weights: a complete training saves the final module's state dict here
   * (src/nn/state.ts format; under early stopping the restored best epoch's weights) and returns
   * the absolute path as the outcome's `artifact`. Only a complete outcome writes it, through a
   * temporary name renamed into place: failed and pruned trainings leave no file. The directory
   * must exist (unless makeWeightsDir); an existing file is replaced.
   */
  readonly weightsFile?: string;
  /**
   * Create weightsFile's directory right before writing it: the train evaluator's own weights
   * directory, which is made lazily (and which another worker's start-up check may remove while it
   * is still empty: TrainingEvaluator.checkWeightsDir). Off for a path a caller gives.
   */
  readonly makeWeightsDir?: boolean;
  /**
   * With weightsFile: also keep the optimizer's state (per-parameter steps, momentum / Adam moments)
   * beside the weights, at optimizerStatePath(weightsFile) (src/nn/optim-state.ts), written after
   * the weights, for a later training that inherits them (init.optimizer). Not written when early
   * stopping restored an earlier epoch's weights (the state belongs to the last epoch's). Default false.
   */
  readonly saveOptimizerState?: boolean;
  /**
   * `native` (default): networks the native engine can express train and evaluate in one native
   * call per batch (src/nn/native-exec.ts); others fall back to `ops` with a one-line notice.
   * `ops`: the op-by-op path (one native call per op), for comparison.
   */
  readonly engine?: 'native' | 'ops';
  /**
   * Initialise the built network from trained weights before training (weight inheritance,
   * src/nn/inherit.ts), and number this training's epochs after `epochOffset` epochs already
   * done (a promoted trial continuing its parent): progress steps and the `epochs` metric count
   * from there. Adds the metric `inherited_fraction` (share of parameter/buffer elements copied).
   */
  readonly init?: {
    readonly weights: ReadonlyMap<string, Tensor>;
    readonly mode: InheritMode;
    readonly epochOffset?: number;
    /** Learning rate of this training = hparams.lr x lrScale (default 1); see TrainingEvaluatorOptions.inheritLrScale. */
    readonly lrScale?: number;
    /**
     * The parent's optimizer state (saveOptimizerState; the caller owns it): restored for the
     * parameters whose weights were copied whole (same name and shape) when the optimizer kind is
     * the same; every other parameter starts fresh (src/nn/optim-state.ts). Adds the metric
     * `inherited_optimizer_fraction` (share of parameter elements whose state was restored).
     */
    readonly optimizer?: SavedOptimizerState;
  };
  /**
   * Also return the final network's class probabilities on the validation rows (`valProbs`, see
   * TrainResult), e.g. for out-of-fold predictions. Default false (nothing extra is computed).
   */
  readonly valPredictions?: boolean;
  /**
   * Also return the final network's class probabilities on the test rows (`testProbs`, see
   * TrainResult), when the test split is evaluated (not skipTest, test rows present), e.g. for a
   * bagged prediction of cross-validation's fold networks. Default false.
   */
  readonly testPredictions?: boolean;
}

export interface TrainResult {
  readonly outcome: EvalOutcome;
  readonly costs?: CostReport;
  readonly latency?: LatencyResult;
  readonly val?: ClassificationMetrics;
  readonly test?: ClassificationMetrics;
  /**
   * With TrainOptions.valPredictions and a complete training: the final network's softmax on
   * `data.val`, [val rows x classes] row-major in `data.val.indices` order (src/eval/predict.ts).
   */
  readonly valProbs?: Float32Array;
  /**
   * With TrainOptions.testPredictions, a complete training and an evaluated test split: the final
   * network's softmax on `data.test`, [test rows x classes] row-major in `data.test.indices` order.
   */
  readonly testProbs?: Float32Array;
  /** Epochs actually run. */
  readonly epochs: number;
  readonly steps: number;
  readonly seconds: number;
}

function networkOptions(o: TrainOptions): CostOptions {
  return { ...(o.nb201 ? { nb201: o.nb201 } : {}), ...(o.darts ? { darts: o.darts } : {}) };
}

function isJoint(a: NetworkArch | JointArch): a is JointArch {
  return typeof a === 'object' && a !== null && 'arch' in a && 'hparams' in a;
}

/** The hyperparameters' names (TrainHparams, src/core/arch.ts); configs spell them snake_case. */
export const HPARAM_NAMES = ['optimizer', 'lr', 'batchSize', 'weightDecay', 'momentum', 'labelSmoothing', 'schedule', 'warmupEpochs'] as const;

/**
 * Checks hyperparameters; returns them complete (DEFAULT_HPARAMS fill the gaps). Every bad value is
 * reported at once (one combined invalid_config error); fields are `<prefix>.<name>`, where
 * `nameOf` gives the name as the user wrote it (default: the TrainHparams name).
 */
export function resolveHparams(h: Partial<TrainHparams>, prefix = 'hparams', nameOf: (f: string) => string = (f) => f): TrainHparams {
  const r = { ...DEFAULT_HPARAMS, ...h } as TrainHparams;
  const I = new Issues();
  const bad = (f: string, msg: string): void => I.add(new NasError('invalid_config', msg, { field: `${prefix}.${nameOf(f)}` }));
  if (!['sgd', 'adam', 'adamw'].includes(r.optimizer)) bad('optimizer', `optimizer must be sgd, adam or adamw, got ${JSON.stringify(r.optimizer)}`);
  if (!(typeof r.lr === 'number' && r.lr > 0 && Number.isFinite(r.lr))) bad('lr', `lr must be a positive number, got ${JSON.stringify(r.lr)}`);
  if (!(Number.isInteger(r.batchSize) && r.batchSize >= 1)) bad('batchSize', `${nameOf('batchSize')} must be a positive integer, got ${JSON.stringify(r.batchSize)}`);
  if (!(typeof r.weightDecay === 'number' && r.weightDecay >= 0 && Number.isFinite(r.weightDecay))) bad('weightDecay', `${nameOf('weightDecay')} must be a number >= 0, got ${JSON.stringify(r.weightDecay)}`);
  if (r.labelSmoothing !== undefined && !(typeof r.labelSmoothing === 'number' && r.labelSmoothing >= 0 && r.labelSmoothing < 1)) bad('labelSmoothing', `${nameOf('labelSmoothing')} must be in [0, 1), got ${JSON.stringify(r.labelSmoothing)}`);
  if (r.momentum !== undefined && !(typeof r.momentum === 'number' && r.momentum >= 0 && r.momentum < 1)) bad('momentum', `momentum must be in [0, 1), got ${JSON.stringify(r.momentum)}`);
  if (r.schedule !== undefined && !['constant', 'cosine', 'step'].includes(r.schedule)) bad('schedule', `schedule must be constant, cosine or step, got ${JSON.stringify(r.schedule)}`);
  if (r.warmupEpochs !== undefined && !(typeof r.warmupEpochs === 'number' && r.warmupEpochs >= 0 && Number.isFinite(r.warmupEpochs))) bad('warmupEpochs', `${nameOf('warmupEpochs')} must be a number >= 0, got ${JSON.stringify(r.warmupEpochs)}`);
  I.throwIfAny(prefix);
  return r;
}

function makeOptimizer(h: TrainHparams, params: readonly Tensor[]): Optimizer {
  switch (h.optimizer) {
    case 'sgd': {
      const momentum = h.momentum ?? 0.9;
      // Nesterov whenever there is momentum, as in the NAS-Bench-201 training recipe.
      return new SGD(params, { lr: h.lr, momentum, weightDecay: h.weightDecay, nesterov: momentum > 0 });
    }
    case 'adam':
      return new Adam(params, { lr: h.lr, weightDecay: h.weightDecay });
    case 'adamw':
      return new AdamW(params, { lr: h.lr, weightDecay: h.weightDecay });
    default:
      return assertNever(h.optimizer, 'optimizer');
  }
}

/**
 * The per-step schedule: `constant`; `cosine` to 0 over all steps; `step` = x0.1 at 50% and 75% of
 * the steps. `warmupEpochs` adds a linear warm-up (cosine only: the others start at full lr).
 */
function schedule(h: TrainHparams, totalSteps: number, stepsPerEpoch: number): LrSchedule {
  switch (h.schedule ?? 'constant') {
    case 'constant':
      return { kind: 'constant' };
    case 'cosine': {
      const w = Math.min(totalSteps - 1, Math.round((h.warmupEpochs ?? 0) * stepsPerEpoch));
      return { kind: 'cosine', totalSteps: Math.max(1, totalSteps), warmupSteps: Math.max(0, w) };
    }
    case 'step':
      return { kind: 'multistep', milestones: [...new Set([Math.floor(totalSteps * 0.5), Math.floor(totalSteps * 0.75)])].filter((m) => m > 0), gamma: 0.1 };
    default:
      return assertNever(h.schedule as never, 'schedule');
  }
}

/** Loss and classification metrics of `module` (eval mode, no grad) on a subset. */
export function evaluateSubset(module: Layer, s: Subset, data: PreparedData, batchSize: number, net?: NativeNetwork): ClassificationMetrics {
  const g = evaluating(module, s, data, batchSize, net);
  let r = g.next();
  while (!r.done) r = g.next();
  return r.value;
}

/**
 * evaluateSubset that lets the event loop run (lease heartbeats, Ctrl-C) whenever YIELD_MS have
 * passed, between batches: a validation pass of a wide network can take longer than a lease.
 * An aborted `signal` stops it between batches: NasError `aborted` (a validation and test pass of a
 * wide network took ~50 s after a new user's SIGTERM, session 10).
 */
export async function evaluateSubsetAsync(module: Layer, s: Subset, data: PreparedData, batchSize: number, net?: NativeNetwork, signal?: AbortSignal): Promise<ClassificationMetrics> {
  const g = evaluating(module, s, data, batchSize, net);
  const aborted = (): void => {
    if (signal?.aborted) throw new NasError('aborted', 'evaluation aborted');
  };
  aborted();
  let r = g.next();
  while (!r.done) {
    await yieldIfDue();
    aborted();
    r = g.next();
  }
  return r.value;
}

/** The evaluation pass, one batch per step of the generator; the metrics are its return value. */
function* evaluating(module: Layer, s: Subset, data: PreparedData, batchSize: number, net?: NativeNetwork): Iterator<void, ClassificationMetrics, undefined> {
  const acc = new ConfusionAccumulator(data.numClasses);
  const wasTraining = module.training;
  module.eval();
  try {
    for (const b of batches(s, { batchSize, normalization: data.normalization })) {
      if (net) {
        // One native call: eval-mode forward in inference mode (conv+BN folded), loss and argmax.
        const r = net.evalBatch(b.x, b.shape, b.y);
        acc.add(b.y, r.predictions, r.loss);
      } else {
        const [loss, pred] = tidy(() =>
          noGrad(() => {
            const out = module.forward(Tensor.fromArray(b.x, b.shape));
            const l = crossEntropy(out, Tensor.fromArray(b.y, [b.size], 'int64')).item();
            return [l, out.argmax(1).toInt32Array()] as const;
          }),
        );
        acc.add(b.y, pred, loss);
      }
      yield;
    }
  } finally {
    module.train(wasTraining);
  }
  return acc.result();
}

/**
 * The longest the trainer runs without letting the event loop turn (ms): lease heartbeats,
 * progress polling and Ctrl-C are served at least this often, whatever the batch time (one clock
 * for the whole process: core/yield.ts).
 */
export { YIELD_MS } from '../core/yield.js';

/**
 * Default batch size of evaluation passes: up to 1000 samples, fewer when the network's largest
 * activation would exceed EVAL_BLOCK_BYTES per batch. Larger blocks pass glibc's mmap threshold
 * (32 MiB, set by the addon), so every op of every batch would map, page-fault and unmap fresh
 * memory: a 64-channel 28x28 layer at batch 1000 is 200 MB per tensor.
 */
export function defaultEvalBatch(costs: Pick<CostReport, 'peakActivationBytes'> | undefined): number {
  if (!costs || !(costs.peakActivationBytes > 0)) return 1000;
  return Math.max(16, Math.min(1000, Math.floor(EVAL_BLOCK_BYTES / costs.peakActivationBytes)));
}
const EVAL_BLOCK_BYTES = 16 * 2 ** 20;

/**
 * Writes the trained module's state dict; a failed write is returned as a NasError (the
 * evaluation's failure) and leaves no partial file.
 */
/**
 * Removes `dir` and its parents up to and including `top`, each only when empty (rmdir); stops at
 * the first that is not (another worker's weights may be in it by now).
 */
function removeEmptyDirs(dir: string, top: string): void {
  for (let d = dir; ; d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
    if (d === top || dirname(d) === d) return;
  }
}

function saveWeights(path: string, module: Layer, meta: Record<string, unknown>, makeDir: boolean): NasError | undefined {
  try {
    // The evaluator's weights directory is made as the file is written (another worker's start-up
    // check may have removed an empty one in between: checkWeightsDir).
    if (makeDir) mkdirSync(dirname(path), { recursive: true });
    saveStateDict(path, module.stateDict(), meta);
    return undefined;
  } catch (e) {
    // saveStateDict writes `<path>.tmp-<pid>` and renames it into place; a failed write may leave it.
    rmSync(`${path}.tmp-${process.pid}`, { force: true });
    return isNasError(e) ? e : storageError('io', `cannot write weights ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Writes the optimizer state beside the weights (optimizerStatePath); like saveWeights, a failure is
 * returned (and the weights file removed with any partial state file: the trial keeps no artifact).
 */
function saveOptimizer(weightsFile: string, opt: Optimizer, kind: TrainHparams['optimizer'], names: readonly string[]): NasError | undefined {
  const path = optimizerStatePath(weightsFile);
  try {
    saveOptimizerState(path, opt, kind, names);
    return undefined;
  } catch (e) {
    rmSync(`${path}.tmp-${process.pid}`, { force: true });
    rmSync(weightsFile, { force: true });
    return isNasError(e) ? e : storageError('io', `cannot write optimizer state ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * A non-finite evaluation loss while the training loss stayed finite: the evaluation-mode network
 * (batch-norm running statistics, overflowing activations) gives NaN/Inf. Never a complete result.
 */
function nonFiniteEval(split: 'validation' | 'test', loss: number, when: string): NasError {
  return new NasError('diverged', `the ${split} loss is ${loss} at ${when} although the training loss was finite: the network's evaluation-mode output is not finite`, {
    hint: 'check the data for extreme values; lower the learning rate; a network with batch norm needs training batches of 2 or more samples',
    details: { split, loss: String(loss) },
  });
}

function splitMetrics(prefix: string, m: ClassificationMetrics): Record<string, number> {
  return { [`${prefix}_loss`]: m.loss, [`${prefix}_acc`]: m.acc, [`${prefix}_precision`]: m.precision, [`${prefix}_recall`]: m.recall, [`${prefix}_f1`]: m.f1 };
}

/** One training step in one native call: [loss, argmax hits] (nothing updated when the loss is not finite). */
function nativeStep(net: NativeNetwork, b: { x: Float32Array; y: Int32Array; shape: readonly number[] }, opt: Optimizer, labelSmoothing: number, gradClip: number | undefined): readonly [number, number] {
  const r = net.trainStep(b.x, b.shape, b.y, opt, { labelSmoothing, ...(gradClip !== undefined ? { gradClip } : {}) });
  return [r.loss, r.correct];
}

export interface TrainRequest extends EvalRequest<NetworkArch | JointArch> {}

/**
 * Trains `req.arch` on prepared data for `req.budget ?? opts.epochs ?? 10` epochs and reports
 * final validation and test metrics, costs and (optionally) latency.
 */
export async function trainOnData(data: PreparedData, req: TrainRequest, opts: TrainOptions = {}): Promise<TrainResult> {
  const t0 = performance.now();
  const arch = isJoint(req.arch) ? req.arch.arch : req.arch;
  const hparams = resolveHparams({ ...opts.hparams, ...(isJoint(req.arch) ? req.arch.hparams : {}) });
  const input: InputSpec = { shape: data.shape, numClasses: data.numClasses };
  let costs: CostReport;
  try {
    costs = analyzeArch(arch, input, networkOptions(opts));
  } catch (e) {
    if (isNasError(e, 'shape_mismatch') || isNasError(e, 'invalid_arch'))
      return { outcome: { status: 'failed', reason: 'invalid_arch', message: e.message, curve: [], error: e }, epochs: 0, steps: 0, seconds: (performance.now() - t0) / 1000 };
    throw e;
  }
  const build = (gen: Generator) => buildNetwork(arch, input, { gen, ...networkOptions(opts) }).module;
  return trainModule(build, data, { ...req, arch: { arch, hparams } }, opts, costs, t0);
}

/**
 * The training loop for any classifier module: `build` makes it from the trial's seeded weight
 * generator (so a seed fixes the initial weights); the trainer disposes it at the end. Used by
 * `trainOnData` and by benchmarks whose networks are not a NetworkArch (e.g. the lenet workload).
 * `costs` (optional) are reported as cost metrics.
 */
export async function trainModule(
  build: (gen: Generator) => Layer,
  data: PreparedData,
  req: EvalRequest<{ hparams: Partial<TrainHparams> } | unknown>,
  opts: TrainOptions = {},
  costs?: CostReport,
  t0 = performance.now(),
): Promise<TrainResult> {
  const curve: Progress[] = [];
  const elapsed = () => (performance.now() - t0) / 1000;
  const own = (req.arch as { hparams?: Partial<TrainHparams> } | undefined)?.hparams;
  const resolved = resolveHparams({ ...opts.hparams, ...(own ?? {}) });
  // Inherited weights train at a scaled rate (inheritLrScale): a full-rate restart undoes part of what they learned.
  const hparams = opts.init?.lrScale !== undefined && opts.init.lrScale !== 1 ? { ...resolved, lr: resolved.lr * opts.init.lrScale } : resolved;
  const epochs = req.budget ?? opts.epochs ?? 10;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new NasError('invalid_config', `the epoch budget must be a positive integer, got ${epochs}`, { field: 'budget' });
  const fail = (reason: 'diverged' | 'timeout' | 'aborted' | 'error', message: string, error: NasError, steps: number): TrainResult => ({
    outcome: { status: 'failed', reason, message, curve: [...curve], error },
    ...(costs ? { costs } : {}),
    epochs: curve.length,
    steps,
    seconds: elapsed(),
  });
  const costMetricsOf = (): Metrics => (costs ? costMetrics(costs) : {});

  const rng = Rng.fromSeed(req.seed);
  const gen = Generator.fromRng(rng.derive('init'));
  const orderRng = rng.derive('order');
  const augRng = rng.derive('augment');
  const prevThreads = getNumThreads();
  if (opts.threads !== undefined) setNumThreads(opts.threads);
  const sink: TrainProgressSink | undefined = opts.progress === true ? consoleProgress('train') : opts.progress || undefined;
  const deadline = opts.timeLimitSeconds !== undefined ? t0 + opts.timeLimitSeconds * 1000 : Infinity;
  const evalBs = opts.evalBatchSize ?? defaultEvalBatch(costs);
  const hasVal = data.val.indices.length > 0;

  const module = build(gen);
  const off = opts.init?.epochOffset ?? 0;
  let inherited: Metrics = {};
  let copied: ReadonlySet<string> = new Set();
  if (opts.init) {
    try {
      const rep = inheritWeights(module, opts.init.weights, opts.init.mode);
      inherited = { inherited_fraction: rep.fraction };
      copied = new Set(rep.copied);
    } catch (e) {
      module.dispose();
      throw e;
    }
  }
  const net = opts.engine === 'ops' ? undefined : compileNative(module);
  let best: Map<string, Tensor> | undefined;
  let step = 0;
  try {
    const named = module.namedParameters();
    const params = named.map(([, p]) => p);
    const opt = makeOptimizer(hparams, params);
    if (opts.init?.optimizer) {
      const r = restoreOptimizerState(opt, hparams.optimizer, named.map(([n]) => n), opts.init.optimizer, copied);
      inherited = { ...inherited, inherited_optimizer_fraction: r.fraction };
    }
    // A last training batch of one sample is dropped (PyTorch's drop_last for that case): batch
    // norm cannot normalise one value per channel (PyTorch raises; the running variance would
    // become NaN). Different samples fall out in different epochs, since the order is shuffled.
    const nTrain = data.train.indices.length;
    const dropLast = nTrain > 1 && nTrain % hparams.batchSize === 1;
    const perEpoch = numBatches(nTrain, hparams.batchSize, dropLast);
    const totalSteps = Math.min(opts.maxSteps ?? Infinity, perEpoch * epochs);
    const sched = schedule(hparams, totalSteps, perEpoch);
    const smoothing = hparams.labelSmoothing ?? 0;
    const esMetric = opts.earlyStopping?.metric ?? 'val_loss';
    // Validation metrics need validation rows; the training loss does not.
    const es = hasVal || esMetric === 'train_loss' ? opts.earlyStopping : undefined;
    let bestScore = -Infinity;
    let sinceBest = 0;
    let trainStop = { best: Infinity, count: 0 };
    let lastVal: ClassificationMetrics | undefined;
    module.train();

    for (let epoch = 1; epoch <= epochs && step < totalSteps; epoch++) {
      const te = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let k = 0;
      for (const b of batches(data.train, {
        batchSize: hparams.batchSize,
        normalization: data.normalization,
        shuffle: orderRng,
        dropLast,
        ...(opts.augment ? { augment: opts.augment, augmentRng: augRng } : {}),
      })) {
        if (step >= totalSteps) break;
        opt.lr = lrAt(sched, hparams.lr, step);
        const [loss, hits] = net ? nativeStep(net, b, opt, smoothing, opts.gradClip) : tidy(() => {
          const out = module.forward(Tensor.fromArray(b.x, b.shape));
          const y = Tensor.fromArray(b.y, [b.size], 'int64');
          const l = crossEntropy(out, y, smoothing > 0 ? { labelSmoothing: smoothing } : {});
          const v = l.item();
          if (!Number.isFinite(v)) return [v, 0] as const;
          opt.zeroGrad();
          l.backward();
          if (opts.gradClip !== undefined) clipGradNorm(params, opts.gradClip);
          opt.step();
          return [v, out.argmax(1).eq(y).sum().item()] as const;
        });
        if (!Number.isFinite(loss)) {
          const err = new NasError('diverged', `training loss became ${loss} at epoch ${epoch}, step ${step + 1} (lr ${opt.lr})`, { hint: 'lower the learning rate or clip gradients' });
          return fail('diverged', err.message, err, step);
        }
        step++;
        k++;
        lossSum += loss * b.size;
        correct += hits;
        seen += b.size;
        sink?.batch(epoch, epochs, k, perEpoch, loss);
        // Let timers and signal handlers run (Ctrl-C, lease heartbeats) during long epochs, and
        // across short trainings run back to back (one process-wide clock).
        await yieldIfDue();
        // Checked after every batch: an interrupt stops within one batch (plus YIELD_MS until its
        // handler runs), never at the epoch's end; the run is failed/aborted as before.
        if (req.signal?.aborted) return fail('aborted', `aborted during epoch ${epoch} (after batch ${k} of ${perEpoch})`, new NasError('aborted', 'evaluation aborted'), step);
        if (performance.now() > deadline)
          return fail('timeout', `wall-clock limit of ${opts.timeLimitSeconds}s reached during epoch ${epoch} (step ${step})`, new NasError('timeout', 'time limit reached'), step);
      }
      lastVal = hasVal ? await evaluateSubsetAsync(module, data.val, data, evalBs, net, req.signal) : undefined;
      if (lastVal && !Number.isFinite(lastVal.loss)) {
        const err = nonFiniteEval('validation', lastVal.loss, `epoch ${epoch}`);
        return fail('diverged', err.message, err, step);
      }
      const metrics: Metrics = {
        train_loss: lossSum / seen,
        train_acc: (100 * correct) / seen,
        ...(lastVal ? splitMetrics('val', lastVal) : {}),
        lr: opt.lr,
        epoch_seconds: (performance.now() - te) / 1000,
      };
      const p: Progress = { step: off + epoch, metrics };
      curve.push(p);
      sink?.epoch(epoch, epochs, metrics, (performance.now() - te) / 1000);
      if (req.signal?.aborted) return fail('aborted', `aborted after epoch ${epoch}`, new NasError('aborted', 'evaluation aborted'), step);
      if (performance.now() > deadline)
        return fail('timeout', `wall-clock limit of ${opts.timeLimitSeconds}s reached after epoch ${epoch}`, new NasError('timeout', 'time limit reached'), step);
      const answer: ProgressAnswer = req.onProgress ? await req.onProgress(p) : 'continue';
      if (answer === 'stop') {
        return {
          outcome: { status: 'pruned', step: off + epoch, metrics: { ...metrics, ...costMetricsOf(), ...inherited }, curve: [...curve] },
          ...(costs ? { costs } : {}),
          ...(lastVal ? { val: lastVal } : {}),
          epochs: epoch,
          steps: step,
          seconds: elapsed(),
        };
      }
      if (es && esMetric === 'train_loss') {
        // scikit-learn's rule (noImprovementStep); the last epoch's weights are kept.
        trainStop = noImprovementStep(trainStop, lossSum / seen, es.minDelta ?? 0);
        if (trainStop.count >= es.patience) break;
      } else if (es && lastVal) {
        const score = esMetric === 'val_loss' ? -lastVal.loss : lastVal.acc;
        if (score > bestScore + (es.minDelta ?? 0)) {
          bestScore = score;
          sinceBest = 0;
          best?.forEach((t) => t.dispose());
          best = new Map([...module.stateDict()].map(([n, t]) => [n, t.clone().keep()]));
        } else if (++sinceBest >= es.patience) break;
      }
    }
    if (best) {
      // Early stopping restores the weights of the best validation epoch.
      module.loadStateDict(best);
      lastVal = await evaluateSubsetAsync(module, data.val, data, evalBs, net, req.signal);
    }
    const val = hasVal ? (lastVal ?? (await evaluateSubsetAsync(module, data.val, data, evalBs, net, req.signal))) : undefined;
    const valProbs = opts.valPredictions && hasVal ? predictProbs(module, data.val, data.normalization, data.numClasses, evalBs) : undefined;
    const test = opts.skipTest || data.test.indices.length === 0 ? undefined : await evaluateSubsetAsync(module, data.test, data, evalBs, net, req.signal);
    const testProbs = opts.testPredictions && test ? predictProbs(module, data.test, data.normalization, data.numClasses, evalBs) : undefined;
    for (const [what, m] of [['validation', val], ['test', test]] as const) {
      if (m && !Number.isFinite(m.loss)) {
        const err = nonFiniteEval(what, m.loss, 'the end of training');
        return fail('diverged', err.message, err, step);
      }
    }
    if (req.signal?.aborted) return fail('aborted', 'aborted after training, before the latency measurement', new NasError('aborted', 'evaluation aborted'), step);
    const latency = opts.latency ? measureLatency(module, data.shape, opts.latency === true ? {} : opts.latency) : undefined;
    const last = curve[curve.length - 1]?.metrics ?? {};
    const metrics: Metrics = {
      train_loss: last.train_loss ?? NaN,
      train_acc: last.train_acc ?? NaN,
      ...(val ? splitMetrics('val', val) : {}),
      ...(test ? splitMetrics('test', test) : {}),
      ...costMetricsOf(),
      ...(latency ? latencyMetrics(latency) : {}),
      ...inherited,
      epochs: off + curve.length,
      train_seconds: elapsed(),
    };
    const weightsFile = opts.weightsFile === undefined ? undefined : resolve(opts.weightsFile);
    if (weightsFile !== undefined) {
      // The input normalisation travels with the weights: the network expects inputs normalised by it.
      const meta = { seed: req.seed, arch: req.arch, dataset: data.name, normalization: data.normalization, ...(data.classNames ? { classes: data.classNames } : {}), epochs: curve.length, steps: step, metrics };
      // Early stopping restored earlier weights: no state of theirs exists, and none of an earlier file of this name may stay beside them.
      if (opts.saveOptimizerState && best) rmSync(optimizerStatePath(weightsFile), { force: true });
      const err = saveWeights(weightsFile, module, meta, opts.makeWeightsDir === true) ?? (opts.saveOptimizerState && !best ? saveOptimizer(weightsFile, opt, hparams.optimizer, named.map(([n]) => n)) : undefined);
      if (err) return fail('error', `training completed but its weights could not be saved: ${err.message}`, err, step);
    }
    return {
      outcome: { status: 'complete', metrics, curve: [...curve], ...(weightsFile === undefined ? {} : { artifact: weightsFile }) },
      ...(costs ? { costs } : {}),
      ...(val ? { val } : {}),
      ...(valProbs ? { valProbs } : {}),
      ...(testProbs ? { testProbs } : {}),
      ...(test ? { test } : {}),
      ...(latency ? { latency } : {}),
      epochs: curve.length,
      steps: step,
      seconds: elapsed(),
    };
  } catch (e) {
    // A libtorch failure inside one candidate (e.g. out of memory) is that candidate's failure.
    if (isNasError(e) && (e.code === 'native_error' || e.code === 'shape_mismatch')) return fail('error', e.message, e, step);
    // The signal stopped a validation or test pass (evaluateSubsetAsync): aborted, as mid-epoch.
    if (isNasError(e, 'aborted') && req.signal?.aborted) return fail('aborted', `aborted during evaluation after epoch ${curve.length}`, e, step);
    throw e;
  } finally {
    sink?.done();
    net?.dispose();
    best?.forEach((t) => t.dispose());
    module.dispose();
    if (opts.threads !== undefined) setNumThreads(prevThreads);
    // The addon keeps freed tensor memory for reuse (see trimMemory); a finished run gives it back.
    trimMemory();
  }
}

/** Data-set options of `trainArchitecture`: which data and how to split it. */
export interface DatasetOptions {
  readonly dataset: DatasetSpec;
  readonly split?: SplitSpec;
}

/**
 * Trains one architecture given as parsed JSON (a NetworkArch, or `{arch, hparams}`): the CLI's
 * `tsnas train`. Bad JSON shapes are `invalid_arch` errors (thrown: there is no search to go on);
 * a candidate that fails to train is reported in `outcome`.
 */
export async function trainArchitecture(archJson: unknown, data: DatasetOptions | PreparedData, opts: TrainOptions & { seed?: number; budget?: number; signal?: AbortSignal } = {}): Promise<TrainResult> {
  const arch = checkArchJson(archJson);
  const prepared = 'train' in data && 'normalization' in data ? data : await prepareData(data.dataset, data.split ?? {});
  return trainOnData(prepared, { arch, seed: opts.seed ?? 0, ...(opts.budget !== undefined ? { budget: opts.budget } : {}), ...(opts.signal ? { signal: opts.signal } : {}) }, opts);
}

/**
 * Checks an architecture given as parsed JSON (a NetworkArch, or `{arch, hparams}`) completely
 * before anything is built: every field's presence and type (src/core/arch-check.ts), unknown
 * fields refused, and a joint candidate's hparams (resolveHparams), all problems in one combined
 * `invalid_arch` / `invalid_config` NasError naming each field (`hidden`, `arch.layers[1].kernel`).
 * `file`: where the JSON was read, named in the error (inArchFile).
 */
export function checkArchJson(j: unknown, file?: string): NetworkArch | JointArch {
  try {
    return checkArchJsonFields(j);
  } catch (e) {
    throw inArchFile(e, file);
  }
}

function checkArchJsonFields(j: unknown): NetworkArch | JointArch {
  const I = new Issues();
  if (typeof j === 'object' && j !== null && !Array.isArray(j) && !('family' in j) && ('arch' in j || 'hparams' in j)) {
    const o = j as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (k !== 'arch' && k !== 'hparams')
        I.add(new NasError('invalid_arch', `unknown field ${JSON.stringify(k)} of a joint architecture${didYouMean(k, ['arch', 'hparams'])}`, { field: k, hint: 'a joint architecture is {"arch": {...}, "hparams": {...}}' }));
    if (o.arch === undefined) I.add(new NasError('invalid_arch', 'missing', { field: 'arch', hint: 'add "arch": the network architecture, e.g. {"family": "mlp", ...}' }));
    else checkNetworkArchFields(o.arch, 'arch', I);
    if (o.hparams === undefined) I.add(new NasError('invalid_arch', 'missing', { field: 'hparams', hint: 'add "hparams": e.g. {"lr": 0.01}' }));
    else if (typeof o.hparams !== 'object' || o.hparams === null || Array.isArray(o.hparams))
      I.add(new NasError('invalid_arch', `must be an object, got ${JSON.stringify(o.hparams)}`, { field: 'hparams', hint: 'e.g. {"lr": 0.01, "optimizer": "adam"}' }));
    else I.take(() => resolveHparams(o.hparams as Partial<TrainHparams>), undefined);
    I.throwIfAny('the architecture');
    return o as unknown as JointArch;
  }
  checkNetworkArchFields(j, '', I);
  I.throwIfAny('the architecture');
  return j as NetworkArch;
}

/**
 * The input a dataset gives a network, known without loading it: the image datasets' fixed
 * shapes (1x28x28 MNIST / Fashion-MNIST, 3x32x32 CIFAR-10, 1x8x8 digits; 10 classes each).
 * Undefined for CSV files (their width is the file's).
 */
export function knownInputOf(dataset: DatasetSpec): InputSpec | undefined {
  switch (dataset.kind) {
    case 'fashion_mnist':
    case 'mnist':
      return { shape: [1, 28, 28], numClasses: 10 };
    case 'cifar10':
      return { shape: [3, 32, 32], numClasses: 10 };
    case 'digits':
      return { shape: [1, 8, 8], numClasses: 10 };
    case 'csv':
      return undefined;
    default:
      return assertNever(dataset, 'dataset kind');
  }
}

/**
 * Checks an architecture (and its hyperparameters) before any data is loaded, so a malformed
 * one is an input error (invalid_arch / invalid_config / shape_mismatch, field named) found in
 * milliseconds rather than after loading the data: the cost analysis runs on the dataset's known
 * input (knownInputOf); for a CSV file, whose width is unknown yet, on a probe input, and only
 * the architecture's own faults (invalid_arch: a negative width, an unknown activation...) count.
 */
export function checkArchBeforeData(archJson: unknown, dataset: DatasetSpec | undefined, opts: TrainOptions = {}, file?: string): NetworkArch | JointArch {
  const a = checkArchJson(archJson, file);
  const arch = isJoint(a) ? a.arch : a;
  try {
    if (isJoint(a)) resolveHparams({ ...opts.hparams, ...a.hparams });
  } catch (e) {
    throw inArchFile(e, file);
  }
  const known = dataset === undefined ? undefined : knownInputOf(dataset);
  try {
    analyzeArch(arch, known ?? { shape: [1], numClasses: 2 }, networkOptions(opts));
  } catch (e) {
    if (known !== undefined || isNasError(e, 'invalid_arch')) throw inArchFile(e, file);
  }
  return a;
}

export interface TrainingEvaluatorOptions extends Omit<TrainOptions, 'weightsFile' | 'makeWeightsDir' | 'init'> {
  readonly dataset: DatasetSpec;
  /**
   * Weight inheritance from the request's `parent` (EvalRequest.parent: a promoted trial's lower
   * rung, an evolution child's parent), src/nn/inherit.ts: `off` (default) trains from scratch;
   * `exact` / `morph` initialise from the parent's kept weights (same-shape tensors only / also
   * overlapping blocks). A promotion of the same architecture to a larger budget CONTINUES the
   * parent: it trains budget - parent budget epochs from the parent's weights (numbered after
   * them), instead of the whole budget from scratch; a mutated child trains its whole budget.
   * Not with cvFolds (ignored there). A parent whose weights cannot be read: from scratch.
   */
  readonly inherit?: 'off' | InheritMode;
  /**
   * Learning-rate factor for a training that starts from inherited weights (default 1): its rate
   * is hparams.lr x this, with the same schedule. Inherited weights have already been trained (a
   * promotion's lower rung was annealed by its own schedule); restarting them at the full rate
   * first moves them away from what they learned, as fine-tuning a pretrained network at the
   * from-scratch rate does. A value below 1 continues them more gently (the usual fine-tuning
   * practice; SGDR's warm restarts, Loshchilov & Hutter 2017, restart at the full rate only
   * because they then train for the whole cycle). Trainings from scratch are unaffected.
   */
  readonly inheritLrScale?: number;
  /**
   * With `inherit`: keep every complete evaluation's optimizer state beside its weights
   * (TrainOptions.saveOptimizerState; `<weights>.optim.sd`, about twice the weights' size for
   * Adam) and start an inheriting training's optimizer from its parent's: per-parameter steps and
   * moments for every parameter whose weights were copied whole, fresh state for new or reshaped
   * ones (src/nn/optim-state.ts; as PBT and Lamarckian evolution copy optimizer state). A parent
   * without a state file (kept before this option, or early-stopped) gives fresh state throughout.
   * Adds the metric `inherited_optimizer_fraction`. Default false.
   */
  readonly inheritOptimizer?: boolean;
  /**
   * Multi-fidelity by data instead of epochs: one budget unit is this many training samples
   * (default: one unit is one epoch). A budget of b units trains ceil(b * budgetSamples / batch)
   * optimizer steps over as many shuffled passes of the training split as that needs, the
   * learning-rate schedule spanning those steps (`epochs` is then the full budget in units). On a
   * large training split this keeps low rungs close to the final regime (much data, few repeats),
   * where epochs of a small subset favour small, fast-converging networks. With `inherit`, a
   * promotion of the same architecture continues its parent for the budget units it lacks
   * (budget - parent budget units of samples; its passes numbered after the parent's). Not with cvFolds.
   */
  readonly budgetSamples?: number;
  readonly split?: SplitSpec;
  /**
   * Keep the trained weights of every complete evaluation in this directory (created when
   * needed), one state-dict file each, named by `weightsFileName`; the outcome's `artifact` is its
   * absolute path. Failed and pruned evaluations write nothing. Unset: no weights are kept.
   */
  readonly weightsDir?: string;
  /**
   * k-fold cross-validation (k >= 2): every evaluation trains k networks, one per fold of the pooled
   * training + validation data (stratified, seeded by the split seed; see crossValidationViews),
   * and reports each metric as the mean over the folds, with the spread as `val_acc_std` and
   * `val_loss_std` (sample std) and `cv_folds` = k. Test metrics are the folds' mean on the same
   * test split. The kept weights (weightsDir) are fold 1's network. Costs k times one training.
   */
  readonly cvFolds?: number;
  /**
   * Repeated k-fold cross-validation (with cvFolds; default 1): the k-fold partition is drawn
   * `cvRepeats` times with different shuffles (repeat 1 is the plain cvFolds partition; repeat r
   * is seeded `<split seed>/repeat<r>`), every evaluation trains k x cvRepeats networks and the
   * metrics are the means over all of them (scikit-learn's RepeatedStratifiedKFold; Kohavi 1995,
   * Bouckaert & Frank 2004: repeats lower the variance of the estimate that a selection among
   * close candidates compares). Reported as `cv_repeats`; the spread is over all k x r folds.
   */
  readonly cvRepeats?: number;
  /**
   * With cvFolds: keep every complete evaluation's out-of-fold class probabilities (each pooled
   * row predicted by the fold network that did not train on it; the mean over repeats) as the
   * outcome's attribute `cv_predictions` (src/eval/cv-predictions.ts), which the run layer stores
   * as a trial user attribute. Caruana et al. 2004's ensemble selection over a study's trials
   * (src/api/ensemble.ts, `tsnas ensemble --method caruana`) reads them. Costs one extra
   * forward pass over each fold's validation rows and rows x classes x 4 bytes (base64) per trial.
   * When the test split is evaluated too (no skipTest), the record also holds the mean of the k
   * (x repeats) fold networks' test-set probabilities: the fold networks as a bagged final model
   * (auto-sklearn's `cv` resampling, AutoGluon's k-fold bagging), which `tsnas ensemble --final
   * folds` averages instead of retraining. One extra forward pass over the test rows per fold.
   */
  readonly cvPredictions?: boolean;
}


/** Per-key mean of metric records (keys present in all of them). */
function meanMetrics(ms: readonly Metrics[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(ms[0] ?? {})) if (ms.every((m) => typeof m[k] === 'number')) out[k] = ms.reduce((a, m) => a + (m[k] as number), 0) / ms.length;
  return out;
}

const SAFE_ID = /^[A-Za-z0-9_.-]{1,120}$/;

/**
 * The weights file of one evaluation: `<id>-s<seed>-<h>.sd`, where `id` is the request's id
 * (default `eval`) and `h` hashes architecture, seed and budget. Requests with distinct ids never
 * share a file; id-less requests share one only when they are the same training (same arch, seed
 * and budget, hence the same weights on one machine). No randomness: a re-run names the same file.
 */
export function weightsFileName(req: Pick<EvalRequest<unknown>, 'arch' | 'seed' | 'budget' | 'id'>): string {
  const id = req.id ?? 'eval';
  if (!SAFE_ID.test(id))
    throw new NasError('invalid_config', `evaluation id ${JSON.stringify(id)} cannot name a file`, { field: 'id', hint: 'use 1-120 characters of A-Z a-z 0-9 _ . -' });
  const h = hash32(canonicalJson({ arch: req.arch, seed: req.seed, budget: req.budget ?? null }));
  return `${id}-s${req.seed}-${h.toString(16).padStart(8, '0')}.sd`;
}

/**
 * The training Evaluator: `budget` = epochs (maxBudget = `epochs`, default 10). The dataset is
 * loaded and split once, on first use, and shared by every evaluation. The test split is evaluated
 * and reported (test_*), never used for decisions.
 */
export class TrainingEvaluator implements Evaluator<NetworkArch | JointArch> {
  readonly name = 'train';
  readonly metricNames: readonly string[];
  readonly metricOptions: Readonly<Record<string, string>>;
  readonly maxBudget: number;
  private data: Promise<PreparedData> | undefined;

  constructor(private readonly o: TrainingEvaluatorOptions) {
    this.maxBudget = o.epochs ?? 10;
    const split = ['loss', 'acc', 'precision', 'recall', 'f1'];
    this.metricNames = [
      'train_loss',
      'train_acc',
      ...split.map((m) => `val_${m}`),
      ...(o.skipTest ? [] : split.map((m) => `test_${m}`)),
      'params',
      'flops',
      'macs',
      'memory_bytes',
      ...(o.latency ? ['latency_ms', 'latency_batch_ms', 'latency_threads'] : []),
      'epochs',
      'train_seconds',
      ...(o.cvFolds ? ['val_acc_std', 'val_loss_std', 'cv_folds'] : []),
      ...(o.cvFolds && o.cvRepeats !== undefined ? ['cv_repeats'] : []),
      ...(o.inherit && o.inherit !== 'off' ? ['inherited_fraction'] : []),
      ...(o.inherit && o.inherit !== 'off' && o.inheritOptimizer ? ['inherited_optimizer_fraction'] : []),
    ];
    // The metrics an option turns on, minus those already reported (parts.ts names the option).
    const optional: Record<string, string> = {
      latency_ms: 'latency: true',
      latency_batch_ms: 'latency: true',
      latency_threads: 'latency: true',
      val_acc_std: 'cv_folds: K (K >= 2)',
      val_loss_std: 'cv_folds: K (K >= 2)',
      cv_folds: 'cv_folds: K (K >= 2)',
      cv_repeats: 'cv_folds: K and cv_repeats: R',
      inherited_fraction: 'inherit: morph (or exact)',
      inherited_optimizer_fraction: 'inherit: morph (or exact) and inherit_optimizer: true',
    };
    this.metricOptions = Object.fromEntries(Object.entries(optional).filter(([m]) => !this.metricNames.includes(m)));
    if (o.inheritOptimizer && (!o.inherit || o.inherit === 'off'))
      throw new NasError('invalid_config', 'inherit_optimizer restores a parent\'s optimizer state with its weights, but inherit is off', { field: 'evaluator.inherit_optimizer', hint: 'add inherit: morph (or exact), or remove inherit_optimizer' });
    if (o.cvFolds !== undefined && !(Number.isInteger(o.cvFolds) && o.cvFolds >= 2))
      throw new NasError('invalid_config', `cv_folds must be an integer >= 2, got ${o.cvFolds}`, { field: 'evaluator.cv_folds' });
    if (o.cvRepeats !== undefined) {
      if (!(Number.isInteger(o.cvRepeats) && o.cvRepeats >= 1))
        throw new NasError('invalid_config', `cv_repeats must be an integer >= 1, got ${o.cvRepeats}`, { field: 'evaluator.cv_repeats' });
      if (o.cvFolds === undefined)
        throw new NasError('invalid_config', 'cv_repeats repeats a k-fold cross-validation, but cv_folds is not set', { field: 'evaluator.cv_repeats', hint: 'add cv_folds (e.g. cv_folds: 5), or remove cv_repeats' });
    }
    if (o.cvPredictions && o.cvFolds === undefined)
      throw new NasError('invalid_config', 'cv_predictions keeps out-of-fold predictions, but cv_folds is not set', { field: 'evaluator.cv_predictions', hint: 'add cv_folds (e.g. cv_folds: 5), or remove cv_predictions' });
    if (o.budgetSamples !== undefined) {
      if (!(Number.isInteger(o.budgetSamples) && o.budgetSamples >= 1))
        throw new NasError('invalid_config', `budget_samples must be a positive integer, got ${o.budgetSamples}`, { field: 'evaluator.budget_samples' });
      if (o.cvFolds !== undefined)
        throw new NasError('invalid_config', 'budget_samples cannot be combined with cv_folds', {
          field: 'evaluator.budget_samples',
          hint: 'remove one of the two options (budgets in epochs work with both)',
        });
    }
  }

  /**
   * The trainer's epochs and step cap for a budget of `units` (TrainingEvaluatorOptions.budgetSamples);
   * plain epochs when budgets are epochs.
   */
  private budgetOf(req: EvalRequest<NetworkArch | JointArch>, nTrain: number, units = req.budget ?? this.maxBudget): { epochs: number; maxSteps?: number } {
    const per = this.o.budgetSamples;
    if (per === undefined) return { epochs: units };
    const { batchSize } = resolveHparams({ ...this.o.hparams, ...(isJoint(req.arch) ? req.arch.hparams : {}) });
    const samples = units * per;
    return { epochs: Math.max(1, Math.ceil(samples / Math.max(1, nTrain))), maxSteps: Math.max(1, Math.ceil(samples / batchSize)) };
  }

  /** The prepared data (loaded once); with cv_folds, the fold views are made (and checked) here too. */
  prepared(): Promise<PreparedData> {
    this.data ??= prepareData(this.o.dataset, this.o.split ?? {}).then((d) => {
      this.input = { shape: d.shape, numClasses: d.numClasses };
      if (this.o.cvFolds !== undefined) {
        const seed = this.o.split?.seed ?? 0;
        const k = this.o.cvFolds;
        this.folds = Array.from({ length: this.o.cvRepeats ?? 1 }, (_, r) => crossValidationViews(d, k, r === 0 ? seed : `${seed}/repeat${r + 1}`)).flat();
      }
      return d;
    });
    return this.data;
  }
  private folds: PreparedData[] | undefined;

  async evaluate(req: EvalRequest<NetworkArch | JointArch>): Promise<EvalOutcome> {
    const data = await this.prepared();
    try {
      const weightsFile = this.weightsDir === undefined ? undefined : join(this.weightsDir, weightsFileName(req));
      if (weightsFile !== undefined) this.ensureWeightsDir();
      if (this.folds) return await this.evaluateFolds(this.folds, req, weightsFile);
      const nTrain = data.train.indices.length;
      const init = this.inheritance(req, nTrain);
      try {
        const b = this.budgetOf(req, nTrain, init?.budget);
        const r = { ...req, budget: b.epochs };
        const keepOptimizer = this.o.inheritOptimizer === true && this.o.inherit !== undefined && this.o.inherit !== 'off';
        const out = (
          await trainOnData(data, r, {
            ...this.o,
            ...(b.maxSteps === undefined ? {} : { maxSteps: b.maxSteps }),
            ...(weightsFile === undefined ? {} : { weightsFile, makeWeightsDir: true, ...(keepOptimizer ? { saveOptimizerState: true } : {}) }),
            ...(init ? { init: init.init } : {}),
          })
        ).outcome;
        // With inheritance on, every outcome reports inherited_fraction (0: trained from scratch).
        if (out.status !== 'failed' && this.o.inherit && this.o.inherit !== 'off' && (!init || (keepOptimizer && !init.init.optimizer)))
          return { ...out, metrics: { ...(init ? {} : { inherited_fraction: 0 }), ...(keepOptimizer ? { inherited_optimizer_fraction: 0 } : {}), ...out.metrics } };
        return out;
      } finally {
        for (const t of init?.init.weights.values() ?? []) t.dispose();
        if (init?.init.optimizer) disposeOptimizerState(init.init.optimizer);
      }
    } catch (e) {
      if (isNasError(e, 'invalid_config')) return { status: 'failed', reason: 'error', message: e.message, curve: [], error: e };
      throw e;
    }
  }

  /**
   * What to inherit for `req` (see TrainingEvaluatorOptions.inherit): the parent's weights (owned
   * by the caller), the mode, and for a same-architecture promotion the epochs already done and the
   * remaining budget. Undefined: train from scratch.
   */
  private inheritance(req: EvalRequest<NetworkArch | JointArch>, nTrain: number): { init: NonNullable<TrainOptions['init']>; budget: number } | undefined {
    const mode = this.o.inherit ?? 'off';
    const p = req.parent;
    if (mode === 'off' || !p) return undefined;
    let weights: Map<string, Tensor>;
    try {
      weights = loadStateDict(p.weightsPath).tensors;
    } catch {
      return undefined;
    }
    const budget = req.budget ?? this.maxBudget;
    const continues = p.kind === 'promotion' && p.budget !== undefined && p.budget < budget && canonicalJson(p.arch) === canonicalJson(req.arch);
    const off = continues ? p.budget! : 0;
    const lrScale = this.o.inheritLrScale ?? 1;
    // The parent's passes over the training split (= its epochs when budgets are epochs).
    const epochOffset = continues ? this.budgetOf(req, nTrain, off).epochs : 0;
    let optimizer: SavedOptimizerState | undefined;
    if (this.o.inheritOptimizer) {
      try {
        optimizer = loadOptimizerState(optimizerStatePath(p.weightsPath));
      } catch {
        optimizer = undefined; // no state kept beside these weights: fresh optimizer state
      }
    }
    return { init: { weights, mode, epochOffset, ...(lrScale !== 1 ? { lrScale } : {}), ...(optimizer ? { optimizer } : {}) }, budget: budget - off };
  }

  /**
   * Cross-validated evaluation: one training per fold (same seed, same hyperparameters), metrics
   * averaged over the folds, spread recorded. A fold that fails fails the evaluation (its reason,
   * prefixed by the fold); the learning curve given to onProgress is the per-epoch mean over the
   * folds, reported after all folds ran (so a pruner sees it but cannot save their time).
   */
  private async evaluateFolds(folds: readonly PreparedData[], req: EvalRequest<NetworkArch | JointArch>, weightsFile: string | undefined): Promise<EvalOutcome> {
    const outs: { metrics: Metrics; curve: readonly Progress[] }[] = [];
    const held: { rows: Int32Array; probs: Float32Array }[] = [];
    const tested: { rows: Int32Array; probs: Float32Array }[] = [];
    const { onProgress, ...plain } = req;
    let artifact: string | undefined;
    const k = this.o.cvFolds ?? folds.length;
    const repeats = folds.length / k;
    for (const [i, fold] of folds.entries()) {
      const r = await trainOnData(fold, plain, { ...this.o, ...(i === 0 && weightsFile !== undefined ? { weightsFile, makeWeightsDir: true } : {}), ...(this.o.cvPredictions ? { valPredictions: true, testPredictions: true } : {}) });
      const o = r.outcome;
      if (o.status !== 'complete') {
        if (artifact !== undefined) this.discardArtifact(artifact);
        if (o.status === 'failed') return { ...o, message: `${repeats > 1 ? `repeat ${Math.floor(i / k) + 1}/${repeats}, ` : ''}fold ${(i % k) + 1}/${k}: ${o.message}` };
        return o;
      }
      if (o.artifact !== undefined) artifact = o.artifact;
      outs.push({ metrics: o.metrics, curve: o.curve });
      if (r.valProbs) held.push({ rows: fold.val.indices, probs: r.valProbs });
      if (r.testProbs) tested.push({ rows: fold.test.indices, probs: r.testProbs });
    }
    const metrics: Record<string, number> = meanMetrics(outs.map((o) => o.metrics));
    metrics['val_acc_std'] = sampleStd(outs.map((o) => o.metrics['val_acc'] as number));
    metrics['val_loss_std'] = sampleStd(outs.map((o) => o.metrics['val_loss'] as number));
    metrics['cv_folds'] = k;
    if (this.o.cvRepeats !== undefined) metrics['cv_repeats'] = repeats;
    metrics['train_seconds'] = outs.reduce((a, o) => a + (o.metrics['train_seconds'] ?? 0), 0);
    const epochs = Math.min(...outs.map((o) => o.curve.length));
    const curve: Progress[] = [];
    for (let e = 0; e < epochs; e++) curve.push({ step: e + 1, metrics: meanMetrics(outs.map((o) => o.curve[e]!.metrics)) });
    for (const p of curve) {
      if ((onProgress ? await onProgress(p) : 'continue') === 'stop') {
        if (artifact !== undefined) this.discardArtifact(artifact);
        return { status: 'pruned', step: p.step, metrics: p.metrics, curve: curve.slice(0, p.step) };
      }
    }
    const attrs = this.o.cvPredictions ? { [CV_PREDICTIONS_ATTR]: encodeCvPredictions({ ...poolFoldPredictions(held, folds[0]!.numClasses), ...(tested.length === folds.length ? { test: poolFoldPredictions(tested, folds[0]!.numClasses) } : {}) }) } : undefined;
    return { status: 'complete', metrics, curve, ...(artifact !== undefined ? { artifact } : {}), ...(attrs ? { attrs } : {}) };
  }

  /** Removes a weights file of this evaluator's directory (an outcome the run layer did not record). */
  discardArtifact(artifact: string): void {
    if (this.weightsDir === undefined || dirname(resolve(artifact)) !== this.weightsDir) return;
    try {
      rmSync(artifact, { force: true });
      rmSync(optimizerStatePath(artifact), { force: true }); // kept beside it with inheritOptimizer
    } catch {
      // Best effort: an orphaned file wastes space but harms nothing.
    }
  }

  private get weightsDir(): string | undefined {
    return this.o.weightsDir === undefined ? undefined : resolve(this.o.weightsDir);
  }

  /**
   * Start-up check of the weights directory (run before a worker claims a trial): creates it and
   * writes and removes a probe file, so a host that cannot write it (a volume mounted read-only
   * there, wrong owner) fails at once with `storage_error` naming `evaluator.artifacts_dir`,
   * rather than at the end of its first trial's training. No-op without a weights directory.
   */
  checkWeightsDir(): void {
    if (this.weightsDir === undefined) return;
    const dir = this.weightsDir;
    // The directories this check creates are removed again: a command refused after it (a split or
    // constraint error) leaves no empty `<db>.artifacts/<study>/` (new user, session 9). The first
    // trial's weights create them (ensureWeightsDir in evaluate, and saveWeights before it writes).
    let firstMissing: string | undefined;
    for (let d = dir; !existsSync(d); d = dirname(d)) {
      firstMissing = d;
      if (dirname(d) === d) break;
    }
    this.ensureWeightsDir();
    const probe = join(dir, `.tsnas-write-check-${hostname()}-${process.pid}`);
    try {
      writeFileSync(probe, 'tsnas write check\n');
      rmSync(probe, { force: true });
      if (firstMissing !== undefined) removeEmptyDirs(dir, firstMissing);
    } catch (e) {
      if (firstMissing !== undefined) removeEmptyDirs(dir, firstMissing);
      throw new NasError('storage_error', `artifacts_dir ${dir} is not writable on this host (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): trained weights could not be kept`, {
        field: 'evaluator.artifacts_dir',
        hint: 'every worker must be able to write the study\'s artifacts directory: mount the same shared volume read-write on each worker host (ReadWriteMany in Kubernetes), or fix its permissions here',
        cause: e,
      });
    }
  }

  private ensureWeightsDir(): void {
    const dir = this.weightsDir!;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw storageError('io', `cannot create the weights directory ${dir} on this host: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
        field: 'evaluator.artifacts_dir',
        hint: 'give a directory every worker can write (a shared volume mounted read-write on each host), or do not keep weights',
        cause: e,
      });
    }
  }

  /** Analytic costs; needs the data's shape, so it is only available after `prepared()` resolved. */
  costs(a: NetworkArch | JointArch): Metrics {
    const shape = this.input;
    if (!shape) throw new NasError('internal', 'TrainingEvaluator.costs() before the dataset was loaded', { hint: 'await evaluator.prepared() first' });
    return costMetrics(analyzeArch(isJoint(a) ? a.arch : a, shape, networkOptions(this.o)));
  }
  private input: InputSpec | undefined;
}
