/**
 * The cost model: analytic costs (parameters, MACs/FLOPs per layer, peak activation memory; see
 * src/nn/build/analyze.ts for the counting conventions) and measured inference latency.
 */
import { buildNetwork, type CostReport, type InputSpec, type Nb201Options } from '../nn/build/index.js';
import type { NetworkArch } from '../core/arch.js';
import { NasError } from '../core/errors.js';
import type { Layer } from '../nn/module.js';
import { compileNative } from '../nn/native-exec.js';
import { Generator, getNumThreads, noGrad, setNumThreads, tidy, type Tensor } from '../tensor/index.js';
import type { Metrics } from './types.js';
import { didYouMean } from '../core/suggest.js';
import { ThreadChoice } from '../tensor/thread-choice.js';

export { analyzeArch, NB201_DEFAULTS, type CostReport, type InputSpec, type LayerCost, type Nb201Options } from '../nn/build/index.js';

/** The cost metrics of the naming convention in types.ts. */
export function costMetrics(r: CostReport): Metrics {
  return { params: r.params, flops: r.flops, macs: r.macs, memory_bytes: r.peakActivationBytes };
}

export interface LatencyOptions {
  /** Timed runs per batch size (default 20); the median is reported. */
  readonly runs?: number;
  /** Untimed runs first (default 3). */
  readonly warmup?: number;
  /** The second batch size measured besides 1 (default 64). */
  readonly batchSize?: number;
  /** Intra-op threads during the measurement (default: the current setting); restored afterwards. */
  readonly threads?: number;
  /**
   * How the forward passes run (default 'native'): 'native' times the native engine's inference
   * pass (src/nn/native-exec.ts `infer`: one native call, libtorch's inference mode, each conv
   * followed by its batch norm folded into one conv), the way tsnas runs a trained network; a module
   * the engine cannot express falls back to 'ops' (with the engine's one-line notice). 'ops' times
   * the op-by-op `module.forward` under no-grad.
   */
  readonly engine?: 'native' | 'ops';
  /**
   * Batch-1 thread count chosen per model (default true), as tsnas compress and the main job's
   * compression stage measure it (src/tensor/thread-choice.ts ThreadChoice: the threads set,
   * halved down to 1, timed interleaved, the lowest median kept): one definition of batch-1
   * latency across train, search, compress and the main job. Before, train timed batch 1 at every
   * thread only, which on a busy 2-core machine measured OpenMP waiting (new user 11: 3.55 ms at
   * 2 threads vs 0.059 ms at 1 for a 19,498-parameter CNN). false: the threads set, no choice.
   * The larger batch always runs with the threads set.
   */
  readonly chooseThreads?: boolean;
}

export interface LatencyResult {
  /** Median ms of one forward pass at batch size 1. */
  readonly batch1Ms: number;
  /** Median ms of one forward pass at `batchSize`. */
  readonly batchMs: number;
  readonly batchSize: number;
  /** The intra-op threads set during the measurement (the larger batch ran with these). */
  readonly threads: number;
  /** The threads the batch-1 passes ran with: chosen per model (chooseThreads), else `threads`. */
  readonly batch1Threads: number;
  readonly runs: number;
  /** The engine the times were measured with ('ops' also when 'native' fell back). */
  readonly engine: 'native' | 'ops';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Inference latency of `module` (eval mode, no grad) on inputs of `[B, ...shape]`: the median wall
 * time of `runs` forward passes after `warmup` untimed ones, at B = 1 and B = batchSize, with the
 * native engine's inference pass by default (`engine`). The module's training flag is restored
 * afterwards.
 */
export function measureLatency(module: Layer, shape: readonly number[], o: LatencyOptions = {}): LatencyResult {
  const runs = o.runs ?? 20;
  const warmup = o.warmup ?? 3;
  const batchSize = o.batchSize ?? 64;
  if (!(Number.isInteger(runs) && runs >= 1)) throw new NasError('invalid_config', `latency runs must be a positive integer, got ${runs}`, { field: 'latency.runs' });
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new NasError('invalid_config', `latency batchSize must be a positive integer, got ${batchSize}`, { field: 'latency.batchSize' });
  const engine = o.engine ?? 'native';
  if (engine !== 'native' && engine !== 'ops') throw new NasError('invalid_config', `latency engine must be 'native' or 'ops', got ${String(engine)}${didYouMean(String(engine), ['native', 'ops'])}`, { field: 'latency.engine' });
  const prevThreads = getNumThreads();
  const wasTraining = module.training;
  if (o.threads !== undefined) setNumThreads(o.threads);
  module.eval();
  const net = engine === 'native' ? compileNative(module) : undefined;
  try {
    const forward0 = net ? (x: Tensor) => net.infer(x) : (x: Tensor) => noGrad(() => module.forward(x));
    const choice = o.chooseThreads === false ? undefined : new ThreadChoice({ maxBatch: 1 });
    const forwardAt = (b: number) => (x: Tensor) => (choice && b === 1 ? choice.run(1, () => forward0(x)) : forward0(x));
    const time = (b: number): number => {
      const forward = forwardAt(b);
      const gen = new Generator(0);
      const x = gen.randn([b, ...shape]);
      try {
        const one = () => {
          const t0 = process.hrtime.bigint();
          tidy(() => {
            forward(x); // the output is freed with the scope (not returned)
          });
          return Number(process.hrtime.bigint() - t0) / 1e6;
        };
        for (let i = 0; i < warmup; i++) one();
        return median(Array.from({ length: runs }, one));
      } finally {
        x.dispose();
      }
    };
    const threads = getNumThreads();
    const batch1Ms = time(1);
    const batch1Threads = choice?.choices().get(`1@${threads}`) ?? threads;
    return { batch1Ms, batchMs: time(batchSize), batchSize, threads, batch1Threads, runs, engine: net ? 'native' : 'ops' };
  } finally {
    net?.dispose();
    module.train(wasTraining);
    if (o.threads !== undefined) setNumThreads(prevThreads);
  }
}

/** Builds `arch` with random weights and measures its latency (weights do not change the time). */
export function measureArchLatency(arch: NetworkArch, input: InputSpec, o: LatencyOptions & { nb201?: Nb201Options } = {}): LatencyResult {
  const { module } = buildNetwork(arch, input, { gen: new Generator(0), ...(o.nb201 ? { nb201: o.nb201 } : {}) });
  try {
    return measureLatency(module, input.shape, o);
  } finally {
    module.dispose();
  }
}

/** Latency metrics of the naming convention; `latency_threads`: the threads batch 1 ran with. */
export function latencyMetrics(l: LatencyResult): Metrics {
  return { latency_ms: l.batch1Ms, latency_batch_ms: l.batchMs, latency_threads: l.batch1Threads };
}

