/**
 * BANANAS (White et al. 2021, "BANANAS: Bayesian Optimization with Neural Architectures for Neural
 * Architecture Search", AAAI): Bayesian optimisation whose surrogate is an ensemble of small MLPs
 * (src/strategy/predictor/mlp-ensemble.ts) over the path encoding. Each ask, after `init` random
 * architectures:
 *  1. targets: the first objective's fitness of every finished trial, Gaussian-copula transformed
 *     (failed trials are the worst), at most `maxTrain` of them (the best half plus the most recent);
 *  2. features: the space's `path` encoding (for spaces without paths the result equals the
 *     one-hot encoding), plus, with `proxyFeatures`, each zero-cost proxy value of `ctx.proxyOf`
 *     as its empirical CDF over the training and candidate architectures;
 *  3. candidates: `candidates` single-site mutations of the `parents` best trials (BANANAS's
 *     mutation-based acquisition optimisation), every neighbour of the best `neighbourhoods`
 *     trials, and `randomCandidates` random architectures; unseen keys within the constraints only;
 *  4. acquisition: independent Thompson sampling (`its`: one draw from N(mean, sd) per candidate,
 *     the BANANAS default) or an upper confidence bound (`ucb`: mean + beta sd); the best is proposed.
 * The ensemble is refit from the history at every ask (seeded from the strategy's Rng), so a
 * resumed study proposes exactly what an uninterrupted one would.
 */
import { proxyUnavailable } from '../eval/proxies/availability.js';
import type { ArchKey } from '../core/ids.js';
import { Rng } from '../core/rng.js';
import { encodeCached, capTraining } from './bo.js';
import { fitness, isNovel, rngOnlyStrategy, type RngOnlyState } from './common.js';
import { defineStrategy } from './common-options.js';
import { copulaScores } from './gp.js';
import { fitMlpEnsemble } from './predictor/mlp-ensemble.js';
import { eraseState, type Strategy, type StrategyContext, type TrialRecord } from './types.js';

export interface BananasOptions {
  readonly init: number;
  readonly members: number;
  readonly hidden: number;
  readonly layers: number;
  readonly epochs: number;
  readonly lr: number;
  readonly acquisition: 'its' | 'ucb';
  readonly beta: number;
  readonly candidates: number;
  readonly parents: number;
  readonly neighbourhoods: number;
  readonly randomCandidates: number;
  readonly proxyFeatures: boolean;
  readonly maxTrain: number;
}

/** Standard normal draw (Box-Muller) from the strategy's Rng. */
function normal(rng: Rng): number {
  const u = Math.max(rng.float(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
}

/** Each column's values as empirical CDF in [0, 1] (missing / non-finite: 0). */
function cdfColumns(rows: readonly Record<string, number>[], names: readonly string[]): Float64Array[] {
  const out = rows.map(() => new Float64Array(names.length));
  names.forEach((name, j) => {
    const vals = rows.map((r) => r[name]).filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
    rows.forEach((r, i) => {
      const v = r[name];
      if (v === undefined || !Number.isFinite(v) || !vals.length) return;
      let lo = 0;
      let hi = vals.length;
      while (lo < hi) {
        const m = (lo + hi) >> 1;
        if (vals[m]! < v) lo = m + 1;
        else hi = m;
      }
      out[i]![j] = (lo + 0.5) / vals.length;
    });
  });
  return out;
}

export function bananas(o: BananasOptions): Strategy<RngOnlyState> {
  return rngOnlyStrategy('bananas', <A>(ctx: StrategyContext<A>, rng: Rng, seen: ReadonlySet<ArchKey>) => {
    // Never silently fit without the features that were asked for.
    if (o.proxyFeatures && !ctx.proxyOf) throw proxyUnavailable({ field: 'strategy.options.proxy_features', what: 'bananas proxy_features', proxies: 'any' }, { kind: 'none', why: 'this study' });
    const all: { trial: TrialRecord<A>; f: number }[] = [];
    for (const t of ctx.history) if (t.state !== 'running') all.push({ trial: t, f: fitness(t, ctx) });
    const finite = all.filter((t) => Number.isFinite(t.f));
    if (finite.length < Math.max(2, o.init) || ctx.history.length < o.init) return undefined;
    const train = capTraining(all, o.maxTrain);

    // Candidates.
    const cands: A[] = [];
    const keys = new Set<ArchKey>();
    const add = (a: A) => {
      const k = ctx.space.key(a);
      if (keys.has(k) || !isNovel(a, ctx, seen)) return;
      keys.add(k);
      cands.push(a);
    };
    const order = train.map((_, i) => i).filter((i) => Number.isFinite(train[i]!.f)).sort((a, b) => train[b]!.f - train[a]!.f || a - b);
    const parents = order.slice(0, o.parents).map((i) => train[i]!.trial.arch);
    for (let i = 0; i < o.candidates && parents.length; i++) add(ctx.space.mutate(parents[i % parents.length]!, rng));
    for (const i of order.slice(0, o.neighbourhoods)) for (const a of ctx.space.neighbours(train[i]!.trial.arch)) add(a);
    for (let i = 0; i < o.randomCandidates; i++) add(ctx.space.sample(rng));
    if (!cands.length) return undefined;

    // Features.
    const enc = (a: A) => encodeCached(ctx, a, 'path');
    let X = train.map((t) => enc(t.trial.arch));
    let C = cands.map(enc);
    if (o.proxyFeatures && ctx.proxyOf) {
      const proxyOf = ctx.proxyOf;
      const vals = [...train.map((t) => proxyOf(t.trial.arch).values), ...cands.map((a) => proxyOf(a).values)];
      const names = [...new Set(vals.flatMap((v) => Object.keys(v).filter((k) => k.startsWith('proxy_'))))].sort();
      if (names.length) {
        const f = cdfColumns(vals, names);
        const join = (x: Float64Array, g: Float64Array) => {
          const r = new Float64Array(x.length + g.length);
          r.set(x);
          r.set(g, x.length);
          return r;
        };
        X = X.map((x, i) => join(x, f[i]!));
        C = C.map((x, i) => join(x, f[train.length + i]!));
      }
    }
    const y = copulaScores(train.map((t) => t.f));
    const model = fitMlpEnsemble(X, [...y], rng.int(0, 2 ** 30), {
      members: o.members,
      hidden: Array.from({ length: o.layers }, () => o.hidden),
      epochs: o.epochs,
      lr: o.lr,
      minPoints: 2,
      field: 'strategy.options.init',
    });
    let pred;
    try {
      pred = model.predict(C);
    } finally {
      model.dispose();
    }
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i < cands.length; i++) {
      const s = o.acquisition === 'its' ? pred.mean[i]! + pred.sd[i]! * normal(rng) : pred.mean[i]! + o.beta * pred.sd[i]!;
      if (s > bestScore) {
        bestScore = s;
        best = i;
      }
    }
    return best >= 0 ? cands[best] : undefined;
  });
}

export const bananasStrategy = defineStrategy({
  name: 'bananas',
  description: 'BANANAS: an ensemble of MLP predictors on the path encoding (optionally with zero-cost proxy features), Thompson sampling or UCB over mutations (White et al. 2021)',
  options: {
    init: { kind: 'int', default: 10, min: 2, max: 100000, doc: 'random architectures before the predictor is used (the predictor needs at least 2)' },
    members: { kind: 'int', default: 5, min: 1, max: 50, doc: 'MLPs in the ensemble' },
    hidden: { kind: 'int', default: 32, min: 2, max: 1024, doc: 'units per hidden layer' },
    layers: { kind: 'int', default: 2, min: 1, max: 10, doc: 'hidden layers' },
    epochs: { kind: 'int', default: 150, min: 1, max: 10000, doc: 'full-batch Adam steps per fit' },
    lr: { kind: 'float', default: 0.01, min: 1e-6, max: 1, doc: 'Adam learning rate' },
    acquisition: { kind: 'choice', options: ['its', 'ucb'], default: 'its', doc: 'its: independent Thompson sampling; ucb: mean + beta sd' },
    beta: { kind: 'float', default: 0.5, min: 0, max: 100, doc: 'UCB exploration weight' },
    candidates: { kind: 'int', default: 100, min: 0, max: 100000, doc: 'mutations of the best trials scored per ask' },
    parents: { kind: 'int', default: 10, min: 1, max: 10000, doc: 'best trials that are mutated' },
    neighbourhoods: { kind: 'int', default: 1, min: 0, max: 1000, doc: 'best trials whose every neighbour is a candidate' },
    randomCandidates: { kind: 'int', default: 10, min: 0, max: 100000, doc: 'random architectures added to the candidates' },
    proxyFeatures: { kind: 'bool', default: false, doc: 'append zero-cost proxy values (ctx.proxyOf) to the encoding' },
    maxTrain: { kind: 'int', default: 200, min: 10, max: 5000, doc: 'training-set cap (best half + most recent), bounds the cost per ask' },
  },
  create: (o) => eraseState(bananas(o)),
});
