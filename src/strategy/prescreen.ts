/**
 * Zero-cost prescreening for any strategy (after Abdelfattah et al. 2021's "zero-cost warmup" and
 * Mellor et al. 2021's NASWOT-guided sampling): at `init`, `candidates` random architectures of
 * distinct keys are scored by the context's zero-cost proxies (`ctx.proxyOf`, computed once per
 * key by the provider), ranked by rank aggregation over `proxies` (a missing or non-finite value
 * ranks last; candidates lacking some proxy are counted in `failed`, and `failures` keeps why, per
 * proxy and reason as the source gave it, with the first keys), and the best `top` are kept in the state. The wrapped
 * strategy then runs unchanged except that its random draws (`space.sample`: the initial
 * population of evolution, local search's starting points, the random phase of BO/TPE/BANANAS,
 * every draw of random search) return those architectures, best first; once they are used up,
 * draws are random again (uniform over keys, like the strategies' own `randomNovel`), unless
 * `pool` is set.
 *
 * `pool: K` (the prescreen keeps guiding, after Abdelfattah et al. 2021's zero-cost-guided random
 * search / Mellor et al. 2021's NASWOT "score N, train the best"): once the top ones are used up,
 * every random draw scores K fresh random candidates (feasible, unseen keys, drawn with the
 * strategy's own Rng so a resumed study draws the same) with the same proxies and returns the
 * best-ranked of them (rank aggregation within the pool, missing/non-finite values last). Its
 * proxy values, `prescreen_pool` (K) and `prescreen_pool_rank` (1) are stored with the trial.
 *
 * Accounting: the state records `proxyMs`, the proxy compute the prescreen cost (the sum of the
 * provider's ms over the scored candidates, the pools' included; a key drawn into two pools is
 * counted twice, so with `pool` it is an upper bound), and `scored`; a study reports them beside its trial
 * count. The kept architectures and their proxy values live in the JSON state, so a resumed or
 * parallel study never recomputes them; a proposal that comes from the prescreen carries its proxy
 * values and rank in `info` (stored with the trial).
 */
import { NasError } from '../core/errors.js';
import { proxyUnavailable } from '../eval/proxies/availability.js';
import type { Json } from '../core/json.js';
import { Rng, type RngState } from '../core/rng.js';
import { rankScores } from '../core/rank.js';
import type { Space } from '../space/space.js';
import { distinctMembers, precheck, randomNovel, seenKeys } from './common.js';
import { archFromJson, archToJson, type ProxyValues, type Strategy, type StrategyContext } from './types.js';

export interface PrescreenOptions {
  /** Architectures (distinct keys) scored by the proxies. */
  readonly candidates: number;
  /** Best-scored architectures the strategy starts from. */
  readonly top: number;
  /** Proxy names (metrics `proxy_<name>`) aggregated by rank; one name = that proxy's ranking. */
  readonly proxies: readonly string[];
  /** Candidates scored per random draw once the top ones are used up (absent/0: plain random draws). */
  readonly pool?: number;
}

interface Ranked {
  readonly arch: Json;
  readonly key: string;
  /** Its proxy values, and `prescreen_failed` (why some proxy has none) when one failed. */
  readonly values: Record<string, number | string>;
}

/** `{ prescreen_failed: 'naswot: reason; ...' }` for a candidate lacking some of `proxies`, else {} (stored with its trial). */
function failedNote(v: ProxyValues, proxies: readonly string[]): { prescreen_failed?: string } {
  const bad = proxies.filter((p) => !Number.isFinite(v.values[`proxy_${p}`] ?? NaN));
  return bad.length ? { prescreen_failed: bad.map((p) => `${p}: ${v.absent?.[`proxy_${p}`] ?? 'no value'}`).join('; ') } : {};
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
  /** Why they failed: per proxy and reason, how many and the first few keys (absent in states of older builds). */
  readonly failures?: readonly PrescreenFailure[];
  /** `proxyMs` was recorded in this table when it was made (looked up, not spent by this study). */
  readonly recordedIn?: string;
  readonly rng: RngState;
}

/** One reason candidates lacked a proxy value: `count` candidates, the first `keys` (at most FAILURE_KEYS). */
export interface PrescreenFailure {
  readonly proxy: string;
  readonly reason: string;
  readonly count: number;
  readonly keys: readonly string[];
}

/** Keys kept per failure reason, and distinct reasons kept (the rest are counted under the last one's "other reasons"). */
const FAILURE_KEYS = 5;
const FAILURE_REASONS = 8;

/** `failures` with the absent proxies of these scored candidates added (the proxies asked for only). */
function addFailures(failures: readonly PrescreenFailure[], scored: readonly { key: string; v: ProxyValues }[], proxies: readonly string[]): PrescreenFailure[] {
  const out = failures.map((f) => ({ ...f, keys: [...f.keys] }));
  for (const { key, v } of scored)
    for (const p of proxies) {
      const x = v.values[`proxy_${p}`];
      if (x !== undefined && Number.isFinite(x)) continue;
      let reason = (v.absent?.[`proxy_${p}`] ?? (x === undefined ? 'no value (the proxy source gave no reason)' : `value ${x}`)).slice(0, 300);
      let f = out.find((o) => o.proxy === p && o.reason === reason);
      if (!f && out.length >= FAILURE_REASONS) {
        reason = 'other reasons';
        f = out.find((o) => o.proxy === p && o.reason === reason);
      }
      if (!f) out.push((f = { proxy: p, reason, count: 0, keys: [] }));
      f.count++;
      if (f.keys.length < FAILURE_KEYS) f.keys.push(key);
    }
  return out;
}

/** The `proxyMs`/`scored` of a prescreened strategy's state, or null for any other state. */
export function prescreenReport(state: unknown): { proxyMs: number; scored: number; failed: number; failures?: readonly PrescreenFailure[]; recordedIn?: string } | null {
  const s = state as Partial<PrescreenState> | null;
  return s && typeof s === 'object' && s.format === 'tsnas.prescreen/1'
    ? { proxyMs: s.proxyMs!, scored: s.scored!, failed: s.failed!, ...(s.failures ? { failures: s.failures } : {}), ...(s.recordedIn ? { recordedIn: s.recordedIn } : {}) }
    : null;
}

/** Candidate indices best first by rank aggregation over `proxies` (ties: lower index first), and how many lacked some proxy. */
function rankByProxies(values: readonly Record<string, number>[], proxies: readonly string[]): { order: number[]; failed: number } {
  const score = new Float64Array(values.length);
  const failed = values.filter((v) => proxies.some((p) => !Number.isFinite(v[`proxy_${p}`] ?? NaN))).length;
  for (const p of proxies) {
    const col = values.map((v) => v[`proxy_${p}`]);
    const r = rankScores(col);
    for (let i = 0; i < values.length; i++) score[i]! -= r[i]!;
  }
  return { order: values.map((_, i) => i).sort((a, b) => score[b]! - score[a]! || a - b), failed };
}

/** What the pools of one ask cost, and the values of the archs they returned (by key). */
interface PoolLog {
  ms: number;
  scored: number;
  failed: number;
  /** The scored candidates of this ask (key and values), for the failure reasons. */
  readonly seen: { key: string; v: ProxyValues }[];
  recordedIn?: string;
  readonly picked: Map<string, Record<string, number | string>>;
}

/**
 * A view of the space whose `sample` returns the unseen ranked architectures first, then (with
 * `pool`) the best-ranked of `pool` fresh feasible unseen candidates per draw, logged in `log`.
 */
function prescreenedSpace<A>(ctx: StrategyContext<A>, ranked: readonly Ranked[], seen: ReadonlySet<string>, o: PrescreenOptions, log: PoolLog): Space<A> {
  const base = ctx.space;
  const handed = new Set<string>();
  const reps = distinctMembers(base);
  const view = Object.create(base) as Space<A>;
  const draw = (rng: Rng): A => (reps ? structuredClone(rng.choice(reps)) : base.sample(rng));
  const pooled = (rng: Rng): A => {
    const k = o.pool!;
    const cands: A[] = [];
    const keys = new Set<string>();
    // Feasible unseen distinct keys; a few times k attempts, then whatever was found.
    for (let tries = 0; cands.length < k && tries < 20 * k; tries++) {
      const a = draw(rng);
      const key = base.key(a);
      if (seen.has(key) || handed.has(key) || keys.has(key) || !precheck(a, ctx)) continue;
      keys.add(key);
      cands.push(a);
    }
    if (!cands.length) return draw(rng);
    const full = cands.map((a) => {
      const v = ctx.proxyOf!(a);
      log.ms += v.ms;
      if (v.recordedIn) log.recordedIn = v.recordedIn;
      log.seen.push({ key: base.key(a), v });
      return v;
    });
    const values = full.map((v) => v.values);
    const { order, failed } = rankByProxies(values, o.proxies);
    log.scored += cands.length;
    log.failed += failed;
    const i = order[0]!;
    const key = base.key(cands[i]!);
    handed.add(key);
    log.picked.set(key, { ...values[i]!, ...failedNote(full[i]!, o.proxies), prescreen_pool: cands.length, prescreen_pool_rank: 1 });
    return cands[i]!;
  };
  return Object.assign(view, {
    // Not enumerable through this view: random draws must come through `sample`.
    size: () => Infinity,
    sample: (rng: Rng): A => {
      for (const r of ranked)
        if (!seen.has(r.key) && !handed.has(r.key)) {
          handed.add(r.key);
          return structuredClone(archFromJson<A>(r.arch));
        }
      return o.pool && ctx.proxyOf ? pooled(rng) : draw(rng);
    },
  });
}

export function withPrescreen(inner: Strategy, o: PrescreenOptions): Strategy<PrescreenState> {
  if (!(o.candidates >= 1 && o.top >= 1 && o.proxies.length >= 1 && (o.pool === undefined || (Number.isInteger(o.pool) && o.pool >= 0))))
    throw new NasError('invalid_config', 'prescreen needs candidates >= 1, top >= 1, at least one proxy and pool >= 0 (an integer)', { field: 'prescreen' });
  const newLog = (): PoolLog => ({ ms: 0, scored: 0, failed: 0, seen: [], picked: new Map() });
  const wrap = <A>(ctx: StrategyContext<A>, s: PrescreenState, log: PoolLog = newLog()): StrategyContext<A> => ({ ...ctx, space: prescreenedSpace(ctx, s.ranked, seenKeys(ctx.history), o, log) });
  /** The state with one ask's pool compute added. */
  const charged = (s: PrescreenState, log: PoolLog): PrescreenState =>
    log.scored
      ? {
          ...s,
          proxyMs: s.proxyMs + log.ms,
          scored: s.scored + log.scored,
          failed: s.failed + log.failed,
          ...(log.failed ? { failures: addFailures(s.failures ?? [], log.seen, o.proxies) } : {}),
          ...(log.recordedIn ? { recordedIn: log.recordedIn } : {}),
        }
      : s;
  return {
    name: `${inner.name}+prescreen`,
    init<A>(seed: number, ctx: StrategyContext<A>): PrescreenState {
      const proxyOf = ctx.proxyOf;
      if (!proxyOf) throw proxyUnavailable({ field: 'prescreen', what: 'prescreen', proxies: o.proxies }, { kind: 'none', why: 'this study' });
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
      let recordedIn: string | undefined;
      const full = cands.map((a) => {
        const v = proxyOf(a);
        proxyMs += v.ms;
        recordedIn ??= v.recordedIn;
        return v;
      });
      const values = full.map((v) => v.values);
      const { order, failed } = rankByProxies(values, o.proxies);
      const ranked: Ranked[] = order.slice(0, o.top).map((i) => ({ arch: archToJson(cands[i]!), key: ctx.space.key(cands[i]!), values: { ...values[i]!, ...failedNote(full[i]!, o.proxies) } }));
      const failures = failed ? addFailures([], full.map((v, i) => ({ key: ctx.space.key(cands[i]!), v })), o.proxies) : [];
      const base: PrescreenState = {
        format: 'tsnas.prescreen/1',
        inner: null,
        ranked,
        proxyMs,
        scored: cands.length,
        failed,
        ...(failures.length ? { failures } : {}),
        ...(recordedIn ? { recordedIn } : {}),
        rng: rng.state(),
      };
      const log = newLog();
      const inner0 = inner.init(seed, wrap(ctx, base, log));
      return { ...charged(base, log), inner: inner0 };
    },
    ask<A>(state: PrescreenState, ctx: StrategyContext<A>) {
      const log = newLog();
      const r = inner.ask(state.inner, wrap(ctx, state, log));
      let outcome = r.outcome;
      if (outcome.kind === 'trial') {
        const key = ctx.space.key(outcome.proposal.arch);
        const i = state.ranked.findIndex((x) => x.key === key);
        const pooled = log.picked.get(key);
        if (i >= 0) outcome = { kind: 'trial', proposal: { ...outcome.proposal, info: { ...outcome.proposal.info, ...state.ranked[i]!.values, prescreen_rank: i + 1 } } };
        else if (pooled) outcome = { kind: 'trial', proposal: { ...outcome.proposal, info: { ...outcome.proposal.info, ...pooled } } };
      }
      return { state: { ...charged(state, log), inner: r.state }, outcome };
    },
    tell<A>(state: PrescreenState, trial: Parameters<Strategy['tell']>[1], ctx: StrategyContext<A>) {
      const log = newLog();
      const inner1 = inner.tell(state.inner, trial as never, wrap(ctx, state, log));
      return { ...charged(state, log), inner: inner1 };
    },
    ...(inner.shouldPrune
      ? {
          shouldPrune<A>(state: PrescreenState, trial: Parameters<NonNullable<Strategy['shouldPrune']>>[1], ctx: StrategyContext<A>) {
            const log = newLog();
            const r = inner.shouldPrune!(state.inner, trial as never, wrap(ctx, state, log));
            return { state: { ...charged(state, log), inner: r.state }, prune: r.prune };
          },
        }
      : {}),
  };
}
