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
import { HistoryFollower, compareFitness, fitness, isNovel, rngOnlyStrategy, tieBreak, type RngOnlyState } from './common.js';
import { defineStrategy } from './common-options.js';
import { buildFromSites, siteValues, type SiteSpec } from './sites.js';
import { eraseState, type Strategy, type StrategyContext, type TrialRecord } from './types.js';

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
  protected readonly obs = new Map<string, number[]>();
  private readonly cat = new Map<string, number[]>();
  constructor(protected readonly prior: number) {}
  add(values: Map<string, number>): void {
    for (const [p, v] of values) {
      let a = this.obs.get(p);
      if (!a) this.obs.set(p, (a = []));
      a.push(v);
    }
  }
  /** The observations at a site. */
  protected observed(path: string): readonly number[] {
    return this.obs.get(path) ?? [];
  }
  /** Counts of each option of a categorical site and the number of observations there. */
  protected catCounts(site: SiteSpec & { kind: 'cat' }): { counts: Float64Array; total: number } {
    const a = this.observed(site.path);
    const counts = new Float64Array(site.n);
    for (const x of a) if (Number.isInteger(x) && x >= 0 && x < site.n) counts[x]!++;
    return { counts, total: a.length };
  }
  private bandwidth(n: number): number {
    return Math.min(0.5, Math.max(0.02, 1.06 * 0.29 * Math.pow(n + 1, -0.2)));
  }
  /** Smoothed frequency (c + prior / n) / (prior + observations) of every option of a categorical site. */
  private catProbs(site: SiteSpec & { kind: 'cat' }): number[] {
    let probs = this.cat.get(site.path);
    if (probs?.length !== site.n) {
      const { counts, total } = this.catCounts(site);
      const w = this.prior + total;
      probs = Array.from(counts, (c) => (c + this.prior / site.n) / w);
      this.cat.set(site.path, probs);
    }
    return probs;
  }
  /** Density (cat: probability) of decision v at a site. */
  density(site: SiteSpec, v: number): number {
    if (site.kind === 'cat') return this.catProbs(site)[v]!;
    const a = this.observed(site.path);
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
    const a = this.observed(site.path);
    const u = rng.float() * (this.prior + a.length);
    if (u < this.prior || a.length === 0) return rng.float();
    const x = a[Math.min(a.length - 1, Math.floor(u - this.prior))]! + rng.normal() * this.bandwidth(a.length);
    return Math.min(1, Math.max(0, x));
  }
}

/**
 * The "bad" side without a pass over every bad trial: categorical counts are those of all
 * finished trials (kept by `TpeIndex` as trials finish) minus those of the good ones (at most 25),
 * the same integers a recount gives, so the same probabilities. Numeric sites (a kernel density
 * needs every observation, in the same order as before) are listed on first use: they stay O(n)
 * per ask, as the algorithm is.
 */
class BadParzen extends Parzen {
  constructor(
    prior: number,
    private readonly ix: TpeIndex,
    private readonly nGood: number,
    private readonly good: Parzen & { observedAt(path: string): readonly number[] },
    private readonly def: ParamDef,
  ) {
    super(prior);
  }
  protected override observed(path: string): readonly number[] {
    let a = this.obs.get(path);
    if (a === undefined) {
      a = [];
      for (let i = this.nGood; i < this.ix.fin.length; i++) {
        const v = decisionsOf(this.def, this.ix.fin[i]!.arch).get(path);
        if (v !== undefined) a.push(v);
      }
      this.obs.set(path, a);
    }
    return a;
  }
  protected override catCounts(site: SiteSpec & { kind: 'cat' }): { counts: Float64Array; total: number } {
    const all = this.ix.catAll.get(site.path) ?? [];
    const counts = new Float64Array(site.n);
    for (let x = 0; x < site.n; x++) counts[x] = all[x] ?? 0;
    const g = this.good.observedAt(site.path);
    for (const x of g) if (Number.isInteger(x) && x >= 0 && x < site.n) counts[x]!--;
    return { counts, total: (this.ix.nAll.get(site.path) ?? 0) - g.length };
  }
}

class GoodParzen extends Parzen {
  observedAt(path: string): readonly number[] {
    return this.observed(path);
  }
}

/**
 * What TPE needs from the history, kept up to date as trials finish (issue 18 item 5): finished
 * trials sorted by fitness (best first, then by id), and per-site option counts over all of
 * them. An ask then costs O(log n) to insert a new result instead of a filter, a sort and a pass
 * over every finished trial.
 */
interface TpeIndex {
  readonly follower: HistoryFollower<unknown>;
  readonly fin: Ranked[];
  finite: number;
  /** site path -> count per integer option value, over all finished trials. */
  readonly catAll: Map<string, number[]>;
  /** site path -> number of finished trials with a decision at that site. */
  readonly nAll: Map<string, number>;
  readonly for: { objectives: unknown; constraints: unknown; def: ParamDef };
}

const tpeIndexes = new WeakMap<object, TpeIndex>();

type Ranked = { arch: unknown; f: number; id: number; t: TrialRecord<unknown> };

/**
 * `a` ranks before `b`: higher fitness first, equal fitness by the objective's tie-break metric,
 * then lower trial id (the comparator of the sort it replaces, kept exactly).
 */
function before(a: Ranked, b: Ranked, ctx: StrategyContext<unknown>): boolean {
  return (compareFitness(b.f, a.f, () => tieBreak(b.t, a.t, ctx)) || a.id - b.id) < 0;
}

function tpeIndex<A>(ctx: StrategyContext<A>): TpeIndex {
  let ix = tpeIndexes.get(ctx.history);
  const def = ctx.space.def;
  if (ix === undefined || ix.for.objectives !== ctx.objectives || ix.for.constraints !== ctx.constraints || ix.for.def !== def) {
    ix = { follower: new HistoryFollower(), fin: [], finite: 0, catAll: new Map(), nAll: new Map(), for: { objectives: ctx.objectives, constraints: ctx.constraints, def } };
    tpeIndexes.set(ctx.history, ix);
  }
  const index = ix;
  const history = ctx.history as readonly TrialRecord<unknown>[];
  index.follower.follow(
    history,
    () => {
      index.fin.length = 0;
      index.finite = 0;
      index.catAll.clear();
      index.nAll.clear();
    },
    (t) => {
      if (t.state === 'running') return;
      const c = ctx as unknown as StrategyContext<unknown>;
      const x: Ranked = { arch: t.arch, f: fitness(t, c), id: Number(t.id), t };
      if (Number.isFinite(x.f)) index.finite++;
      let lo = 0;
      let hi = index.fin.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (before(index.fin[mid]!, x, c)) lo = mid + 1;
        else hi = mid;
      }
      index.fin.splice(lo, 0, x);
      for (const [p, v] of decisionsOf(def, t.arch)) {
        index.nAll.set(p, (index.nAll.get(p) ?? 0) + 1);
        if (Number.isInteger(v) && v >= 0) {
          let c = index.catAll.get(p);
          if (!c) index.catAll.set(p, (c = []));
          c[v] = (c[v] ?? 0) + 1;
        }
      }
    },
  );
  return index;
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
    const ix = tpeIndex(ctx);
    const finished = ix.fin;
    if (finished.length < o.startup || ix.finite === 0) return undefined;

    const nGood = Math.min(Math.ceil(o.gamma * finished.length), 25);
    const good = new GoodParzen(o.priorWeight);
    for (let i = 0; i < nGood; i++) good.add(decisionsOf(ctx.space.def, finished[i]!.arch));
    const bad = new BadParzen(o.priorWeight, ix, nGood, good, ctx.space.def);

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
