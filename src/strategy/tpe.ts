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
import type { ParamDef } from '../space/dsl.js';
import { fitness, isNovel, rngOnlyStrategy, tieBreak, type RngOnlyState } from './common.js';
import { defineStrategy } from './common-options.js';
import { buildFromSites, siteValues, type SiteSpec } from './sites.js';
import { eraseState, type Strategy, type StrategyContext } from './types.js';

export interface TpeOptions {
  readonly startup: number;
  readonly candidates: number;
  readonly gamma: number;
  readonly priorWeight: number;
}

/**
 * One side (good or bad) of the estimator: observed decisions per site. Filled by `add`, then only
 * read: a categorical site's probabilities are counted once per ask (`catProbs`), not once per
 * candidate and option (with ~1,000 "bad" trials that recount was most of TPE's time per ask).
 */
class Parzen {
  private readonly obs = new Map<string, number[]>();
  private readonly cat = new Map<string, number[]>();
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
  /** Smoothed frequency (c + prior / n) / (prior + observations) of every option of a categorical site. */
  private catProbs(site: SiteSpec & { kind: 'cat' }): number[] {
    let probs = this.cat.get(site.path);
    if (probs?.length !== site.n) {
      const a = this.obs.get(site.path) ?? [];
      const counts = new Float64Array(site.n);
      for (const x of a) if (Number.isInteger(x) && x >= 0 && x < site.n) counts[x]!++;
      const w = this.prior + a.length;
      probs = Array.from(counts, (c) => (c + this.prior / site.n) / w);
      this.cat.set(site.path, probs);
    }
    return probs;
  }
  /** Density (cat: probability) of decision v at a site. */
  density(site: SiteSpec, v: number): number {
    if (site.kind === 'cat') return this.catProbs(site)[v]!;
    const a = this.obs.get(site.path) ?? [];
    const w = this.prior + a.length;
    const h = this.bandwidth(a.length);
    let s = this.prior; // uniform density 1 on [0, 1]
    for (const x of a) s += Math.exp(-0.5 * ((v - x) / h) ** 2) / (h * Math.sqrt(2 * Math.PI));
    return s / w;
  }
  sample(site: SiteSpec, allowed: readonly number[] | undefined, rng: Rng): number {
    if (site.kind === 'cat') {
      const probs = this.catProbs(site);
      if (!allowed) return rng.weighted(probs);
      return allowed[rng.weighted(allowed.map((c) => probs[c]!))]!;
    }
    const a = this.obs.get(site.path) ?? [];
    const u = rng.float() * (this.prior + a.length);
    if (u < this.prior || a.length === 0) return rng.float();
    const x = a[Math.min(a.length - 1, Math.floor(u - this.prior))]! + rng.normal() * this.bandwidth(a.length);
    return Math.min(1, Math.max(0, x));
  }
}

/**
 * `siteValues` memoised per architecture object: history records keep their objects across asks
 * (as in bo.ts's encoding memo), and reading every finished trial's decisions again at each ask was
 * a quarter of its time at 1,000 trials.
 */
const decisions = new WeakMap<object, { def: ParamDef; values: Map<string, number> }>();
function decisionsOf(def: ParamDef, arch: unknown): Map<string, number> {
  if (typeof arch !== 'object' || arch === null) return siteValues(def, arch);
  const hit = decisions.get(arch);
  if (hit && hit.def === def) return hit.values;
  const values = siteValues(def, arch);
  decisions.set(arch, { def, values });
  return values;
}

export function treeParzen(o: TpeOptions): Strategy<RngOnlyState> {
  return rngOnlyStrategy('tpe', <A>(ctx: StrategyContext<A>, rng: Rng, seen: ReadonlySet<ArchKey>) => {
    const finished = ctx.history.filter((t) => t.state !== 'running').map((t) => ({ t, f: fitness(t, ctx) }));
    if (finished.length < o.startup || !finished.some((x) => Number.isFinite(x.f))) return undefined;

    // Equal fitness (e.g. many 100% accuracies): the objective's tie-break metric orders them.
    finished.sort((a, b) => b.f - a.f || (Number.isFinite(a.f) ? tieBreak(b.t, a.t, ctx) : 0) || Number(a.t.id) - Number(b.t.id));
    const nGood = Math.min(Math.ceil(o.gamma * finished.length), 25);
    const good = new Parzen(o.priorWeight);
    const bad = new Parzen(o.priorWeight);
    finished.forEach((x, i) => (i < nGood ? good : bad).add(decisionsOf(ctx.space.def, x.t.arch)));

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
