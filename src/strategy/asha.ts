/**
 * Asynchronous successive halving (ASHA, Li et al. 2020). Never waits: on each ask, from the top
 * rung down, an architecture that is in the best floor(n / eta) of the n finished trials of its rung
 * and not yet promoted is re-run at the next rung's budget (`Proposal.promotes`); otherwise a new
 * random architecture starts at `minBudget`.
 *
 * `mode: 'stop'` is the early-stopping variant (Optuna's SuccessiveHalvingPruner): every trial runs
 * at the full budget, and `shouldPrune` stops one when, at a rung's step, its value is not in the
 * best floor(n / eta) of the values all trials reported at that step.
 */
import type { ArchKey } from '../core/ids.js';
import { Rng, type RngState } from '../core/rng.js';
import type { Progress } from '../core/metrics.js';
import { fitness, randomProposal, seededRng, seenKeys } from './common.js';
import { defineStrategy } from './common-options.js';
import { RUNG_OPTION_SPECS, rungsOf, type RungOptions } from './successive-halving.js';
import { eraseState, type AskOutcome, type Strategy, type StrategyContext, type TrialRecord } from './types.js';

interface AshaState {
  readonly rng: RngState;
  /** promoted[k]: keys already promoted out of rung k. */
  readonly promoted: readonly (readonly string[])[];
}

export interface AshaOptions extends RungOptions {
  readonly mode: 'promote' | 'stop';
}

/** The objective value of a progress report, larger is better; undefined when absent. */
function progressValue<A>(p: Progress, ctx: StrategyContext<A>): number | undefined {
  const o = ctx.objectives[0]!;
  const v = p.metrics[o.metric];
  if (v === undefined || !Number.isFinite(v)) return undefined;
  return o.direction === 'maximize' ? v : -v;
}

export function asha(o: AshaOptions): Strategy<AshaState> {
  return {
    name: 'asha',
    init(seed, ctx) {
      const rng = seededRng(seed, ctx);
      return { rng: rng.state(), promoted: rungsOf(o, ctx).map(() => []) };
    },
    ask<A>(state: AshaState, ctx: StrategyContext<A>) {
      const rng = Rng.fromState(state.rng);
      const budgets = rungsOf(o, ctx);
      const out = (outcome: AskOutcome<A>, promoted = state.promoted) => ({ state: { rng: rng.state(), promoted }, outcome });
      if (o.mode === 'promote')
        for (let k = budgets.length - 2; k >= 0; k--) {
          const done = new Set(state.promoted[k] ?? []);
          const rung = ctx.history
            .filter((t) => t.state === 'complete' && t.budget === budgets[k])
            .map((t, i) => ({ t, i, f: fitness(t, ctx) }))
            .filter((x) => Number.isFinite(x.f))
            .sort((a, b) => b.f - a.f || a.i - b.i);
          const top = rung.slice(0, Math.floor(rung.length / o.eta));
          const pick = top.find((x) => !done.has(x.t.key));
          if (pick) {
            const promoted = state.promoted.map((p, j) => (j === k ? [...p, pick.t.key as string] : p));
            return out({ kind: 'trial', proposal: { arch: pick.t.arch, budget: budgets[k + 1]!, promotes: pick.t.id } }, promoted);
          }
        }
      return out(randomProposal(ctx, seenKeys(ctx.history), rng, o.mode === 'promote' ? budgets[0]! : budgets[budgets.length - 1]!));
    },
    tell: (state) => state,
    shouldPrune<A>(state: AshaState, trial: TrialRecord<A>, ctx: StrategyContext<A>) {
      const keep = { state, prune: false };
      if (o.mode !== 'stop') return keep;
      const last = trial.intermediate[trial.intermediate.length - 1];
      if (!last) return keep;
      const budgets = rungsOf(o, ctx);
      const k = budgets.indexOf(last.step);
      if (k < 0 || k === budgets.length - 1) return keep;
      const v = progressValue(last, ctx);
      if (v === undefined) return { state, prune: true };
      const values: number[] = [v];
      for (const t of ctx.history) {
        if (t.id === trial.id) continue;
        const p = t.intermediate.find((x) => x.step === last.step);
        const x = p && progressValue(p, ctx);
        if (x !== undefined) values.push(x);
      }
      const k2 = Math.floor(values.length / o.eta);
      if (k2 < 1) return keep; // too few trials reached this rung to judge
      values.sort((a, b) => b - a);
      return { state, prune: v < values[k2 - 1]! };
    },
  };
}

export const ashaStrategy = defineStrategy({
  name: 'asha',
  description: 'asynchronous successive halving (Li et al. 2020): promote the top 1/eta of each rung, never wait; or stop trials early',
  multiFidelity: true,
  options: {
    ...RUNG_OPTION_SPECS,
    mode: { kind: 'choice', options: ['promote', 'stop'], default: 'promote', doc: 'promote: re-run at higher budgets; stop: full-budget trials pruned at rung steps' },
  },
  // 'stop' requests only full budgets but must see values at every rung step: the same fidelities.
  budgets: (o, maxBudget) => rungsOf(o, { maxBudget }),
  create: (o) => eraseState(asha(o)),
});

export type { ArchKey };
