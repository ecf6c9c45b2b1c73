/**
 * Zero-cost proxies: scores of an untrained network computed from one minibatch, orders of
 * magnitude cheaper than training (Abdelfattah et al. 2021, "Zero-Cost Proxies for Lightweight
 * NAS"). Implemented here:
 *   grad_norm  sum over parameter tensors of the L2 norm of the cross-entropy gradient on one
 *              training batch (training mode)
 *   synflow    Tanaka et al. 2020: with every parameter replaced by its absolute value, the sum over
 *              parameters of |theta * dR/dtheta| where R = sum of the network's output on an all-ones
 *              input (eval mode, so batch norm uses its initial running stats); data-independent
 * Both are computed on a freshly initialised network (seeded by the request), which is then freed.
 * They are reported as metrics `proxy_grad_norm` and `proxy_synflow`, with the analytic costs.
 */
import type { JointArch, NetworkArch } from '../core/arch.js';
import { NasError, isNasError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { assembleBatch } from '../data/batch.js';
import { prepareData, type DatasetSpec, type PreparedData, type SplitSpec } from '../data/prepare.js';
import { balancedSubset } from '../data/subset.js';
import { analyzeArch, buildNetwork, type CostOptions, type InputSpec } from '../nn/build/index.js';
import type { Layer } from '../nn/module.js';
import { Generator, Tensor, crossEntropy, noGrad, tidy } from '../tensor/index.js';
import { costMetrics } from './cost.js';
import type { EvalOutcome, EvalRequest, Evaluator, Metrics } from './types.js';

export const PROXIES = ['grad_norm', 'synflow'] as const;
export type ProxyName = (typeof PROXIES)[number];

/** Sum of per-parameter gradient L2 norms after backpropagating the CE loss of one batch. */
export function gradNorm(module: Layer, x: Float32Array, shape: readonly number[], y: Int32Array): number {
  module.train();
  module.zeroGrad();
  const total = tidy(() => {
    crossEntropy(module.forward(Tensor.fromArray(x, shape)), Tensor.fromArray(y, [y.length], 'int64')).backward();
    let s = 0;
    for (const p of module.parameters()) {
      const g = p.grad;
      if (g) s += g.norm().item();
    }
    return s;
  });
  module.zeroGrad();
  return total;
}

/** SynFlow score; replaces the module's parameters by their absolute values (use a throw-away module). */
export function synflow(module: Layer, sampleShape: readonly number[]): number {
  module.eval();
  module.zeroGrad();
  noGrad(() => {
    for (const p of module.parameters()) tidy(() => void p.copy_(p.abs()));
  });
  const total = tidy(() => {
    module.forward(Tensor.ones([1, ...sampleShape])).sum().backward();
    let s = 0;
    for (const p of module.parameters()) {
      const g = p.grad;
      if (g) s += p.mul(g).abs().sum().item();
    }
    return s;
  });
  module.zeroGrad();
  return total;
}

export interface ProxyEvaluatorOptions extends CostOptions {
  readonly dataset: DatasetSpec;
  readonly split?: SplitSpec;
  /** Which proxies to compute (default both). */
  readonly proxies?: readonly ProxyName[];
  /** Samples per class in the grad_norm batch (default 8). */
  readonly perClass?: number;
}

/** Zero-cost proxy Evaluator: `budget` is meaningless (maxBudget 1). */
export class ProxyEvaluator implements Evaluator<NetworkArch | JointArch> {
  readonly name = 'proxy';
  readonly maxBudget = 1;
  readonly metricNames: readonly string[];
  private data: Promise<PreparedData> | undefined;
  private input: InputSpec | undefined;
  private readonly proxies: readonly ProxyName[];

  constructor(private readonly o: ProxyEvaluatorOptions) {
    this.proxies = o.proxies ?? PROXIES;
    for (const p of this.proxies) if (!PROXIES.includes(p)) throw new NasError('invalid_config', `unknown proxy ${JSON.stringify(p)}`, { field: 'proxies', hint: `use ${PROXIES.join(', ')}` });
    this.metricNames = [...this.proxies.map((p) => `proxy_${p}`), 'params', 'flops', 'macs', 'memory_bytes'];
  }

  prepared(): Promise<PreparedData> {
    this.data ??= prepareData(this.o.dataset, this.o.split ?? {}).then((d) => {
      this.input = { shape: d.shape, numClasses: d.numClasses };
      return d;
    });
    return this.data;
  }

  costs(a: NetworkArch | JointArch): Metrics {
    if (!this.input) throw new NasError('internal', 'ProxyEvaluator.costs() before the dataset was loaded', { hint: 'await evaluator.prepared() first' });
    return costMetrics(analyzeArch('arch' in a ? a.arch : a, this.input, this.o));
  }

  async evaluate(req: EvalRequest<NetworkArch | JointArch>): Promise<EvalOutcome> {
    const data = await this.prepared();
    const arch = 'arch' in req.arch ? req.arch.arch : req.arch;
    const input: InputSpec = { shape: data.shape, numClasses: data.numClasses };
    let costs;
    try {
      costs = analyzeArch(arch, input, this.o);
    } catch (e) {
      if (isNasError(e, 'shape_mismatch') || isNasError(e, 'invalid_arch')) return { status: 'failed', reason: 'invalid_arch', message: e.message, curve: [], error: e };
      throw e;
    }
    const rng = Rng.fromSeed(req.seed);
    const metrics: Record<string, number> = { ...costMetrics(costs) };
    for (const p of this.proxies) {
      // A fresh network per proxy: synflow rewrites the weights.
      const { module } = buildNetwork(arch, input, { gen: Generator.fromRng(rng.derive('init')), ...this.o });
      try {
        if (p === 'grad_norm') {
          const batch = balancedSubset(data.train, this.o.perClass ?? 8, rng.derive('batch'));
          const b = assembleBatch(batch, batch.indices, 0, batch.indices.length, data.normalization);
          metrics.proxy_grad_norm = gradNorm(module, b.x, b.shape, b.y);
        } else metrics.proxy_synflow = synflow(module, data.shape);
      } finally {
        module.dispose();
      }
    }
    return { status: 'complete', metrics, curve: [] };
  }
}
