/**
 * `tsnas main`: the README's main job, end to end on real Fashion-MNIST, in stages that each
 * resume after Ctrl-C or kill -9 (finished candidates and finished trainings are never redone):
 *
 *  1. Search (a study in SQLite): the joint chain-CNN space of main-space.ts under a MACs cap,
 *     searched by ASHA (asynchronous successive halving, Li et al. 2020) with rungs of
 *     `minBudget`, x`eta`, ... `maxBudget` units of `budgetSamples` training samples each, drawn
 *     from the whole training split (54,000 images; a budget is data seen, not epochs of a small
 *     subset, so low rungs resemble the final regime: much data, few repeats), judged on a
 *     class-balanced validation subset (never the test split), in `workers`
 *     local worker processes with `threads / workers` libtorch threads each (small networks train
 *     faster as two one-thread processes than as one two-thread process). The study stops at
 *     `trials` trials (promotions included) or after `searchSeconds`.
 *  2. The winner is the best validation accuracy among the trials of the highest rung reached.
 *  3. Final trainings, all with the same recipe (MAIN_RECIPE: `finalEpochs` epochs on all 60,000
 *     training images, horizontal flips, label smoothing 0.1, each model's cosine schedule): the
 *     winner with its searched hyperparameters; a hand-designed VGG-style network of the winner's
 *     MACs (mainBaselineArch); LeNet (the lenet workload, Adam 1e-3, batch 64). Each reports test
 *     accuracy (the test split's only use), params, FLOPs, measured latency (batch 1), weights size.
 *     With `workers` >= 2 they run as that many one-thread child processes side by side
 *     (main-final-child.ts). A finished training leaves `final-<model>-s<seed>.sd` and `.json` in
 *     the study's artifacts directory; a rerun reads them instead of training again.
 *  4. Compression: the retrained winner quantized to int8 (compressWinner), resumable the same way.
 *  5. The rows as study attributes `final_<model>`, and the study's HTML report with PNG plots
 *     (`report-s<seed>.html` in the artifacts directory; `report: false` skips it).
 *
 * The winner trial's `weights_path` then names the retrained weights, so `tsnas export` of the
 * study exports them (its search-time weights stay as `search_weights_path`, the final training's
 * metrics as `final_training`); the baseline's path is the study attribute `baseline_weights_path`.
 */
import { candidateValue } from '../core/metrics.js';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { fork, type ChildProcess } from 'node:child_process';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChainCnnArch, JointArch } from '../core/arch.js';
import { NasError, isNasError } from '../core/errors.js';
import type { TrialId } from '../core/ids.js';
import type { Augmentation } from '../data/augment.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { FASHION_MNIST_DIR } from '../data/sources.js';
import type { CostReport } from '../eval/cost.js';
import { trainModule, trainOnData, type TrainResult } from '../eval/train.js';
import type { Progress } from '../eval/types.js';
import { lenet } from '../nn/build/lenet.js';
import { buildNetwork } from '../nn/build/index.js';
import { loadModule } from '../nn/state.js';
import { Generator } from '../tensor/index.js';
import { compressNetwork } from './compress.js';
import { findStudyRecord, openStore, type TrialCounts, type TrialRecord } from '../store/index.js';
import { MAIN_SPACE_NAME, mainBaselineArch } from './main-space.js';
import { statsOf, type Stat } from './repeat.js';
import { prepareSearch, search } from './study.js';
import { rerunLine } from '../run/study.js';
import { modelDirFields, type FinalRecord as TrainedRecord } from './model-record.js';
import type { JsonObject } from '../core/json.js';

export interface MainOptions {
  readonly storage?: string;
  /** Study name of seed 0; seed k > 0 uses `<study>-seed<k>`. */
  readonly study?: string;
  /** Search budget in trials, promotions included. */
  readonly trials?: number;
  /** Wall-clock cap of the search phase, seconds. */
  readonly searchSeconds?: number;
  /**
   * Time budget of the whole job, seconds: the winner is the best candidate whose final training,
   * estimated from its search trial (estimateFinalSeconds x FINAL_TIME_MARGIN), fits in what is
   * left after the search. 0 = no limit.
   */
  readonly jobSeconds?: number;
  /** ASHA's first rung, in budget units (`budgetSamples` training samples each). */
  readonly minBudget?: number;
  /** ASHA's last rung, in budget units. */
  readonly maxBudget?: number;
  /** Training samples per budget unit (the train evaluator's `budget_samples`). */
  readonly budgetSamples?: number;
  /** ASHA's reduction factor (the top 1/eta of a rung is promoted). */
  readonly eta?: number;
  /** Search training subset per class; undefined (default) = the whole training split. */
  readonly trainPerClass?: number;
  readonly valPerClass?: number;
  readonly finalEpochs?: number;
  /** MACs cap for candidates (per image). */
  readonly maxMacs?: number;
  readonly dataDir?: string;
  readonly seed?: number;
  /** libtorch threads in all (split among the search workers). */
  readonly threads?: number;
  /** Search worker processes (1 = in this process). */
  readonly workers?: number;
  /** Where trained weights are kept (search trials and the final ones); default beside the SQLite database. */
  readonly artifactsDir?: string;
  /**
   * Zero-cost prescreening of ASHA's new candidates (src/strategy/prescreen.ts): `candidates`
   * random architectures scored by `proxies` on one real training batch, the best `top` trained
   * first, then every new draw the best of a `pool` of fresh ones; null = plain random draws.
   */
  readonly prescreen?: MainPrescreen | null;
  /** Write the HTML report (and its plots as PNG) at the end (default true). */
  readonly report?: boolean;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

/** The main job's prescreen (the `prescreen` config of src/api/proxy-parts.ts). */
export interface MainPrescreen {
  readonly candidates: number;
  readonly top: number;
  readonly proxies: readonly string[];
  readonly pool: number;
}

export const MAIN_DEFAULTS = {
  storage: 'sqlite:./tsnas-main.db',
  study: 'fmnist-main',
  trials: 120,
  searchSeconds: 240,
  jobSeconds: 900,
  minBudget: 1,
  maxBudget: 9,
  budgetSamples: 6000,
  eta: 3,
  valPerClass: 500,
  finalEpochs: 12,
  maxMacs: 4_000_000,
  seed: 0,
  threads: 2,
  workers: 2,
  prescreen: null as MainPrescreen | null,
} as const;

/** The final training recipe every model of the table gets (besides its own optimizer settings). */
export const MAIN_RECIPE: { readonly augment: Augmentation; readonly labelSmoothing: number } = { augment: { hflip: true }, labelSmoothing: 0.1 };

export type MainModel = 'winner' | 'compressed' | 'baseline' | 'lenet';

export const MAIN_MODEL_LABELS: Record<MainModel, string> = {
  winner: 'searched winner',
  compressed: 'searched winner, int8',
  baseline: 'hand-designed VGG-style (same MACs)',
  lenet: 'LeNet',
};

export interface MainRow {
  readonly model: string;
  readonly key: MainModel;
  readonly status: 'complete' | 'pruned' | 'failed';
  readonly test_acc: number | null;
  readonly params: number | null;
  readonly flops: number | null;
  readonly macs: number | null;
  readonly latency_ms: number | null;
  /** Bytes of the saved weights file (float32 state dict); null when not kept. */
  readonly size_bytes: number | null;
  readonly epochs: number;
  readonly train_seconds: number;
  /** Absolute path of the trained weights (state dict), null when not kept or the training failed. */
  readonly weights: string | null;
  /** Per-epoch training metrics (train_loss, train_acc, lr, epoch_seconds). */
  readonly curve: readonly Progress[];
  /** True when this run read the row from a previous run's files instead of training. */
  readonly resumed: boolean;
  readonly error?: string;
}

export interface MainResult {
  readonly study: string;
  readonly storage: string;
  readonly seed: number;
  /** Trials finished in the study (promotions included). */
  readonly trials: number;
  readonly searchSeconds: number;
  readonly seconds: number;
  readonly winner: JointArch<ChainCnnArch>;
  readonly winnerTrial: number;
  /** The winner's validation accuracy on the search subset at `winnerBudget` budget units. */
  readonly winnerSearchValAcc: number | null;
  /** Budget units (of `budgetSamples` training samples each) the winner's search value was taken at. */
  readonly winnerBudget: number | null;
  /** Training samples per budget unit. */
  readonly budgetSamples: number;
  readonly baseline: JointArch<ChainCnnArch>;
  readonly finalEpochs: number;
  readonly rows: readonly MainRow[];
  /** The HTML report's path, when one was written. */
  readonly reportPath?: string;
}

/** Lenet's costs on 1x28x28 inputs by the cost model's conventions (src/nn/build/analyze.ts). */
export function lenetCosts(): CostReport {
  const layers: { name: string; kind: string; outShape: number[]; params: number; macs: number; flops: number }[] = [];
  const conv = (name: string, cin: number, cout: number, hw: number) => {
    const macs = hw * hw * cout * cin * 9;
    layers.push({ name, kind: 'conv3x3', outShape: [cout, hw, hw], params: cout * cin * 9 + cout, macs, flops: 2 * macs + hw * hw * cout });
    layers.push({ name: `${name}.relu`, kind: 'relu', outShape: [cout, hw, hw], params: 0, macs: 0, flops: cout * hw * hw });
    const o = hw / 2;
    layers.push({ name: `${name}.pool`, kind: 'maxpool2x2', outShape: [cout, o, o], params: 0, macs: 0, flops: cout * o * o * 3 });
  };
  conv('conv1', 1, 16, 28);
  conv('conv2', 16, 32, 14);
  layers.push({ name: 'fc', kind: 'linear', outShape: [10], params: 1568 * 10 + 10, macs: 15680, flops: 2 * 15680 + 10 });
  const sum = (f: (l: (typeof layers)[number]) => number) => layers.reduce((a, l) => a + f(l), 0);
  const act = Math.max(...layers.map((l) => l.outShape.reduce((a, b) => a * b, 1)));
  return {
    family: 'chain_cnn',
    inputShape: [1, 28, 28],
    outputShape: [10],
    params: sum((l) => l.params),
    macs: sum((l) => l.macs),
    flops: sum((l) => l.flops),
    peakActivationBytes: 4 * (784 + act),
    layers,
  };
}

function fileSize(path: string | null): number | null {
  if (!path) return null;
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

function row(key: MainModel, r: TrainResult): MainRow {
  const o = r.outcome;
  const m = o.status === 'failed' ? {} : o.metrics;
  const g = (k: string) => (typeof m[k] === 'number' ? m[k]! : null);
  const weights = o.status === 'complete' ? (o.artifact ?? null) : null;
  return {
    model: MAIN_MODEL_LABELS[key],
    key,
    status: o.status,
    test_acc: g('test_acc'),
    params: g('params'),
    flops: g('flops'),
    macs: g('macs'),
    latency_ms: g('latency_ms'),
    size_bytes: fileSize(weights),
    epochs: r.epochs,
    train_seconds: r.seconds,
    weights,
    curve: o.curve,
    resumed: false,
    ...(o.status === 'failed' ? { error: `${o.reason}: ${o.message}` } : {}),
  };
}

/** The study name of one seed: `study` for seed 0, `<study>-seed<k>` otherwise. */
export function mainStudyName(study: string, seed: number): string {
  return seed === 0 ? study : `${study}-seed${seed}`;
}

/**
 * The winner of a multi-fidelity search: among complete trials with a value, those of the highest
 * budget reached (a full-budget trial, budget null, ranks above any rung), the best value
 * (maximised); ties go to the earlier trial. With `fits`, candidates it rejects (e.g. a final
 * training that would not fit the job's time) are passed over: the best that fits at the highest
 * budget that has one, else (none fits anywhere) the plain winner. Undefined when no trial has a value.
 */
export function pickWinner(trials: readonly TrialRecord[], fits?: (t: TrialRecord) => boolean): TrialRecord | undefined {
  const done = trials.filter((t) => t.state === 'complete' && candidateValue(t) !== null);
  const b = (t: TrialRecord) => (t.budget === null ? Infinity : t.budget);
  const ranked = [...done].sort((x, y) => b(y) - b(x) || candidateValue(y)! - candidateValue(x)! || x.number - y.number);
  return (fits ? ranked.find(fits) : undefined) ?? ranked[0];
}

/**
 * A candidate's final-training time (seconds), estimated from its search trial: the trainer's own
 * seconds at its rung (`train_seconds`, validation included) times the final training's samples
 * over the rung's. Undefined without `train_seconds`. Measured on the main job since the caching
 * CPU allocator (native/src/alloc.cc): 1.02-1.23x the actual time (407 s estimated for 331 s, 371
 * for 320, 384 for 375); before it, wide layers page-faulted and ran up to 1.7x slower than estimated.
 */
export function estimateFinalSeconds(t: TrialRecord, rungSamples: number, finalSamples: number): number | undefined {
  const s = t.metrics?.['train_seconds'];
  return typeof s === 'number' && s > 0 && rungSamples > 0 ? (s * finalSamples) / rungSamples : undefined;
}

/**
 * Safety factor on estimateFinalSeconds when checking that a winner's final training fits. 1.3
 * before the allocator; with the estimate now 1.02-1.23x the actual time, 1.3 passed over the best
 * candidate on all 3 seeds of the 5-minute run (each would have fitted), so 1.1.
 */
export const FINAL_TIME_MARGIN = 1.1;
/** Seconds kept for what follows the final trainings (int8 compression, report, start-up). */
const AFTER_FINALS_SECONDS = 45;

/**
 * The reason the study's search ended in an earlier run (study attribute `main_search_ended`), or
 * undefined; with the search time of every earlier run (`search_seconds`, kept by search()).
 */
async function searchEnded(storage: string, study: string): Promise<{ reason: string | undefined; seconds: number }> {
  // Read-only: a first run's check creates no store (the search creates it).
  const rec = await findStudyRecord(storage, study);
  const v = rec?.userAttrs?.['main_search_ended'];
  const sec = rec?.userAttrs?.['search_seconds'];
  return { reason: typeof v === 'string' ? v : undefined, seconds: typeof sec === 'number' ? sec : 0 };
}

/** A final training's record: written after its weights, so its presence means the training finished. */
interface FinalRecord {
  readonly version: 1;
  readonly arch: unknown;
  readonly epochs: number;
  readonly row: MainRow;
}

function readFinal(path: string, arch: unknown, epochs: number): MainRow | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as FinalRecord;
    // A record of another architecture or budget (changed options) is not this training.
    if (r.version !== 1 || JSON.stringify(r.arch) !== JSON.stringify(arch) || r.epochs !== epochs) return undefined;
    if (r.row.weights !== null && !existsSync(r.row.weights)) return undefined;
    return { ...r.row, resumed: true };
  } catch {
    return undefined; // unreadable (e.g. cut by kill -9 before the rename): train again
  }
}

function writeFinal(path: string, rec: FinalRecord): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(rec, null, 1));
  renameSync(tmp, path);
}

/** LeNet's entry in the final trainings: the lenet workload with these hyperparameters. */
export interface LenetArch {
  readonly hparams: { readonly optimizer: 'adam'; readonly lr: number; readonly batchSize: number; readonly weightDecay: number; readonly schedule: 'cosine' };
}

/** One final training (plain data, so a child process can run it). */
export interface FinalSpec {
  readonly key: MainModel;
  /** The joint architecture (winner, baseline) or LeNet's hyperparameters. */
  readonly arch: JointArch<ChainCnnArch> | LenetArch;
  readonly seed: number;
  readonly epochs: number;
  readonly dataDir: string;
  readonly threads: number;
  /** Show a progress bar / lines on stderr (default true). */
  readonly progress?: boolean;
  readonly weightsFile?: string;
  /** Where the finished training's record goes (written after the weights). */
  readonly recordPath?: string;
}

let finalData: { dir: string; data: Promise<PreparedData> } | undefined;

/** The split of the final trainings: every training image, no validation split (the test split as always). */
export const MAIN_FINAL_SPLIT = { seed: 0, valFraction: 0 } as const;

/** All 60,000 training images (no validation split) and the test split, loaded once per process. */
function finalDataOf(dataDir: string): Promise<PreparedData> {
  if (finalData?.dir !== dataDir) finalData = { dir: dataDir, data: prepareData({ kind: 'fashion_mnist', dataDir }, MAIN_FINAL_SPLIT) };
  return finalData.data;
}

/**
 * What a final training's weights were trained on (model-record.ts FinalRecord): the winner trial's
 * `final_record`, which an export writes into metrics.json, so a later train/finetune/compress of it
 * uses these rows and MAIN_RECIPE's augmentation, and refuses a split whose validation or test rows
 * it trained on, instead of taking the search's split.
 */
export function mainFinalRecord(epochs: number): TrainedRecord {
  return { split: { ...MAIN_FINAL_SPLIT }, epochs, augment: MAIN_RECIPE.augment };
}

/**
 * Trains one model of the table with MAIN_RECIPE, saves its weights and record (when the spec
 * names them) and returns its row. An aborted signal ends it as `failed/aborted` with no record.
 */
export async function trainFinal(spec: FinalSpec, signal?: AbortSignal): Promise<MainRow> {
  const data = await finalDataOf(spec.dataDir);
  const opts = {
    epochs: spec.epochs,
    threads: spec.threads,
    latency: true,
    progress: spec.progress ?? true,
    augment: MAIN_RECIPE.augment,
    hparams: { labelSmoothing: MAIN_RECIPE.labelSmoothing },
    ...(spec.weightsFile ? { weightsFile: spec.weightsFile } : {}),
  };
  const req = { seed: spec.seed, ...(signal ? { signal } : {}) };
  const r =
    spec.key === 'lenet'
      ? await trainModule(lenet, data, { ...req, arch: spec.arch, budget: spec.epochs }, opts, lenetCosts())
      : await trainOnData(data, { ...req, arch: spec.arch as JointArch<ChainCnnArch> }, opts);
  const out = row(spec.key, r);
  if (spec.recordPath && out.status === 'complete') writeFinal(spec.recordPath, { version: 1, arch: spec.arch, epochs: spec.epochs, row: out });
  return out;
}

/** The child-process entry next to this module: `.ts` under tsx (development), `.js` when built. */
function finalChildEntry(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`./main-final-child${extname(self)}`, import.meta.url));
}

/**
 * Runs final trainings in up to `slots` child processes at once (main-final-child.ts; each gets
 * OMP_NUM_THREADS = its spec's threads), in the order given; each child writes its record, which
 * is the result. An aborted signal stops the children (SIGTERM; they exit without a record).
 * A child that exits without a record yields a failed row naming its exit code.
 */
async function runFinalChildren(specs: readonly (FinalSpec & { recordPath: string })[], slots: number, signal: AbortSignal | undefined, onDone: (s: FinalSpec, r: MainRow) => void): Promise<MainRow[]> {
  const entry = finalChildEntry();
  const execArgv = extname(entry) === '.ts' ? ['--import', 'tsx'] : [];
  const running = new Set<ChildProcess>();
  const stop = () => running.forEach((c) => c.kill('SIGTERM'));
  signal?.addEventListener('abort', stop, { once: true });
  const results: MainRow[] = [];
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < specs.length && !signal?.aborted) {
      const spec = specs[next++]!;
      const child = fork(entry, [JSON.stringify(spec)], {
        execArgv,
        env: { ...process.env, OMP_NUM_THREADS: String(spec.threads), TSNAS_THREADS_DEFAULTED: '1' },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      running.add(child);
      const code = await new Promise<number | null>((resolve) => {
        child.once('exit', (c) => resolve(c));
        child.once('error', () => resolve(1));
      });
      running.delete(child);
      if (signal?.aborted) return;
      const r = readFinal(spec.recordPath, spec.arch, spec.epochs);
      const out: MainRow = r
        ? { ...r, resumed: false }
        : { ...emptyRow(spec.key), error: `the training process exited with code ${code} and no result` };
      onDone(spec, out);
      results.push(out);
    }
  };
  try {
    await Promise.all(Array.from({ length: slots }, one));
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  return results;
}

function emptyRow(key: MainModel): MainRow {
  return { model: MAIN_MODEL_LABELS[key], key, status: 'failed', test_acc: null, params: null, flops: null, macs: null, latency_ms: null, size_bytes: null, epochs: 0, train_seconds: 0, weights: null, curve: [], resumed: false };
}

/**
 * The compression stage: the retrained winner's weights quantized to int8 (post-training static
 * quantization, BN folded, 256 calibration images from the training set; src/compress via
 * compressNetwork), measured on the test split like the others. `train_seconds` is the stage's
 * time. Writes `<dir>/compressed-s<seed>/` (float and int8 stage folders with ONNX) and a record.
 */
async function compressWinner(winner: JointArch<ChainCnnArch>, w: MainRow, dataDir: string, seed: number, dir: string, log: (s: string) => void): Promise<MainRow> {
  const t0 = performance.now();
  const data0 = await finalDataOf(dataDir);
  const recordPath = join(dir, `final-compressed-s${seed}.json`);
  const { module } = buildNetwork(winner.arch, { shape: data0.shape, numClasses: data0.numClasses }, { gen: new Generator(0) });
  try {
    loadModule(w.weights!, module);
    // Its stage directories record the final training's data and recipe (a later finetune/compress of them uses the same rows).
    const trained = modelDirFields({ dataset: { kind: 'fashion_mnist', dataDir }, split: MAIN_FINAL_SPLIT, augment: MAIN_RECIPE.augment });
    const r = await compressNetwork(module, data0, { name: 'winner', quantize: 'static', outDir: join(dir, `compressed-s${seed}`), seed, record: { model: trained, data: trained }, log: (s) => log(`    ${s}`) });
    const q = r.rows.find((x) => x.stage === 'int8');
    if (!q) throw new NasError('internal', 'the compression produced no int8 stage');
    const out: MainRow = {
      ...emptyRow('compressed'),
      status: 'complete',
      test_acc: q.test_acc,
      params: q.params,
      flops: q.flops,
      macs: w.macs,
      latency_ms: q.latency_1t_ms, // the float rows' latency is measured in 1-thread processes: compare like with like
      size_bytes: q.size_bytes,
      epochs: w.epochs,
      train_seconds: (performance.now() - t0) / 1000,
      weights: q.dir ?? null,
    };
    writeFinal(recordPath, { version: 1, arch: winner, epochs: w.epochs, row: out });
    return out;
  } catch (e) {
    return { ...emptyRow('compressed'), train_seconds: (performance.now() - t0) / 1000, error: `${isNasError(e) ? e.code : 'error'}: ${(e as Error).message}` };
  } finally {
    module.dispose();
  }
}

/** Records each table row (without its curve) as study attribute `final_<model>`, which the dashboard and report show. */
async function recordFinalRows(storage: string, study: string, rows: readonly MainRow[]): Promise<void> {
  const store = await openStore(storage);
  try {
    const rec = await store.requireStudy(study);
    for (const r of rows)
      await store.setStudyAttr(rec.id, `final_${r.key}`, {
        model: r.model,
        status: r.status,
        test_acc: r.test_acc,
        params: r.params,
        flops: r.flops,
        latency_ms: r.latency_ms,
        size_bytes: r.size_bytes,
        epochs: r.epochs,
        train_seconds: Math.round(r.train_seconds),
      });
  } finally {
    await store.close();
  }
}

/**
 * The study's self-contained HTML report (src/report: fitness of every trial with the best so far,
 * Pareto front, the winner drawn, learning curves, the final results) and every plot as PNG.
 * Loaded on demand so the job runs without the report's packages; a failure is logged, not thrown
 * (the trainings are done and kept). Returns the HTML path when written.
 */
async function writeReport(storage: string, study: string, out: string, pngDir: string, log: (s: string) => void): Promise<string | undefined> {
  try {
    const { writeStudyReport } = await import('../report/index.js');
    const r = await writeStudyReport({ storage, study, out, pngDir });
    const fitness = r.pngs.find((p) => /fitness/i.test(p)) ?? r.pngs[0];
    log(`tsnas main: report ${r.html}${fitness ? ` (plots as PNG in ${pngDir}, e.g. ${fitness})` : ''}`);
    return r.html;
  } catch (e) {
    log(`tsnas main: no report written: ${(e as Error).message}`);
    return undefined;
  }
}

/** The options the search phase reads, defaults filled in. */
export type MainSearchOptions = Omit<{ readonly [K in keyof typeof MAIN_DEFAULTS]: Exclude<MainOptions[K], undefined> }, 'study'> & Pick<MainOptions, 'trainPerClass' | 'artifactsDir'>;

/**
 * The search phase's study config (stage 1 of the module comment) for options `o` (defaults
 * filled in): the same for `tsnas main` and for tools that run its search alone.
 */
export function mainSearchConfig(o: MainSearchOptions, studyName: string, dataDir: string): Record<string, unknown> {
  const workers = Math.max(1, o.workers);
  return {
    study: studyName,
    storage: o.storage,
    space: MAIN_SPACE_NAME,
    strategy: { name: 'asha', options: { eta: o.eta, minBudget: o.minBudget, maxBudget: o.maxBudget, mode: 'promote' } },
    evaluator: {
      name: 'train',
      dataset: 'fashion_mnist',
      data_dir: dataDir,
      epochs: o.maxBudget,
      budget_samples: o.budgetSamples,
      ...(o.trainPerClass === undefined ? {} : { train_per_class: o.trainPerClass }),
      val_per_class: o.valPerClass,
      threads: Math.max(1, Math.floor(o.threads / workers)),
      skip_test: true,
      time_limit: 300,
      hparams: { labelSmoothing: MAIN_RECIPE.labelSmoothing },
      ...(o.artifactsDir === undefined ? {} : { artifacts_dir: o.artifactsDir }),
    },
    objectives: [{ metric: 'val_acc', direction: 'maximize' }],
    constraints: [{ metric: 'macs', max: o.maxMacs }],
    trials: o.trials,
    wallclock: o.searchSeconds,
    seed: o.seed,
    ...(o.prescreen ? { prescreen: { candidates: o.prescreen.candidates, top: o.prescreen.top, proxies: [...o.prescreen.proxies], pool: o.prescreen.pool } } : {}),
  };
}

/** One seed of the main job (see the module comment). */
export async function runMain(opts: MainOptions = {}): Promise<MainResult> {
  const o = { ...MAIN_DEFAULTS, ...opts };
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const dataDir = opts.dataDir ?? FASHION_MNIST_DIR;
  const workers = Math.max(1, o.workers);
  const studyName = mainStudyName(o.study, o.seed);
  const prepared = prepareSearch({ config: mainSearchConfig(o, studyName, dataDir) });
  log(
    `tsnas main (seed ${o.seed}): ASHA over ${MAIN_SPACE_NAME}, rungs ${o.minBudget}..${o.maxBudget} x ${o.budgetSamples} training samples (eta ${o.eta}), ` +
      `${opts.trainPerClass === undefined ? 'the whole training split' : `${opts.trainPerClass}/class`}, ` +
      `MACs <= ${o.maxMacs}, ${o.trials} trials or ${Math.round(o.searchSeconds)} s, ${workers} worker(s)` +
      `${o.prescreen ? `, prescreen ${o.prescreen.proxies.join('+')} (top ${o.prescreen.top} of ${o.prescreen.candidates}, then the best of ${o.prescreen.pool} per draw)` : ''}; study ${studyName} in ${prepared.config.storage}`,
  );
  // A search that ended (budget or wall clock) is not searched again by a rerun; an interrupted one resumes.
  const storage = prepared.config.storage;
  const earlier = await searchEnded(storage, studyName);
  const ended = earlier.reason;
  let reason = ended;
  // The search's time over every run (a resumed job reports the true total, not this run's 0 s).
  let searchSeconds = earlier.seconds;
  if (ended) log(`  the search ended in a previous run (${ended}, ${searchSeconds.toFixed(0)} s); going on with its winner`);
  else {
    let lastDone = -1;
    const sr = await search(prepared, {
      workers,
      ...(opts.signal ? { signal: opts.signal } : {}),
      // Re-runs after a lost lease and trials stopped at the cap are said, never silent.
      onEvent: (e) => {
        if (e.type === 'rerun') log(`  search: ${rerunLine(e)}`);
        else if (e.type === 'warning') log(`  search: warning: ${e.message}`);
        else if (e.type === 'finished' && e.trial.error?.startsWith('wallclock:')) log(`  search: trial ${e.trial.number} failed: ${e.trial.error}`);
      },
      onProgress: (p) => {
        const done = p.counts.complete + p.counts.pruned + p.counts.failed;
        if (done === lastDone) return;
        lastDone = done;
        log(`  search: ${done}/${p.budget} trials, ${((Date.now() - t0) / 1000).toFixed(0)} s${p.best ? `, best val_acc ${p.best.value.toFixed(2)} (#${p.best.number})` : ''}`);
      },
    });
    if (opts.signal?.aborted || sr.reason === 'aborted') throw new NasError('aborted', 'interrupted during the search; rerun tsnas main to resume it');
    reason = sr.reason;
    searchSeconds = sr.totalSeconds;
  }
  const store = await openStore(storage);
  let best: TrialRecord | undefined;
  let counts: TrialCounts;
  try {
    const rec = await store.requireStudy(studyName);
    const trials = await store.listTrials(rec.id);
    // The final training runs on the whole training split; a rung saw budget x budgetSamples of it.
    const finalSamples = o.finalEpochs * (await finalDataOf(dataDir)).train.indices.length;
    const left = o.jobSeconds > 0 ? o.jobSeconds - (Date.now() - t0) / 1000 - AFTER_FINALS_SECONDS : Infinity;
    const est = (t: TrialRecord) => estimateFinalSeconds(t, (t.budget ?? o.maxBudget) * o.budgetSamples, finalSamples);
    const fits = (t: TrialRecord) => (est(t) ?? 0) * FINAL_TIME_MARGIN <= left;
    best = pickWinner(trials, fits);
    const plain = pickWinner(trials);
    if (best && plain && best.id !== plain.id)
      log(
        `  the best candidate #${plain.number} (val_acc ${plain.values?.[0]?.toFixed(2)}) would train ~${est(plain)?.toFixed(0)} s (x${FINAL_TIME_MARGIN} margin), more than the ${Math.max(0, left).toFixed(0)} s left of the job's ${o.jobSeconds} s; ` +
          `taking #${best.number} (val_acc ${best.values?.[0]?.toFixed(2)}, ~${est(best)?.toFixed(0)} s)`,
      );
    else if (best && !fits(best)) log(`  warning: no candidate's final training is estimated to fit the ${Math.max(0, left).toFixed(0)} s left of the job's ${o.jobSeconds} s; taking the best, #${best.number} (~${est(best)?.toFixed(0)} s)`);
    counts = await store.countTrials(rec.id);
    if (!ended && best && reason !== 'workers_failed') await store.setStudyAttr(rec.id, 'main_search_ended', reason ?? 'complete');
  } finally {
    await store.close();
  }
  if (!best) throw new NasError('budget_exhausted', `the search finished no candidate (${JSON.stringify(counts)})`, { hint: 'give it more time: --search-minutes' });
  const winner = best.arch as unknown as JointArch<ChainCnnArch>;
  const winnerMacs = best.metrics?.['macs'] ?? o.maxMacs;
  log(
    `tsnas main: search done in ${searchSeconds.toFixed(0)} s (${reason}: ${counts.complete} complete, ${counts.failed} failed); ` +
      `winner #${best.number}: val_acc ${best.values?.[0]?.toFixed(2)} after ${((best.budget ?? o.maxBudget) * o.budgetSamples).toLocaleString('en-US')} training samples, ${winnerMacs} MACs`,
  );
  log(`  winner: ${JSON.stringify(winner)}`);
  const baseline = mainBaselineArch(Math.max(winnerMacs, 1));

  log(`tsnas main: final trainings, ${o.finalEpochs} epochs on all 60,000 training images (hflip, label smoothing ${MAIN_RECIPE.labelSmoothing}); baseline ${JSON.stringify(baseline.arch.layers.map((l) => l.channels))} channels`);
  // The study's normalized evaluator options hold its (absolute) artifacts directory, if weights are kept.
  const artifacts = prepared.config.evaluator.options['artifacts_dir'];
  const dir = typeof artifacts === 'string' ? artifacts : undefined;
  if (dir) mkdirSync(dir, { recursive: true });
  const lenetArch: LenetArch = { hparams: { optimizer: 'adam', lr: 1e-3, batchSize: 64, weightDecay: 0, schedule: 'cosine' } };
  const specs: FinalSpec[] = (
    [
      ['winner', winner],
      ['baseline', baseline],
      ['lenet', lenetArch],
    ] as const
  ).map(([key, arch]) => ({
    key,
    arch,
    seed: o.seed,
    epochs: o.finalEpochs,
    dataDir,
    threads: o.threads,
    ...(dir ? { weightsFile: join(dir, `final-${key}-s${o.seed}.sd`), recordPath: join(dir, `final-${key}-s${o.seed}.json`) } : {}),
  }));
  const rows = new Map<MainModel, MainRow>();
  for (const spec of specs) {
    const done = spec.recordPath ? readFinal(spec.recordPath, spec.arch, spec.epochs) : undefined;
    if (done) {
      log(`  ${done.model}: finished by a previous run (test_acc ${done.test_acc?.toFixed(2)}), not retrained`);
      rows.set(spec.key, done);
    }
  }
  const todo = specs.filter((s) => !rows.has(s.key));
  const slots = Math.min(workers, todo.length);
  if (slots >= 2 && dir) {
    // Small networks train faster as one-thread processes side by side than one after the other on all threads.
    log(`  training ${todo.map((s) => s.key).join(', ')} in ${slots} processes of ${Math.max(1, Math.floor(o.threads / slots))} thread(s)`);
    const results = await runFinalChildren(
      todo.map((s) => ({ ...s, recordPath: s.recordPath!, threads: Math.max(1, Math.floor(o.threads / slots)), progress: false })),
      slots,
      opts.signal,
      (spec, r) => log(`  ${r.model}: ${r.status}${r.test_acc === null ? '' : `, test_acc ${r.test_acc.toFixed(2)}`} in ${r.train_seconds.toFixed(0)} s`),
    );
    for (const r of results) rows.set(r.key, r);
  } else
    for (const spec of todo) {
      log(`  ${MAIN_MODEL_LABELS[spec.key]}: training`);
      const r = await trainFinal(spec, opts.signal);
      if (opts.signal?.aborted) break;
      log(`  ${r.model}: ${r.status}${r.test_acc === null ? '' : `, test_acc ${r.test_acc.toFixed(2)}`} in ${r.train_seconds.toFixed(0)} s`);
      rows.set(spec.key, r);
    }
  if (opts.signal?.aborted) throw new NasError('aborted', 'interrupted during the final trainings; rerun tsnas main (the search and finished trainings are kept)');
  const missing = specs.filter((s) => !rows.has(s.key)).map((s) => s.key);
  if (missing.length) throw new NasError('internal', `final training(s) ${missing.join(', ')} ended without a result`, { hint: 'rerun tsnas main: finished trainings are kept' });
  const w = rows.get('winner')!;
  const b = rows.get('baseline')!;
  if (dir && w.status === 'complete' && w.weights) {
    const done = readFinal(join(dir, `final-compressed-s${o.seed}.json`), winner, w.epochs);
    if (done) rows.set('compressed', done);
    else {
      log('tsnas main: compressing the winner (int8, post-training static quantization)');
      const c = await compressWinner(winner, w, dataDir, o.seed, dir, log);
      log(`  ${c.model}: ${c.status}${c.test_acc === null ? '' : `, test_acc ${c.test_acc.toFixed(2)}`}${c.error ? ` (${c.error})` : ''} in ${c.train_seconds.toFixed(0)} s`);
      rows.set('compressed', c);
    }
  }
  await recordFinalWeights(storage, studyName, best.id, w, b.weights);
  if (w.weights) log(`  weights: ${w.weights} (winner); tsnas export --study ${studyName} exports them`);
  const ordered = (['winner', 'compressed', 'baseline', 'lenet'] as const).flatMap((k) => (rows.has(k) ? [rows.get(k)!] : []));
  await recordFinalRows(storage, studyName, ordered);
  let reportPath: string | undefined;
  if (opts.report !== false && dir) reportPath = await writeReport(storage, studyName, join(dir, `report-s${o.seed}.html`), join(dir, `report-s${o.seed}-png`), log);
  return {
    study: studyName,
    storage,
    seed: o.seed,
    trials: counts.complete + counts.pruned + counts.failed,
    searchSeconds,
    seconds: (Date.now() - t0) / 1000,
    winner,
    winnerTrial: best.number,
    winnerSearchValAcc: best.values?.[0] ?? null,
    winnerBudget: best.budget,
    budgetSamples: o.budgetSamples,
    baseline,
    finalEpochs: o.finalEpochs,
    rows: ordered,
    ...(reportPath ? { reportPath } : {}),
  };
}

export interface MainSeedsResult {
  readonly runs: readonly MainResult[];
  /** Test accuracy of each model over the seeds (mean, sample std). */
  readonly testAcc: Readonly<Partial<Record<MainModel, Stat>>>;
  readonly seconds: number;
}

/** The main job once per seed (studies `mainStudyName(study, seed)`), with test-accuracy statistics. */
export async function runMainSeeds(seeds: readonly number[], opts: Omit<MainOptions, 'seed'> = {}): Promise<MainSeedsResult> {
  const t0 = Date.now();
  const runs: MainResult[] = [];
  for (const seed of seeds) {
    runs.push(await runMain({ ...opts, seed }));
  }
  const testAcc: Partial<Record<MainModel, Stat>> = {};
  for (const k of ['winner', 'compressed', 'baseline', 'lenet'] as const) {
    const s = statsOf(runs.map((r) => r.rows.find((x) => x.key === k)?.test_acc ?? NaN));
    if (s) testAcc[k] = s;
  }
  return { runs, testAcc, seconds: (Date.now() - t0) / 1000 };
}

/**
 * Points the winner trial's `weights_path` at the retrained weights (what `tsnas export` copies),
 * keeping its search-time weights as `search_weights_path`; records the baseline's weights on the
 * study. A rerun (which retrains again) keeps the first `search_weights_path`.
 */
export async function recordFinalWeights(
  storage: string,
  study: string,
  trialId: TrialId,
  winner: Pick<MainRow, 'weights' | 'epochs' | 'test_acc'>,
  baselineWeights: string | null,
): Promise<void> {
  if (!winner.weights && !baselineWeights) return;
  const store = await openStore(storage);
  try {
    const rec = await store.requireStudy(study);
    const trial = await store.getTrial(trialId);
    if (winner.weights && trial) {
      const searched = trial.userAttrs['search_weights_path'] ?? trial.userAttrs['weights_path'];
      if (searched !== undefined && searched !== winner.weights) await store.setTrialAttr(trialId, 'search_weights_path', searched);
      await store.setTrialAttr(trialId, 'weights_path', winner.weights);
      await store.setTrialAttr(trialId, 'final_training', { epochs: winner.epochs, test_acc: winner.test_acc, weights_path: winner.weights });
      // What those weights were trained on (export writes it into metrics.json; model-record.ts reads it).
      await store.setTrialAttr(trialId, 'final_record', mainFinalRecord(winner.epochs) as unknown as JsonObject);
    }
    if (baselineWeights) await store.setStudyAttr(rec.id, 'baseline_weights_path', baselineWeights);
  } finally {
    await store.close();
  }
}
