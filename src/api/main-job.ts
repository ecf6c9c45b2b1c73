/**
 * `tsnas main`: the README's main job, end to end on real Fashion-MNIST.
 *
 *  1. Search (a study in SQLite, resumable): the narrowed joint chain-CNN space (main-space.ts),
 *     regularized evolution, each candidate trained for `searchEpochs` on a class-balanced subset
 *     of the training split and judged on a class-balanced validation subset (never the test
 *     split), under a MACs constraint the strategy honours (training time grows with MACs).
 *  2. The winner (best validation accuracy) is retrained on the full training split for
 *     `finalEpochs` with its own searched hyperparameters.
 *  3. The hand-designed baseline (the lenet workload: conv(1->16,k3,p1) relu maxpool2 ->
 *     conv(16->32,k3,p1) relu maxpool2 -> linear(1568->10), Adam 1e-3, batch 64) is trained on the
 *     same data for the same number of epochs.
 *  Both report test accuracy (the test split's only use), params, FLOPs and measured latency.
 *
 * Weights: every search trial's in the study's artifacts directory (default
 * `<db file>.artifacts/<study>/`); the retrained winner's and the baseline's there too
 * (`final-winner-s<seed>.sd`, `final-lenet-s<seed>.sd`). The winner trial's `weights_path` then
 * names the retrained weights, so `tsnas export` of the study exports them (its search-time
 * weights stay as `search_weights_path`, the final training's metrics as `final_training`); the
 * baseline's path is the study attribute `baseline_weights_path`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChainCnnArch, JointArch } from '../core/arch.js';
import { NasError } from '../core/errors.js';
import type { TrialId } from '../core/ids.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { FASHION_MNIST_DIR } from '../data/sources.js';
import { trainModule, trainOnData, type TrainResult } from '../eval/train.js';
import { lenet } from '../nn/build/lenet.js';
import type { CostReport } from '../eval/cost.js';
import { openStore } from '../store/index.js';
import { MAIN_SPACE_NAME } from './main-space.js';
import { prepareSearch, search } from './study.js';

export interface MainOptions {
  readonly storage?: string;
  readonly study?: string;
  /** Search budget (candidates). */
  readonly trials?: number;
  /** Wall-clock cap of the search phase, seconds. */
  readonly searchSeconds?: number;
  readonly searchEpochs?: number;
  readonly trainPerClass?: number;
  readonly valPerClass?: number;
  readonly finalEpochs?: number;
  /** MACs cap for candidates (per image). */
  readonly maxMacs?: number;
  readonly dataDir?: string;
  readonly seed?: number;
  readonly threads?: number;
  /** Where trained weights are kept (search trials and the final two); default beside the SQLite database. */
  readonly artifactsDir?: string;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export const MAIN_DEFAULTS = {
  storage: 'sqlite:./tsnas-main.db',
  study: 'fmnist-main',
  trials: 30,
  searchSeconds: 360,
  searchEpochs: 2,
  trainPerClass: 500,
  valPerClass: 300,
  finalEpochs: 6,
  maxMacs: 4_000_000,
  seed: 0,
  threads: 2,
} as const;

export interface MainRow {
  readonly model: string;
  readonly status: 'complete' | 'pruned' | 'failed';
  readonly test_acc: number | null;
  readonly val_acc: number | null;
  readonly params: number | null;
  readonly flops: number | null;
  readonly macs: number | null;
  readonly latency_ms: number | null;
  readonly epochs: number;
  readonly train_seconds: number;
  /** Absolute path of the trained weights (state dict), null when not kept or the training failed. */
  readonly weights: string | null;
  readonly error?: string;
}

export interface MainResult {
  readonly study: string;
  readonly storage: string;
  readonly trials: number;
  readonly searchSeconds: number;
  readonly seconds: number;
  readonly winner: unknown;
  readonly winnerSearchValAcc: number | null;
  readonly rows: readonly MainRow[];
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

function row(model: string, r: TrainResult): MainRow {
  const o = r.outcome;
  const m = o.status === 'failed' ? {} : o.metrics;
  const g = (k: string) => (typeof m[k] === 'number' ? m[k]! : null);
  return {
    model,
    status: o.status,
    test_acc: g('test_acc'),
    val_acc: g('val_acc'),
    params: g('params'),
    flops: g('flops'),
    macs: g('macs'),
    latency_ms: g('latency_ms'),
    epochs: r.epochs,
    train_seconds: r.seconds,
    weights: o.status === 'complete' ? (o.artifact ?? null) : null,
    ...(o.status === 'failed' ? { error: `${o.reason}: ${o.message}` } : {}),
  };
}

export async function runMain(opts: MainOptions = {}): Promise<MainResult> {
  const o = { ...MAIN_DEFAULTS, ...opts };
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const dataDir = opts.dataDir ?? FASHION_MNIST_DIR;
  const prepared = prepareSearch({
    config: {
      study: o.study,
      storage: o.storage,
      space: MAIN_SPACE_NAME,
      strategy: { name: 'evolution', options: { population: 10, sampleSize: 3 } },
      evaluator: {
        name: 'train',
        dataset: 'fashion_mnist',
        data_dir: dataDir,
        epochs: o.searchEpochs,
        train_per_class: o.trainPerClass,
        val_per_class: o.valPerClass,
        threads: o.threads,
        skip_test: true,
        time_limit: 300,
        ...(opts.artifactsDir === undefined ? {} : { artifacts_dir: opts.artifactsDir }),
      },
      objectives: [{ metric: 'val_acc', direction: 'maximize' }],
      constraints: [{ metric: 'macs', max: o.maxMacs }],
      trials: o.trials,
      wallclock: o.searchSeconds,
      seed: o.seed,
    },
  });
  log(
    `tsnas main: searching ${MAIN_SPACE_NAME} with regularized evolution: ${o.trials} candidates (or ${Math.round(o.searchSeconds / 60)} min), ` +
      `${o.searchEpochs} epoch(s) on ${o.trainPerClass}/class, MACs <= ${o.maxMacs}; study ${o.study} in ${prepared.config.storage}`,
  );
  let lastDone = -1;
  const sr = await search(prepared, {
    workers: 1,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onProgress: (p) => {
      const done = p.counts.complete + p.counts.pruned + p.counts.failed;
      if (done === lastDone) return;
      lastDone = done;
      log(`  search: ${done}/${p.budget} candidates, ${((Date.now() - t0) / 1000).toFixed(0)} s${p.best ? `, best val_acc ${p.best.value.toFixed(2)} (#${p.best.number})` : ''}`);
    },
  });
  const searchSeconds = (Date.now() - t0) / 1000;
  if (opts.signal?.aborted) throw new NasError('aborted', 'interrupted during the search; rerun tsnas main to resume it');
  if (!sr.best) throw new NasError('budget_exhausted', `the search finished no candidate (${JSON.stringify(sr.counts)})`, { hint: 'give it more time: --search-minutes' });
  const winner = sr.best.arch as unknown as JointArch<ChainCnnArch>;
  log(`tsnas main: search done in ${searchSeconds.toFixed(0)} s (${sr.counts.complete} complete, ${sr.counts.failed} failed); winner #${sr.best.number} val_acc ${sr.best.values?.[0]?.toFixed(2)} on the subset`);
  log(`  winner: ${JSON.stringify(winner)}`);

  const data: PreparedData = await prepareData({ kind: 'fashion_mnist', dataDir }, { seed: 0, valFraction: 0.1 });
  log(`tsnas main: final training, ${o.finalEpochs} epochs on ${data.train.indices.length} images (validation ${data.val.indices.length}, test ${data.test.indices.length})`);
  const common = { epochs: o.finalEpochs, threads: o.threads, latency: true, progress: true } as const;
  // The study's normalized evaluator options hold its (absolute) artifacts directory, if weights are kept.
  const artifacts = prepared.config.evaluator.options['artifacts_dir'];
  const keep = (name: string) => (typeof artifacts === 'string' ? { weightsFile: join(artifacts, `final-${name}-s${o.seed}.sd`) } : {});
  if (typeof artifacts === 'string') mkdirSync(artifacts, { recursive: true });
  const w = await trainOnData(data, { arch: winner, seed: o.seed, ...(opts.signal ? { signal: opts.signal } : {}) }, { ...common, ...keep('winner') });
  const stopped = () => {
    if (opts.signal?.aborted)
      throw new NasError('aborted', 'interrupted during the final training; rerun tsnas main (the search is kept and not repeated)');
  };
  stopped();
  log(`  winner: ${w.outcome.status} in ${w.seconds.toFixed(0)} s`);
  const b = await trainModule(
    lenet,
    data,
    { arch: { hparams: { optimizer: 'adam', lr: 1e-3, batchSize: 64, weightDecay: 0 } }, seed: o.seed, budget: o.finalEpochs, ...(opts.signal ? { signal: opts.signal } : {}) },
    { ...common, ...keep('lenet') },
    lenetCosts(),
  );
  stopped();
  log(`  lenet baseline: ${b.outcome.status} in ${b.seconds.toFixed(0)} s`);
  const rows = [row('searched winner', w), row('lenet baseline', b)];
  await recordFinalWeights(sr.storage, sr.study, sr.best.id, rows[0]!, rows[1]!.weights);
  if (rows[0]!.weights) log(`  weights: ${rows[0]!.weights} (winner), ${rows[1]!.weights ?? '-'} (baseline); tsnas export --study ${sr.study} includes the winner's`);
  return {
    study: sr.study,
    storage: sr.storage,
    trials: sr.counts.complete + sr.counts.pruned + sr.counts.failed,
    searchSeconds,
    seconds: (Date.now() - t0) / 1000,
    winner,
    winnerSearchValAcc: sr.best.values?.[0] ?? null,
    rows,
  };
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
  winner: Pick<MainRow, 'weights' | 'epochs' | 'val_acc' | 'test_acc'>,
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
      await store.setTrialAttr(trialId, 'final_training', { epochs: winner.epochs, val_acc: winner.val_acc, test_acc: winner.test_acc, weights_path: winner.weights });
    }
    if (baselineWeights) await store.setStudyAttr(rec.id, 'baseline_weights_path', baselineWeights);
  } finally {
    await store.close();
  }
}
