/**
 * Regularized (aging) evolution (Real et al. 2019, "Regularized evolution for image classifier
 * architecture search"): a queue of the `population` most recent trials; each child mutates the
 * best of `sampleSize` members drawn at random, and the oldest member dies. The first `population`
 * trials are random. Children never repeat a seen key (mutation is retried, then a random novel
 * arch is used when the parent's neighbourhood is exhausted). A mutated child's proposal carries
 * `info: { parent: <parent trial id> }`, so the trial records its parent (`params.parent`) and an
 * evaluator with weight inheritance starts it from the parent's weights.
 *
 * Prior observations (a warm start: trials of earlier studies told before the first ask, see
 * src/run/warm-start.ts): while the strategy has proposed nothing yet, a told trial joins the
 * population by fitness, not by age: the population keeps the best `population` of them, ordered
 * worst first, so the weakest die first. This is how evolutionary warm starts seed their first
 * generation (e.g. the elite of an earlier run as the initial population; Real et al. 2019's aging
 * then proceeds unchanged); without it, the last `population` trials told - the source study's
 * order, not its quality - formed the population. A state stored before this rule (no `fresh`
 * field) behaves as before.
 */
import type { ArchKey } from '../core/ids.js';
import type { Json } from '../core/json.js';
import { Rng, type RngState } from '../core/rng.js';
import { keyOrder, proposeNovel, randomProposal, seededRng, seenKeys, trialsByKey } from './common.js';
import { defineStrategy } from './common-options.js';
import { eraseState, type AskOutcome, type Strategy, type StrategyContext, type TrialRecord } from './types.js';

interface EvolutionState {
  readonly rng: RngState;
  /** Keys of the living population, oldest first. */
  readonly population: readonly string[];
  /** True until the first ask: trials told meanwhile are prior observations (see the file comment). Absent afterwards. */
  readonly fresh?: true;
}

export interface EvolutionOptions {
  readonly population: number;
  readonly sampleSize: number;
}

export function regularizedEvolution(o: EvolutionOptions): Strategy<EvolutionState> {
  return {
    name: 'evolution',
    init(seed, ctx) {
      const rng = seededRng(seed, ctx);
      return { rng: rng.state(), population: [], fresh: true };
    },
    ask<A>(state: EvolutionState, ctx: StrategyContext<A>) {
      const rng = Rng.fromState(state.rng);
      const seen = seenKeys(ctx.history);
      let child: A | undefined;
      let parentId: number | undefined;
      if (ctx.history.length >= o.population && state.population.length > 0) {
        const order = keyOrder(ctx.history, ctx);
        const byKey = trialsByKey(ctx.history);
        const members = state.population;
        const idx = rng.sample(
          members.map((_, i) => i),
          Math.min(o.sampleSize, members.length),
        );
        let best = idx[0]!;
        // Fitness, then the objective's tie-break (common.ts compareTrials); a full tie keeps the first drawn.
        for (const i of idx) if (order(members[i]!, members[best]!) > 0) best = i;
        const parentTrial = byKey.get(members[best] as ArchKey);
        const parent = parentTrial?.arch;
        if (parent !== undefined) child = proposeNovel(ctx, seen, () => ctx.space.mutate(parent, rng), { maxAttempts: 100 })?.arch;
        if (child !== undefined) parentId = parentTrial!.id as unknown as number;
      }
      // A mutated child names its parent trial (`params.parent`): the run layer records it and hands
      // the parent's kept weights to the evaluator (weight inheritance, `inherit: exact | morph`).
      const outcome: AskOutcome<A> =
        child === undefined ? randomProposal(ctx, seen, rng) : { kind: 'trial', proposal: { arch: child, ...(parentId !== undefined ? { info: { parent: parentId } } : {}) } };
      const { fresh: _asked, ...rest } = state;
      return { state: { ...rest, rng: rng.state() }, outcome };
    },
    tell<A>(state: EvolutionState, trial: TrialRecord<A>, ctx: StrategyContext<A>) {
      if (state.fresh) {
        // A prior observation: keep the best `population`, worst first (a stable sort keeps the
        // told order among equals). Failed ones rank lowest (fitness -Infinity).
        const order = keyOrder(ctx.history, ctx);
        const population = [...state.population, trial.key as string].map((k, i) => ({ k, i })).sort((a, b) => order(a.k, b.k) || a.i - b.i).map((x) => x.k);
        while (population.length > o.population) population.shift();
        return { ...state, population };
      }
      // Failed and pruned children join too (with fitness -Infinity) and age out like the others.
      const population = [...state.population, trial.key as string];
      while (population.length > o.population) population.shift();
      return { ...state, population };
    },
  };
}

export const evolutionStrategy = defineStrategy({
  name: 'evolution',
  description: 'regularized (aging) evolution, Real et al. 2019',
  options: {
    population: { kind: 'int', default: 20, min: 2, max: 10000, doc: 'living population (the most recent trials)' },
    sampleSize: { kind: 'int', default: 10, min: 1, max: 10000, doc: 'tournament size: candidates drawn to pick a parent' },
  },
  create: (o) => eraseState(regularizedEvolution(o)),
});

export type { Json };
