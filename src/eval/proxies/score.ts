/**
 * Scoring architectures with zero-cost proxies, and ranking the scores so that broken values never
 * poison a ranking: a proxy that returns NaN or +-Infinity, or throws (synflow and naswot throw
 * with their real reason, e.g. a cell with no path from input to output), gives a `failed` score with a reason,
 * and `rankScores` puts every failed score last.
 */
import { Rng } from '../../core/rng.js';
import { isNasError } from '../../core/errors.js';
import type { NetworkArch } from '../../core/arch.js';
import { analyzeArch, buildNetwork, type CostOptions, type InputSpec } from '../../nn/build/index.js';
import { Generator } from '../../tensor/index.js';
import { getProxy, type ProxyName } from './registry.js';
import type { ProxyBatch, ProxyInput } from './types.js';

export type ProxyScore =
  | { readonly proxy: string; readonly ok: true; readonly value: number; readonly ms: number }
  | { readonly proxy: string; readonly ok: false; readonly reason: string; readonly ms: number };

export interface ScoreOptions extends CostOptions {
  /** Seeds the network initialisation (the same weights for every proxy) and random inputs. */
  readonly seed: number;
  /** The real batch of the data-dependent proxies. */
  readonly batch?: ProxyBatch;
}

/**
 * Scores one architecture with each proxy (a fresh network each, the same seeded weights), with
 * its CPU-thread wall time in ms. Never throws for a bad architecture or value: that is a failed
 * score; an unknown proxy name throws `invalid_config` (field `proxies`).
 */
export function scoreArch(arch: NetworkArch, input: InputSpec, proxies: readonly ProxyName[], o: ScoreOptions): ProxyScore[] {
  const ps = proxies.map((p) => getProxy(p));
  let costs;
  const t0 = performance.now();
  try {
    costs = analyzeArch(arch, input, o);
  } catch (e) {
    const reason = isNasError(e) ? `${e.code}: ${e.message}` : String(e);
    return proxies.map((proxy) => ({ proxy, ok: false, reason, ms: 0 }));
  }
  const costMs = performance.now() - t0;
  const rng = Rng.fromSeed(o.seed);
  const initSeed = rng.derive('init').int(0, 2 ** 31 - 1);
  const noiseSeed = rng.derive('noise').int(0, 2 ** 31 - 1);
  const pi: ProxyInput = {
    build: () => buildNetwork(arch, input, { gen: new Generator(initSeed), ...(o.nb201 ? { nb201: o.nb201 } : {}), ...(o.darts ? { darts: o.darts } : {}) }).module,
    sampleShape: input.shape,
    numClasses: input.numClasses,
    ...(o.batch ? { batch: o.batch } : {}),
    costs,
    gen: () => new Generator(noiseSeed),
  };
  return ps.map((p) => {
    const t = performance.now();
    let value: number;
    try {
      value = p.compute(pi);
    } catch (e) {
      return { proxy: p.name, ok: false as const, reason: `threw: ${(e as Error).message}`, ms: performance.now() - t };
    }
    const ms = performance.now() - t + (p.name === 'params' || p.name === 'flops' ? costMs : 0);
    if (!Number.isFinite(value)) return { proxy: p.name, ok: false as const, reason: `${p.name} is ${value} (not a finite number)`, ms };
    return { proxy: p.name, ok: true as const, value, ms };
  });
}

export { rankScores, spearman } from '../../core/rank.js';
