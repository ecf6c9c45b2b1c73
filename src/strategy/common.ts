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

/**
 * Keys of every trial in the history (running ones included). The caller may add to the set (a
 * batch of proposals marks its own keys); that never changes the history's index underneath.
 */
export function seenKeys<A>(history: readonly TrialRecord<A>[]): Set<ArchKey> {
  return new KeyOverlay(indexOf(history).seen);
}

/**
 * Prior observations for a population-based strategy's first generation: the distinct complete
 * trials of the history (one per key, the first), e.g. a warm start's imports (src/run/warm-start.ts),
 * which a strategy that has not proposed anything yet finds there. Population strategies seed their
 * first generation with the best of them instead of drawing it at random (evolution, genetic,
 * nsga2), as an evolutionary warm start seeds its initial population from an earlier run.
 */
export function priorTrials<A>(history: readonly TrialRecord<A>[]): TrialRecord<A>[] {
  const keys = new Set<string>();
  const out: TrialRecord<A>[] = [];
  for (const t of history)
    if (t.state === 'complete' && !keys.has(t.key)) {
      keys.add(t.key);
      out.push(t);
    }
  return out;
}

// ---------------------------------------------------------------- incremental history indexes

/**
 * Follows a history array across asks (issue 18 item 5: the per-ask cost must not grow with the
 * study). The run layer passes the same array object at every call, appends new trials and
 * replaces only unfinished ones (a finished trial never changes), so an index built over it needs
 * to visit only new positions and positions that were unfinished at the last visit. Another array,
 * or one that got shorter, restarts the index (`reset`), which is what every call cost before.
 */
export class HistoryFollower<A> {
  private src: readonly TrialRecord<A>[] | null = null;
  private n = 0;
  private readonly open = new Map<number, TrialRecord<A>>();

  /** Visits what changed since the last call: `visit(t, i, previous record at i or undefined)`. */
  follow(history: readonly TrialRecord<A>[], reset: () => void, visit: (t: TrialRecord<A>, i: number, prev: TrialRecord<A> | undefined) => void): void {
    if (history !== this.src || history.length < this.n) {
      this.src = history;
      this.n = 0;
      this.open.clear();
      reset();
    }
    for (const [i, prev] of this.open) {
      const t = history[i]!;
      if (t === prev) continue;
      if (t.state === 'running') this.open.set(i, t);
      else this.open.delete(i);
      visit(t, i, prev);
    }
    for (let i = this.n; i < history.length; i++) {
      const t = history[i]!;
      if (t.state === 'running') this.open.set(i, t);
      visit(t, i, undefined);
    }
    this.n = history.length;
  }

  /** The records of the positions that were running at the last call. */
  running(): IterableIterator<TrialRecord<A>> {
    return this.open.values();
  }
}

/** A set over a shared base set: additions go to a private layer, the base is never changed. */
class KeyOverlay extends Set<ArchKey> {
  constructor(private readonly base: ReadonlySet<ArchKey>) {
    super();
  }
  override has(k: ArchKey): boolean {
    return super.has(k) || this.base.has(k);
  }
  override add(k: ArchKey): this {
    if (!this.base.has(k)) super.add(k);
    return this;
  }
  override delete(k: ArchKey): boolean {
    if (this.base.has(k)) throw new Error('seenKeys: a key of the history cannot be removed');
    return super.delete(k);
  }
  override get size(): number {
    return this.base.size + super.size;
  }
  override *[Symbol.iterator](): SetIterator<ArchKey> {
    yield* this.base;
    yield* super.values();
  }
  override values(): SetIterator<ArchKey> {
    return this[Symbol.iterator]();
  }
  override keys(): SetIterator<ArchKey> {
    return this[Symbol.iterator]();
  }
  override *entries(): SetIterator<[ArchKey, ArchKey]> {
    for (const k of this) yield [k, k];
  }
  override forEach(fn: (v: ArchKey, k: ArchKey, s: Set<ArchKey>) => void, self?: unknown): void {
    for (const k of this) fn.call(self, k, k, this);
  }
}

interface HistoryIndex<A> {
  readonly follower: HistoryFollower<A>;
  readonly seen: Set<ArchKey>;
  /** Last trial (by position) per key. */
  readonly byKey: Map<ArchKey, { t: TrialRecord<A>; i: number }>;
  /** Best fitness per key, for `fitFor`'s objectives and constraints. */
  readonly fit: Map<ArchKey, number>;
  fitFor: { objectives: StrategyContext<A>['objectives']; constraints: StrategyContext<A>['constraints'] } | null;
}

const indexes = new WeakMap<object, HistoryIndex<unknown>>();

/** The incremental index of `history` (created on first use), brought up to date. */
function indexOf<A>(history: readonly TrialRecord<A>[], ctx?: Pick<StrategyContext<A>, 'objectives' | 'constraints'>): HistoryIndex<A> {
  let ix = indexes.get(history) as HistoryIndex<A> | undefined;
  if (ix === undefined) {
    ix = { follower: new HistoryFollower<A>(), seen: new Set(), byKey: new Map(), fit: new Map(), fitFor: null };
    indexes.set(history, ix as HistoryIndex<unknown>);
  }
  const index = ix;
  // Fitness depends on the objectives and constraints: another pair rebuilds that part.
  if (ctx !== undefined && (index.fitFor?.objectives !== ctx.objectives || index.fitFor.constraints !== ctx.constraints)) {
    index.fit.clear();
    for (const t of history) addFitness(index.fit, t, ctx);
    index.fitFor = { objectives: ctx.objectives, constraints: ctx.constraints };
  }
  index.follower.follow(
    history,
    () => {
      index.seen.clear();
      index.byKey.clear();
      index.fit.clear();
      if (ctx === undefined) index.fitFor = null;
    },
    (t, i) => {
      index.seen.add(t.key);
      const b = index.byKey.get(t.key);
      if (b === undefined || b.i <= i) index.byKey.set(t.key, { t, i });
      if (index.fitFor !== null) addFitness(index.fit, t, index.fitFor);
    },
  );
  return index;
}

function addFitness<A>(m: Map<ArchKey, number>, t: TrialRecord<A>, ctx: Pick<StrategyContext<A>, 'objectives' | 'constraints'>): void {
  const f = fitness(t, ctx);
  const prev = m.get(t.key);
  if (prev === undefined || f > prev) m.set(t.key, f);
}

export { violates };

/**
 * Whether `arch` can be proposed: its cheap costs satisfy the constraints and it can be evaluated
 * at all (`ctx.infeasible`; true when nothing can be checked). With constraints, `costOf` decides
 * alone: it reports an arch that cannot be evaluated as NaN costs (src/api/parts.ts), which meet
 * no constraint, so the costs are computed once per candidate.
 */
export function precheck<A>(arch: A, ctx: StrategyContext<A>): boolean {
  if (ctx.constraints.length && ctx.costOf) return !violates(ctx.costOf(arch), ctx.constraints);
  return ctx.infeasible === undefined || ctx.infeasible(arch) === undefined;
}

/** Whether `precheck` can reject anything in this context (constraints with costs, or a feasibility test). */
function checkable<A>(ctx: StrategyContext<A>): boolean {
  return (ctx.constraints.length > 0 && ctx.costOf !== undefined) || ctx.infeasible !== undefined;
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

/**
 * The one order of trials every single-objective strategy ranks by (evolution's tournament, the
 * GA's selection and replacement, local search's moves, BO's incumbents, TPE's split, bestTrial):
 * `fitness`, then on equal finite fitness the first objective's tie-break (e.g. `tie_break:
 * val_loss`, issue 17.17). > 0 when `a` ranks above `b`, < 0 below, 0 when they tie (callers keep
 * their own last resort, usually the earlier one).
 */
export function compareTrials<A>(a: TrialRecord<A>, b: TrialRecord<A>, ctx: Pick<StrategyContext<A>, 'objectives' | 'constraints'>): number {
  return compareFitness(fitness(a, ctx), fitness(b, ctx), () => tieBreak(a, b, ctx));
}

/** `compareTrials` given the two fitness values; `tb` is asked only on a tie of finite values. */
export function compareFitness(fa: number, fb: number, tb: () => number): number {
  if (fa !== fb) return fa > fb ? 1 : -1;
  return fa === -Infinity ? 0 : tb();
}

/**
 * `compareTrials` over architecture keys, for strategies whose state holds keys: the fitness of
 * `fitnessByKey` (unknown keys rank lowest), the tie-break on the key's trial. Index the history
 * once per ask and reuse the returned function.
 */
export function keyOrder<A>(history: readonly TrialRecord<A>[], ctx: Pick<StrategyContext<A>, 'objectives' | 'constraints'>): (a: string, b: string) => number {
  const fit = fitnessByKey(history, ctx);
  const tb = ctx.objectives[0]?.tieBreak;
  const byKey = tb === undefined ? undefined : trialsByKey(history);
  const f = (k: string) => fit.get(k as ArchKey) ?? -Infinity;
  return (a, b) => compareFitness(f(a), f(b), () => (byKey === undefined ? 0 : compareTieBreak(byKey.get(a as ArchKey)?.metrics, byKey.get(b as ArchKey)?.metrics, tb)));
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
  if (feasible === 0) throw unsatisfiable(ctx, max, gen);
  return undefined;
}

/**
 * No candidate passed `precheck`. With constraints: `constraint_unsatisfiable` naming them. Without
 * (every candidate failed `ctx.infeasible`): `invalid_config` on field `space`, with the reason of
 * one candidate (`sample` draws another to read it from).
 */
function unsatisfiable<A>(ctx: StrategyContext<A>, attempts: number, sample: () => A): NasError {
  if (!(ctx.constraints.length && ctx.costOf) && ctx.infeasible) {
    const why = ctx.infeasible(sample()) ?? 'the evaluator cannot run it';
    return new NasError('invalid_config', `none of ${attempts} candidates of space ${ctx.space.name} can be evaluated on this study's data (e.g. ${why})`, {
      field: 'space',
      hint: 'use larger inputs or a space whose networks fit them (e.g. fewer pooling layers)',
    });
  }
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
 * Fails fast, before any budget is spent, when no sampled arch satisfies the cost constraints or
 * can be evaluated at all (`precheck`; every finite space up to 200k members is checked exhaustively).
 */
export function assertSatisfiable<A>(ctx: StrategyContext<A>, rng: Rng): void {
  if (!checkable(ctx)) return;
  for (let i = 0; i < 2000; i++) if (precheck(ctx.space.sample(rng), ctx)) return;
  if (ctx.space.size() <= ENUMERATE_LIMIT) for (const a of ctx.space.enumerate(ENUMERATE_LIMIT)) if (precheck(a, ctx)) return;
  throw unsatisfiable(ctx, 2000, () => ctx.space.sample(rng));
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

/**
 * Trials by key (last trial wins), for strategies that keep keys in their state. Read-only: it is
 * the history's incremental index (kept up to date in time proportional to what changed).
 */
export function trialsByKey<A>(history: readonly TrialRecord<A>[]): ReadonlyMap<ArchKey, TrialRecord<A>> {
  const byKey = indexOf(history).byKey;
  return {
    get: (k: ArchKey) => byKey.get(k)?.t,
    has: (k: ArchKey) => byKey.has(k),
    get size() {
      return byKey.size;
    },
  } as ReadonlyMap<ArchKey, TrialRecord<A>>;
}

/** Best fitness seen per key (complete trials only; see `fitness`). Read-only, like `trialsByKey`. */
export function fitnessByKey<A>(history: readonly TrialRecord<A>[], ctx: Pick<StrategyContext<A>, 'objectives' | 'constraints'>): ReadonlyMap<ArchKey, number> {
  return indexOf(history, ctx).fit;
}

/** Keys of trials still running (cost: the number of running trials, once the index is built). */
export function runningKeys<A>(history: readonly TrialRecord<A>[]): Set<ArchKey> {
  const ix = indexOf(history);
  const s = new Set<ArchKey>();
  for (const t of ix.follower.running()) s.add(t.key);
  return s;
}
