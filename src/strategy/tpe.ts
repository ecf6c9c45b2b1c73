/**
 * Tree-structured Parzen estimator (Bergstra et al. 2011), in the independent form Optuna uses by
 * default: after `startup` random trials, finished trials split into the best
 * gamma(n) = min(ceil(gamma * n), 25) ("good") and the rest ("bad"); each decision site of the space
 * (sites.ts) gets two Parzen estimators, l from the good and g from the bad trials, each mixed with a
 * uniform prior of weight `priorWeight`. `candidates` architectures are drawn site by site from l,
 * and the one maximising sum over sites of log l(x) - log g(x) (with an unseen key, within the
 * constraints) is proposed. Categorical sites: smoothed frequencies; numeric sites (u in [0, 1]):
 * Gaussian kernels with a Scott-rule bandwidth.
 */
import type { ArchKey } from '../core/ids.js';
import type { Rng } from '../core/rng.js';
import { fitness, isNovel, rngOnlyStrategy, type RngOnlyState } from './common.js';
import { defineStrategy } from './common-options.js';
import { buildFromSites, siteValues, type SiteSpec } from './sites.js';
import { eraseState, type Strategy, type StrategyContext } from './types.js';

export interface TpeOptions {
  readonly startup: number;
  readonly candidates: number;
  readonly gamma: number;
  readonly priorWeight: number;
}

/** One side (good or bad) of the estimator: observed decisions per site. */
class Parzen {
  private readonly obs = new Map<string, number[]>();
  constructor(private readonly prior: number) {}
  add(values: Map<string, number>): void {
    for (const [p, v] of values) {
      let a = this.obs.get(p);
      if (!a) this.obs.set(p, (a = []));
      a.push(v);
    }
  }
  private bandwidth(n: number): number {
    return Math.min(0.5, Math.max(0.02, 1.06 * 0.29 * Math.pow(n + 1, -0.2)));
  }
  /** Density (cat: probability) of decision v at a site. */
  density(site: SiteSpec, v: number): number {
    const a = this.obs.get(site.path) ?? [];
    const w = this.prior + a.length;
    if (site.kind === 'cat') {
      let c = 0;
      for (const x of a) if (x === v) c++;
      return (c + this.prior / site.n) / w;
    }
    const h = this.bandwidth(a.length);
    let s = this.prior; // uniform density 1 on [0, 1]
    for (const x of a) s += Math.exp(-0.5 * ((v - x) / h) ** 2) / (h * Math.sqrt(2 * Math.PI));
    return s / w;
  }
  sample(site: SiteSpec, allowed: readonly number[] | undefined, rng: Rng): number {
    const a = this.obs.get(site.path) ?? [];
    if (site.kind === 'cat') {
      const opts = allowed ?? Array.from({ length: site.n }, (_, i) => i);
      return opts[rng.weighted(opts.map((c) => this.density(site, c)))]!;
    }
    const u = rng.float() * (this.prior + a.length);
    if (u < this.prior || a.length === 0) return rng.float();
    const x = a[Math.min(a.length - 1, Math.floor(u - this.prior))]! + rng.normal() * this.bandwidth(a.length);
    return Math.min(1, Math.max(0, x));
  }
}

export function treeParzen(o: TpeOptions): Strategy<RngOnlyState> {
  return rngOnlyStrategy('tpe', <A>(ctx: StrategyContext<A>, rng: Rng, seen: ReadonlySet<ArchKey>) => {
    const finished = ctx.history.filter((t) => t.state !== 'running').map((t) => ({ t, f: fitness(t, ctx) }));
    if (finished.length < o.startup || !finished.some((x) => Number.isFinite(x.f))) return undefined;

    finished.sort((a, b) => b.f - a.f || Number(a.t.id) - Number(b.t.id));
    const nGood = Math.min(Math.ceil(o.gamma * finished.length), 25);
    const good = new Parzen(o.priorWeight);
    const bad = new Parzen(o.priorWeight);
    finished.forEach((x, i) => (i < nGood ? good : bad).add(siteValues(ctx.space.def, x.t.arch)));

    for (let round = 0; round < 10; round++) {
      const cands: { arch: A; score: number }[] = [];
      for (let c = 0; c < o.candidates; c++) {
        let score = 0;
        const arch = buildFromSites(ctx.space.def, (site, allowed) => {
          const v = good.sample(site, allowed, rng);
          score += Math.log(good.density(site, v)) - Math.log(bad.density(site, v));
          return v;
        }) as A;
        cands.push({ arch, score });
      }
      cands.sort((a, b) => b.score - a.score);
      const pick = cands.find((c) => isNovel(c.arch, ctx, seen));
      if (pick) return pick.arch;
    }
    return undefined;
  });
}

export const tpeStrategy = defineStrategy({
  name: 'tpe',
  description: 'tree-structured Parzen estimator over the decision sites of the space (Optuna-style, independent)',
  options: {
    startup: { kind: 'int', default: 10, min: 1, max: 100000, doc: 'random trials before the estimator is used' },
    candidates: { kind: 'int', default: 24, min: 1, max: 10000, doc: 'candidates drawn from l(x) per ask' },
    gamma: { kind: 'float', default: 0.1, min: 0.01, max: 0.9, doc: 'fraction of trials counted as good (capped at 25)' },
    priorWeight: { kind: 'float', default: 1, min: 0, max: 100, doc: 'weight of the uniform prior in each estimator' },
  },
  create: (o) => eraseState(treeParzen(o)),
});
