/**
 * Read-only queries for the dashboard (src/server). The server reaches the store only through
 * this file, and nothing here writes. The returned shapes are the dashboard's JSON API; the front
 * end (dashboard/) imports these types.
 */
import { NasError, storageError } from '../core/errors.js';
import { closest, didYouMeanValue } from '../core/suggest.js';
import { hypervolumeOf, paretoSet, referencePoint, referenceValues, refPointText, rowTrial, type HypervolumeHistory, type ParetoTrial, type RefSource } from './pareto.js';
import { TRIAL_STATE_SYNONYMS } from '../core/synonyms.js';
import { studyId as toStudyId, trialId } from '../core/ids.js';
import type { Json } from '../core/json.js';
import { candidateValue, closestMetric, didYouMeanMetric, isSupernetTrial } from '../core/metrics.js';
import type { Store, StudySummary as StoreStudySummary, TrialRecord, TrialOutcome, StudyRecord, TrialPageQuery, TrialColumns, TrialArchitectures, TrialArchKeys } from '../store/types.js';
import { ArchColumns, type LeafValue } from './arch-columns.js';
import { openStore } from '../store/index.js';
import { bestOf, objectiveOf, studyConstraints } from '../store/common.js';
import { STRATEGIES } from '../strategy/registry.js';
import { paretoOf, studySeries, trialChart, type ChartTrial } from '../report/series.js';

export type DashTrialState = 'waiting' | 'running' | 'complete' | 'pruned' | 'failed';
export const DASH_TRIAL_STATES: readonly DashTrialState[] = ['waiting', 'running', 'complete', 'pruned', 'failed'];

export interface DashObjective {
  readonly metric: string;
  readonly direction: 'maximize' | 'minimize';
  /** Orders trials with equal values (the store's Objective.tieBreak), when the study has one. */
  readonly tieBreak?: { readonly metric: string; readonly direction: 'maximize' | 'minimize' };
}

export interface StudySummary {
  readonly id: number;
  readonly name: string;
  readonly strategy: string;
  readonly space: string;
  readonly evaluator: string;
  readonly objectives: readonly DashObjective[];
  /** The study's stored state. */
  readonly state: 'running' | 'finished' | 'failed' | 'stopped';
  /** True while a trial of a `running` study waits or runs. */
  readonly live: boolean;
  /**
   * What to show: `running` (live), `finished` (stored so, or its trial budget is used up and
   * nothing is pending), `failed`, `stopped`, or `idle` (resumable, nothing running now).
   */
  readonly status: 'running' | 'finished' | 'failed' | 'stopped' | 'idle';
  readonly maxTrials: number | null;
  readonly counts: Readonly<Record<DashTrialState, number>>;
  readonly total: number;
  /** Best complete trial on the first objective. */
  readonly best: { readonly number: number; readonly value: number } | null;
  readonly createdAt: number | null;
  /**
   * ms since epoch: in the studies list, the study record's own last update; in StudyDetail, the
   * latest of that and every trial's start and finish.
   */
  readonly updatedAt: number | null;
  /**
   * Seconds the study's searches ran, summed over its runs (study attribute `search_seconds`, kept
   * by search()); null when not recorded. `updatedAt - createdAt` is not that: it spans every gap
   * between resumed runs and the work after the search (new user 11: "elapsed 48m 9s" for a 133 s search).
   */
  readonly searchSeconds: number | null;
}

export interface StudyDetail {
  readonly study: StudySummary;
  /** Everything the study was created with (strategy/space/evaluator definitions), as stored. */
  readonly config: unknown;
  /** Union of metric names over the study's trials, sorted. */
  readonly metricNames: readonly string[];
  /** Union of flattened architecture parameter names (see `flattenParams`), sorted. */
  readonly paramNames: readonly string[];
  /** Changes whenever a trial is added or changes state; what live updates compare. */
  readonly version: string;
}

export type ParamValue = string | number | boolean | null;

export interface TrialRow {
  readonly id: number;
  /** 0-based position of the trial in its study. */
  readonly number: number;
  readonly state: DashTrialState;
  /**
   * The trial's value as a candidate (core `candidateValue`: its first objective value), or null
   * when it is none (failed, waiting, the one-shot supernet search trial...). Never taken from
   * the metrics: every chart, sort and pick by value uses this field.
   */
  readonly value: number | null;
  /**
   * Present (true) only on the one-shot supernet search trial (docs/oneshot.md trial 0): not a
   * candidate (value null); tables mark it "supernet".
   */
  readonly supernet?: true;
  readonly metrics: Readonly<Record<string, number>>;
  /** The architecture flattened to leaf paths, e.g. `ops[3]`, `hparams.lr`, `layers[0].kernel`. */
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly archKey: string | null;
  /** Fidelity the trial was evaluated at (epochs...), when the study has one. */
  readonly budget: number | null;
  /**
   * Generation: the trial's own `generation` (or `rung`) param or user attribute when the strategy
   * records one; otherwise, for a strategy with a `population` option (evolution, genetic),
   * floor(number / population), the usual reading of "generation" for steady-state evolution.
   */
  readonly generation: number | null;
  readonly attempt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly durationMs: number | null;
}

export interface TrialPage {
  /** Trials that pass the filter (before limit/offset). */
  readonly total: number;
  readonly trials: readonly TrialRow[];
}

export interface IntermediatePoint {
  readonly step: number;
  /** Finite values only (JSON has no NaN); see `nonFinite`. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Metrics reported as NaN or +-Infinity at this step (a diverged loss), when any. */
  readonly nonFinite?: Readonly<Record<string, NonFinite>>;
}

export type NonFinite = 'NaN' | 'Infinity' | '-Infinity';

export interface TrialDetail extends TrialRow {
  /** Final metrics reported as NaN or +-Infinity (left out of `metrics`). */
  readonly nonFinite: Readonly<Record<string, NonFinite>>;
  readonly arch: unknown;
  readonly intermediate: readonly IntermediatePoint[];
  readonly message: string | null;
}

export interface CurvePoint {
  readonly number: number;
  /** Seconds since the study's first trial started, when known. */
  readonly t: number | null;
  readonly value: number;
  readonly best: number;
}

export interface CompareResult {
  readonly studies: readonly {
    readonly study: StudySummary;
    readonly curve: readonly CurvePoint[];
    /** Multi-objective studies of the same objectives: the Pareto set's size and hypervolume, bounded by `hypervolume.ref`. */
    readonly pareto?: { readonly size: number; readonly hypervolume: number | null };
  }[];
  /**
   * When every compared study has the same two or more objectives: the ONE reference point all
   * their hypervolumes are bounded by (given as `ref`, or shared: 10% of the range beyond the worst
   * complete trial of any of them), so they compare. Null with a reason when they differ.
   */
  readonly hypervolume?: { readonly metrics: readonly string[]; readonly ref: readonly number[] | null; readonly refSource: RefSource; readonly note: string } | { readonly ref: null; readonly note: string };
}

/** A trial drawn as a point (a sample of them when the study is large; see `sampled`). */
export interface SeriesPoint {
  readonly number: number;
  readonly state: DashTrialState;
  readonly value: number;
  readonly generation: number | null;
}

export interface ImportanceItem {
  readonly name: string;
  /** PED-ANOVA score (src/report/analysis.ts `pedAnova`): what the ranking uses. */
  readonly ped: number;
  /** Correlation ratio eta^2 in [0, 1]. */
  readonly eta2: number;
  readonly groups: readonly { readonly label: string; readonly count: number; readonly mean: number; readonly topCount: number }[];
}

export interface ParetoSeries {
  readonly x: string;
  readonly y: string;
  readonly dirX: 'maximize' | 'minimize';
  readonly dirY: 'maximize' | 'minimize';
  /** Complete trials with both metrics finite: the front is computed over all of them. */
  readonly of: number;
  /** Every Pareto-optimal trial, sorted by x. */
  readonly front: readonly { readonly number: number; readonly x: number; readonly y: number }[];
  /** Dominated trials drawn (a sample when there are more than the limit). */
  readonly others: readonly { readonly number: number; readonly x: number; readonly y: number }[];
  readonly sampled: boolean;
}

/**
 * Everything the study view draws, computed on the server over every trial of the study. Charts
 * with one mark per trial get a sample (`points`, `pareto.others`, `sliceRows`: at most
 * SERIES_MAX_POINTS, always including every best-so-far improvement and every front member);
 * the best-so-far curve, fronts, hypervolume, importance and the distribution use all trials.
 */
export interface StudySeries {
  readonly total: number;
  /** Trials with a finite objective value (complete or pruned): what `points` samples. */
  readonly withValue: number;
  readonly points: readonly SeriesPoint[];
  readonly sampled: boolean;
  readonly maxGeneration: number | null;
  /** Best so far over all complete trials: one point per improvement, plus the last trial. */
  readonly best: readonly CurvePoint[];
  readonly pareto: ParetoSeries | null;
  readonly importance: readonly ImportanceItem[];
  /**
   * Complete trials `importance` was computed over: all of them, or (a live study) those of a
   * version at most 1% smaller (src/report/series.ts IMPORTANCE_REFRESH); 0 when `partial`.
   */
  readonly importanceOver: number;
  /** Empirical distribution of the first objective over all complete trials. */
  readonly edf: { readonly n: number; readonly points: readonly { readonly x: number; readonly y: number }[] };
  /**
   * Multi-objective studies (any number of objectives): the hypervolume of the feasible Pareto set
   * after each trial that changed it, bounded by the study's own reference point (src/api/pareto.ts
   * hypervolumeHistory; `refText` states the point; the last entry is what `tsnas status` gives).
   */
  readonly hypervolume: HypervolumeHistory | null;
  /** Every trial that started, per worker, as bars (src/report/series.ts timelineBars). */
  readonly timeline: TimelineBars;
  /** Parameters for slice and parallel-coordinate plots: the top ones by importance. */
  readonly sliceParams: readonly string[];
  /** Sampled complete trials: their value and sliceParams values (null when absent). */
  readonly sliceRows: readonly { readonly number: number; readonly value: number; readonly params: readonly ParamValue[]; readonly objectives: readonly (number | null)[] }[];
  /** What the study's user attributes say about its final results (retraining, export...). */
  readonly finalResults: FinalResults | null;
  /**
   * True when computed without the trials' architectures (StudyOverview.complete false):
   * `importance`, `sliceParams` and `sliceRows` are empty until the full series is read.
   */
  readonly partial?: boolean;
}

/**
 * The timeline of trials per worker, down-sampled to what a chart can draw: the trials of one
 * state in one lane whose bars overlap or lie within `span / columns` seconds of each other are
 * merged into one bar that says how many trials it holds. Every started trial is in exactly one
 * bar (`trials` = the sum of the counts); `merged` says whether any bar holds more than one.
 * Times are seconds since the first start; a running trial's bar ends at null (now) and is never
 * merged. `reruns` are the attempts > 1 (re-runs after a lost lease), merged the same way, drawn
 * outlined over the bars they are also counted in.
 */
export interface TimelineBars {
  readonly workers: readonly string[];
  readonly trials: number;
  /** Seconds from the first start to the latest start or finish. */
  readonly span: number;
  readonly columns: number;
  readonly merged: boolean;
  readonly bars: readonly TimelineGroup[];
  readonly reruns: TimelineRuns | null;
}

/** Bars, columnar: lane (index into `workers`), start and end (s), trials in the bar. */
export interface TimelineRuns {
  readonly worker: readonly number[];
  readonly start: readonly number[];
  readonly end: readonly (number | null)[];
  readonly count: readonly number[];
}

/** The bars of trials in one state. */
export interface TimelineGroup extends TimelineRuns {
  readonly state: DashTrialState;
}

/** The study view's first row: every trial's value (a sample) and the best so far (every trial). */
export type TrialChart = Pick<StudySeries, 'total' | 'withValue' | 'points' | 'sampled' | 'maxGeneration' | 'best'>;

/**
 * The study view's first answer (`/api/studies/:id/head`): the study's summary and its first
 * chart. Unless the study's full rows are cached, both come from the study's view: one columnar
 * read of every trial (Store.listTrialColumns) from which the whole overview is computed at once,
 * so the overview asked for next is answered without reading again. Drawn by the same function
 * as StudySeries' (src/report/series.ts `trialChart`): for the same `version` the chart is the
 * overview's, point for point, so the view keeps it.
 */
export interface StudyHead {
  readonly study: StudySummary;
  readonly version: string;
  readonly chart: TrialChart;
}

/**
 * The study and every chart's series (`/api/studies/:id/overview`), computed over every trial:
 * from the study's full rows when they are cached (a live study is kept up to date
 * incrementally), else from its view (see StudyHead), which reads the architectures as parameter
 * columns without making a row object of each. `complete` is true: the series is never partial
 * (kept for clients that ask for `/series` when it is false).
 */
export interface StudyOverview {
  readonly detail: StudyDetail;
  readonly series: StudySeries;
  readonly complete: boolean;
}

/** A study's results after the search, read from its user attributes (see `finalResultsOf`). */
export interface FinalResults {
  /** Label -> value rows, e.g. `test_acc` -> 91.26, in the order found. */
  readonly sections: readonly { readonly title: string; readonly rows: readonly { readonly key: string; readonly value: string }[] }[];
}

export const SERIES_MAX_POINTS = 2000;

/**
 * A one-shot study's search as recorded by src/oneshot (docs/oneshot.md, format
 * `tsnas.oneshot/1`): the method, the per-epoch softmax(alpha) of every edge (`tsnas.alpha/1`),
 * and the derived architecture. Alpha is null for methods without one (SPOS).
 */
export interface OneShotView {
  readonly method: string;
  readonly space: string;
  readonly guard: string | null;
  readonly searchTrial: number;
  readonly derivedTrial: number | null;
  readonly searchState: DashTrialState | null;
  /**
   * The search trial's negligible-margin warning (user attribute `indecision`, src/oneshot/
   * indecision.ts): the derived choices were close to random. Null when there is none.
   */
  readonly indecision: string | null;
  readonly alpha: {
    readonly edges: readonly { readonly name: string; readonly cell: string; readonly from: number; readonly to: number; readonly ops: readonly string[] }[];
    readonly epochs: readonly { readonly epoch: number; readonly probs: readonly (readonly number[])[] }[];
  } | null;
  readonly derived: unknown;
}

// ---------------------------------------------------------------------------------------------
// Queries


export interface TrialQuery {
  readonly states?: readonly DashTrialState[];
  /** `number` (default), `state`, `value`, `duration`, `started`, `metric:<name>` or `param:<name>`. */
  readonly sort?: string;
  readonly order?: 'asc' | 'desc';
  /** Case-insensitive substring over the trial's parameters (`name=value`) and arch key. */
  readonly q?: string;
  readonly limit?: number;
  readonly offset?: number;
}

/** The read-only view of a store that the dashboard server uses. */
export interface DashboardSource {
  studies(): Promise<StudySummary[]>;
  study(id: number): Promise<StudyDetail>;
  /**
   * A page of the trial table. A page from the study's view (its rows read column by column)
   * reads the trials' arch keys, which a search needs, behind it: once `opts.readAfter` settles
   * (the answer is out), else on the next turn of the event loop.
   */
  trials(id: number, query?: TrialQuery, opts?: { readonly readAfter?: Promise<unknown> }): Promise<TrialPage>;
  trial(id: number, number: number): Promise<TrialDetail>;
  /** The study view's charts, over every trial (see StudySeries). */
  series(id: number): Promise<StudySeries>;
  /**
   * The study's summary and first chart, quickly on a study not read yet (see StudyHead). The
   * rest of the study's view is computed once `opts.readAfter` settles (as `overview`).
   */
  head(id: number, opts?: { readonly readAfter?: Promise<unknown> }): Promise<StudyHead>;
  /**
   * The study and its series (see StudyOverview). On a live study that answer starts the study's
   * full read behind it (kept up to date incrementally from then on): once `opts.readAfter`
   * settles (the HTTP layer passes "this answer has been sent", so a compressed answer is not
   * held up by the read), else on the next turn of the event loop.
   */
  overview(id: number, opts?: { readonly readAfter?: Promise<unknown> }): Promise<StudyOverview>;
  /** The Pareto front of metrics x and y over every complete trial. */
  pareto(id: number, x: string, y: string): Promise<ParetoSeries>;
  /** A one-shot study's alpha history and derived architecture; null for other studies. */
  oneshot(id: number): Promise<OneShotView | null>;
  /** `refPoint`: the hypervolume's reference point for multi-objective studies (else one shared by them). */
  compare(ids: readonly number[], refPoint?: readonly number[]): Promise<CompareResult>;
  /** study id -> version string; a changed version means the study changed. */
  versions(): Promise<Record<string, string>>;
  /**
   * Reads the most recently updated studies (as many as the cache keeps) and computes their
   * series in the background. Never rejects: a failure here shows again on the study's view.
   */
  warm(): Promise<void>;
  close(): Promise<void>;
}

/** Opens `url` (sqlite:..., postgres://...) read-only: nothing is migrated or written. */
export async function openDashboardSource(url: string): Promise<DashboardSource> {
  const store = await openStore(url, { readOnly: true });
  return dashboardSource(store, true);
}

/**
 * A cached study is re-read in full at most this often (ms); in between, a changed study is
 * brought up to date incrementally (Store.listTrialsSince: new trials and the ones seen open).
 */
const FULL_READ_MS = 120_000;
const CACHE_STUDIES = 4;
/** Trials per page of a full read (see `read`). */
const READ_CHUNK = 2000;

interface StudyRows {
  readonly version: string;
  /** When the rows were last read in full (ms since epoch). */
  readonly fullAt: number;
  /** The study record's own updatedAt (state, attributes) at that read. */
  readonly studyUpdatedAt: number | null;
  /** Every trial as a row, by number. */
  readonly rows: TrialRow[];
  /** Per row: the worker of its latest attempt. */
  readonly workers: (string | null)[];
  /** Trials whose user attributes hold final results, with those attributes. */
  readonly finals: { number: number; attrs: Record<string, unknown> }[];
  /** Union of metric names and of parameter names over the rows, sorted. */
  readonly metricNames: readonly string[];
  readonly paramNames: readonly string[];
  /**
   * Rows read column by column for the study view (readFull): their params, as columns (name ->
   * value per row, undefined: absent), since those rows carry none (NO_PARAMS). What a parameter
   * sort of the trial table is ordered by when the full rows are not cached.
   */
  readonly paramColumns?: ReadonlyMap<string, readonly (LeafValue | undefined)[]>;
  /** Latest trial start or finish (ms), 0 when none. */
  readonly latest: number;
  /** Numbers of the trials that were waiting or running when read (re-read on a change). */
  readonly open: readonly number[];
  /** The study's best trial by Store.bestTrial's rule, from the rows read (see bestAmong). */
  readonly best: BestCandidate | null;
  /** The study's series, once computed for this version. */
  series?: StudySeries;
  /** The series of the version this one was updated from (its importance may be kept). */
  previous?: StudySeries;
}

/** What the best-trial rule looks at, kept per cached study. */
type BestCandidate = Pick<TrialOutcome, 'id' | 'number' | 'state' | 'values' | 'metrics' | 'budget'>;

/**
 * The best of `prev` (the best of the trials seen before) and `trials`, by the rule of
 * Store.bestTrial for the first objective (store/common `bestOf`: budget, value, the objective's
 * tie-break, constraints; equal, the lower number). Lets a read that has every trial anyway
 * answer the summary's best without the store's own best-trial query (a sort of every trial).
 */
function bestAmong(s: StudyRecord, prev: BestCandidate | null, trials: readonly BestCandidate[]): BestCandidate | null {
  const o = objectiveOf(s, 0);
  const list: BestCandidate[] = prev && !trials.some((t) => t.number === prev.number) ? [prev, ...trials] : [...trials];
  if (prev && trials.some((t) => t.number < prev.number)) list.sort((a, b) => a.number - b.number);
  const b = bestOf(list, 0, o.direction, studyConstraints(s), o.tieBreak);
  return b && { id: b.id, number: b.number, state: b.state, values: b.values, metrics: b.metrics, budget: b.budget };
}

/** `s` with its best trial taken from the cached rows (what Store.bestTrial would answer). */
function withBest(s: StoreStudySummary, r: StudyRows): StoreStudySummary {
  const v = r.best?.values?.[0];
  return { ...s, best: r.best && typeof v === 'number' ? { trialId: r.best.id, number: r.best.number, value: v } : null };
}

function rowsEntry(
  s: StoreStudySummary,
  version: string,
  fullAt: number,
  rows: TrialRow[],
  workers: (string | null)[],
  attrs: readonly Record<string, unknown>[],
  best: BestCandidate | null,
  knownParamNames?: readonly string[],
): StudyRows {
  const metricNames = new Set<string>();
  const paramNames = new Set<string>(knownParamNames);
  const finals: { number: number; attrs: Record<string, unknown> }[] = [];
  const open: number[] = [];
  let latest = 0;
  for (let i = 0; i < rows.length; i++) {
    const t = rows[i]!;
    for (const k in t.metrics) metricNames.add(k);
    for (const k in t.params) paramNames.add(k);
    if (t.startedAt !== null && t.startedAt > latest) latest = t.startedAt;
    if (t.finishedAt !== null && t.finishedAt > latest) latest = t.finishedAt;
    if (t.state === 'waiting' || t.state === 'running') open.push(t.number);
    const a = attrs[i]!;
    for (const k in a) {
      if (isFinalKey(k)) {
        finals.push({ number: t.number, attrs: a });
        break;
      }
    }
  }
  return {
    version,
    fullAt,
    studyUpdatedAt: s.updatedAt,
    rows,
    workers,
    finals,
    metricNames: [...metricNames].sort(),
    paramNames: [...paramNames].sort(),
    latest,
    open,
    best,
  };
}

/**
 * `prev` with the rows at indices `at` (attributes `attrs`) new or changed: only those are
 * scanned. The other rows were closed (complete, pruned, failed) when read and closed trials do
 * not change, so the open ones are among `at`; names only accumulate until the next full read.
 */
function updatedEntry(
  prev: StudyRows,
  s: StoreStudySummary,
  version: string,
  rows: TrialRow[],
  workers: (string | null)[],
  at: readonly number[],
  attrs: readonly Record<string, unknown>[],
  best: BestCandidate | null,
): StudyRows {
  const metricNames = new Set(prev.metricNames);
  const paramNames = new Set(prev.paramNames);
  const changed = new Set(at.map((i) => rows[i]!.number));
  const finals = prev.finals.filter((f) => !changed.has(f.number));
  const open: number[] = [];
  let latest = prev.latest;
  at.forEach((i, k) => {
    const t = rows[i]!;
    for (const m in t.metrics) metricNames.add(m);
    for (const p in t.params) paramNames.add(p);
    if (t.startedAt !== null && t.startedAt > latest) latest = t.startedAt;
    if (t.finishedAt !== null && t.finishedAt > latest) latest = t.finishedAt;
    if (t.state === 'waiting' || t.state === 'running') open.push(t.number);
    const a = attrs[k]!;
    if (Object.keys(a).some(isFinalKey)) finals.push({ number: t.number, attrs: a });
  });
  finals.sort((x, y) => x.number - y.number);
  open.sort((x, y) => x - y);
  return {
    version,
    fullAt: prev.fullAt,
    studyUpdatedAt: s.updatedAt,
    rows,
    workers,
    finals,
    metricNames: [...metricNames].sort(),
    paramNames: [...paramNames].sort(),
    latest,
    open,
    best,
    previous: prev.series ?? prev.previous,
  };
}

/** Wraps an already open store; `owns` says whether close() closes it. */
export function dashboardSource(store: Store, owns = false): DashboardSource {
  // The record and its counts (what a version is made of), without the best-trial query: the
  // routes that show a best trial take it from the rows they read anyway (withBest).
  const requireCounted = async (id: number): Promise<StoreStudySummary> => {
    const s = await requireRecord(id);
    return { ...s, counts: await store.countTrials(s.id), best: null };
  };
  // Routes that need only the study's record (paging, one trial, Pareto, one-shot) skip the
  // summaries (whose best-trial queries sort every trial of every study).
  const requireRecord = async (id: number): Promise<StudyRecord> => {
    const s = await store.getStudy(toStudyId(id));
    if (s) return s;
    const all = await store.listStudyCounts();
    throw new NasError('not_found', `no study with id ${id}`, {
      field: 'studyId',
      hint: all.length ? `existing ids: ${all.map((x) => x.id).join(', ')}` : 'the store holds no study yet',
    });
  };
  // Every trial of a study as rows, kept per study version (the view, its charts, the Pareto
  // picker and parameter sorts all read the same rows); a few studies are kept. A changed study
  // is updated from the trials created since and those seen open; a change of the study record
  // itself (state, attributes) or an old copy is read again in full. Concurrent callers share
  // one read.
  let closed = false;
  const cache = new Map<number, StudyRows>();
  const pending = new Map<number, { version: string; p: Promise<StudyRows> }>();
  const read = async (s: StoreStudySummary, version: string, hit: StudyRows | undefined): Promise<StudyRows> => {
    const pop = populationOf(s);
    const now = Date.now();
    if (hit && hit.studyUpdatedAt === s.updatedAt && now - hit.fullAt < FULL_READ_MS) {
      const from = hit.rows.length;
      const changed = await store.listTrialsSince(s.id, from, hit.open);
      const rows = hit.rows.slice();
      const workers = hit.workers.slice();
      const at: number[] = [];
      for (const t of changed) {
        const i = t.number < from ? rowIndex(rows, t.number) : rows.length;
        rows[i] = toRow(s, t, pop);
        workers[i] = t.workerId;
        at.push(i);
      }
      return updatedEntry(hit, s, version, rows, workers, at, changed.map((t) => t.userAttrs), bestAmong(s, hit.best, changed));
    }
    // In pages of READ_CHUNK trials with a turn of the event loop between them: reading and
    // flattening 20,000 architectures is a second or more, during which the server would
    // otherwise answer nothing (not the overview just sent, not the live-update stream).
    const rows: TrialRow[] = [];
    const workers: (string | null)[] = [];
    const attrs: Record<string, unknown>[] = [];
    let best: BestCandidate | null = null;
    for (let offset = 0; ; offset += READ_CHUNK) {
      const part = await store.listTrials(s.id, { limit: READ_CHUNK, offset });
      best = bestAmong(s, best, part);
      for (const t of part) {
        rows.push(toRow(s, t, pop));
        workers.push(t.workerId);
        attrs.push(t.userAttrs);
      }
      if (part.length < READ_CHUNK || closed) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return rowsEntry(s, version, now, rows, workers, attrs, best);
  };
  const allRows = async (s: StoreStudySummary): Promise<StudyRows> => {
    const version = versionOf(s);
    const hit = cache.get(s.id);
    if (hit && hit.version === version && Date.now() - hit.fullAt < FULL_READ_MS) return hit;
    const inflight = pending.get(s.id);
    if (inflight && inflight.version === version) return inflight.p;
    const p = read(s, version, hit).then(
      (entry) => {
        if (pending.get(s.id)?.p === p) pending.delete(s.id);
        cache.delete(s.id);
        cache.set(s.id, entry);
        while (cache.size > CACHE_STUDIES) cache.delete(cache.keys().next().value!);
        return entry;
      },
      (e: unknown) => {
        if (pending.get(s.id)?.p === p) pending.delete(s.id);
        throw e;
      },
    );
    pending.set(s.id, { version, p });
    return p;
  };
  const seriesOf = (s: StoreStudySummary, r: StudyRows): StudySeries => {
    if (!r.series) {
      r.series = studySeries(s, r, SERIES_MAX_POINTS, finalResultsOf(s.userAttrs, r.finals), r.previous ? { previous: r.previous } : {});
      r.previous = undefined;
    }
    return r.series;
  };
  // Studies read column by column for their view (Store.listTrialColumns), per version, in two
  // steps: `first`, the rows without params (the summary and the trial chart need no more), then,
  // once `go()` is called (by the head after its answer is out, so that it is not held up; by any
  // other route at once), `full`: the architectures flattened into parameter columns and the
  // complete series. What the study view of a study whose full rows are not cached is drawn from.
  interface ViewRead {
    readonly version: string;
    readonly first: Promise<StudyRows>;
    readonly full: Promise<StudyRows>;
    readonly go: () => void;
    /**
     * Each row's arch key (the rows carry null), read on the first call: a search of the trial
     * table needs them, the charts do not, and a key is often as long as the architecture (a
     * DARTS key: ~560 characters, 11 MB at 20,000 trials), so they are not read with the view.
     */
    readonly keys: () => Promise<readonly (string | null)[]>;
  }
  const views = new Map<number, ViewRead>();
  const readFirst = async (s: StoreStudySummary, version: string): Promise<{ c: TrialColumns; entry: StudyRows }> => {
    const c = await store.listTrialColumns(s.id);
    const pop = populationOf(s);
    const n = c.count;
    const rows = new Array<TrialRow>(n);
    const candidates: BestCandidate[] = [];
    for (let i = 0; i < n; i++) {
      rows[i] = rowOfColumns(s, c, i, pop);
      const v0 = c.value0[i]!;
      // Only complete trials with a finite first value can be the best (bestOf skips the rest).
      if (c.state[i] === 'complete' && !Number.isNaN(v0)) {
        const budget = c.budget[i]!;
        candidates.push({ id: trialId(c.id[i]!), number: c.number[i]!, state: 'complete', values: [v0], metrics: c.metrics[i] ?? null, budget: Number.isNaN(budget) ? null : budget });
      }
    }
    return { c, entry: rowsEntry(s, version, Date.now(), rows, [...c.workerId], c.userAttrs, bestAmong(s, null, candidates)) };
  };
  const readFull = async (s: StoreStudySummary, c: TrialColumns, archs: TrialArchitectures, first: StudyRows): Promise<StudyRows> => {
    const n = c.count;
    // Each trial's architecture text, matched by number (a separate read: a trial created
    // between the two reads may be missing from it, when it ran first; then it is read again).
    let texts = archTextsOf(c, archs);
    if (texts === null) texts = archTextsOf(c, await store.listTrialArchitectures(s.id));
    if (texts === null) {
      throw storageError('other', `study ${s.id}: a trial's architecture is missing from its read`, { hint: 'reload the page; if it persists, the database lost rows: check it' });
    }
    // TrialRow.params of every trial, as columns (name -> value per trial, undefined: absent):
    // each architecture is flattened into them straight from its text (ArchColumns: texts of a
    // shape seen before are cut into values without being parsed), then its own params.
    const cols = new ArchColumns(n, archLeavesInto, (text, i) => parseArch(text, c.number[i]!));
    for (let i = 0; i < n; i++) {
      cols.add(i, texts[i]!);
      ownParamsInto(c.params[i]!, (path, v) => cols.set(i, path, v), (path) => cols.get(i, path));
    }
    const params = cols.columns;
    const entry: StudyRows = { ...first, paramNames: [...params.keys()].sort(), paramColumns: params };
    entry.series = studySeries(s, { ...entry, params }, SERIES_MAX_POINTS, finalResultsOf(s.userAttrs, entry.finals));
    return entry;
  };
  const viewOf = (s: StoreStudySummary, version: string): ViewRead => {
    let v = views.get(s.id);
    if (!v || v.version !== version) {
      let go!: () => void;
      const started = new Promise<void>((resolve) => (go = resolve));
      const read = readFirst(s, version);
      const first = read.then((r) => r.entry);
      // The architectures: read at once beside the columns where reads run side by side (a
      // connection pool), else once the first step's answer is out (a synchronous read would
      // hold it up).
      const archs = store.concurrentReads ? store.listTrialArchitectures(s.id) : started.then(() => store.listTrialArchitectures(s.id));
      archs.catch(() => undefined);
      const full = Promise.all([read, archs, started]).then(([r, a]) => readFull(s, r.c, a, r.entry));
      let keys: Promise<readonly (string | null)[]> | undefined;
      // In parts of READ_CHUNK trials with a turn of the event loop between them, so that the
      // requests that come meanwhile are answered (SQLite reads synchronously, ~50 ms for 20,000
      // DARTS keys in one; on PostgreSQL one read competed with the next page: 90 ms, bench).
      const readKeys = async (): Promise<TrialArchKeys> => {
        const number: number[] = [];
        const key: (string | null)[] = [];
        for (let from = 0; ; ) {
          const part = await store.listTrialArchKeys(s.id, { fromNumber: from, limit: READ_CHUNK });
          for (let i = 0; i < part.count; i++) {
            number.push(part.number[i]!);
            key.push(part.key[i]!);
          }
          if (part.count < READ_CHUNK || closed) break;
          from = part.number[part.count - 1]! + 1;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        return { count: number.length, number: Float64Array.from(number), key };
      };
      const keysOf = (): Promise<readonly (string | null)[]> => {
        if (keys) return keys;
        const p = read.then(async ({ c }) => {
          // a separate read: a trial created between the two may be in one and not the other
          const byRow = async () => {
            const k = await readKeys();
            return byNumberOf(c, k.number, k.count, k.key);
          };
          const out = (await byRow()) ?? (await byRow());
          if (out === null) throw storageError('other', `study ${s.id}: a trial's arch key is missing from its read`, { hint: 'reload the page; if it persists, the database lost rows: check it' });
          return out;
        });
        keys = p;
        // a failed read is tried again by the next search
        p.catch(() => {
          if (keys === p) keys = undefined;
        });
        return p;
      };
      const view: ViewRead = { version, first, full, go, keys: keysOf };
      v = view;
      views.delete(s.id);
      views.set(s.id, view);
      while (views.size > CACHE_STUDIES) views.delete(views.keys().next().value!);
      const drop = (): void => {
        if (views.get(s.id) === view) views.delete(s.id);
      };
      first.catch(drop);
      full.catch(drop);

    }
    return v;
  };
  /** The study's view, complete (see ViewRead). */
  const viewFull = (s: StoreStudySummary, version: string): Promise<StudyRows> => {
    const v = viewOf(s, version);
    v.go();
    return v.full;
  };
  /** The full rows of `s`'s version when cached (not too old), else undefined. */
  const cachedRows = (s: StoreStudySummary, version: string): StudyRows | undefined => {
    const hit = cache.get(s.id);
    return hit && hit.version === version && Date.now() - hit.fullAt < FULL_READ_MS ? hit : undefined;
  };
  /**
   * Rows for charts that need no params (Pareto, best-so-far curves): the full rows when cached or
   * being read, else the study's view.
   */
  const chartRows = async (s: StoreStudySummary): Promise<StudyRows> => {
    const version = versionOf(s);
    return cachedRows(s, version) ?? (pending.get(s.id)?.version === version ? allRows(s) : viewFull(s, version));
  };
  const detailOf = (s: StoreStudySummary, r: StudyRows): StudyDetail => {
    const summary = toSummary(s);
    return {
      study: r.latest > 0 ? { ...summary, updatedAt: Math.max(summary.updatedAt ?? 0, r.latest) } : summary,
      config: {
        strategy: s.strategy,
        space: s.space,
        evaluator: s.evaluator,
        objectives: s.objectives,
        constraints: s.constraints,
        seed: s.seed,
        maxTrials: s.maxTrials,
        config: s.config,
        userAttrs: s.userAttrs,
      },
      metricNames: r.metricNames,
      paramNames: r.paramNames,
      version: versionOf(s),
    };
  };
  return {
    async studies() {
      return (await store.listStudies()).map(toSummary);
    },
    async study(id) {
      const s = await requireCounted(id);
      const r = await allRows(s);
      return detailOf(withBest(s, r), r);
    },
    async head(id, opts = {}) {
      const s = await requireCounted(id);
      const version = versionOf(s);
      // Full rows cached (even of an older version: brought up to date incrementally) or being
      // read: from them, as the overview.
      if (cache.has(s.id) || pending.has(s.id)) {
        const hit = await allRows(s);
        const sr = hit.series;
        const chart = sr
          ? { total: sr.total, withValue: sr.withValue, points: sr.points, sampled: sr.sampled, maxGeneration: sr.maxGeneration, best: sr.best }
          : trialChart(s, hit.rows, SERIES_MAX_POINTS).chart;
        return { study: detailOf(withBest(s, hit), hit).study, version, chart };
      }
      // The view's first step (the rows without params); its second step (every other chart,
      // for the overview asked for next) starts once this answer is on its way.
      const v = viewOf(s, version);
      const r = await v.first;
      if (opts.readAfter) opts.readAfter.then(v.go, v.go);
      else setImmediate(v.go);
      return { study: detailOf(withBest(s, r), r).study, version, chart: trialChart(s, r.rows, SERIES_MAX_POINTS).chart };
    },
    async overview(id, opts = {}) {
      const s = await requireCounted(id);
      const version = versionOf(s);
      // A study whose full rows are cached (even of an older version: brought up to date
      // incrementally) or being read: from them.
      if (cache.has(s.id) || pending.has(s.id)) {
        const r = await allRows(s);
        return { detail: detailOf(withBest(s, r), r), series: seriesOf(s, r), complete: true };
      }
      const r = await viewFull(s, version);
      // A live study changes with every trial: its full rows, once read, are then kept up to date
      // incrementally instead of the whole study being read again per version. Read behind this
      // answer, once it is on its way.
      if (toSummary(s).live) {
        const readBehind = (): void => {
          if (!closed) allRows(s).then((full) => seriesOf(s, full), () => undefined);
        };
        if (opts.readAfter) opts.readAfter.then(readBehind, readBehind);
        else setImmediate(readBehind);
      }
      return { detail: detailOf(withBest(s, r), r), series: r.series!, complete: true };
    },
    async trials(id, query = {}, opts = {}) {
      // Pages come from the cached rows of the study's current version when they are there (every
      // sort order computed once per version, then each page is a slice); else from the rows of
      // the study's view (its current version's, or read for a parameter sort or a filter) and
      // the page's trials read in full; otherwise from one SQL query (ORDER BY ... LIMIT).
      const sort = query.sort ?? 'number';
      const counted = await requireCounted(id);
      const version = versionOf(counted);
      const hit = cache.get(counted.id);
      const filtered = (query.q ?? '').trim() !== '';
      // A sort by a metric or parameter no trial has is refused, as the Pareto chart's names are.
      const named = sort.startsWith('metric:') || sort.startsWith('param:');
      if (hit && hit.version === version) {
        const r = await allRows(counted);
        if (named) checkSortName(sort, counted, r);
        return queryTrials(r.rows, { limit: DEFAULT_LIMIT, ...query });
      }
      const param = sort.startsWith('param:');
      const view = views.get(counted.id);
      if (!cache.has(counted.id) && !pending.has(counted.id) && (param || filtered || view?.version === version)) {
        // Ordered and filtered from the study view's rows (read for the view, most often already
        // there; a parameter sort and a filter by its parameter and arch-key columns): reading and
        // flattening every full row for a parameter sort or a filter took ~1 s at 20,000 trials,
        // and a metric sort in SQL parses every trial's metrics (~100 ms on PostgreSQL). The page's
        // own trials are then read in full. Pages are those of cached full rows (the same TrialRow
        // values, the same params as columns). A study whose full rows are cached or being read
        // (of an older version: updated incrementally) is paged from them.
        const withParams = param || filtered;
        const r = withParams ? await viewFull(counted, version) : await view!.first;
        if (named) checkSortName(sort, counted, r);
        const page = queryTrials(r.rows, { limit: DEFAULT_LIMIT, ...query }, withParams && r.paramColumns ? {
          params: r.paramColumns,
          archKeys: filtered ? await viewOf(counted, version).keys() : null,
        } : undefined);
        // The table is open: its search box's first term will need the arch keys. Read behind
        // this answer, once it is out (a search right away waits for that read instead of
        // starting its own); on SQLite the read holds the thread, so not before the answer.
        const readKeys = (): void => {
          if (filtered) return;
          const start = (): void => {
            const v = views.get(counted.id);
            if (!closed && v?.version === version) v.keys().catch(() => undefined);
          };
          if (opts.readAfter) opts.readAfter.then(start, start);
          else setImmediate(start);
        };
        if (page.trials.length === 0) {
          readKeys();
          return page;
        }
        const pop = populationOf(counted);
        const full = new Map((await store.listTrialsSince(counted.id, MAX_TRIAL_NUMBER, page.trials.map((t) => t.number))).map((t) => [t.number, toRow(counted, t, pop)]));
        readKeys();
        return { total: page.total, trials: page.trials.map((t) => full.get(t.number) ?? t) };
      }
      if (param || filtered) {
        const r = await allRows(counted);
        if (named) checkSortName(sort, counted, r);
        return queryTrials(r.rows, { limit: DEFAULT_LIMIT, ...query });
      }
      const s: StudyRecord = counted;
      const pq = toPageQuery(query);
      const pop = populationOf(s);
      const page = await store.pageTrials(s.id, pq);
      // Sorted with missing values last: a first row without the metric (or no row of a study
      // with trials) may mean no trial has it; the study's metric names say (read only then).
      if (pq.sortBy === 'metric' && (page.trials.length === 0 ? page.total > 0 || (query.offset ?? 0) > 0 : !Number.isFinite(page.trials[0]!.metrics?.[pq.metric!] ?? NaN)))
        checkSortName(sort, counted, await chartRows(counted));
      return { total: page.total, trials: page.trials.map((t) => toRow(s, t, pop)) };
    },
    async trial(id, number) {
      const s = await requireRecord(id);
      const t = await store.getTrialByNumber(s.id, number);
      if (!t) {
        const counts = await store.countTrials(s.id);
        throw new NasError('not_found', counts.total === 0 ? `study ${id} has no trials yet` : `study ${id} has no trial number ${number}`, {
          field: 'trialNumber',
          hint: counts.total === 0 ? 'start the search (tsnas search) or wait for its first trial' : `trial numbers run from 0 to ${counts.total - 1}`,
        });
      }
      const inter = await store.getIntermediates(t.id);
      return {
        ...toRow(s, t),
        nonFinite: nonFiniteOf(t.metrics),
        arch: t.arch,
        intermediate: inter.map((r) => {
          const bad = nonFiniteOf(r.metrics);
          return Object.keys(bad).length ? { step: r.step, metrics: finiteOnly(r.metrics), nonFinite: bad } : { step: r.step, metrics: finiteOnly(r.metrics) };
        }),
        message: t.error,
      };
    },
    async series(id) {
      const s = await requireCounted(id);
      return seriesOf(s, await allRows(s));
    },
    async pareto(id, x, y) {
      const s = await requireCounted(id);
      const r = await chartRows(s);
      // A name no trial reports and no objective names is a mistake (an empty front said nothing):
      // refused as the trial filter refuses one, with the closest names.
      const known = [...new Set([...r.metricNames, ...s.objectives.map((o) => o.metric)])];
      for (const [field, name] of [['x', x], ['y', y]] as const)
        if (!known.includes(name))
          throw new NasError('invalid_config', `no metric is named ${JSON.stringify(name.slice(0, 60))} in study ${s.name}${didYouMeanMetric(name, known)}`, { field, hint: `use one of: ${nameList(known) || '(no metrics recorded yet)'}` });
      return paretoOf(s, r.rows, x, y);
    },
    async oneshot(id) {
      const s = await requireRecord(id);
      return oneShotOf(s.userAttrs, (n) => store.getTrialByNumber(s.id, n));
    },
    async compare(ids, refPoint) {
      const out: { study: StudySummary; curve: CurvePoint[] }[] = [];
      const fronts: { s: StoreStudySummary; rows: ParetoTrial[] }[] = [];
      for (const id of ids) {
        const s = await requireCounted(id);
        const r = await chartRows(s);
        out.push({ study: toSummary(withBest(s, r)), curve: bestCurve(s, r.rows) });
        // Objective values as the study view reads them (rowTrial: the candidate value first, so the
        // one-shot supernet trial is no front member), for the fronts below.
        fronts.push({ s, rows: r.rows.map((t) => rowTrial(t, s.objectives)) });
      }
      const sig = (s: StoreStudySummary) => s.objectives.map((o) => `${o.metric}:${o.direction}`).join(',');
      const mo = fronts.filter((f) => f.s.objectives.length > 1);
      if (mo.length === 0) return { studies: out };
      if (mo.length !== fronts.length || new Set(fronts.map((f) => sig(f.s))).size > 1)
        return { studies: out, hypervolume: { ref: null, note: 'the studies have different objectives: their hypervolumes do not compare, none is given' } };
      const objectives = mo[0]!.s.objectives as readonly { metric: string; direction: 'maximize' | 'minimize' }[];
      if (refPoint && refPoint.length !== objectives.length)
        throw new NasError('invalid_config', `ref has ${refPoint.length} value(s); the studies have ${objectives.length} objectives (${objectives.map((o) => o.metric).join(', ')})`, { field: 'ref', hint: 'one value per objective, in order, e.g. ref=0,100' });
      const ref = refPoint ? [...refPoint] : referencePoint(fronts.flatMap((f) => referenceValues(f.rows, objectives)), objectives);
      const refSource: RefSource = refPoint ? 'given' : 'shared';
      // A point that bounds none of a study's front (pareto refPointProblem) is said in the note, naming the studies.
      const bounded: string[] = [];
      const studies = out.map((o, i) => {
        const set = paretoSet(fronts[i]!.s, fronts[i]!.rows);
        const hv = ref && set.trials.length ? hypervolumeOf(set.trials, objectives, ref, refSource) : null;
        if (hv?.warning) bounded.push(`${fronts[i]!.s.name}: ${hv.warning}`);
        return { ...o, pareto: { size: set.trials.length, hypervolume: hv ? hv.value : null } };
      });
      const note = ref === null ? 'no complete trial: no reference point' : refPointText({ ref, refSource }, objectives, fronts.length, 'ref=') + bounded.map((b) => `; ${b}`).join('');
      return { studies, hypervolume: { metrics: objectives.map((o) => o.metric), ref, refSource, note } };
    },
    async versions() {
      // Counts and the study record only: a finished trial changes the counts, so the best trial
      // (a sort of every trial) is not needed to notice a change.
      const v: Record<string, string> = {};
      for (const s of await store.listStudyCounts()) v[String(s.id)] = versionOf(s);
      return v;
    },
    async warm() {
      try {
        const recent = (await store.listStudyCounts()).sort((a, b) => b.updatedAt - a.updatedAt).slice(0, CACHE_STUDIES);
        for (const r of recent.reverse()) {
          if (closed) return;
          const s = await requireCounted(r.id);
          await viewFull(s, versionOf(s));
        }
      } catch {
        // the view reports it when it asks
      }
    },
    async close() {
      closed = true;
      cache.clear();
      views.clear();
      if (owns) await store.close();
    },
  };
}

/**
 * Reads the `tsnas.oneshot/1` record (docs/oneshot.md). Malformed parts are left out rather than
 * trusted: an alpha table whose rows do not match its edges' op lists is dropped.
 */
export async function oneShotOf(studyAttrs: Record<string, unknown>, trialByNumber: (n: number) => Promise<TrialRecord | null>): Promise<OneShotView | null> {
  const info = studyAttrs['oneshot'];
  if (!info || typeof info !== 'object' || (info as { format?: unknown }).format !== 'tsnas.oneshot/1') return null;
  const o = info as Record<string, unknown>;
  const searchTrial = typeof o['search_trial'] === 'number' ? o['search_trial'] : 0;
  const derivedTrial = typeof o['derived_trial'] === 'number' ? o['derived_trial'] : null;
  const t = await trialByNumber(searchTrial);
  let alpha: OneShotView['alpha'] = null;
  const a = t?.userAttrs['alpha'] as Record<string, unknown> | undefined;
  if (a && a['format'] === 'tsnas.alpha/1' && Array.isArray(a['edges']) && Array.isArray(a['epochs'])) {
    const edges = (a['edges'] as Record<string, unknown>[]).map((e, i) => ({
      name: typeof e['name'] === 'string' ? e['name'] : `e${i}`,
      cell: typeof e['cell'] === 'string' ? e['cell'] : 'cell',
      from: typeof e['from'] === 'number' ? e['from'] : 0,
      to: typeof e['to'] === 'number' ? e['to'] : 0,
      ops: Array.isArray(e['ops']) ? (e['ops'] as unknown[]).map(String) : [],
    }));
    const epochs = (a['epochs'] as Record<string, unknown>[])
      .filter((ep) => typeof ep['epoch'] === 'number' && Array.isArray(ep['probs']))
      .map((ep) => ({ epoch: ep['epoch'] as number, probs: (ep['probs'] as unknown[]).map((row) => (Array.isArray(row) ? row.map((x) => (typeof x === 'number' && Number.isFinite(x) ? x : 0)) : [])) }))
      .filter((ep) => ep.probs.length === edges.length && ep.probs.every((row, e) => row.length === edges[e]!.ops.length));
    alpha = { edges, epochs };
  }
  return {
    method: typeof o['method'] === 'string' ? o['method'] : '?',
    space: typeof o['space'] === 'string' ? o['space'] : '?',
    guard: typeof o['guard'] === 'string' ? o['guard'] : null,
    searchTrial,
    derivedTrial,
    searchState: t?.state ?? null,
    indecision: indecisionMessage(t?.userAttrs['indecision']),
    alpha,
    derived: t?.userAttrs['derived_arch'] ?? null,
  };
}

function indecisionMessage(v: unknown): string | null {
  const m = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)['message'] : undefined;
  return typeof m === 'string' ? m : null;
}

/** The API's trial query as a Store page query (`param:` sorts are answered from cached rows). */
function toPageQuery(query: TrialQuery): TrialPageQuery {
  const sort = query.sort ?? 'number';
  const order = query.order ?? 'asc';
  if (order !== 'asc' && order !== 'desc') {
    throw new NasError('invalid_config', `unknown order "${String(order)}"${didYouMeanValue(String(order), ['asc', 'desc'], ORDER_SYNONYMS)}`, { field: 'order', hint: 'use asc or desc' });
  }
  const limit = query.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new NasError('invalid_config', `limit must be an integer in 1..${MAX_LIMIT}`, { field: 'limit', hint: 'e.g. limit=50' });
  }
  const pq: TrialPageQuery = { desc: order === 'desc', limit, offset: query.offset ?? 0 };
  if (query.states && query.states.length) pq.states = [...query.states];
  const text = query.q?.trim();
  if (text) pq.text = text;
  if (sort.startsWith('metric:')) {
    pq.sortBy = 'metric';
    pq.metric = sort.slice(7);
  } else if ((SORT_KEYS as readonly string[]).includes(sort)) pq.sortBy = sort as TrialPageQuery['sortBy'];
  else {
    throw new NasError('invalid_config', `unknown sort key "${sort}"${didYouMeanValue(sort, SORT_KEYS)}`, {
      field: 'sort',
      hint: `use one of: ${SORT_KEYS.join(', ')}, metric:<name>, param:<name>`,
    });
  }
  return pq;
}

const FINAL_KEY = /final|retrain|baseline|compress|export|test_/i;
function isFinalKey(k: string): boolean {
  return FINAL_KEY.test(k) && !/^search_/.test(k);
}

/**
 * A study's final results as label/value rows: the study's user attributes whose names speak of
 * final training, retraining, baselines, compression or export (e.g. the main job's
 * `baseline_weights_path`), and the same on any trial (e.g. `final_training` on the winner).
 * Nested objects are flattened one level (`final_training.test_acc`). Null when there are none.
 */
export function finalResultsOf(studyAttrs: Record<string, unknown>, trials: readonly { number: number; attrs: Record<string, unknown> }[]): FinalResults | null {
  const sections: { title: string; rows: { key: string; value: string }[] }[] = [];
  const rowsOf = (attrs: Record<string, unknown>): { key: string; value: string }[] => {
    const out: { key: string; value: string }[] = [];
    for (const [k, v] of Object.entries(attrs)) {
      if (!isFinalKey(k)) continue;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) out.push({ key: `${k}.${k2}`, value: showValue(v2) });
      } else out.push({ key: k, value: showValue(v) });
    }
    return out;
  };
  const own = rowsOf(studyAttrs);
  if (own.length) sections.push({ title: 'study', rows: own });
  for (const t of trials) {
    const r = rowsOf(t.attrs);
    if (r.length) sections.push({ title: `trial ${t.number}`, rows: r });
  }
  return sections.length ? { sections } : null;
}

function showValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 10000) / 10000);
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function toSummary(s: StoreStudySummary): StudySummary {
  const { total, ...rest } = s.counts;
  const live = rest.running + rest.waiting > 0 && s.state === 'running';
  const used = total - rest.failed;
  const status: StudySummary['status'] = live
    ? 'running'
    : s.state === 'running'
      ? s.maxTrials !== null && used >= s.maxTrials
        ? 'finished'
        : 'idle'
      : s.state;
  return {
    id: s.id,
    name: s.name,
    strategy: s.strategy.name,
    space: s.space.name,
    evaluator: s.evaluator.name,
    objectives: s.objectives.map((o) => ({ metric: o.metric, direction: o.direction })),
    state: s.state,
    live,
    status,
    maxTrials: s.maxTrials,
    counts: rest,
    total,
    best: s.best ? { number: s.best.number, value: s.best.value } : null,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    searchSeconds: typeof s.userAttrs?.['search_seconds'] === 'number' ? s.userAttrs['search_seconds'] : null,
  };
}

function versionOf(s: Pick<StoreStudySummary, 'state' | 'counts' | 'updatedAt'>): string {
  const c = s.counts;
  return [s.state, c.total, c.waiting, c.running, c.complete, c.pruned, c.failed, s.updatedAt].join(':');
}

/** Index of trial `number` in rows ordered by number (numbers run 0, 1, 2... without gaps). */
function rowIndex(rows: readonly TrialRow[], number: number): number {
  if (rows[number]?.number === number) return number;
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const n = rows[mid]!.number;
    if (n === number) return mid;
    if (n < number) lo = mid + 1;
    else hi = mid - 1;
  }
  throw new NasError('internal', `trial number ${number} is not among the cached rows`);
}

function nonFiniteOf(m: Readonly<Record<string, number>> | null): Record<string, NonFinite> {
  const out: Record<string, NonFinite> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (!Number.isFinite(v)) out[k] = Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  return out;
}

/** `m` without its NaN and +-Infinity values: `m` itself when it has none (no copy per trial). */
function finiteOnly(m: Readonly<Record<string, number>> | null): Readonly<Record<string, number>> {
  // JSON cannot hold NaN/Infinity (a diverged loss); they are dropped from the API's view.
  if (m === null) return {};
  let all = true;
  for (const k in m) {
    if (!Number.isFinite(m[k])) {
      all = false;
      break;
    }
  }
  if (all) return m;
  const out: Record<string, number> = {};
  for (const k in m) {
    const v = m[k]!;
    if (Number.isFinite(v)) out[k] = v;
  }
  return out;
}

/**
 * Flattens JSON to leaf paths: `{ops: ['a','b']}` -> `{'ops[0]': 'a', 'ops[1]': 'b'}`. The
 * architecture's `family` tag is dropped (it is the same for every trial of a study).
 */
export function flattenParams(v: Json | undefined, prefix = '', out: Record<string, ParamValue> = {}): Record<string, ParamValue> {
  flattenInto(v, prefix, (path, x) => {
    out[path] = x;
  });
  return out;
}

/** `flattenParams` handing each leaf path and value to `set` (into an object, or into columns). */
function flattenInto(v: Json | undefined, prefix: string, set: (path: string, value: ParamValue) => void): void {
  if (v === undefined) return;
  if (v === null || typeof v !== 'object') {
    set(prefix || 'value', v);
    return;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) flattenInto(v[i], childPath(prefix, i), set);
    return;
  }
  for (const k in v) {
    const x = v[k];
    if (k === 'family' && typeof x === 'string') continue;
    flattenInto(x, childPath(prefix, k), set);
  }
}

// Leaf paths are the same strings for every trial of a study (`normal.edges[3].op`): built once
// and reused, which halves flattening 20,000 architectures. Bounded: cleared when it grows large.
const PATHS = new Map<string, Map<string | number, string>>();
function childPath(prefix: string, key: string | number): string {
  let m = PATHS.get(prefix);
  if (m === undefined) {
    if (PATHS.size >= 20_000) PATHS.clear();
    PATHS.set(prefix, (m = new Map()));
  }
  let p = m.get(key);
  if (p === undefined) {
    p = typeof key === 'number' ? `${prefix}[${key}]` : prefix ? `${prefix}.${key}` : key;
    m.set(key, p);
  }
  return p;
}

/**
 * Trial params that record where a candidate came from, not a value the search chose: evolution's
 * `parent` trial id and a multi-fidelity strategy's `promotes` (the trial whose architecture a
 * promotion re-runs at a higher budget; src/run/strategy-driver.ts). Shown with the trial, never
 * analysed as a parameter: importance, parallel coordinates and slices would rank a trial id as a
 * hyperparameter (the main job's ASHA study ranked `promotes` first).
 */
const LINEAGE_PARAMS: ReadonlySet<string> = new Set(['parent', 'promotes']);

function searchedParams(params: TrialOutcome['params']): Json {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(params ?? {})) if (!LINEAGE_PARAMS.has(k)) out[k] = v as Json;
  return out;
}

function trialParams(t: TrialOutcome & { readonly arch?: Json }): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  trialParamsInto(
    t,
    (path, v) => {
      out[path] = v;
    },
    (path) => (path in out ? out[path] : undefined),
  );
  return out;
}

/**
 * A trial's parameters as TrialRow.params names them, handed to `set` leaf by leaf: the
 * architecture's leaves, then the trial's own searched params (a name the architecture has
 * already, as `at` tells, gets the prefix `param.`, unless its value is the same: then it is
 * not repeated, e.g. the one-shot search trial's `method` in both its arch and its params).
 */
function trialParamsInto(t: { readonly params: TrialOutcome['params']; readonly arch?: Json }, set: (path: string, value: ParamValue) => void, at: (path: string) => ParamValue | undefined): void {
  if (!('arch' in t)) {
    // read without its architecture (listTrialOutcomes): the trial's own params only
    flattenInto(searchedParams(t.params), '', set);
    return;
  }
  archLeavesInto(t.arch!, set);
  ownParamsInto(t.params, set, at);
}

/** The architecture's part of TrialRow.params, leaf by leaf (what ArchColumns learns shapes of). */
function archLeavesInto(a: Json, set: (path: string, value: ParamValue) => void): void {
  // A joint candidate ({arch, hparams}) reads better without the `arch.` prefix on every leaf.
  if (a !== null && typeof a === 'object' && !Array.isArray(a)) {
    for (const k in a) {
      const x = a[k];
      if (k === 'family' && typeof x === 'string') continue;
      flattenInto(x, k === 'arch' && x !== null && typeof x === 'object' ? '' : k, set);
    }
  } else flattenInto(a, '', set);
}

/**
 * The trial's own searched params after its architecture's leaves, as `at` gives them: a name
 * taken by another value gets `param.`; one taken by the same value is not repeated.
 */
function ownParamsInto(params: TrialOutcome['params'], set: (path: string, value: ParamValue) => void, at: (path: string) => ParamValue | undefined): void {
  const put = (k: string, v: ParamValue): void => {
    const a = at(k);
    if (a === undefined) set(k, v);
    else if (a !== v) set(`param.${k}`, v);
  };
  // Params that are all scalars under plain names (the usual case) are their own leaves: set as
  // the walk below sets them, without copying and walking them.
  let flat = true;
  for (const k in params) {
    const v = params[k];
    if ((v !== null && typeof v === 'object') || k === '__proto__' || k === '') {
      flat = false;
      break;
    }
  }
  if (flat) {
    for (const k in params) {
      const v = params[k] as ParamValue;
      if (LINEAGE_PARAMS.has(k) || (k === 'family' && typeof v === 'string')) continue;
      put(k, v);
    }
    return;
  }
  const own: [string, ParamValue][] = [];
  flattenInto(searchedParams(params), '', (path, v) => own.push([path, v]));
  for (const [k, v] of own) put(k, v);
}

function generationOf(t: Pick<TrialOutcome, 'params' | 'userAttrs' | 'number'>, population: number | null): number | null {
  return generationIn(t.params, t.userAttrs, t.number, population);
}

/** generationOf from its parts (the rows read column by column have no record per trial). */
function generationIn(params: TrialOutcome['params'], userAttrs: TrialOutcome['userAttrs'], number: number, population: number | null): number | null {
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (finite(params['generation'])) return params['generation'];
  if (finite(params['rung'])) return params['rung'];
  if (finite(userAttrs['generation'])) return userAttrs['generation'];
  if (finite(userAttrs['rung'])) return userAttrs['rung'];
  return population ? Math.floor(number / population) : null;
}

/** The study's `population` option, or the strategy's default for it; null when it has none. */
export function populationOf(s: Pick<StudyRecord, 'strategy'>): number | null {
  const v = s.strategy.options['population'];
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  const entry = (STRATEGIES as Record<string, { options: Record<string, unknown> } | undefined>)[s.strategy.name];
  const spec = entry?.options['population'] as { kind?: string; default?: unknown } | undefined;
  return spec?.kind === 'int' && typeof spec.default === 'number' && spec.default > 0 ? spec.default : null;
}


/**
 * Per trial of `c` (number order) its architecture text from `a`, matched by number; null when
 * one is missing.
 */
function archTextsOf(c: TrialColumns, a: TrialArchitectures): readonly string[] | null {
  return byNumberOf(c, a.number, a.count, a.text);
}

/**
 * Per trial of `c` (number order) its entry of `values`, the list of the trials numbered
 * `number` (its first `count`), matched by number; null when one is missing.
 */
function byNumberOf<T>(c: TrialColumns, number: Float64Array, count: number, values: readonly T[]): readonly T[] | null {
  const n = c.count;
  let same = count >= n;
  for (let i = 0; same && i < n; i++) same = number[i] === c.number[i];
  if (same) return values;
  const at = new Map<number, number>();
  for (let i = 0; i < count; i++) at.set(number[i]!, i);
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) {
    const j = at.get(c.number[i]!);
    if (j === undefined) return null;
    out[i] = values[j]!;
  }
  return out;
}

/** A stored architecture text (TrialArchitectures.text) parsed; not JSON: storage_error naming the trial. */
function parseArch(text: string, number: number): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw storageError('other', `trial ${number}: its architecture is not JSON text (${(e as Error).message.slice(0, 100)})`, {
      hint: 'a tool other than tsnas wrote this trial; fix or delete it',
    });
  }
}

/** TrialRow.params of the rows read column by column (their params are columns: see readFull). */
const NO_PARAMS: Readonly<Record<string, ParamValue>> = Object.freeze({});

/** A number column's entry, NaN (none) as null. */
function nul(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

/**
 * Trial `i` of `c` as `toRow` makes it of the same trial's record, but with NO_PARAMS (the caller
 * keeps the params as columns).
 */
function rowOfColumns(s: StudyRecord, c: TrialColumns, i: number, population: number | null): TrialRow {
  const state = c.state[i]!;
  const m = c.metrics[i] ?? null;
  // value0 is the stored candidateValue (NaN: none), as toRow's
  const v0 = c.value0[i]!;
  const value = Number.isFinite(v0) ? v0 : null;
  const startedAt = nul(c.startedAt[i]!);
  const finishedAt = nul(c.finishedAt[i]!);
  const number = c.number[i]!;
  return {
    id: c.id[i]!,
    number,
    state,
    value,
    ...(isSupernetTrial({ params: c.params[i]! }) ? { supernet: true as const } : {}),
    metrics: finiteOnly(m),
    params: NO_PARAMS,
    // kept as a column beside the params (StudyRows.archKeys), like them
    archKey: null,
    budget: nul(c.budget[i]!),
    generation: generationIn(c.params[i]!, c.userAttrs[i]!, number, population),
    attempt: c.attempt[i]!,
    startedAt,
    finishedAt,
    durationMs: nul(c.durationMs[i]!) ?? (startedAt !== null && finishedAt !== null ? finishedAt - startedAt : null),
  };
}

function toRow(s: StudyRecord, t: TrialOutcome & { readonly arch?: Json }, population = populationOf(s)): TrialRow {
  const duration = t.durationMs ?? (t.startedAt !== null && t.finishedAt !== null ? t.finishedAt - t.startedAt : null);
  return {
    id: t.id,
    number: t.number,
    state: t.state,
    value: candidateValue(t),
    ...(isSupernetTrial(t) ? { supernet: true as const } : {}),
    metrics: finiteOnly(t.metrics),
    params: trialParams(t),
    archKey: t.archKey,
    budget: t.budget,
    generation: generationOf(t, population),
    attempt: t.attempt,
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
    durationMs: duration,
  };
}

function bestCurve(s: StudyRecord, rows: readonly TrialRow[]): CurvePoint[] {
  const dir = s.objectives[0]?.direction ?? 'maximize';
  let t0 = Infinity;
  for (const t of rows) if (t.startedAt !== null && t.startedAt < t0) t0 = t.startedAt;
  const out: CurvePoint[] = [];
  let best = dir === 'maximize' ? -Infinity : Infinity;
  for (const t of [...rows].sort((a, b) => a.number - b.number)) {
    if (t.state !== 'complete' || t.value === null) continue;
    const v = t.value;
    if (dir === 'maximize' ? v > best : v < best) best = v;
    out.push({ number: t.number, t: t.finishedAt !== null && Number.isFinite(t0) ? (t.finishedAt - t0) / 1000 : null, value: v, best });
  }
  return out;
}

const SORT_KEYS = ['number', 'state', 'value', 'duration', 'started'] as const;
const ORDER_SYNONYMS = { ascending: { value: 'asc' }, descending: { value: 'desc' }, up: { value: 'asc' }, down: { value: 'desc' } } as const;

const MAX_LIMIT = 10_000;
/** Above every trial number (an INTEGER column): listTrialsSince from it reads only the listed numbers. */
const MAX_TRIAL_NUMBER = 2 ** 31 - 1;
const DEFAULT_LIMIT = 100;

/** Per set of rows: sort orders and search texts computed once (rows of a cached version never change). */
interface RowIndex {
  readonly orders: Map<string, Int32Array>;
  hay?: string[];
  known?: Set<string>;
}
const rowIndexes = new WeakMap<readonly TrialRow[], RowIndex>();

/**
 * Rows whose params and arch keys are kept as columns (the study view's rows: their own `params`
 * are empty and `archKey` null): what queryTrials sorts and filters them by instead, as it would
 * the same rows with those fields filled in.
 */
export interface RowColumns {
  /** Parameter name -> value per row (undefined: the row has no such parameter). */
  readonly params: ReadonlyMap<string, readonly (ParamValue | undefined)[]>;
  /** Per row its architecture key; null when not read (then the query may have no text term). */
  readonly archKeys: readonly (string | null)[] | null;
}

/** Per RowColumns: names and text-term matches computed once (columns of a version never change). */
interface ColumnIndex {
  known?: Set<string>;
  /** Per text term (lower case): 1 for the rows whose search text contains it. */
  readonly matches: Map<string, Uint8Array>;
}
const columnIndexes = new WeakMap<RowColumns['params'], ColumnIndex>();
/** Text terms whose matches are kept per set of columns (a search box sends every prefix typed). */
const KEEP_MATCHES = 64;

/**
 * The rows (of `n`) whose search text (`name=value` of each param, then the arch key, lower case:
 * see queryTrials) contains `term`. A term has no whitespace and the entries of a search text are
 * joined by spaces, so it is contained in the text exactly when it is contained in one entry: each
 * column is scanned, each distinct value's entry tested once.
 */
function textMatches(cols: RowColumns, n: number, term: string): Uint8Array {
  const keys = cols.archKeys;
  if (keys === null) throw new Error('queryTrials: a text term over columns without arch keys');
  const m = new Uint8Array(n);
  for (const [name, col] of cols.params) {
    const seen = new Map<ParamValue, boolean>();
    for (let i = 0; i < n; i++) {
      const v = col[i];
      if (v === undefined || m[i] === 1) continue;
      let hit = seen.get(v);
      if (hit === undefined) seen.set(v, (hit = `${name}=${String(v)}`.toLowerCase().includes(term)));
      if (hit) m[i] = 1;
    }
  }
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (m[i] === 0 && k !== null && k !== undefined && k.toLowerCase().includes(term)) m[i] = 1;
  }
  return m;
}

/** Names for a hint: all of them up to 40, else the first 40 and how many more. */
function nameList(names: readonly string[]): string {
  return names.length <= 40 ? names.join(', ') : `${names.slice(0, 40).join(', ')} and ${names.length - 40} more`;
}

/**
 * Refuses a trial-table sort by a metric or parameter (`metric:NAME`, `param:NAME`) that no trial
 * of study `s` has and no objective (or its tie-break) names (`rows`: the study's metric and parameter names), as the
 * Pareto chart's x and y are: invalid_config (HTTP 400) with field `sort`, the closest name
 * (closestMetric for metrics: `acc` -> `val_acc`) and the known ones. It sorted by nothing, without
 * a word, before.
 */
export function checkSortName(sort: string, s: { readonly name: string; readonly objectives: readonly { readonly metric: string; readonly tieBreak?: { readonly metric: string } }[] }, rows: { readonly metricNames: readonly string[]; readonly paramNames: readonly string[] }): void {
  const metric = sort.startsWith('metric:');
  if (!metric && !sort.startsWith('param:')) return;
  const name = sort.slice(metric ? 7 : 6);
  const known = metric ? [...new Set([...rows.metricNames, ...s.objectives.flatMap((o) => (o.tieBreak ? [o.metric, o.tieBreak.metric] : [o.metric]))])].sort() : [...rows.paramNames];
  if (known.includes(name)) return;
  const what = metric ? 'metric' : 'parameter';
  const shown = JSON.stringify(name.slice(0, 60));
  const near = metric ? didYouMeanMetric(name, known) : closest(name, known) === undefined ? '' : `; did you mean param:${closest(name, known)}?`;
  throw new NasError('invalid_config', `no ${what} is named ${shown} in study ${s.name}${metric && near ? near.replace('did you mean ', 'did you mean metric:') : near}`, {
    field: 'sort',
    hint: known.length ? `use one of: ${nameList(known.map((k) => `${metric ? 'metric' : 'param'}:${k}`))}, or ${SORT_KEYS.join(', ')}` : `no trial has reported a ${what} yet; sort by ${SORT_KEYS.join(', ')}`,
  });
}

function sortKeyOf(sort: string): (r: TrialRow) => number | string | null {
  if (sort.startsWith('metric:')) {
    const m = sort.slice(7);
    return (r) => r.metrics[m] ?? null;
  }
  if (sort.startsWith('param:')) {
    const p = sort.slice(6);
    return (r) => {
      const v = r.params[p];
      return v === undefined || v === null ? null : typeof v === 'number' ? v : String(v);
    };
  }
  switch (sort) {
    case 'number':
      return (r) => r.number;
    case 'state':
      return (r) => r.state;
    case 'value':
      return (r) => r.value;
    case 'duration':
      return (r) => r.durationMs;
    case 'started':
      return (r) => r.startedAt;
    default:
      throw new NasError('invalid_config', `unknown sort key "${sort.slice(0, 60)}"${didYouMeanValue(sort.slice(0, 60), SORT_KEYS)}`, {
        field: 'sort',
        hint: `use one of: ${SORT_KEYS.join(', ')}, metric:<name>, param:<name>`,
      });
  }
}

/**
 * One term of a trial filter (`TrialQuery.q`, whitespace-separated terms, all must hold):
 * `name=value`, `name!=value`, `name<v`, `name<=v`, `name>v`, `name>=v` on a parameter or metric
 * (names as in the table; `*` matches any characters, e.g. `normal.edges[*].op=sep_conv_3x3`
 * holds when any edge uses it; numbers compare as numbers, text case-insensitively); `state=...`;
 * any other term is a case-insensitive substring of the trial's `name=value` list and arch key.
 */
type FilterTerm =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'compare'; readonly name: string; readonly names: RegExp | null; readonly op: '=' | '!=' | '<' | '<=' | '>' | '>='; readonly value: string; readonly num: number | null };

const TERM = /^([A-Za-z_][\w.[\]*-]*)(!=|<=|>=|=|<|>)(.*)$/;

export function parseTrialFilter(q: string): FilterTerm[] {
  const out: FilterTerm[] = [];
  for (const raw of q.trim().split(/\s+/)) {
    if (raw === '') continue;
    const m = TERM.exec(raw);
    if (!m) {
      out.push({ kind: 'text', text: raw.toLowerCase() });
      continue;
    }
    const [, name, op, value] = m as unknown as [string, string, '=' | '!=' | '<' | '<=' | '>' | '>=', string];
    const num = value !== '' && Number.isFinite(Number(value)) ? Number(value) : null;
    if ((op === '<' || op === '<=' || op === '>' || op === '>=') && num === null) {
      throw new NasError('invalid_config', `"${raw.slice(0, 60)}" compares with ${op} but "${value.slice(0, 40)}" is not a number`, { field: 'q', hint: 'e.g. val_acc>=90 or hparams.lr<0.01; use = for text' });
    }
    const names = name.includes('*') ? new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i') : null;
    out.push({ kind: 'compare', name, names, op, value: value.toLowerCase(), num });
  }
  return out;
}

function compareHolds(t: Extract<FilterTerm, { kind: 'compare' }>, v: ParamValue | undefined): boolean {
  if (v === undefined || v === null) return t.op === '!=';
  if (typeof v === 'number' && t.num !== null) {
    switch (t.op) {
      case '=': return v === t.num;
      case '!=': return v !== t.num;
      case '<': return v < t.num;
      case '<=': return v <= t.num;
      case '>': return v > t.num;
      case '>=': return v >= t.num;
    }
  }
  const sv = String(v).toLowerCase();
  switch (t.op) {
    case '=': return sv === t.value;
    case '!=': return sv !== t.value;
    default: return false;
  }
}

/**
 * Filters, sorts and pages trial rows. Nulls sort last either way; ties by number. `columns`: the
 * rows' params and arch keys, kept as columns (RowColumns); the page is the one the same rows with
 * those fields filled in would give.
 */
export function queryTrials(rows: readonly TrialRow[], query: TrialQuery, columns?: RowColumns): TrialPage {
  const sort = query.sort ?? 'number';
  const rowKey = sortKeyOf(sort);
  const order = query.order ?? 'asc';
  if (order !== 'asc' && order !== 'desc') {
    throw new NasError('invalid_config', `unknown order "${String(order)}"${didYouMeanValue(String(order), ['asc', 'desc'], ORDER_SYNONYMS)}`, { field: 'order', hint: 'use asc or desc' });
  }
  for (const st of query.states ?? []) {
    if (!DASH_TRIAL_STATES.includes(st)) {
      throw new NasError('invalid_config', `unknown trial state "${st}"${didYouMeanValue(st, DASH_TRIAL_STATES, TRIAL_STATE_SYNONYMS)}`, { field: 'state', hint: `use one of: ${DASH_TRIAL_STATES.join(', ')}` });
    }
  }
  const limit = query.limit ?? MAX_LIMIT;
  const offset = query.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new NasError('invalid_config', `limit must be an integer in 1..${MAX_LIMIT}`, { field: 'limit', hint: 'e.g. limit=50' });
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new NasError('invalid_config', 'offset must be a non-negative integer', { field: 'offset', hint: 'e.g. offset=0' });
  }
  let index = rowIndexes.get(rows);
  if (!index) rowIndexes.set(rows, (index = { orders: new Map() }));
  // The sorted order of all rows for this key and direction, computed once per set of rows.
  const param = sort.startsWith('param:');
  const col = columns && param ? columns.params.get(sort.slice(6)) : undefined;
  const okey = `${columns && param ? 'columns|' : ''}${sort}|${order}`;
  let sorted = index.orders.get(okey);
  if (!sorted) {
    const keys = columns && param
      ? rows.map((_, i) => {
        const v = col?.[i];
        return v === undefined || v === null ? null : typeof v === 'number' ? v : String(v);
      })
      : rows.map(rowKey);
    const dir = order === 'asc' ? 1 : -1;
    const idx = Array.from(rows, (_, i) => i);
    idx.sort((i, j) => {
      const a = keys[i]!;
      const b = keys[j]!;
      if (a === null || b === null) return a === b ? rows[i]!.number - rows[j]!.number : a === null ? 1 : -1;
      const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
      return c !== 0 ? c * dir : rows[i]!.number - rows[j]!.number;
    });
    sorted = Int32Array.from(idx);
    index.orders.set(okey, sorted);
  }
  const states = query.states && query.states.length ? new Set(query.states) : null;
  const terms = parseTrialFilter(query.q ?? '');
  const compares = terms.filter((t): t is Extract<FilterTerm, { kind: 'compare' }> => t.kind === 'compare');
  const texts = terms.filter((t): t is Extract<FilterTerm, { kind: 'text' }> => t.kind === 'text');
  const cindex = columns && (columnIndexes.get(columns.params) ?? columnIndexes.set(columns.params, { matches: new Map() }).get(columns.params)!);
  if (compares.length) {
    // A name that no trial has is a typo more often than a wish for nothing: say so.
    let known = cindex ? cindex.known : index.known;
    if (!known) {
      known = new Set<string>(['state', 'number']);
      for (const r of rows) {
        for (const k in r.params) known.add(k);
        for (const k in r.metrics) known.add(k);
      }
      if (cindex) {
        for (const [k, c] of columns!.params) if (c.some((v) => v !== undefined)) known.add(k);
        cindex.known = known;
      } else index.known = known;
    }
    for (const c of compares) {
      if (c.names ? ![...known].some((k) => c.names!.test(k)) : !known.has(c.name)) {
        const names = [...known!].sort();
        const near = c.names ? undefined : closestMetric(c.name, names) ?? closest(c.name, names);
        throw new NasError('invalid_config', `no parameter or metric is named "${c.name.slice(0, 60)}"${near === undefined ? '' : `; did you mean ${near}?`}`, { field: 'q', hint: `use one of: ${nameList(names)}; or filter by text without an operator` });
      }
    }
  }
  // Per text term, whether each row holds it: from the columns, or from each row's search text.
  const matches = cindex ? texts.map((t) => {
    let m = cindex.matches.get(t.text);
    if (!m) {
      if (cindex.matches.size >= KEEP_MATCHES) cindex.matches.clear();
      cindex.matches.set(t.text, (m = textMatches(columns!, rows.length, t.text)));
    }
    return m;
  }) : null;
  if (texts.length && !cindex && !index.hay) {
    index.hay = rows.map((r) => {
      let h = '';
      for (const k in r.params) h += `${k}=${String(r.params[k])} `;
      return `${h}${r.archKey ?? ''}`.toLowerCase();
    });
  }
  const hay = index.hay;
  // The parameter columns each comparison reads (a `*` name: every column it matches).
  const paramCols = columns ? compares.map((c) => {
    if (c.names) return [...columns.params].filter(([k]) => c.names!.test(k)).map(([, v]) => v);
    const v = columns.params.get(c.name);
    return v ? [v] : [];
  }) : null;
  const pass = (i: number): boolean => {
    const r = rows[i]!;
    if (states && !states.has(r.state)) return false;
    if (matches) {
      for (const m of matches) if (m[i] === 0) return false;
    } else for (const t of texts) if (!hay![i]!.includes(t.text)) return false;
    for (let j = 0; j < compares.length; j++) {
      const c = compares[j]!;
      if (c.name === 'state' || c.name === 'number') {
        if (!compareHolds(c, c.name === 'state' ? r.state : r.number)) return false;
        continue;
      }
      if (paramCols) {
        // as the rows with params would read: a parameter when the row has it, else the metric
        const pcs = paramCols[j]!;
        if (c.names) {
          let any = false;
          for (const pc of pcs) {
            const v = pc[i];
            if (v !== undefined && compareHolds(c, v)) { any = true; break; }
          }
          if (!any) for (const k in r.metrics) if (c.names.test(k) && compareHolds(c, r.metrics[k])) { any = true; break; }
          if (!any) return false;
        } else {
          const v = pcs.length ? pcs[0]![i] : undefined;
          if (!compareHolds(c, v !== undefined ? v : r.metrics[c.name])) return false;
        }
        continue;
      }
      if (c.names) {
        let any = false;
        for (const k in r.params) if (c.names.test(k) && compareHolds(c, r.params[k])) { any = true; break; }
        if (!any) for (const k in r.metrics) if (c.names.test(k) && compareHolds(c, r.metrics[k])) { any = true; break; }
        if (!any) return false;
      } else if (!compareHolds(c, Object.hasOwn(r.params, c.name) ? r.params[c.name] : r.metrics[c.name])) return false;
    }
    return true;
  };
  if (!states && terms.length === 0) {
    const page: TrialRow[] = [];
    for (let k = offset; k < Math.min(sorted.length, offset + limit); k++) page.push(rows[sorted[k]!]!);
    return { total: rows.length, trials: page };
  }
  let total = 0;
  const page: TrialRow[] = [];
  for (let k = 0; k < sorted.length; k++) {
    const i = sorted[k]!;
    if (!pass(i)) continue;
    if (total >= offset && page.length < limit) page.push(rows[i]!);
    total++;
  }
  return { total, trials: page };
}

/** Parses a study id from a URL segment; anything but a positive integer is `invalid_config`. */
export function parseStudyId(raw: string, field = 'studyId'): number {
  if (!/^[1-9][0-9]{0,15}$/.test(raw)) {
    throw new NasError('invalid_config', `"${raw.slice(0, 40)}" is not a study id`, { field, hint: 'study ids are positive integers, see /api/studies' });
  }
  return toStudyId(Number(raw));
}
