/**
 * The result of a multi-objective study: its Pareto set (Optuna's `Study.best_trials`: the
 * complete, feasible trials no other such trial dominates on all objectives) and its hypervolume
 * with a stated reference point. `tsnas best`/`status`/`export`/`repeat` and `/api/compare` read it.
 *
 * Reference point (units of the objectives, one value per objective): given (`--ref-point`, the
 * same for every study it is used on: hypervolumes of different studies are then comparable), or
 * computed as the dashboard and report draw it, 10% of the range beyond the worst value of each
 * objective over every complete trial of the studies it is computed from (referencePoint); for
 * several studies one point over all of them ("shared"), so their hypervolumes compare.
 * Hypervolume is exact for two objectives (hypervolume2d); with three or more it is null (not computed).
 */
import { NasError } from '../core/errors.js';
import { violates } from '../core/metrics.js';
import type { StudyRecord, TrialRecord } from '../store/types.js';
import { studyConstraints } from '../store/common.js';
import { hypervolume2d, nonDominatedSort } from '../strategy/pareto.js';

type Dir = 'maximize' | 'minimize';
type Objectives = readonly { readonly metric: string; readonly direction: Dir }[];

/** Where a reference point came from: given by the user, this study's own trials, or shared by the studies compared. */
export type RefSource = 'given' | 'study' | 'shared';

export interface Hypervolume {
  /** Area dominated by the front and bounded by `ref` (units: product of the two objectives' units); null with 3+ objectives. */
  readonly value: number | null;
  /** One value per objective, in the study's objective order. */
  readonly ref: readonly number[];
  readonly refSource: RefSource;
  /** Set when the reference point bounds nothing of the front (refPointProblem): the hypervolume is then 0 for that reason, said. */
  readonly warning?: string;
}

export interface ParetoSet {
  readonly objectives: Objectives;
  /** The Pareto-optimal trials, sorted by the first objective (best first), then by number. */
  readonly trials: TrialRecord[];
  /** Complete trials with every objective value finite, and how many of them satisfy the constraints. */
  readonly complete: number;
  readonly feasible: number;
}

/** Objective values of complete trials with every value finite (what a front or a reference point is made of). */
function valued(trials: readonly TrialRecord[], n: number): TrialRecord[] {
  return trials.filter((t) => t.state === 'complete' && t.values !== null && t.values.length >= n && t.values.slice(0, n).every((v) => v !== null && Number.isFinite(v)));
}

const toMin = (values: readonly number[], objectives: Objectives): number[] => objectives.map((o, i) => (o.direction === 'maximize' ? -values[i]! : values[i]!));

/** The Pareto set of `study`'s `trials`: complete, every objective finite, feasible, non-dominated. */
export function paretoSet(study: Pick<StudyRecord, 'objectives' | 'constraints'>, trials: readonly TrialRecord[]): ParetoSet {
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
export function referenceValues(trials: readonly TrialRecord[], objectives: Objectives): number[][] {
  return valued(trials, objectives.length).map((t) => (t.values as number[]).slice(0, objectives.length));
}

/** Hypervolume of the front's values bounded by `ref` (two objectives; null otherwise). Trials not better than `ref` in both add nothing. */
export function hypervolumeOf(front: readonly TrialRecord[], objectives: Objectives, ref: readonly number[], refSource: RefSource): Hypervolume {
  if (ref.length !== objectives.length)
    throw new NasError('invalid_config', `the reference point has ${ref.length} value(s), the study ${objectives.length} objective(s) (${objectives.map((o) => o.metric).join(', ')})`, {
      field: 'ref_point',
      hint: `one value per objective, in order, e.g. --ref-point ${objectives.map((o) => (o.direction === 'maximize' ? 0 : 100)).join(',')}`,
    });
  const problem = refPointProblem(front.map((t) => t.values as number[]), objectives, ref);
  const warning = problem === null ? {} : { warning: problem };
  if (objectives.length !== 2) return { value: null, ref, refSource, ...warning };
  const pts = front.map((t) => toMin(t.values as number[], objectives));
  const r = toMin(ref, objectives) as [number, number];
  return { value: hypervolume2d(pts, r), ref, refSource, ...warning };
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
export function refPointText(h: Hypervolume, objectives: Objectives, studies = 1): string {
  const at = objectives.map((o, i) => `${o.metric}=${fmt(h.ref[i]!)}`).join(', ');
  const why =
    h.refSource === 'given'
      ? 'given with --ref-point'
      : h.refSource === 'shared'
        ? `shared by the ${studies} studies: 10% of the range beyond the worst complete trial of any of them`
        : '10% of the range beyond the worst complete trial of this study; another study gets its own point unless --ref-point fixes one';
  return `${at} (${why})`;
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
