/**
 * NSGA-II (Deb et al. 2002) for any number of objectives (`ctx.objectives`, each maximised or
 * minimised). Generational: generation 0 is `population` random architectures (in a warm-started
 * study, the non-dominated best of the trials complete at the first ask fill it first, at no
 * cost: common.ts priorTrials); each later
 * generation is `population` children of the current parents, each from two binary tournaments by
 * crowded comparison (lower front first, then larger crowding distance), the space's uniform
 * crossover with probability `cxpb` and a one-site mutation with probability `mutpb`. When a
 * generation has finished, parents and children are merged and the next parents chosen by
 * non-dominated sorting, the last front cut by crowding distance. Trials that failed, lack an
 * objective metric or violate a constraint rank behind every feasible one (constraint domination).
 * Children never repeat a seen key (retries, then a random novel architecture).
 */
import type { ArchKey } from '../core/ids.js';
import type { Json } from '../core/json.js';
import { Rng, type RngState } from '../core/rng.js';
import { EXHAUSTED, priorTrials, proposeNovel, randomNovel, runningKeys, seededRng, seenKeys, trialsByKey, violates } from './common.js';
import { defineStrategy } from './common-options.js';
import { crowdingDistance, nonDominatedSort } from './pareto.js';
import { archFromJson, archToJson, eraseState, type AskOutcome, type Strategy, type StrategyContext, type TrialRecord } from './types.js';

interface Individual {
  readonly key: string;
  readonly arch: Json;
}
interface Nsga2State {
  readonly rng: RngState;
  readonly generation: number;
  /** Survivors of the last selection (empty during generation 0). */
  readonly parents: readonly Individual[];
  /** This generation's proposals so far. */
  readonly pending: readonly Individual[];
}

export interface Nsga2Options {
  readonly population: number;
  readonly cxpb: number;
  readonly mutpb: number;
}

/** Minimisation vector of a trial's objectives, or undefined when it is infeasible / unfinished. */
export function objectiveVector<A>(t: TrialRecord<A> | undefined, ctx: Pick<StrategyContext<A>, 'objectives' | 'constraints'>): number[] | undefined {
  if (!t || t.state !== 'complete' || !t.metrics || violates(t.metrics, ctx.constraints)) return undefined;
  const out: number[] = [];
  for (const o of ctx.objectives) {
    const v = t.metrics[o.metric];
    if (v === undefined || !Number.isFinite(v)) return undefined;
    out.push(o.direction === 'maximize' ? -v : v);
  }
  return out;
}

/** Rank (front index) and crowding distance of each individual; infeasible ones form a last front. */
export function rankAndCrowding(vectors: readonly (number[] | undefined)[]): { rank: number[]; crowd: number[] } {
  const n = vectors.length;
  const rank = new Array<number>(n).fill(0);
  const crowd = new Array<number>(n).fill(0);
  const feasible = vectors.map((v, i) => (v ? i : -1)).filter((i) => i >= 0);
  const fronts = nonDominatedSort(feasible.map((i) => vectors[i]!));
  fronts.forEach((front, r) => {
    const cd = crowdingDistance(front.map((j) => vectors[feasible[j]!]!));
    front.forEach((j, k) => {
      rank[feasible[j]!] = r;
      crowd[feasible[j]!] = cd[k]!;
    });
  });
  for (let i = 0; i < n; i++) if (!vectors[i]) rank[i] = fronts.length;
  return { rank, crowd };
}

/** Indices of the `k` survivors: whole fronts in order, the last one cut by crowding distance. */
export function selectSurvivors(vectors: readonly (number[] | undefined)[], k: number): number[] {
  const { rank, crowd } = rankAndCrowding(vectors);
  return vectors
    .map((_, i) => i)
    .sort((a, b) => rank[a]! - rank[b]! || crowd[b]! - crowd[a]! || a - b)
    .slice(0, k);
}

export function nsga2(o: Nsga2Options): Strategy<Nsga2State> {
  return {
    name: 'nsga2',
    init(seed, ctx) {
      const rng = seededRng(seed, ctx);
      return { rng: rng.state(), generation: 0, parents: [], pending: [] };
    },
    ask<A>(state: Nsga2State, ctx: StrategyContext<A>) {
      const rng = Rng.fromState(state.rng);
      const seen = seenKeys(ctx.history);
      let s = state;
      const out = (outcome: AskOutcome<A>) => ({ state: { ...s, rng: rng.state() }, outcome });
      const byKey = trialsByKey(ctx.history);
      const vec = (ind: Individual) => objectiveVector(byKey.get(ind.key as ArchKey), ctx);

      // Generation 0 of a warm-started study: the non-dominated best of the prior trials (already
      // evaluated, e.g. warm-start imports) instead of random draws.
      if (s.generation === 0 && s.parents.length === 0 && s.pending.length === 0 && ctx.history.length > 0) {
        const prior = priorTrials(ctx.history);
        const keep = selectSurvivors(prior.map((t) => objectiveVector(t, ctx)), Math.min(o.population, prior.length));
        s = { ...s, pending: keep.map((i) => ({ key: prior[i]!.key as string, arch: archToJson(prior[i]!.arch) })) };
      }
      if (s.pending.length >= o.population) {
        const running = runningKeys(ctx.history);
        if (s.pending.some((p) => running.has(p.key as ArchKey))) return out({ kind: 'wait' });
        const pool = [...s.parents, ...s.pending];
        const keep = selectSurvivors(pool.map(vec), o.population);
        s = { ...s, generation: s.generation + 1, parents: keep.map((i) => pool[i]!), pending: [] };
      }

      let hit: { arch: A; key: ArchKey } | undefined;
      if (s.generation > 0 && s.parents.length > 0) {
        const parents = s.parents.map((p) => archFromJson<A>(p.arch));
        const { rank, crowd } = rankAndCrowding(s.parents.map(vec));
        const tournament = () => {
          const a = rng.int(0, parents.length);
          const b = rng.int(0, parents.length);
          return rank[a]! < rank[b]! || (rank[a] === rank[b] && crowd[a]! >= crowd[b]!) ? a : b;
        };
        hit = proposeNovel(
          ctx,
          seen,
          () => {
            const p1 = parents[tournament()]!;
            const p2 = parents[tournament()]!;
            let child = rng.bool(o.cxpb) ? ctx.space.crossover(p1, p2, rng) : p1;
            if (rng.bool(o.mutpb)) child = ctx.space.mutate(child, rng);
            return child;
          },
          { maxAttempts: 100 },
        );
      }
      hit ??= randomNovel(ctx, seen, rng);
      if (!hit) return out(EXHAUSTED);
      s = { ...s, pending: [...s.pending, { key: hit.key, arch: archToJson(hit.arch) }] };
      return out({ kind: 'trial', proposal: { arch: hit.arch } });
    },
    tell: (state) => state,
  };
}

export const nsga2Strategy = defineStrategy({
  name: 'nsga2',
  description: 'NSGA-II: non-dominated sorting, crowding distance, tournament, crossover and mutation (Deb et al. 2002)',
  multiObjective: true,
  options: {
    population: { kind: 'int', default: 20, min: 2, max: 10000, doc: 'parents kept per generation, and children per generation' },
    cxpb: { kind: 'float', default: 0.9, min: 0, max: 1, doc: 'probability that a child comes from crossover' },
    mutpb: { kind: 'float', default: 1, min: 0, max: 1, doc: 'probability that a child is mutated (one site)' },
  },
  create: (o) => eraseState(nsga2(o)),
});
