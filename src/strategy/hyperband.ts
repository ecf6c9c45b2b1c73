/**
 * Hyperband (Li et al. 2017): successive-halving brackets with different trade-offs between the
 * number of architectures and their starting budget, cycled from the most exploratory
 * (s = s_max: many archs at maxBudget / eta^s_max) to plain full-budget evaluation (s = 0), then
 * again. Bracket s starts ceil((s_max + 1) / (s + 1)) * eta^s architectures at maxBudget / eta^s.
 * Promotions re-run an architecture at the next rung's budget (`Proposal.promotes`).
 */
import { Rng, type RngState } from '../core/rng.js';
import { seededRng } from './common.js';
import { defineStrategy } from './common-options.js';
import { askBrackets, maxBudgetOf, newBracket, RUNG_OPTION_SPECS, rungBudgets, rungsOf, type Bracket, type RungOptions } from './successive-halving.js';
import { eraseState, type Strategy, type StrategyContext } from './types.js';

interface HyperbandState {
  readonly rng: RngState;
  /** Current bracket's s (s_max down to 0). */
  readonly s: number;
  readonly bracket: Bracket | null;
}

export type HyperbandOptions = RungOptions;

/** s_max and the bracket for a given s. */
export function hyperbandBracket(s: number, minBudget: number, maxBudget: number, eta: number): Bracket {
  const sMax = hyperbandSMax(minBudget, maxBudget, eta);
  const n = Math.ceil((sMax + 1) / (s + 1)) * Math.round(eta ** s);
  const start = Math.max(minBudget, Math.round(maxBudget / eta ** s));
  return newBracket(rungBudgets(start, maxBudget, eta), n);
}
export function hyperbandSMax(minBudget: number, maxBudget: number, eta: number): number {
  return Math.max(0, Math.floor(Math.log(maxBudget / minBudget) / Math.log(eta) + 1e-9));
}

export function hyperband(o: HyperbandOptions): Strategy<HyperbandState> {
  return {
    name: 'hyperband',
    init(seed, ctx) {
      const rng = seededRng(seed, ctx);
      rungsOf(o, ctx);
      return { rng: rng.state(), s: hyperbandSMax(o.minBudget, maxBudgetOf(ctx, o.maxBudget), o.eta), bracket: null };
    },
    ask<A>(state: HyperbandState, ctx: StrategyContext<A>) {
      const rng = Rng.fromState(state.rng);
      const max = maxBudgetOf(ctx, o.maxBudget);
      let s = state.s;
      const next = () => {
        s = s > 0 ? s - 1 : hyperbandSMax(o.minBudget, max, o.eta);
        return hyperbandBracket(s, o.minBudget, max, o.eta);
      };
      const r = askBrackets(state.bracket ?? hyperbandBracket(s, o.minBudget, max, o.eta), ctx, rng, o.eta, next);
      return { state: { rng: rng.state(), s, bracket: r.bracket }, outcome: r.outcome };
    },
    tell: (state) => state,
  };
}

export const hyperbandStrategy = defineStrategy({
  name: 'hyperband',
  description: 'Hyperband: successive-halving brackets from many cheap to few full-budget evaluations (Li et al. 2017)',
  multiFidelity: true,
  options: {
    ...RUNG_OPTION_SPECS,
    minBudget: { ...RUNG_OPTION_SPECS.minBudget, doc: 'smallest budget (epochs) of any rung' },
    maxBudget: { ...RUNG_OPTION_SPECS.maxBudget, doc: 'largest budget; 0 = the evaluator maxBudget' },
  },
  budgets: (o, maxBudget) => {
    const max = maxBudgetOf({ maxBudget }, o.maxBudget);
    const all = new Set<number>();
    for (let s = hyperbandSMax(o.minBudget, max, o.eta); s >= 0; s--) for (const b of hyperbandBracket(s, o.minBudget, max, o.eta).budgets) all.add(b);
    return [...all].sort((a, b) => a - b);
  },
  create: (o) => eraseState(hyperband(o)),
});

export type { StrategyContext };
