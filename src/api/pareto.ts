/**
 * The result of a multi-objective study: its Pareto set (Optuna's `Study.best_trials`: the
 * complete, feasible trials no other such trial dominates on all objectives) and its hypervolume
 * with a stated reference point. `tsnas best`/`status`/`search`/`repeat`, `/api/compare`, the
 * dashboard's study view and the static report read it.
 *
 * Reference point rule (units of the objectives, one value per objective), the same everywhere:
 * - computed (referencePoint): 10% of the range beyond the worst value of each objective over
 *   every complete trial with all objective values finite, feasible or not (referenceValues);
 * - a hypervolume shown for ONE study (status, best, search, the dashboard's study view and the
 *   report) is bounded by the point computed from that study's trials ("study");
 * - hypervolumes shown side by side to be compared (repeat's seeds, /api/compare and the
 *   dashboard's compare view) are bounded by ONE point computed from all their trials ("shared"),
 *   so they compare;
 * - `--ref-point` (status, best, repeat) or `ref=` (/api/compare) fixes it ("given"); the
 *   study view and the report always use the study's own point.
 * Every output that shows a hypervolume states its point and which of the three it is
 * (refPointText).
 * Hypervolume: exact for any number of objectives (src/strategy/hypervolume.ts: WFG, While,
 * Bradstreet and Barone 2012; the 2-D sweep for two objectives).
 */
import { NasError } from '../core/errors.js';
import { violates } from '../core/metrics.js';
import type { StudyRecord, TrialRecord } from '../store/types.js';
import { studyConstraints } from '../store/common.js';
import { nonDominatedSort } from '../strategy/pareto.js';
import { hypervolume, hypervolumeFront, type HypervolumeFront } from '../strategy/hypervolume.js';

type Dir = 'maximize' | 'minimize';
type Objectives = readonly { readonly metric: string; readonly direction: Dir }[];

/** Where a reference point came from: given by the user, this study's own trials, or shared by the studies compared. */
export type RefSource = 'given' | 'study' | 'shared';

export interface Hypervolume {
  /** Volume dominated by the front and bounded by `ref` (units: the product of the objectives' units); exact for any number of objectives. */
  readonly value: number;
  /** One value per objective, in the study's objective order. */
  readonly ref: readonly number[];
  readonly refSource: RefSource;
  /** Set when the reference point bounds nothing of the front (refPointProblem): the hypervolume is then 0 for that reason, said. */
  readonly warning?: string;
}

/** What a front, a reference point and a hypervolume are computed from: a stored trial, or a dashboard row made into one (rowTrial). */
export type ParetoTrial = Pick<TrialRecord, 'number' | 'state' | 'values' | 'metrics'>;

export interface ParetoSet<T extends ParetoTrial = TrialRecord> {
  readonly objectives: Objectives;
  /** The Pareto-optimal trials, sorted by the first objective (best first), then by number. */
  readonly trials: T[];
  /** Complete trials with every objective value finite, and how many of them satisfy the constraints. */
  readonly complete: number;
  readonly feasible: number;
}

/** Objective values of complete trials with every value finite (what a front or a reference point is made of). */
function valued<T extends ParetoTrial>(trials: readonly T[], n: number): T[] {
  return trials.filter((t) => {
    if (t.state !== 'complete' || t.values === null || t.values.length < n) return false;
    for (let i = 0; i < n; i++) if (!Number.isFinite(t.values[i])) return false; // null too
    return true;
  });
}

const toMin = (values: readonly number[], objectives: Objectives): number[] => objectives.map((o, i) => (o.direction === 'maximize' ? -values[i]! : values[i]!));

/** The Pareto set of `study`'s `trials`: complete, every objective finite, feasible, non-dominated. */
export function paretoSet<T extends ParetoTrial>(study: Pick<StudyRecord, 'objectives' | 'constraints'>, trials: readonly T[]): ParetoSet<T> {
  const objectives = study.objectives as Objectives;
  const all = valued(trials, objectives.length);
  const constraints = studyConstraints(study as StudyRecord);
  const feasible = constraints.length ? all.filter((t) => !violates(t.metrics ?? {}, constraints)) : all;
  const front = (nonDominatedSort(feasible.map((t) => toMin(t.values as number[], objectives)))[0] ?? []).map((i) => feasible[i]!);
  const s0 = objectives[0]?.direction === 'minimize' ? 1 : -1;
  front.sort((a, b) => s0 * (a.values![0]! - b.values![0]!) || a.number - b.number);
  return { objectives, trials: front, complete: all.length, feasible: feasible.length };
}

/**
 * 10% of the range beyond the worst value of each objective over `values` (one row per trial, the
 * objectives' order; when an objective has one value, 10% of its magnitude, or 1 for 0): the
 * dashboard's and report's rule (src/report/series.ts). Null when `values` is empty.
 */
export function referencePoint(values: readonly (readonly number[])[], objectives: Objectives): number[] | null {
  if (values.length === 0) return null;
  return objectives.map((o, i) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      lo = Math.min(lo, v[i]!);
      hi = Math.max(hi, v[i]!);
    }
    const pad = hi > lo ? (hi - lo) * 0.1 : Math.abs(hi) * 0.1 || 1;
    return o.direction === 'maximize' ? lo - pad : hi + pad;
  });
}

/** The objective values of `trials` that a reference point is computed from (complete, every value finite; feasible or not). */
export function referenceValues(trials: readonly ParetoTrial[], objectives: Objectives): number[][] {
  return valued(trials, objectives.length).map((t) => (t.values as number[]).slice(0, objectives.length));
}

/**
 * Hypervolume of the front's objective values bounded by `ref` (one value per objective, in the
 * objectives' order; maximised objectives are negated here by their direction). Exact for any
 * number of objectives. Trials not strictly better than `ref` on every objective add nothing.
 * Errors: `invalid_config` (field ref_point) when `ref` has another length than the objectives.
 */
export function hypervolumeOf(front: readonly Pick<ParetoTrial, 'values'>[], objectives: Objectives, ref: readonly number[], refSource: RefSource): Hypervolume {
  if (ref.length !== objectives.length)
    throw new NasError('invalid_config', `the reference point has ${ref.length} value(s), the study ${objectives.length} objective(s) (${objectives.map((o) => o.metric).join(', ')})`, {
      field: 'ref_point',
      hint: `one value per objective, in order, e.g. --ref-point ${objectives.map((o) => (o.direction === 'maximize' ? 0 : 100)).join(',')}`,
    });
  const problem = refPointProblem(front.map((t) => t.values as number[]), objectives, ref);
  const warning = problem === null ? {} : { warning: problem };
  const pts = front.map((t) => toMin(t.values as number[], objectives));
  return { value: hypervolume(pts, toMin(ref, objectives)), ref, refSource, ...warning };
}

/**
 * Why reference point `ref` bounds none of the `front` (objective values, one row per trial, the
 * objectives' order), or null when some front member is strictly better than `ref` on every
 * objective. Names each objective on which no member is better than the point (e.g. a maximised
 * val_acc at 100: the point must be the WORST value, below every trial's for a maximised
 * objective, above for a minimised one) and an example point (referencePoint over the front).
 * A hypervolume bounded by such a point is 0 whatever the front is (new user 10b, finding 6:
 * `--ref-point 100,0` on [val_acc max, latency_ms min], the values swapped, gave 0 silently).
 */
export function refPointProblem(front: readonly (readonly number[])[], objectives: Objectives, ref: readonly number[]): string | null {
  if (front.length === 0 || ref.length !== objectives.length) return null;
  const better = (v: readonly number[], i: number) => (objectives[i]!.direction === 'maximize' ? v[i]! > ref[i]! : v[i]! < ref[i]!);
  if (front.some((v) => objectives.every((_, i) => better(v, i)))) return null;
  const example = `e.g. --ref-point ${referencePoint(front, objectives)!.map(fmt).join(',')}`;
  const parts = objectives.flatMap((o, i) => {
    if (front.some((v) => better(v, i))) return [];
    const max = o.direction === 'maximize';
    const vals = front.map((v) => v[i]!);
    const edge = max ? Math.min(...vals) : Math.max(...vals);
    return [
      `${o.metric}=${fmt(ref[i]!)} is ${max ? 'at or above' : 'at or below'} every Pareto-front trial's ${o.metric} (${max ? 'lowest' : 'highest'} ${fmt(edge)}); ` +
        `for a ${max ? 'maximised' : 'minimised'} objective the reference point is the worst value, ${max ? 'below' : 'above'} every trial's`,
    ];
  });
  const why = parts.length ? parts.join('; ') : 'no Pareto-front trial is better than it on every objective at once';
  return `the reference point bounds none of the Pareto front, so the hypervolume is 0: ${why} (${example})`;
}

/** `val_acc=1.528, latency_ms=64.41 (10% beyond the worst complete trial of this study)`: a reference point in words. */
export function refPointText(h: Pick<Hypervolume, 'ref' | 'refSource'>, objectives: Objectives, studies = 1, givenWith = '--ref-point'): string {
  const at = objectives.map((o, i) => `${o.metric}=${fmt(h.ref[i]!)}`).join(', ');
  const why =
    h.refSource === 'given'
      ? `given with ${givenWith}`
      : h.refSource === 'shared'
        ? `shared by the ${studies} studies: 10% of the range beyond the worst complete trial of any of them`
        : '10% of the range beyond the worst complete trial of this study: its own point; hypervolumes compared side by side (repeat, the compare view) share one';
  return `${at} (${why})`;
}

/**
 * A dashboard row (src/api/dashboard.ts TrialRow: `value` is the candidate value, core
 * candidateValue, null for the one-shot supernet trial and every other non-candidate) as a
 * ParetoTrial: the first objective's value is `value`, the others' are the row's metrics of those
 * names (what the trial recorded as its objective values); no candidate, no values.
 */
export function rowTrial(row: { readonly number: number; readonly state: string; readonly value: number | null; readonly metrics: Readonly<Record<string, number>> }, objectives: Objectives): ParetoTrial {
  const values = row.value === null ? null : objectives.map((o, i) => (i === 0 ? row.value! : (row.metrics[o.metric] ?? NaN)));
  return { number: row.number, state: row.state as TrialRecord['state'], values, metrics: row.metrics };
}

/** A study's hypervolume after each trial (HypervolumeHistory), with its reference point stated. */
export interface HypervolumeHistory {
  readonly metrics: readonly string[];
  /** One value per objective, in order, and where it came from (the rule at the top of this file). */
  readonly ref: readonly number[];
  readonly refSource: RefSource;
  /** refPointText: the point in words. */
  readonly refText: string;
  /** What the chart shows, with the point (the dashboard's study view and the report print it under the chart). */
  readonly caption: string;
  /** Size of the Pareto set at the end (paretoSet). */
  readonly front: number;
  /**
   * After each trial (by number) that changed the hypervolume, and after the last trial: the
   * hypervolume of the Pareto set of the complete, feasible trials so far. The last entry is
   * hypervolumeOf(paretoSet(all trials)): the figure `tsnas status` gives with the same point.
   */
  readonly history: readonly { readonly number: number; readonly hv: number }[];
  /** refPointProblem of the final front, when the point bounds none of it. */
  readonly warning?: string;
}

/**
 * The hypervolume history of a multi-objective study over `trials` (any order; complete trials
 * with every objective value finite count, infeasible ones only towards the reference point), any
 * number of objectives: each new non-dominated feasible trial adds its exclusive hypervolume
 * (exclusiveHypervolume, WFG's exclhv) to the running total. Bounded by `refPoint` when given,
 * else by the study's own point (referencePoint over its complete trials). Null when the study has
 * fewer than two objectives or no such trial. The front is hypervolumeFront's: for two objectives
 * the incremental HypervolumeFront2d (O(log F) per trial plus the members a trial removes, as the
 * report's 2-D history before session 11), else GeneralHypervolumeFront; `makeFront` replaces it
 * (the tests pass GeneralHypervolumeFront to check the 2-D path against the general one).
 */
export function hypervolumeHistory<T extends ParetoTrial>(
  study: Pick<StudyRecord, 'objectives' | 'constraints'>,
  trials: readonly T[],
  refPoint?: readonly number[],
  makeFront?: (ref: readonly number[]) => HypervolumeFront,
): HypervolumeHistory | null {
  const objectives = study.objectives as Objectives;
  if (objectives.length < 2) return null;
  const all = valued(trials, objectives.length).sort((a, b) => a.number - b.number);
  // `all` is referenceValues' set already (referencePoint reads the first objectives.length values)
  const ref = refPoint ? [...refPoint] : referencePoint(all.map((t) => t.values as number[]), objectives);
  if (ref === null) return null;
  const refSource: RefSource = refPoint ? 'given' : 'study';
  const constraints = studyConstraints(study as StudyRecord);
  const r = toMin(ref, objectives);
  // The Pareto set so far, as paretoSet keeps it (ties of equal values all kept), as minimisation vectors.
  const front = (makeFront ?? hypervolumeFront)(r);
  let last = all[0]!.number;
  let hv = 0;
  const history: { number: number; hv: number }[] = [];
  for (const t of all) {
    last = t.number;
    if (constraints.length && violates(t.metrics ?? {}, constraints)) continue;
    const add = front.add(toMin(t.values as number[], objectives));
    if (add > 0) {
      hv += add;
      history.push({ number: t.number, hv });
    }
  }
  // The last point computed directly over the final front (toMin is its own inverse: the values
  // again), as hypervolumeOf gives status its figure, not as a sum of steps.
  const final = hypervolumeOf(front.points().map((p) => ({ values: toMin(p, objectives) })), objectives, ref, refSource);
  if (history.length && history[history.length - 1]!.number === last) history.pop();
  history.push({ number: last, hv: final.value });
  const on = `${objectives.map((o) => `${o.metric} (${o.direction})`).join(', ')}`;
  return {
    metrics: objectives.map((o) => o.metric),
    ref,
    refSource,
    refText: refPointText(final, objectives),
    caption:
      `volume dominated by the Pareto front of the complete feasible trials so far on ${on} (${front.size} trial(s) on it at the end; ` +
      `the last point is what tsnas status --study gives), bounded by the reference point ${refPointText(final, objectives)}`,
    front: front.size,
    history,
    ...(final.warning ? { warning: final.warning } : {}),
  };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : Math.abs(x) >= 100 ? x.toFixed(2) : x.toPrecision(5).replace(/0+$/, '').replace(/\.$/, '');
}

/** `--ref-point A,B` parsed: one finite number per objective; errors name the flag. */
export function parseRefPoint(text: string, objectives: Objectives): number[] {
  const items = text.split(',').map((x) => x.trim());
  const nums = items.map(Number);
  const bad = items.findIndex((x, i) => x === '' || !Number.isFinite(nums[i]!));
  if (bad >= 0) throw new NasError('invalid_config', `${JSON.stringify(items[bad])} is not a number`, { field: '--ref-point', hint: `one number per objective (${objectives.map((o) => o.metric).join(', ')}), e.g. --ref-point ${objectives.map((o) => (o.direction === 'maximize' ? 0 : 100)).join(',')}` });
  if (nums.length !== objectives.length)
    throw new NasError('invalid_config', `has ${nums.length} value(s); the study has ${objectives.length} objective(s) (${objectives.map((o) => o.metric).join(', ')})`, { field: '--ref-point', hint: 'one value per objective, in order' });
  return nums;
}
