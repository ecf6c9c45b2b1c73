/**
 * Helpers shared by strategies: duplicate avoidance, constraint handling, scoring, Rng plumbing.
 * A strategy never spends budget on a key it has already seen (running or finished), except for an
 * explicit multi-fidelity promotion; `proposeNovel` is the one place that enforces it.
 */
import { NasError } from '../core/errors.js';
import type { ArchKey } from '../core/ids.js';
import { Rng, type RngState } from '../core/rng.js';
import { compareTieBreak, violates, type Constraint, type Metrics } from '../core/metrics.js';
import type { AskOutcome, Strategy, StrategyContext, TrialRecord } from './types.js';

/** Keys of every trial in the history (running ones included). */
export function seenKeys<A>(history: readonly TrialRecord<A>[]): Set<ArchKey> {
  const s = new Set<ArchKey>();
  for (const t of history) s.add(t.key);
  return s;
}

export { violates };

/** Whether the cheap costs of `arch` satisfy the constraints (true when nothing can be checked). */
export function precheck<A>(arch: A, ctx: StrategyContext<A>): boolean {
  if (!ctx.constraints.length || !ctx.costOf) return true;
  return !violates(ctx.costOf(arch), ctx.constraints);
}

/**
 * Single-objective fitness of a trial, larger is better: the first objective's metric (negated for
 * minimize). -Infinity for trials that are not complete, lack the metric, or violate a constraint.
 */
export function fitness<A>(t: TrialRecord<A>, ctx: Pick<StrategyContext<A>, 'objectives' | 'constraints'>): number {
  if (t.state !== 'complete' || !t.metrics) return -Infinity;
  const obj = ctx.objectives[0];
  if (!obj) throw new NasError('invalid_config', 'no objective given', { field: 'objectives', hint: 'e.g. [{ metric: "val_acc", direction: "maximize" }]' });
  const v = t.metrics[obj.metric];
  if (v === undefined || !Number.isFinite(v) || violates(t.metrics, ctx.constraints)) return -Infinity;
  return obj.direction === 'maximize' ? v : -v;
}

/**
 * Order of two trials with equal fitness by the first objective's tie-break metric (core
 * `compareTieBreak`): > 0 when `a` ranks above `b`; 0 without a tie-break.
 */
export function tieBreak<A>(a: TrialRecord<A>, b: TrialRecord<A>, ctx: Pick<StrategyContext<A>, 'objectives'>): number {
  return compareTieBreak(a.metrics, b.metrics, ctx.objectives[0]?.tieBreak);
}

/** Best finished trial by `fitness`, equal fitness ordered by the objective's tie-break (then the first one); undefined when none is feasible. */
export function bestTrial<A>(history: readonly TrialRecord<A>[], ctx: Pick<StrategyContext<A>, 'objectives' | 'constraints'>): TrialRecord<A> | undefined {
  let best: TrialRecord<A> | undefined;
  let bf = -Infinity;
  for (const t of history) {
    const f = fitness(t, ctx);
    if (f > bf || (f === bf && f > -Infinity && best !== undefined && tieBreak(t, best, ctx) > 0)) {
      bf = f;
      best = t;
    }
  }
  return best;
}

export interface NovelOptions {
  /** Candidates to generate before giving up (default 200). */
  maxAttempts?: number;
}

/**
 * Draws candidates from `gen` until one has an unseen key and passes the constraint precheck; adds
 * its key to `seen`. Returns undefined when every attempt was a duplicate (the neighbourhood or
 * space is exhausted: the caller falls back, e.g. to `randomNovel`). Throws
 * `constraint_unsatisfiable` when no attempt satisfied the constraints.
 */
export function proposeNovel<A>(
  ctx: StrategyContext<A>,
  seen: Set<ArchKey>,
  gen: () => A,
  opts: NovelOptions = {},
): { arch: A; key: ArchKey } | undefined {
  const max = opts.maxAttempts ?? 200;
  let feasible = 0;
  for (let i = 0; i < max; i++) {
    const arch = gen();
    if (!precheck(arch, ctx)) continue;
    feasible++;
    const key = ctx.space.key(arch);
    if (seen.has(key)) continue;
    seen.add(key);
    return { arch, key };
  }
  if (feasible === 0) throw unsatisfiable(ctx, max);
  return undefined;
}

function unsatisfiable<A>(ctx: StrategyContext<A>, attempts: number): NasError {
  return new NasError('constraint_unsatisfiable', `none of ${attempts} candidates of space ${ctx.space.name} satisfies the constraints`, {
    field: 'constraints',
    hint: `loosen ${ctx.constraints.map((c) => `${c.metric}${c.max !== undefined ? ` <= ${c.max}` : ''}${c.min !== undefined ? ` >= ${c.min}` : ''}`).join(', ')}`,
    details: { constraints: ctx.constraints.map((c) => ({ ...c })) },
  });
}

const distinct = new WeakMap<object, unknown[] | null>();
/**
 * One member per key (the first in enumeration order) for finite spaces up to DISTINCT_LIMIT
 * members, cached per space object; null for larger or continuous spaces.
 */
export function distinctMembers<A>(space: StrategyContext<A>['space']): readonly A[] | null {
  let d = distinct.get(space);
  if (d === undefined) {
    d = null;
    if (space.size() <= DISTINCT_LIMIT) {
      const keys = new Set<ArchKey>();
      d = [];
      for (const a of space.enumerate(DISTINCT_LIMIT)) {
        const k = space.key(a);
        if (!keys.has(k)) {
          keys.add(k);
          d.push(a);
        }
      }
    }
    distinct.set(space, d);
  }
  return d as A[] | null;
}
const DISTINCT_LIMIT = 50_000;

/** Spaces at most this large are enumerated when random sampling stops finding new keys. */
const ENUMERATE_LIMIT = 200_000;

/**
 * A random feasible arch with an unseen key, or undefined when the space is exhausted (checked by
 * enumeration for finite spaces up to 200k members; for larger spaces after 2,000 duplicate draws).
 *
 * Finite spaces up to 50k members are sampled uniformly over distinct keys (functions), not over
 * members: in NB201, 15,625 cell strings compute 4,930 distinct functions, and the degenerate
 * ones (mostly `none`) have many strings each, so member-uniform sampling over-draws them. On the
 * NB201 table (seeds 1000-1099, 100 queries) this raises random search from 93.82 to 93.94 test acc.
 */
export function randomNovel<A>(ctx: StrategyContext<A>, seen: Set<ArchKey>, rng: Rng): { arch: A; key: ArchKey } | undefined {
  const reps = distinctMembers(ctx.space);
  if (reps) {
    const hit = proposeNovel(ctx, seen, () => rng.choice(reps), { maxAttempts: 500 });
    if (hit) return { arch: structuredClone(hit.arch), key: hit.key };
  }
  const hit = proposeNovel(ctx, seen, () => ctx.space.sample(rng), { maxAttempts: 500 });
  if (hit) return hit;
  if (ctx.space.size() <= ENUMERATE_LIMIT) {
    const fresh: { arch: A; key: ArchKey }[] = [];
    const local = new Set(seen);
    for (const arch of ctx.space.enumerate(ENUMERATE_LIMIT)) {
      const key = ctx.space.key(arch);
      if (local.has(key)) continue;
      local.add(key);
      if (precheck(arch, ctx)) fresh.push({ arch, key });
    }
    if (!fresh.length) return undefined;
    const pick = rng.choice(fresh);
    seen.add(pick.key);
    return pick;
  }
  return proposeNovel(ctx, seen, () => ctx.space.sample(rng), { maxAttempts: 2000 });
}

/**
 * Fails fast, before any budget is spent, when no sampled arch satisfies the cost constraints
 * (every finite space up to 200k members is checked exhaustively).
 */
export function assertSatisfiable<A>(ctx: StrategyContext<A>, rng: Rng): void {
  if (!ctx.constraints.length || !ctx.costOf) return;
  for (let i = 0; i < 2000; i++) if (precheck(ctx.space.sample(rng), ctx)) return;
  if (ctx.space.size() <= ENUMERATE_LIMIT) for (const a of ctx.space.enumerate(ENUMERATE_LIMIT)) if (precheck(a, ctx)) return;
  throw unsatisfiable(ctx, 2000);
}

/**
 * A strategy's fresh Rng for `init`, after failing fast on unsatisfiable constraints
 * (`assertSatisfiable`, with a derived generator: this one is not advanced).
 */
export function seededRng<A>(seed: number, ctx: StrategyContext<A>): Rng {
  const rng = Rng.fromSeed(seed);
  assertSatisfiable(ctx, rng.derive('constraints'));
  return rng;
}

/** The outcome of a strategy that has no unseen feasible architecture left to propose. */
export const EXHAUSTED = Object.freeze({ kind: 'done', reason: 'every architecture of the space has been tried' } as const satisfies AskOutcome<never>);

/** A random unseen feasible architecture (`randomNovel`) as a proposal, at `budget` when given; `EXHAUSTED` when none is left. */
export function randomProposal<A>(ctx: StrategyContext<A>, seen: Set<ArchKey>, rng: Rng, budget?: number): AskOutcome<A> {
  const hit = randomNovel(ctx, seen, rng);
  if (!hit) return EXHAUSTED;
  return { kind: 'trial', proposal: budget === undefined ? { arch: hit.arch } : { arch: hit.arch, budget } };
}

/** The test every proposal passes: within the cost constraints (`precheck`) and of an unseen key. */
export function isNovel<A>(arch: A, ctx: StrategyContext<A>, seen: ReadonlySet<ArchKey>): boolean {
  return precheck(arch, ctx) && !seen.has(ctx.space.key(arch));
}

/** The whole state of a strategy that refits everything from the history at each ask. */
export interface RngOnlyState {
  readonly rng: RngState;
}

/**
 * A strategy whose state is only its Rng (random search, TPE, BO): `propose` picks an architecture
 * from the history (it must pass `isNovel`), or returns undefined to fall back to a random novel
 * one (before its model has enough data, or when no candidate was new). Results are not `tell`ed:
 * the next ask sees them in the history, so a resumed study proposes what an uninterrupted one would.
 */
export function rngOnlyStrategy(
  name: string,
  propose: <A>(ctx: StrategyContext<A>, rng: Rng, seen: ReadonlySet<ArchKey>) => A | undefined,
): Strategy<RngOnlyState> {
  return {
    name,
    init: (seed, ctx) => ({ rng: seededRng(seed, ctx).state() }),
    ask<A>(state: RngOnlyState, ctx: StrategyContext<A>) {
      const rng = Rng.fromState(state.rng);
      const seen = seenKeys(ctx.history);
      const arch = propose(ctx, rng, seen);
      const outcome: AskOutcome<A> = arch === undefined ? randomProposal(ctx, seen, rng) : { kind: 'trial', proposal: { arch } };
      return { state: { rng: rng.state() }, outcome };
    },
    tell: (state) => state,
  };
}

/** Runs `fn` with the Rng stored in a state and returns the advanced Rng state. */
export function withRng<T>(s: RngState, fn: (rng: Rng) => T): { value: T; rng: RngState } {
  const rng = Rng.fromState(s);
  const value = fn(rng);
  return { value, rng: rng.state() };
}

/** Trials by key (last trial wins), for strategies that keep keys in their state. */
export function trialsByKey<A>(history: readonly TrialRecord<A>[]): Map<ArchKey, TrialRecord<A>> {
  const m = new Map<ArchKey, TrialRecord<A>>();
  for (const t of history) m.set(t.key, t);
  return m;
}

/** Best fitness seen per key (complete trials only; see `fitness`). */
export function fitnessByKey<A>(history: readonly TrialRecord<A>[], ctx: Pick<StrategyContext<A>, 'objectives' | 'constraints'>): Map<ArchKey, number> {
  const m = new Map<ArchKey, number>();
  for (const t of history) {
    const f = fitness(t, ctx);
    const prev = m.get(t.key);
    if (prev === undefined || f > prev) m.set(t.key, f);
  }
  return m;
}

/** Keys of trials still running. */
export function runningKeys<A>(history: readonly TrialRecord<A>[]): Set<ArchKey> {
  const s = new Set<ArchKey>();
  for (const t of history) if (t.state === 'running') s.add(t.key);
  return s;
}
