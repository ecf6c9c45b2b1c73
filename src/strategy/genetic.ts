/**
 * Generational genetic algorithm in the classic DEAP `eaSimple` setup, plus elitism: a population
 * of `population` individuals; each generation selects parents by tournament (`tournament`
 * contestants), mates consecutive pairs with probability `cxpb` (the space's uniform crossover),
 * mutates each offspring with probability `mutpb` (one site), and keeps the `elite` best of the
 * previous generation unchanged. As in DEAP, only offspring with a new genotype are evaluated:
 * offspring whose key was seen before take their known fitness from the history at no cost.
 * Generation 0 is random, except that trials already complete at the first ask (a warm start's
 * imports: common.ts priorTrials) fill it first, best first, at no cost. `generations` > 0 stops the search after that many generations.
 */
import type { ArchKey } from '../core/ids.js';
import type { Json } from '../core/json.js';
import { Rng, type RngState } from '../core/rng.js';
import { EXHAUSTED, keyOrder, precheck, priorTrials, randomNovel, runningKeys, seededRng, seenKeys } from './common.js';
import { defineStrategy } from './common-options.js';
import { archFromJson, archToJson, eraseState, type AskOutcome, type Strategy, type StrategyContext } from './types.js';

interface Individual {
  readonly key: string;
  readonly arch: Json;
}
interface GeneticState {
  readonly rng: RngState;
  readonly generation: number;
  /** The current generation (all evaluated or being evaluated). */
  readonly population: readonly Individual[];
  /** Members of the current generation not yet proposed. */
  readonly queue: readonly Individual[];
}

/** Generations without a new genotype after which the population counts as converged. */
const STAGNATION = 20;

export interface GeneticOptions {
  readonly population: number;
  readonly tournament: number;
  readonly cxpb: number;
  readonly mutpb: number;
  readonly elite: number;
  readonly generations: number;
}

export function geneticAlgorithm(o: GeneticOptions): Strategy<GeneticState> {
  return {
    name: 'genetic',
    init(seed, ctx) {
      const rng = seededRng(seed, ctx);
      return { rng: rng.state(), generation: 0, population: [], queue: [] };
    },
    ask<A>(state: GeneticState, ctx: StrategyContext<A>) {
      const rng = Rng.fromState(state.rng);
      const seen = seenKeys(ctx.history);
      let s = state;
      const done = (reason: string) => ({ state: { ...s, rng: rng.state() }, outcome: { kind: 'done', reason } as AskOutcome<A> });
      const exhausted = () => done(EXHAUSTED.reason);
      // Generation 0 of a warm-started study: the best prior trials (already evaluated) first.
      if (s.generation === 0 && s.population.length === 0 && ctx.history.length > 0) {
        const order = keyOrder(ctx.history, ctx);
        const prior = priorTrials(ctx.history).map((t, i) => ({ t, i })).sort((a, b) => order(b.t.key, a.t.key) || a.i - b.i);
        s = { ...s, population: prior.slice(0, o.population).map(({ t }) => ({ key: t.key as string, arch: archToJson(t.arch) })) };
      }
      // Generation 0: random individuals.
      if (s.generation === 0 && s.population.length < o.population) {
        const hit = randomNovel(ctx, seen, rng);
        if (!hit) return exhausted();
        s = { ...s, population: [...s.population, { key: hit.key, arch: archToJson(hit.arch) }] };
        return { state: { ...s, rng: rng.state() }, outcome: { kind: 'trial', proposal: { arch: hit.arch } } as AskOutcome<A> };
      }
      let order: ((a: string, b: string) => number) | undefined;
      for (let guard = 0; guard < STAGNATION; guard++) {
        while (s.queue.length) {
          const ind = s.queue[0]!;
          s = { ...s, queue: s.queue.slice(1) };
          if (seen.has(ind.key as ArchKey)) continue;
          seen.add(ind.key as ArchKey);
          return { state: { ...s, rng: rng.state() }, outcome: { kind: 'trial', proposal: { arch: archFromJson<A>(ind.arch) } } as AskOutcome<A> };
        }
        const running = runningKeys(ctx.history);
        if (s.population.some((i) => running.has(i.key as ArchKey))) return { state: { ...s, rng: rng.state() }, outcome: { kind: 'wait' } as AskOutcome<A> };
        if (o.generations > 0 && s.generation >= o.generations) return done(`finished ${o.generations} generations`);
        order ??= keyOrder(ctx.history, ctx);
        const next = nextGeneration(s.population, order, ctx, rng, o);
        s = { ...s, generation: s.generation + 1, population: next, queue: next };
      }
      // STAGNATION generations in a row without a new genotype: the population has converged; a random
      // immigrant replaces its worst member.
      const hit = randomNovel(ctx, seen, rng);
      if (!hit) return exhausted();
      const ind = { key: hit.key as string, arch: archToJson(hit.arch) };
      order ??= keyOrder(ctx.history, ctx);
      let worst = 0;
      s.population.forEach((p, i) => {
        if (order!(p.key, s.population[worst]!.key) < 0) worst = i;
      });
      s = { ...s, population: s.population.map((p, i) => (i === worst ? ind : p)) };
      return { state: { ...s, rng: rng.state() }, outcome: { kind: 'trial', proposal: { arch: hit.arch } } as AskOutcome<A> };
    },
    tell: (state) => state,
  };
}

/** `order`: fitness then the objective's tie-break over keys (common.ts keyOrder / compareTrials). */
function nextGeneration<A>(pop: readonly Individual[], order: (a: string, b: string) => number, ctx: StrategyContext<A>, rng: Rng, o: GeneticOptions): Individual[] {
  const ranked = pop.map((ind, idx) => ({ ind, idx })).sort((a, b) => order(b.ind.key, a.ind.key) || a.idx - b.idx);
  const elite = ranked.slice(0, Math.min(o.elite, pop.length)).map((r) => r.ind);
  // selTournament: each pick is the best of `tournament` drawn with replacement.
  const offspring: A[] = [];
  for (let i = 0; i < o.population - elite.length; i++) {
    let best = rng.choice(pop);
    for (let t = 1; t < o.tournament; t++) {
      const c = rng.choice(pop);
      if (order(c.key, best.key) > 0) best = c;
    }
    offspring.push(archFromJson<A>(best.arch));
  }
  // varAnd: crossover of consecutive pairs, then per-individual mutation.
  for (let i = 1; i < offspring.length; i += 2) {
    if (rng.bool(o.cxpb)) {
      const a = offspring[i - 1]!, b = offspring[i]!;
      offspring[i - 1] = ctx.space.crossover(a, b, rng);
      offspring[i] = ctx.space.crossover(b, a, rng);
    }
  }
  for (let i = 0; i < offspring.length; i++) if (rng.bool(o.mutpb)) offspring[i] = ctx.space.mutate(offspring[i]!, rng);
  const children = offspring.map((arch) => ({ arch, key: ctx.space.key(arch) as string }));
  // DEAP has no constraints: here an infeasible child is replaced by a feasible random individual.
  const out: Individual[] = [...elite];
  for (const c of children) {
    if (precheck(c.arch, ctx)) out.push({ key: c.key, arch: archToJson(c.arch) });
    else {
      let r = ctx.space.sample(rng);
      for (let t = 0; t < 100 && !precheck(r, ctx); t++) r = ctx.space.sample(rng);
      if (precheck(r, ctx)) out.push({ key: ctx.space.key(r), arch: archToJson(r) });
    }
  }
  return out;
}

export const geneticStrategy = defineStrategy({
  name: 'genetic',
  description: 'generational GA (DEAP eaSimple: tournament selection, crossover, mutation) with elitism',
  options: {
    population: { kind: 'int', default: 20, min: 2, max: 10000 },
    tournament: { kind: 'int', default: 3, min: 1, max: 1000, doc: 'tournament size (DEAP selTournament tournsize)' },
    cxpb: { kind: 'float', default: 0.5, min: 0, max: 1, doc: 'probability of mating a pair' },
    mutpb: { kind: 'float', default: 0.2, min: 0, max: 1, doc: 'probability of mutating an offspring' },
    elite: { kind: 'int', default: 1, min: 0, max: 10000, doc: 'best individuals copied unchanged into the next generation' },
    generations: { kind: 'int', default: 0, min: 0, doc: 'stop after this many generations (0: until the study ends)' },
  },
  create: (o) => eraseState(geneticAlgorithm(o)),
});
