/**
 * Bayesian optimisation with a Gaussian process over architecture encodings (`bo`).
 *
 * Each ask, after `init` random architectures:
 *  1. targets: the first objective's fitness of every finished trial, Gaussian-copula transformed
 *     (rank -> normal score), so broken architectures and the metric's scale do not distort the fit;
 *  2. model: exact GP with an exponentiated-Hamming kernel on the space's encoding (gp.ts), on at
 *     most `maxTrain` trials (the best half of that cap plus the most recent ones: bounded cost);
 *  3. candidates: every neighbour of the `neighbourhoods` best trials, every arch two sites away from
 *     the `twoStep` best, plus `randomCandidates` random
 *     samples (acquisition optimisation by local moves around the incumbents, as in BANANAS and
 *     White et al.'s predictor-guided local search);
 *  4. acquisition: upper confidence bound mean + beta * sd; the best candidate whose key is unseen
 *     and that passes the cost constraints is proposed.
 * The model is refit from the history at each ask (no hidden caches but a per-object encoding
 * memo), so a resumed study proposes exactly what an uninterrupted one would have.
 */
import type { ArchKey } from '../core/ids.js';
import type { Rng } from '../core/rng.js';
import type { EncodingKind } from '../space/space.js';
import { compareFitness, fitness, isNovel, rngOnlyStrategy, tieBreak, type RngOnlyState } from './common.js';
import { defineStrategy } from './common-options.js';
import { copulaScores, fitGp, gpMean, gpSd } from './gp.js';
import { eraseState, type Strategy, type StrategyContext, type TrialRecord } from './types.js';

export interface BoOptions {
  readonly init: number;
  readonly encoding: EncodingKind;
  readonly lengthscale: number;
  readonly noise: number;
  readonly beta: number;
  readonly neighbourhoods: number;
  readonly randomCandidates: number;
  readonly twoStep: number;
  readonly maxTrain: number;
}

/** Encodings memoised per architecture object (history records keep their objects across asks). */
const encCache = new WeakMap<object, { kind: string; space: string; x: Float64Array }>();
export function encodeCached<A>(ctx: StrategyContext<A>, arch: A, kind: EncodingKind): Float64Array {
  const o = arch as unknown as object;
  const hit = typeof o === 'object' && o !== null ? encCache.get(o) : undefined;
  if (hit && hit.kind === kind && hit.space === ctx.space.name) return hit.x;
  const x = Float64Array.from(ctx.space.encode(arch, kind));
  if (typeof o === 'object' && o !== null) encCache.set(o, { kind, space: ctx.space.name, x });
  return x;
}

/** The finished trials a model learns from: complete ones, plus failed/pruned as the worst. */
function trainingTrials<A>(ctx: StrategyContext<A>): { trial: TrialRecord<A>; f: number }[] {
  const out: { trial: TrialRecord<A>; f: number }[] = [];
  for (const t of ctx.history) if (t.state !== 'running') out.push({ trial: t, f: fitness(t, ctx) });
  return out;
}

/**
 * At most `cap` trials: the best cap/2 by fitness (equal fitness: `tie(a, b) > 0` when a ranks
 * above b, e.g. the objective's tie-break; then the earlier), then the most recent of the rest.
 * Order: history order.
 */
export function capTraining<T extends { f: number }>(all: readonly T[], cap: number, tie: (a: T, b: T) => number = () => 0): T[] {
  if (all.length <= cap) return all.slice();
  const byF = all.map((_, i) => i).sort((a, b) => compareFitness(all[b]!.f, all[a]!.f, () => tie(all[b]!, all[a]!)) || a - b);
  const keep = new Set(byF.slice(0, Math.floor(cap / 2)));
  for (let i = all.length - 1; i >= 0 && keep.size < cap; i--) keep.add(i);
  return [...keep].sort((a, b) => a - b).map((i) => all[i]!);
}

export function bayesOpt(o: BoOptions): Strategy<RngOnlyState> {
  return rngOnlyStrategy('bo', <A>(ctx: StrategyContext<A>, rng: Rng, seen: ReadonlySet<ArchKey>) => {
    const all = trainingTrials(ctx);
    if (all.filter((t) => Number.isFinite(t.f)).length < Math.max(2, o.init) || ctx.history.length < o.init) return undefined;

    const tie = (a: { trial: TrialRecord<A> }, b: { trial: TrialRecord<A> }) => tieBreak(a.trial, b.trial, ctx);
    const train = capTraining(all, o.maxTrain, tie);
    const X = train.map((t) => encodeCached(ctx, t.trial.arch, o.encoding));
    let scale = 0;
    for (const x of X) for (const v of x) scale += v;
    scale = Math.max(1e-9, scale / X.length);
    const y = copulaScores(train.map((t) => t.f));
    const model = fitGp(X, y, { lengthscale: o.lengthscale, noise: o.noise, scale });

    // Candidates: neighbours of the incumbents, then random samples; deduplicated by value, and
    // values already evaluated are dropped cheaply here (isomorphic duplicates by key below).
    const cands: A[] = [];
    const byValue = new Set<string>(ctx.history.map((t) => JSON.stringify(t.arch)));
    const add = (a: A) => {
      const s = JSON.stringify(a);
      if (!byValue.has(s)) {
        byValue.add(s);
        cands.push(a);
      }
    };
    // Incumbents: fitness, then the objective's tie-break (common.ts compareTrials), then the earlier.
    const order = train.map((_, i) => i).sort((a, b) => compareFitness(train[b]!.f, train[a]!.f, () => tie(train[b]!, train[a]!)) || a - b);
    for (const i of order.slice(0, o.neighbourhoods)) if (Number.isFinite(train[i]!.f)) for (const a of ctx.space.neighbours(train[i]!.trial.arch)) add(a);
    for (const i of order.slice(0, o.twoStep))
      if (Number.isFinite(train[i]!.f)) for (const a of ctx.space.neighbours(train[i]!.trial.arch)) for (const b of ctx.space.neighbours(a)) add(b);
    for (let i = 0; i < o.randomCandidates; i++) add(ctx.space.sample(rng));

    // UCB maximisation without computing every posterior variance: the latent sd is at most 1
    // (unit prior), so candidates are visited by decreasing mean and skipped once mean + beta
    // cannot beat the best exact score. Exact: same choice as scoring all of them.
    const xs = cands.map((a) => Float64Array.from(ctx.space.encode(a, o.encoding)));
    const means = xs.map((x) => gpMean(model, x));
    const byMean = cands.map((_, i) => i).sort((a, b) => means[b]! - means[a]! || a - b);
    const exact: { i: number; score: number }[] = [];
    let ptr = 0;
    const rejected = new Set<number>();
    for (;;) {
      let best: { i: number; score: number } | undefined;
      for (const e of exact) if (!rejected.has(e.i) && (!best || e.score > best.score || (e.score === best.score && e.i < best.i))) best = e;
      while (ptr < byMean.length && (!best || means[byMean[ptr]!]! + o.beta > best.score)) {
        const i = byMean[ptr++]!;
        const e = { i, score: means[i]! + o.beta * gpSd(model, xs[i]!) };
        exact.push(e);
        if (!best || e.score > best.score || (e.score === best.score && e.i < best.i)) best = e;
      }
      if (!best) break;
      rejected.add(best.i);
      if (isNovel(cands[best.i]!, ctx, seen)) return cands[best.i]!;
    }
    return undefined;
  });
}

export const boStrategy = defineStrategy({
  name: 'bo',
  description: 'Bayesian optimisation: GP (Hamming kernel on encodings, copula targets), UCB over incumbent neighbourhoods',
  options: {
    init: { kind: 'int', default: 10, min: 2, max: 100000, doc: 'random architectures before the model is used' },
    encoding: { kind: 'choice', options: ['onehot', 'adjacency', 'path'], default: 'onehot', doc: 'architecture encoding the kernel compares' },
    lengthscale: { kind: 'float', default: 0.3, min: 1e-3, max: 100, doc: 'kernel lengthscale, relative to the fraction of differing sites' },
    noise: { kind: 'float', default: 0.01, min: 1e-6, max: 10, doc: 'observation noise variance (targets have unit variance)' },
    beta: { kind: 'float', default: 1, min: 0, max: 100, doc: 'UCB exploration weight' },
    neighbourhoods: { kind: 'int', default: 10, min: 0, max: 1000, doc: 'best trials whose neighbours are candidates' },
    twoStep: { kind: 'int', default: 1, min: 0, max: 100, doc: 'best trials whose neighbours-of-neighbours are candidates too' },
    randomCandidates: { kind: 'int', default: 100, min: 0, max: 100000, doc: 'random samples added to the candidates' },
    maxTrain: { kind: 'int', default: 300, min: 10, max: 5000, doc: 'training-set cap (best half + most recent), bounds the cost per ask' },
  },
  create: (o) => eraseState(bayesOpt(o)),
});
