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
}

export interface LatencyResult {
  /** Median ms of one forward pass at batch size 1. */
  readonly batch1Ms: number;
  /** Median ms of one forward pass at `batchSize`. */
  readonly batchMs: number;
  readonly batchSize: number;
  readonly threads: number;
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
    const forward = net ? (x: Tensor) => net.infer(x) : (x: Tensor) => noGrad(() => module.forward(x));
    const time = (b: number): number => {
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
    return { batch1Ms: time(1), batchMs: time(batchSize), batchSize, threads: getNumThreads(), runs, engine: net ? 'native' : 'ops' };
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

/** Latency metrics of the naming convention. */
export function latencyMetrics(l: LatencyResult): Metrics {
  return { latency_ms: l.batch1Ms, latency_batch_ms: l.batchMs };
}

