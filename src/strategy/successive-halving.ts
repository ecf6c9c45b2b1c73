/**
 * Successive halving (Jamieson & Talwalkar 2016; Li et al. 2017), synchronous: a bracket starts `n`
 * random architectures at budget `minBudget`; when every trial of a rung has finished, the best
 * floor(size / eta) are re-run (promoted, `Proposal.promotes`) at eta times the budget, up to the
 * evaluator's `maxBudget`. A finished bracket is followed by a new one. Budgets are integers
 * (epochs); the last rung always runs at `maxBudget`. While a rung waits for running trials the
 * strategy answers `wait`. The bracket machinery is shared with Hyperband (hyperband.ts).
 */
import { NasError } from '../core/errors.js';
import type { ArchKey } from '../core/ids.js';
import { Rng, type RngState } from '../core/rng.js';
import { EXHAUSTED, fitness, randomNovel, seededRng, seenKeys } from './common.js';
import { defineStrategy, type OptionSpecs } from './common-options.js';
import { eraseState, type AskOutcome, type Strategy, type StrategyContext, type TrialRecord } from './types.js';

/** Rung budgets min, min*eta, ..., capped and ending at max. */
export function rungBudgets(minBudget: number, maxBudget: number, eta: number): number[] {
  if (!(minBudget >= 1) || !(maxBudget >= minBudget))
    throw new NasError('invalid_config', `need 1 <= min_budget <= max_budget, got ${minBudget} and ${maxBudget}`, { field: 'strategy.options.min_budget', hint: 'set min_budget to at most the evaluator\'s max budget' });
  const out: number[] = [];
  for (let b = minBudget; b < maxBudget; b *= eta) {
    const r = Math.round(b);
    if (out.length === 0 || r > out[out.length - 1]!) out.push(r);
  }
  if (out[out.length - 1] !== maxBudget) out.push(maxBudget);
  return out;
}

export function maxBudgetOf<A>(ctx: Pick<StrategyContext<A>, 'maxBudget'>, option: number): number {
  const m = option > 0 ? option : ctx.maxBudget;
  if (m === undefined || !(m >= 1))
    throw new NasError('invalid_config', 'multi-fidelity strategies need the evaluator\'s max budget (or option max_budget)', { field: 'strategy.options.max_budget', hint: 'use an evaluator that reports per-epoch metrics, or set max_budget' });
  return m;
}

/** The options every rung-based strategy (successive halving, Hyperband, ASHA) takes. */
export interface RungOptions {
  readonly eta: number;
  readonly minBudget: number;
  readonly maxBudget: number;
}

/** Their schemas (Hyperband words minBudget differently: its brackets start at several budgets). */
export const RUNG_OPTION_SPECS = {
  eta: { kind: 'float', default: 3, min: 1.5, max: 100, doc: 'reduction factor per rung' },
  minBudget: { kind: 'int', default: 1, min: 1, max: 1000000, doc: 'budget (epochs) of the first rung' },
  maxBudget: { kind: 'int', default: 0, min: 0, max: 1000000, doc: 'budget of the last rung; 0 = the evaluator maxBudget' },
} as const satisfies OptionSpecs;

/** The rung budgets of the options in a context (the evaluator's maxBudget when the option is 0). */
export function rungsOf<A>(o: RungOptions, ctx: Pick<StrategyContext<A>, 'maxBudget'>): number[] {
  return rungBudgets(o.minBudget, maxBudgetOf(ctx, o.maxBudget), o.eta);
}

/** One successive-halving bracket in progress: rung index, budgets, and the trial ids per rung. */
export interface Bracket {
  /** Budgets of this bracket's rungs (first = starting budget, last = max). */
  readonly budgets: readonly number[];
  /** Architectures to start at rung 0. */
  readonly n: number;
  readonly rung: number;
  /** Keys proposed at the current rung so far (a member's trial is the one of its key at the rung's budget). */
  readonly keys: readonly string[];
  /** Keys of the current rung's members still to be proposed (promotions), best first. */
  readonly queue: readonly string[];
}

export function newBracket(budgets: readonly number[], n: number): Bracket {
  return { budgets, n, rung: 0, keys: [], queue: [] };
}

/** The trial of `key` at `budget` (last one), if any. */
function trialAt<A>(history: readonly TrialRecord<A>[], key: string, budget: number): TrialRecord<A> | undefined {
  let hit: TrialRecord<A> | undefined;
  for (const t of history) if (t.key === key && (t.budget ?? Infinity) === budget) hit = t;
  return hit;
}

/**
 * Advances a bracket by one proposal. Returns the outcome and the new bracket, or `finished` when
 * the bracket's last rung is complete (the caller starts another).
 */
export function stepBracket<A>(b: Bracket, ctx: StrategyContext<A>, rng: Rng, eta: number): { bracket: Bracket; outcome: AskOutcome<A> | 'finished' } {
  const budget = b.budgets[b.rung]!;
  const target = b.rung === 0 ? b.n : Math.max(1, Math.floor(b.n / eta ** b.rung));
  // 1. Rung 0: fresh random architectures.
  if (b.rung === 0 && b.keys.length < target) {
    const hit = randomNovel(ctx, seenKeys(ctx.history), rng);
    if (!hit) {
      if (b.keys.length === 0) return { bracket: b, outcome: EXHAUSTED };
      return stepBracket({ ...b, n: b.keys.length }, ctx, rng, eta);
    }
    return { bracket: { ...b, keys: [...b.keys, hit.key] }, outcome: { kind: 'trial', proposal: { arch: hit.arch, budget } } };
  }
  // 2. Promotions queued for this rung.
  if (b.queue.length) {
    const key = b.queue[0]!;
    const prev = trialAt(ctx.history, key, b.budgets[b.rung - 1]!);
    if (!prev) throw new NasError('internal', `successive halving: no trial of ${key} at budget ${b.budgets[b.rung - 1]}`);
    return { bracket: { ...b, queue: b.queue.slice(1), keys: [...b.keys, key] }, outcome: { kind: 'trial', proposal: { arch: prev.arch, budget, promotes: prev.id } } };
  }
  // 3. Rung fully proposed: wait for it, then promote or finish.
  const members = b.keys.map((k) => trialAt(ctx.history, k, budget)).filter((t): t is TrialRecord<A> => t !== undefined);
  if (members.length < b.keys.length || members.some((t) => t.state === 'running')) return { bracket: b, outcome: { kind: 'wait' } };
  if (b.rung === b.budgets.length - 1) return { bracket: b, outcome: 'finished' };
  const k = Math.max(1, Math.floor(b.n / eta ** (b.rung + 1)));
  const ranked = members
    .map((t, i) => ({ t, i, f: fitness(t, ctx) }))
    .filter((x) => Number.isFinite(x.f))
    .sort((x, y) => y.f - x.f || x.i - y.i)
    .slice(0, k);
  if (!ranked.length) return { bracket: b, outcome: 'finished' };
  const next: Bracket = { ...b, rung: b.rung + 1, keys: [], queue: ranked.map((x) => x.t.key as string) };
  return stepBracket(next, ctx, rng, eta);
}

/**
 * Steps brackets until one gives an outcome: `next(finished)` is the bracket that follows a
 * finished one (the same schedule again for successive halving, the next s for Hyperband).
 */
export function askBrackets<A>(
  bracket: Bracket,
  ctx: StrategyContext<A>,
  rng: Rng,
  eta: number,
  next: (finished: Bracket) => Bracket,
): { bracket: Bracket; outcome: AskOutcome<A> } {
  let b = bracket;
  for (let guard = 0; guard < 1000; guard++) {
    const r = stepBracket(b, ctx, rng, eta);
    if (r.outcome !== 'finished') return { bracket: r.bracket, outcome: r.outcome };
    b = next(b);
  }
  throw new NasError('internal', 'multi-fidelity brackets made no progress');
}

interface ShState {
  readonly rng: RngState;
  readonly bracket: Bracket | null;
}

export interface ShOptions extends RungOptions {
  readonly n: number;
}

export function successiveHalving(o: ShOptions): Strategy<ShState> {
  return {
    name: 'successive_halving',
    init(seed, ctx) {
      const rng = seededRng(seed, ctx);
      rungsOf(o, ctx);
      return { rng: rng.state(), bracket: null };
    },
    ask<A>(state: ShState, ctx: StrategyContext<A>) {
      const rng = Rng.fromState(state.rng);
      const r = askBrackets(state.bracket ?? newBracket(rungsOf(o, ctx), o.n), ctx, rng, o.eta, (b) => newBracket(b.budgets, o.n));
      return { state: { rng: rng.state(), bracket: r.bracket }, outcome: r.outcome };
    },
    tell: (state) => state,
  };
}

export const successiveHalvingStrategy = defineStrategy({
  name: 'successive_halving',
  description: 'synchronous successive halving: start n archs at minBudget, keep the best 1/eta per rung, up to maxBudget',
  multiFidelity: true,
  options: {
    n: { kind: 'int', default: 27, min: 2, max: 100000, doc: 'architectures started per bracket' },
    ...RUNG_OPTION_SPECS,
  },
  budgets: (o, maxBudget) => rungsOf(o, { maxBudget }),
  create: (o) => eraseState(successiveHalving(o)),
});

export type { ArchKey };
