/**
 * Repeated runs over seeds, reported as mean ± sample standard deviation (what NAS papers
 * report): the statistics, the seed list of the CLI flags, and `repeatSearch`, which runs one search
 * config once per seed as separate studies `<name>-seed<k>` in the same storage. Each seed's study
 * is an ordinary study (resumable, visible in status and the dashboard); a rerun skips the seeds
 * whose study already finished and resumes the others.
 */
import { NasError } from '../core/errors.js';
import type { Json } from '../core/json.js';
import { findStudyRecord, maskPgUrl, openStore, parseStoreUrl, type TrialCounts, type TrialRecord } from '../store/index.js';
import { prepareSearch, requireSameIdentity, search, type PrepareInput, type PreparedSearch, type SearchOptions, type SearchResult } from './study.js';
import { STUDY_NAME_MAX } from './config.js';
import type { DataNotes } from '../data/prepare.js';
import { hypervolumeOf, paretoSet, refPointProblem, referencePoint, referenceValues, type RefSource } from './pareto.js';
import { mean, sampleStd } from '../core/stats.js';

/** Statistics of one metric over the runs that produced it. `std` is the sample std (n-1); null for n = 1. */
export interface Stat {
  readonly mean: number;
  readonly std: number | null;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** Mean, sample std (n-1; exactly 0 for values equal within rounding), min, max of finite values; null when there is none. */
export function statsOf(values: readonly number[]): Stat | null {
  const x = values.filter((v) => Number.isFinite(v));
  const n = x.length;
  if (n === 0) return null;
  // Values equal within rounding: std exactly 0 and mean the common value (src/core/stats.ts).
  return { mean: mean(x), std: n < 2 ? null : sampleStd(x), min: Math.min(...x), max: Math.max(...x), n };
}

/**
 * Per-metric statistics over runs (each a metric -> value map). Keys: `keys` if given, else every
 * metric of any run in first-seen order. A run lacking a metric (or with a non-finite value) is
 * left out of that metric's `n`.
 */
export function summarizeRuns(runs: readonly Readonly<Record<string, number>>[], keys?: readonly string[]): Record<string, Stat> {
  const names = keys ?? [...new Set(runs.flatMap((r) => Object.keys(r)))];
  const out: Record<string, Stat> = {};
  for (const k of names) {
    const s = statsOf(runs.flatMap((r) => (r[k] === undefined ? [] : [r[k]])));
    if (s) out[k] = s;
  }
  return out;
}

const MAX_SEED = 2 ** 32 - 1;

/**
 * The seeds of `--seeds 0,1,2` or of `--repeats N` counted up from `--seed S` (default `base`).
 * Seeds are distinct non-negative integers. A CLI parser of those flags: its errors' fields are the
 * flags (`--seeds: lists seed 1 twice`), as every command prints them.
 */
export function seedList(o: { seeds?: string | undefined; repeats?: string | undefined; seed?: string | undefined }, base = 0): number[] {
  if (o.seeds !== undefined && (o.repeats !== undefined || o.seed !== undefined))
    throw new NasError('invalid_config', `lists every seed; it cannot be combined with ${o.repeats !== undefined ? '--repeats' : '--seed'}`, { field: '--seeds', hint: 'use --seeds 0,1,2 or --repeats 3 [--seed 0]' });
  const int = (s: string, field: string, min: number): number => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(n) || n < min || n > MAX_SEED)
      throw new NasError('invalid_config', `${JSON.stringify(s)} is not an integer in [${min}, ${MAX_SEED}]`, { field, hint: 'e.g. --seeds 0,1,2 or --repeats 3' });
    return n;
  };
  let seeds: number[];
  if (o.seeds !== undefined) seeds = o.seeds.split(',').map((s) => int(s, '--seeds', 0));
  else if (o.repeats !== undefined) {
    const n = int(o.repeats, '--repeats', 1);
    const s0 = o.seed === undefined ? base : int(o.seed, '--seed', 0);
    if (s0 + n - 1 > MAX_SEED) throw new NasError('invalid_config', `${n} seeds from ${s0} pass ${MAX_SEED}, the largest seed`, { field: '--repeats', hint: `lower --repeats or --seed` });
    seeds = Array.from({ length: n }, (_, i) => s0 + i);
  } else
    throw new NasError('invalid_config', 'is required: give the seeds as --seeds 0,1,2, or --repeats N (from --seed, default 0)', { field: '--seeds', hint: 'e.g. --seeds 0,1,2' });
  const dup = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (dup !== undefined) throw new NasError('invalid_config', `lists seed ${dup} twice`, { field: '--seeds', hint: 'list each seed once' });
  return seeds;
}

// ------------------------------------------------------------------ repeated searches

export interface RepeatInput extends PrepareInput {
  readonly seeds: readonly number[];
  /**
   * Base name of the studies (`<name>-seed<k>`); default: the config's study, or for a flags-only
   * config without --study, `<space>-<strategy>`.
   */
  readonly name?: string;
  /**
   * Multi-objective configs: the hypervolume's reference point (one value per objective, in order);
   * default one point shared by every seed, computed over all their complete trials (referencePoint).
   */
  readonly refPoint?: readonly number[];
}

export interface RepeatOptions extends Omit<SearchOptions, 'onProgress' | 'onEvent'> {
  /** Before each seed: whether its study is run (new or resumed) or skipped (already finished). */
  readonly onSeed?: (e: { seed: number; study: string; index: number; count: number; action: 'run' | 'skip' }) => void;
  readonly onProgress?: (seed: number, p: Parameters<NonNullable<SearchOptions['onProgress']>>[0]) => void;
  readonly onEvent?: (seed: number, e: Parameters<NonNullable<SearchOptions['onEvent']>>[0]) => void;
  /** Once, before the first seed that runs: what loading its data decided (CSV header, label mapping); every seed reads the same data. */
  readonly onDataNotes?: (notes: DataNotes) => void;
}

/** The best trial of one seed's study (by the first objective). */
export interface SeedBest {
  readonly number: number;
  /** Objective values, in the config's objective order. */
  readonly values: readonly number[];
  /** Test metrics (`test_*`) of that trial, if the evaluator reported any; reported, never searched on. */
  readonly test: Readonly<Record<string, number>>;
  readonly arch: Json;
}

export interface SeedStudy {
  readonly seed: number;
  readonly study: string;
  /** `ran`: searched now (new or resumed); `skipped`: the study had already finished. */
  readonly action: 'ran' | 'skipped';
  /** Why the search stopped; `finished` for a skipped study. */
  readonly reason: SearchResult['reason'] | 'finished';
  readonly counts: TrialCounts;
  readonly best: SeedBest | null;
  readonly seconds: number;
  /** In the summary: the study reached its budget (or the strategy was done) and has a best trial. */
  readonly counted: boolean;
  /** Multi-objective configs, counted seeds: the Pareto set's size and hypervolume (RepeatResult.hypervolume's reference point). */
  readonly pareto?: { readonly size: number; readonly trials: readonly number[]; readonly hypervolume: number | null };
}

export interface RepeatResult {
  readonly name: string;
  readonly storage: string;
  readonly objectives: readonly { metric: string; direction: 'maximize' | 'minimize' }[];
  readonly runs: readonly SeedStudy[];
  /** Seeds not in the summary (stopped, failed or without a complete trial). */
  readonly excluded: number;
  /** True when the signal stopped the repeat; seeds after the stopped one are not in `runs`. */
  readonly aborted: boolean;
  /**
   * Over counted seeds: each objective's metric, then every test metric of the best trials; for a
   * multi-objective config instead `hypervolume` and `pareto_size` (a best trial by the first
   * objective says nothing of the trade-off).
   */
  readonly summary: Record<string, Stat>;
  /** Multi-objective configs: the one reference point every seed's hypervolume is bounded by, and where it came from. */
  readonly hypervolume?: {
    readonly metrics: readonly string[];
    readonly ref: readonly number[] | null;
    readonly refSource: RefSource;
    /** Set when the point bounds none of some counted seed's Pareto front (pareto refPointProblem; that seed's hypervolume is 0), with the seeds named. */
    readonly warning?: string;
  };
}

const SEED_SUFFIX = /-seed\d+$/;

export function seedStudyName(name: string, seed: number): string {
  return `${name}-seed${seed}`;
}

/** The prepared config of each seed: the same config, its own study name and seed. */
export function prepareRepeat(input: RepeatInput): { name: string; base: PreparedSearch; perSeed: { seed: number; prepared: PreparedSearch }[] } {
  if (input.seeds.length === 0) throw new NasError('invalid_config', 'no seeds given', { field: 'seeds', hint: 'e.g. --seeds 0,1,2' });
  const base = prepareSearch(input);
  const fromFile = input.configPath !== undefined || input.config !== undefined;
  const explicit = typeof input.flags?.['study'] === 'string';
  // A flags-only config derives `<space>-<strategy>-seed<S>`; the seed suffix is ours to add.
  const name = input.name ?? (fromFile || explicit ? base.config.study : base.config.study.replace(SEED_SUFFIX, ''));
  // The derived names must fit the study-name limit: say so about the base name the user gave,
  // not about a `-seed0` name they never wrote (issue 17.13).
  const longest = Math.max(...input.seeds.map((s) => seedStudyName(name, s).length));
  if (longest > STUDY_NAME_MAX)
    throw new NasError('invalid_config', `study name ${JSON.stringify(name.length > 40 ? name.slice(0, 37) + '...' : name)} has ${name.length} characters; with the seed suffix (${JSON.stringify(seedStudyName('', Math.max(...input.seeds)))}) the per-seed study names would have ${longest}, over the limit of ${STUDY_NAME_MAX}`, {
      field: 'study',
      hint: `use a base study name of at most ${STUDY_NAME_MAX - (longest - name.length)} characters`,
    });
  const perSeed = input.seeds.map((seed) => ({
    seed,
    prepared: prepareSearch({ ...input, flags: { ...input.flags, study: seedStudyName(name, seed), seed: String(seed) } }),
  }));
  return { name, base, perSeed };
}

function seedBest(t: TrialRecord | null): SeedBest | null {
  if (!t || !t.values) return null;
  const test = Object.fromEntries(Object.entries(t.metrics ?? {}).filter(([k, v]) => k.startsWith('test_') && Number.isFinite(v)));
  return { number: t.number, values: t.values, test, arch: t.arch };
}

/**
 * Runs the config once per seed (sequentially; each search may use several worker processes) and
 * summarizes the best trial of every seed. Bad configs throw before anything runs: every seed's
 * config is validated, and a seed study that exists with a different config is an error naming
 * the field (requireSameIdentity, as `createStudy` checks).
 */
export async function repeatSearch(input: RepeatInput, opts: RepeatOptions = {}): Promise<RepeatResult> {
  const { name, base, perSeed } = prepareRepeat(input);
  // Every seed's existing study is checked against this config before any seed runs.
  const states = new Map<number, string>();
  for (const { seed, prepared } of perSeed) {
    // Read-only: a check that finds no store creates none (a seed rejected below leaves no file).
    const rec = await findStudyRecord(prepared.config.storage, prepared.config.study);
    if (rec) {
      states.set(seed, rec.state);
      requireSameIdentity(prepared.config, rec, parseStoreUrl(prepared.config.storage).kind === 'postgres' ? maskPgUrl(prepared.config.storage) : prepared.config.storage);
    }
  }
  const runs: SeedStudy[] = [];
  let aborted = false;
  let notesSaid = false;
  for (const [index, { seed, prepared }] of perSeed.entries()) {
    if (opts.signal?.aborted) {
      aborted = true;
      break;
    }
    const c = prepared.config;
    const finished = states.get(seed) === 'finished';
    opts.onSeed?.({ seed, study: c.study, index, count: perSeed.length, action: finished ? 'skip' : 'run' });
    if (finished) {
      // A finished seed is only read (checked above against this config): read-only, as tsnas best.
      const t0 = Date.now();
      const store = await openStore(c.storage, { readOnly: true });
      try {
        const rec = await store.requireStudy(c.study);
        const [counts, best] = await Promise.all([store.countTrials(rec.id), store.bestTrial(rec.id)]);
        const b = seedBest(best);
        runs.push({ seed, study: c.study, action: 'skipped', reason: 'finished', counts, best: b, seconds: (Date.now() - t0) / 1000, counted: b !== null });
      } finally {
        await store.close();
      }
      continue;
    }
    const { onSeed: _s, onProgress, onEvent, onDataNotes, ...searchOpts } = opts;
    void _s;
    if (!notesSaid) {
      notesSaid = true;
      onDataNotes?.((await prepared.parts.ready?.()) ?? []);
    }
    const r = await search(prepared, {
      ...searchOpts,
      ...(onProgress ? { onProgress: (p) => onProgress(seed, p) } : {}),
      ...(onEvent ? { onEvent: (e) => onEvent(seed, e) } : {}),
    });
    const b = seedBest(r.best);
    const done = r.reason === 'complete' || r.reason === 'strategy_done';
    runs.push({ seed, study: c.study, action: 'ran', reason: r.reason, counts: r.counts, best: b, seconds: r.seconds, counted: done && b !== null });
    if (r.reason === 'aborted') {
      aborted = true;
      break;
    }
  }
  const objectives = base.config.objectives.map((o) => ({ metric: o.metric, direction: o.direction }));
  if (objectives.length > 1) return multiObjectiveSummary(name, base.config.storage, objectives, runs, aborted, input.refPoint);
  const counted = runs.filter((r) => r.counted && r.best);
  const rows = counted.map((r) => ({ ...Object.fromEntries(objectives.map((o, i) => [o.metric, r.best!.values[i]!])), ...r.best!.test }));
  return {
    name,
    storage: base.config.storage,
    objectives,
    runs,
    excluded: runs.length - counted.length,
    aborted,
    summary: summarizeRuns(rows),
  };
}

/**
 * A multi-objective repeat: each counted seed's Pareto set and its hypervolume, every seed bounded
 * by ONE reference point (given, or shared: referencePoint over the complete trials of all counted
 * seeds), so the hypervolumes compare; summary `hypervolume` and `pareto_size` over the seeds.
 */
async function multiObjectiveSummary(
  name: string,
  storage: string,
  objectives: RepeatResult['objectives'],
  runs: SeedStudy[],
  aborted: boolean,
  refPoint: readonly number[] | undefined,
): Promise<RepeatResult> {
  const counted = runs.filter((r) => r.counted);
  const store = await openStore(storage, { readOnly: true });
  const sets = new Map<number, { front: TrialRecord[] }>();
  const values: number[][] = [];
  try {
    for (const r of counted) {
      const rec = await store.requireStudy(r.study);
      const trials = await store.listTrials(rec.id);
      sets.set(r.seed, { front: paretoSet(rec, trials).trials });
      values.push(...referenceValues(trials, objectives));
    }
  } finally {
    await store.close();
  }
  const ref = refPoint ?? referencePoint(values, objectives);
  const refSource: RefSource = refPoint ? 'given' : 'shared';
  const withPareto = runs.map((r): SeedStudy => {
    const set = sets.get(r.seed);
    if (!set) return r;
    const hv = ref && set.front.length ? hypervolumeOf(set.front, objectives, ref, refSource).value : null;
    return { ...r, pareto: { size: set.front.length, trials: set.front.map((t) => t.number), hypervolume: hv } };
  });
  const problems = ref ? [...sets].flatMap(([seed, set]) => {
    const why = refPointProblem(set.front.map((t) => t.values as number[]), objectives, ref);
    return why === null ? [] : [{ seed, why }];
  }) : [];
  const warning = problems.length ? { warning: `seed(s) ${problems.map((p) => p.seed).join(', ')}: ${problems[0]!.why}` } : {};
  const rows = withPareto.flatMap((r) => (r.pareto ? [{ ...(r.pareto.hypervolume === null ? {} : { hypervolume: r.pareto.hypervolume }), pareto_size: r.pareto.size }] : []));
  return {
    name,
    storage,
    objectives,
    runs: withPareto,
    excluded: runs.length - counted.length,
    aborted,
    summary: summarizeRuns(rows),
    hypervolume: { metrics: objectives.map((o) => o.metric), ref, refSource, ...warning },
  };
}
