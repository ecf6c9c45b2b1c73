/**
 * The `proxy` Evaluator: zero-cost proxy scores of a candidate as metrics `proxy_<name>` (plus the
 * analytic costs), computed on the real network of any family, from one real training batch for
 * the data-dependent proxies (a class-balanced batch of `perClass` samples per class, drawn with
 * the request's seed). `budget` is meaningless (maxBudget 1): this is a search's cheapest fidelity.
 * A proxy that fails on a candidate (a non-finite value or a thrown reason, e.g. synflow of a cell with no path from input to output) is left
 * out of the metrics (consumers rank a missing value last) and its reason is in the outcome's
 * `absent` (a trial whose objective it is fails with that reason); a candidate whose shape is
 * impossible fails.
 */
import type { JointArch, NetworkArch } from '../../core/arch.js';
import { NasError, isNasError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { assembleBatch } from '../../data/batch.js';
import { prepareData, type DatasetSpec, type PreparedData, type SplitSpec } from '../../data/prepare.js';
import { balancedSubset } from '../../data/subset.js';
import { analyzeArch, type CostOptions, type InputSpec } from '../../nn/build/index.js';
import { getNumThreads, setNumThreads } from '../../tensor/index.js';
import { costMetrics } from '../cost.js';
import type { EvalOutcome, EvalRequest, Evaluator, Metrics } from '../types.js';
import { PROXY_NAMES, checkProxyNames, getProxy, type ProxyName } from './registry.js';
import { scoreArch, type ProxyScore } from './score.js';
import type { ProxyBatch } from './types.js';

export interface ProxyEvaluatorOptions extends CostOptions {
  readonly dataset: DatasetSpec;
  readonly split?: SplitSpec;
  /** Which proxies to compute (default grad_norm and synflow). */
  readonly proxies?: readonly string[];
  /** Samples per class in the real batch (default 8). */
  readonly perClass?: number;
  /** libtorch intra-op threads while scoring (restored afterwards), as the train evaluator's. */
  readonly threads?: number;
}

/** One real, class-balanced training batch of `perClass` samples per class, drawn by `rng`. */
export function proxyBatch(data: PreparedData, perClass: number, rng: Rng): ProxyBatch {
  const sub = balancedSubset(data.train, perClass, rng, 'per_class');
  const b = assembleBatch(sub, sub.indices, 0, sub.indices.length, data.normalization);
  return { x: b.x, shape: b.shape, y: b.y };
}

export class ProxyEvaluator implements Evaluator<NetworkArch | JointArch> {
  readonly name = 'proxy';
  readonly maxBudget = 1;
  readonly metricNames: readonly string[];
  readonly metricOptions: Readonly<Record<string, string>>;
  private data: Promise<PreparedData> | undefined;
  private input: InputSpec | undefined;
  private loaded: PreparedData | undefined;
  readonly proxies: readonly ProxyName[];

  constructor(private readonly o: ProxyEvaluatorOptions) {
    this.proxies = checkProxyNames(o.proxies ?? ['grad_norm', 'synflow']);
    this.metricNames = [...this.proxies.map((p) => `proxy_${p}`), 'proxy_ms', 'params', 'flops', 'macs', 'memory_bytes'];
    this.metricOptions = Object.fromEntries(PROXY_NAMES.filter((p) => !this.proxies.includes(p)).map((p) => [`proxy_${p}`, `proxies: [${[...this.proxies, p].join(', ')}]`]));
  }

  prepared(): Promise<PreparedData> {
    this.data ??= prepareData(this.o.dataset, this.o.split ?? {}).then((d) => {
      this.input = { shape: d.shape, numClasses: d.numClasses };
      this.loaded = d;
      return d;
    });
    return this.data;
  }

  costs(a: NetworkArch | JointArch): Metrics {
    if (!this.input) throw new NasError('internal', 'ProxyEvaluator.costs() before the dataset was loaded', { hint: 'await evaluator.prepared() first' });
    return costMetrics(analyzeArch('arch' in a ? a.arch : a, this.input, this.o));
  }

  /** Scores with reasons (what `evaluate` turns into metrics). */
  async score(arch: NetworkArch | JointArch, seed: number): Promise<ProxyScore[]> {
    await this.prepared();
    return this.scoreSync(arch, seed);
  }

  /** `score` once the data is loaded (`await prepared()` first), for synchronous callers (`ctx.proxyOf`). */
  scoreSync(arch: NetworkArch | JointArch, seed: number): ProxyScore[] {
    const data = this.loaded;
    if (!data) throw new NasError('internal', 'ProxyEvaluator.scoreSync() before the dataset was loaded', { hint: 'await evaluator.prepared() first' });
    const net = 'arch' in arch ? arch.arch : arch;
    const input: InputSpec = { shape: data.shape, numClasses: data.numClasses };
    const rng = Rng.fromSeed(seed);
    const batch = this.proxies.some((p) => getProxy(p).needsData) ? proxyBatch(data, this.o.perClass ?? 8, rng.derive('batch')) : undefined;
    return scoreArch(net, input, this.proxies, { ...this.o, seed, ...(batch ? { batch } : {}) });
  }

  async evaluate(req: EvalRequest<NetworkArch | JointArch>): Promise<EvalOutcome> {
    const data = await this.prepared();
    const arch = 'arch' in req.arch ? req.arch.arch : req.arch;
    let costs;
    try {
      costs = analyzeArch(arch, { shape: data.shape, numClasses: data.numClasses }, this.o);
    } catch (e) {
      if (isNasError(e, 'shape_mismatch') || isNasError(e, 'invalid_arch')) return { status: 'failed', reason: 'invalid_arch', message: e.message, curve: [], error: e };
      throw e;
    }
    const prevThreads = getNumThreads();
    if (this.o.threads !== undefined) setNumThreads(this.o.threads);
    let scores;
    try {
      scores = await this.score(req.arch, req.seed);
    } finally {
      if (this.o.threads !== undefined) setNumThreads(prevThreads);
    }
    const metrics: Record<string, number> = { ...costMetrics(costs), proxy_ms: scores.reduce((s, x) => s + x.ms, 0) };
    const absent: Record<string, string> = {};
    for (const s of scores) {
      if (s.ok) metrics[`proxy_${s.proxy}`] = s.value;
      else absent[`proxy_${s.proxy}`] = `proxy ${s.proxy} failed: ${s.reason}`;
    }
    return { status: 'complete', metrics, curve: [], ...(Object.keys(absent).length ? { absent } : {}) };
  }
}
