/**
 * The study view's chart data, computed over every trial of a study (src/api/dashboard.ts caches
 * the rows; the static report uses the same function). Marks that are drawn one per trial are
 * sampled down to SERIES_MAX_POINTS, always keeping every best-so-far improvement (and, in the
 * Pareto chart, every Pareto-optimal trial); the best-so-far curve, fronts, hypervolume,
 * importance and the distribution function always use every trial. Fronts are O(n log n) (sort and sweep).
 */
import type { StudyRecord } from '../store/types.js';
import type {
  CurvePoint, DashTrialState, FinalResults, ImportanceItem, ParamValue, ParetoSeries, SeriesPoint, StudySeries, TimelineBars, TimelineRuns, TrialChart, TrialRow,
} from '../api/dashboard.js';
import { columnImportance, downsample, edf, guessDirection, paramColumnsOf, paretoFront, type Dir } from './analysis.js';
import { hypervolumeHistory, rowTrial } from '../api/pareto.js';

export const MAX_POINTS = 2000;
/**
 * Time columns the timeline is merged on: more than the widest chart has pixels (the dashboard's
 * is ~1,300 px, the report's 1,100), so merged bars look as the trials' own would.
 */
export const TIMELINE_COLUMNS = 2000;
/** A kept importance is recomputed once the complete trials have grown by this share. */
export const IMPORTANCE_REFRESH = 0.01;
const SLICE_PARAMS = 6;

export interface SeriesInput {
  readonly rows: readonly TrialRow[];
  /** Union of the rows' metric names, when the caller has it (else computed here). */
  readonly metricNames?: readonly string[];
  readonly workers: readonly (string | null)[];
  readonly finals: readonly { number: number; attrs: Record<string, unknown> }[];
  /**
   * The trials' parameters as columns (name -> value per row of `rows`, which must then be in
   * number order; undefined where a trial lacks the name), when the caller read them so
   * (src/api/dashboard.ts, from Store.listTrialColumns: its rows carry no params). Else they are
   * taken from the rows' `params`.
   */
  readonly params?: ReadonlyMap<string, readonly (ParamValue | undefined)[]>;
}

/** The default Pareto axes: the second objective, else a cost metric, against the first objective. */
export function defaultParetoAxes(s: Pick<StudyRecord, 'objectives'>, metricNames: readonly string[]): [string, string] | null {
  const objs = s.objectives;
  const y = objs[0]?.metric ?? metricNames[0];
  if (y === undefined) return null;
  const costLike =
    ['latency_ms', 'params', 'flops', 'macs', 'params_m'].find((n) => metricNames.includes(n) && n !== y) ??
    metricNames.find((n) => /latency|params|flops|macs/i.test(n) && n !== y);
  const x = objs[1]?.metric ?? costLike ?? metricNames.find((n) => n !== y);
  return x === undefined ? null : [x, y];
}

function dirOf(s: Pick<StudyRecord, 'objectives'>, metric: string): Dir {
  return s.objectives.find((o) => o.metric === metric)?.direction ?? guessDirection(metric);
}

/** The front of (x, y) over every complete candidate (a value) with both finite, and a sample of the rest. */
export function paretoOf(s: Pick<StudyRecord, 'objectives'>, rows: readonly TrialRow[], x: string, y: string, max = MAX_POINTS): ParetoSeries {
  const dirX = dirOf(s, x);
  const dirY = dirOf(s, y);
  const pts: { number: number; x: number; y: number }[] = [];
  for (const t of rows) {
    // candidates only (TrialRow.value, core candidateValue): not the one-shot supernet trial
    if (t.state !== 'complete' || t.value === null) continue;
    const a = t.metrics[x];
    const b = t.metrics[y];
    if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) continue;
    pts.push({ number: t.number, x: a, y: b });
  }
  const frontIdx = paretoFront(pts, dirX, dirY);
  const onFront = new Set(frontIdx);
  const others = pts.filter((_, i) => !onFront.has(i));
  const room = Math.max(0, max - frontIdx.length);
  const keep = downsample(others.length, room, []);
  return {
    x,
    y,
    dirX,
    dirY,
    of: pts.length,
    front: frontIdx.map((i) => pts[i]!),
    others: keep.map((i) => others[i]!),
    sampled: keep.length < others.length,
  };
}

function ms3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** What the trial chart and the best-so-far curves are drawn from: a full row, or a narrow one. */
export type ChartTrial = Pick<TrialRow, 'number' | 'state' | 'value' | 'generation' | 'startedAt' | 'finishedAt'>;

/**
 * The trial chart over `byNumber` (every trial of the study, by number): the trials with a
 * finite value (complete or pruned), sampled down to `max` points keeping every best-so-far
 * improvement; the best so far over all complete trials (one point per improvement, plus the
 * last complete trial), timed in seconds since the first start. studySeries and the dashboard's
 * quick first answer (src/api/dashboard.ts `head`, from Store.listTrialPoints) both draw it with
 * this function, so the two agree point for point.
 */
export function trialChart<T extends ChartTrial>(
  s: Pick<StudyRecord, 'objectives'>,
  byNumber: readonly T[],
  max = MAX_POINTS,
): { chart: TrialChart; valued: T[]; secs: (ms: number | null) => number | null } {
  const dir: Dir = s.objectives[0]?.direction ?? 'maximize';
  let t0 = Infinity;
  for (const t of byNumber) if (t.startedAt !== null && t.startedAt < t0) t0 = t.startedAt;
  const secs = (ms: number | null): number | null => (ms !== null && Number.isFinite(t0) ? (ms - t0) / 1000 : null);
  const valued: T[] = [];
  for (const t of byNumber) if (t.value !== null && (t.state === 'complete' || t.state === 'pruned')) valued.push(t);
  const keep: number[] = [];
  const best: CurvePoint[] = [];
  let cur = dir === 'maximize' ? -Infinity : Infinity;
  let lastComplete: T | null = null;
  let maxGeneration: number | null = null;
  for (let i = 0; i < valued.length; i++) {
    const t = valued[i]!;
    if (t.generation !== null && (maxGeneration === null || t.generation > maxGeneration)) maxGeneration = t.generation;
    if (t.state !== 'complete') continue;
    lastComplete = t;
    if (dir === 'maximize' ? t.value! > cur : t.value! < cur) {
      cur = t.value!;
      keep.push(i);
      best.push({ number: t.number, t: secs(t.finishedAt), value: t.value!, best: cur });
    }
  }
  const lc = lastComplete as T | null;
  if (lc && best.length && best[best.length - 1]!.number !== lc.number) best.push({ number: lc.number, t: secs(lc.finishedAt), value: lc.value!, best: cur });
  const points: SeriesPoint[] = downsample(valued.length, max, keep).map((i) => {
    const t = valued[i]!;
    return { number: t.number, state: t.state, value: t.value!, generation: t.generation };
  });
  return { chart: { total: byNumber.length, withValue: valued.length, points, sampled: points.length < valued.length, maxGeneration, best }, valued, secs };
}

/**
 * Every chart's data over `input.rows`. With `opts.params` false (rows read without their
 * architectures), importance, slice parameters and slice rows are left empty and the result is
 * marked `partial`. With `opts.previous` (the series of the same study a few trials ago), its
 * importance is kept while the complete trials have grown by less than IMPORTANCE_REFRESH (1%)
 * since it was computed (`importanceOver` says over how many): PED-ANOVA over 20,000 trials is
 * most of a series, and a live study changes with every trial.
 */
export function studySeries(
  s: StudyRecord,
  input: SeriesInput,
  max = MAX_POINTS,
  finalResults: FinalResults | null = null,
  opts: { readonly params?: boolean; readonly previous?: StudySeries } = {},
): StudySeries {
  const withParams = opts.params ?? true;
  const { rows } = input;
  const obj = s.objectives[0];
  const dir: Dir = obj?.direction ?? 'maximize';
  const byNumber = [...rows].sort((a, b) => a.number - b.number);
  const { chart, valued, secs } = trialChart(s, byNumber, max);

  const metricNames = input.metricNames ?? [...new Set(rows.flatMap((t) => Object.keys(t.metrics)))].sort();
  const axes = defaultParetoAxes(s, metricNames);
  const pareto = axes ? paretoOf(s, rows, axes[0], axes[1], max) : null;

  // importance over every complete trial: PED-ANOVA ranks, eta^2 and value groups explain
  const complete = valued.filter((t) => t.state === 'complete');
  // complete[j] is byNumber[at[j]]: its entry in the parameter columns
  const at: number[] = [];
  for (let i = 0; i < byNumber.length; i++) {
    const t = byNumber[i]!;
    if (t.value !== null && t.state === 'complete') at.push(i);
  }
  const prev = opts.previous;
  const reuse =
    withParams && prev !== undefined && prev.partial === undefined && prev.importanceOver <= complete.length &&
    complete.length - prev.importanceOver < Math.max(1, IMPORTANCE_REFRESH * complete.length);
  const columns = !withParams ? new Map<string, (ParamValue | undefined)[]>() : input.params ?? paramColumnsOf(byNumber);
  const imp: readonly ImportanceItem[] = !withParams ? [] : reuse ? prev.importance : columnImportance(columns, at, complete.map((t) => t.value!), dir);
  const importanceOver = !withParams ? 0 : reuse ? prev.importanceOver : complete.length;

  // hypervolume history, any number of objectives: the study's own reference point and its
  // feasible Pareto set, as `tsnas status` computes them (src/api/pareto.ts, its rule)
  const hypervolume = hypervolumeHistory(s, complete.map((t) => rowTrial(t, s.objectives)));

  // timeline: every started trial, per worker, merged to what a chart can draw
  const timeline = timelineBars(rows, input.workers, secs);

  const sliceParams = imp.slice(0, SLICE_PARAMS).map((x) => x.name);
  const sliceIdx = withParams ? downsample(complete.length, max, []) : [];
  const sliceCols = sliceParams.map((p) => columns.get(p));
  const sliceRows = sliceIdx.map((i) => {
    const t = complete[i]!;
    return {
      number: t.number,
      value: t.value!,
      params: sliceCols.map((c): ParamValue => c?.[at[i]!] ?? null),
      objectives: s.objectives.map((o) => {
        const v = t.metrics[o.metric];
        return v !== undefined && Number.isFinite(v) ? v : null;
      }),
    };
  });

  return {
    ...chart,
    pareto,
    importance: imp,
    importanceOver,
    edf: edf(complete.map((t) => t.value!)),
    hypervolume,
    timeline,
    sliceParams,
    sliceRows,
    finalResults,
    ...(withParams ? {} : { partial: true as const }),
  };
}

interface Run {
  worker: number;
  start: number;
  end: number | null;
  count: number;
}

/**
 * The timeline of `rows` (every trial that started; `workers[i]` ran rows[i]) as TimelineBars:
 * per worker lane and state, bars whose gap is at most span / `columns` are merged (in the order
 * of their starts), with a count of the trials in each. Running trials (no finish) stay single
 * bars ending at null. `secs` maps a timestamp (ms) to seconds since the first start.
 */
export function timelineBars(
  rows: readonly TrialRow[],
  workers: readonly (string | null)[],
  secs: (ms: number) => number | null,
  columns = TIMELINE_COLUMNS,
): TimelineBars {
  const names: string[] = [];
  const lane = new Map<string, number>();
  const bars: { worker: number; start: number; end: number | null; state: DashTrialState; rerun: boolean }[] = [];
  let span = 0;
  for (let i = 0; i < rows.length; i++) {
    const t = rows[i]!;
    if (t.startedAt === null) continue;
    const w = workers[i] ?? '(unknown)';
    let k = lane.get(w);
    if (k === undefined) {
      k = names.length;
      names.push(w);
      lane.set(w, k);
    }
    const start = ms3(secs(t.startedAt) ?? 0);
    const e = t.finishedAt === null ? null : secs(t.finishedAt);
    const end = e === null ? null : ms3(e);
    span = Math.max(span, start, end ?? 0);
    bars.push({ worker: k, start, end, state: t.state, rerun: t.attempt > 1 });
  }
  const gap = span / columns;
  bars.sort((a, b) => a.start - b.start);
  const groups = new Map<DashTrialState, Run[]>();
  const open = new Map<string, Run>();
  const reruns: Run[] = [];
  const openRerun = new Map<number, Run>();
  let merged = false;
  const add = (list: Run[], at: Map<string | number, Run>, key: string | number, b: (typeof bars)[number]): void => {
    const r = at.get(key);
    if (b.end !== null && r !== undefined && r.end !== null && b.start <= r.end + gap) {
      r.end = Math.max(r.end, b.end);
      r.count++;
      merged = true;
      return;
    }
    const run: Run = { worker: b.worker, start: b.start, end: b.end, count: 1 };
    list.push(run);
    if (b.end === null) at.delete(key);
    else at.set(key, run);
  };
  for (const b of bars) {
    let list = groups.get(b.state);
    if (list === undefined) groups.set(b.state, (list = []));
    add(list, open as Map<string | number, Run>, `${b.state}|${b.worker}`, b);
    if (b.rerun) add(reruns, openRerun as Map<string | number, Run>, b.worker, b);
  }
  const columnar = (runs: readonly Run[]): TimelineRuns => ({
    worker: runs.map((r) => r.worker),
    start: runs.map((r) => r.start),
    end: runs.map((r) => r.end),
    count: runs.map((r) => r.count),
  });
  return {
    workers: names,
    trials: bars.length,
    span,
    columns,
    merged,
    bars: [...groups].map(([state, runs]) => ({ state, ...columnar(runs) })),
    reruns: reruns.length ? columnar(reruns) : null,
  };
}
