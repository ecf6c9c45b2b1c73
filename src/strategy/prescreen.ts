/**
 * Zero-cost prescreening for any strategy (after Abdelfattah et al. 2021's "zero-cost warmup" and
 * Mellor et al. 2021's NASWOT-guided sampling): at `init`, `candidates` random architectures of
 * distinct keys are scored by the context's zero-cost proxies (`ctx.proxyOf`, computed once per
 * key by the provider), ranked by rank aggregation over `proxies` (a missing or non-finite value
 * ranks last and is counted in `failed`), and the best `top` are kept in the state. The wrapped
 * strategy then runs unchanged except that its random draws (`space.sample`: the initial
 * population of evolution, local search's starting points, the random phase of BO/TPE/BANANAS,
 * every draw of random search) return those architectures, best first; once they are used up,
 * draws are random again (uniform over keys, like the strategies' own `randomNovel`).
 *
 * Accounting: the state records `proxyMs`, the proxy compute the prescreen cost (the sum of the
 * provider's ms over the scored candidates), and `scored`; a study reports them beside its trial
 * count. The kept architectures and their proxy values live in the JSON state, so a resumed or
 * parallel study never recomputes them; a proposal that comes from the prescreen carries its proxy
 * values and rank in `info` (stored with the trial).
 */
import { NasError } from '../core/errors.js';
import type { Json } from '../core/json.js';
import { Rng, type RngState } from '../core/rng.js';
import { rankScores } from '../core/rank.js';
import type { Space } from '../space/space.js';
import { distinctMembers, precheck, randomNovel, seenKeys } from './common.js';
import { archFromJson, archToJson, type Strategy, type StrategyContext } from './types.js';

export interface PrescreenOptions {
  /** Architectures (distinct keys) scored by the proxies. */
  readonly candidates: number;
  /** Best-scored architectures the strategy starts from. */
  readonly top: number;
  /** Proxy names (metrics `proxy_<name>`) aggregated by rank; one name = that proxy's ranking. */
  readonly proxies: readonly string[];
}

interface Ranked {
  readonly arch: Json;
  readonly key: string;
  readonly values: Record<string, number>;
}

export interface PrescreenState {
  readonly format: 'tsnas.prescreen/1';
  readonly inner: Json;
  /** The `top` best candidates, best first. */
  readonly ranked: readonly Ranked[];
  /** Proxy compute spent on the prescreen, ms. */
  readonly proxyMs: number;
  readonly scored: number;
  /** Candidates with a missing or non-finite value of some proxy (ranked last for it). */
  readonly failed: number;
  readonly rng: RngState;
}

/** The `proxyMs`/`scored` of a prescreened strategy's state, or null for any other state. */
export function prescreenReport(state: unknown): { proxyMs: number; scored: number; failed: number } | null {
  const s = state as Partial<PrescreenState> | null;
  return s && typeof s === 'object' && s.format === 'tsnas.prescreen/1' ? { proxyMs: s.proxyMs!, scored: s.scored!, failed: s.failed! } : null;
}

/** A view of the space whose `sample` returns the unseen ranked architectures first. */
function prescreenedSpace<A>(base: Space<A>, ranked: readonly Ranked[], seen: ReadonlySet<string>): Space<A> {
  const handed = new Set<string>();
  const reps = distinctMembers(base);
  const view = Object.create(base) as Space<A>;
  return Object.assign(view, {
    // Not enumerable through this view: random draws must come through `sample`.
    size: () => Infinity,
    sample: (rng: Rng): A => {
      for (const r of ranked)
        if (!seen.has(r.key) && !handed.has(r.key)) {
          handed.add(r.key);
          return structuredClone(archFromJson<A>(r.arch));
        }
      return reps ? structuredClone(rng.choice(reps)) : base.sample(rng);
    },
  });
}

export function withPrescreen(inner: Strategy, o: PrescreenOptions): Strategy<PrescreenState> {
  if (!(o.candidates >= 1 && o.top >= 1 && o.proxies.length >= 1))
    throw new NasError('invalid_config', 'prescreen needs candidates >= 1, top >= 1 and at least one proxy', { field: 'prescreen' });
  const wrap = <A>(ctx: StrategyContext<A>, s: PrescreenState): StrategyContext<A> => ({ ...ctx, space: prescreenedSpace(ctx.space, s.ranked, seenKeys(ctx.history)) });
  return {
    name: `${inner.name}+prescreen`,
    init<A>(seed: number, ctx: StrategyContext<A>): PrescreenState {
      const proxyOf = ctx.proxyOf;
      if (!proxyOf)
        throw new NasError('invalid_config', 'prescreen needs zero-cost proxy scores, and this study has no proxy source', {
          field: 'prescreen',
          hint: 'use a space/evaluator with proxies (the nb201 table ships them; network spaces compute them from the dataset), or drop prescreen',
        });
      const rng = Rng.fromSeed(seed).derive('prescreen');
      const seen = seenKeys(ctx.history);
      // Candidates: distinct unseen keys within the constraints.
      let cands: A[];
      const reps = distinctMembers(ctx.space);
      if (reps) {
        const pool = reps.filter((a) => !seen.has(ctx.space.key(a)) && precheck(a, ctx));
        cands = rng.sample(pool, Math.min(o.candidates, pool.length)).map((a) => structuredClone(a));
      } else {
        cands = [];
        for (let i = 0; i < o.candidates; i++) {
          const hit = randomNovel(ctx, seen, rng);
          if (!hit) break;
          cands.push(hit.arch);
        }
      }
      let proxyMs = 0;
      const values = cands.map((a) => {
        const v = proxyOf(a);
        proxyMs += v.ms;
        return v.values;
      });
      let failed = 0;
      const score = new Float64Array(cands.length);
      for (const p of o.proxies) {
        const col = values.map((v) => v[`proxy_${p}`]);
        failed = Math.max(failed, col.filter((x) => x === undefined || !Number.isFinite(x)).length);
        const r = rankScores(col);
        for (let i = 0; i < cands.length; i++) score[i]! -= r[i]!;
      }
      const order = cands.map((_, i) => i).sort((a, b) => score[b]! - score[a]! || a - b);
      const ranked: Ranked[] = order.slice(0, o.top).map((i) => ({ arch: archToJson(cands[i]!), key: ctx.space.key(cands[i]!), values: { ...values[i]! } }));
      const base: PrescreenState = { format: 'tsnas.prescreen/1', inner: null, ranked, proxyMs, scored: cands.length, failed, rng: rng.state() };
      return { ...base, inner: inner.init(seed, wrap(ctx, base)) };
    },
    ask<A>(state: PrescreenState, ctx: StrategyContext<A>) {
      const r = inner.ask(state.inner, wrap(ctx, state));
      let outcome = r.outcome;
      if (outcome.kind === 'trial') {
        const key = ctx.space.key(outcome.proposal.arch);
        const i = state.ranked.findIndex((x) => x.key === key);
        if (i >= 0) outcome = { kind: 'trial', proposal: { ...outcome.proposal, info: { ...outcome.proposal.info, ...state.ranked[i]!.values, prescreen_rank: i + 1 } } };
      }
      return { state: { ...state, inner: r.state }, outcome };
    },
    tell: (state, trial, ctx) => ({ ...state, inner: inner.tell(state.inner, trial, wrap(ctx, state)) }),
    ...(inner.shouldPrune
      ? {
          shouldPrune<A>(state: PrescreenState, trial: Parameters<NonNullable<Strategy['shouldPrune']>>[1], ctx: StrategyContext<A>) {
            const r = inner.shouldPrune!(state.inner, trial as never, wrap(ctx, state));
            return { state: { ...state, inner: r.state }, prune: r.prune };
          },
        }
      : {}),
  };
}
