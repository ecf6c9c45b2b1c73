/**
 * Exact hypervolume for any number of objectives: the WFG algorithm of L. While, L. Bradstreet and
 * L. Barone, "A Fast Way of Calculating Exact Hypervolumes", IEEE Transactions on Evolutionary
 * Computation 16(1):86-95, 2012.
 *
 * Points are minimisation vectors (negate maximised objectives first; src/api/pareto.ts does it by
 * each objective's direction), one value per objective; `ref` is the reference point, the worst
 * corner. The hypervolume is the Lebesgue measure of the union of the boxes [p, ref] over the
 * points p that are strictly better than `ref` on every objective; a point that is not (equal or
 * worse on some objective) bounds nothing and adds nothing. Units: the product of the objectives'
 * units.
 *
 * WFG: hv(S) = sum over p_k of exclhv(p_k), where exclhv(p_k) = inclhv(p_k) - hv(nds(limitset)),
 * inclhv(p) = prod_j (ref_j - p_j), limitset = { max(p_k, q) : q after p_k } (coordinate-wise
 * worse of the two) and nds keeps its non-dominated points. The points are processed in
 * descending order of their last objective (the order WFG uses), so every point of a limit set
 * takes p_k's last value: exclhv(p_k) = (ref_m - p_k,m) * (inclhv and limit set over the first
 * m - 1 objectives), and the recursion drops one objective per level, down to three objectives.
 * Three objectives: the sweep in the third objective of N. Beume, C. M. Fonseca, M. López-Ibáñez,
 * L. Paquete and J. Vahrenhold, "On the Complexity of Computing the Hypervolume Indicator", IEEE
 * TEVC 13(5):1075-1082, 2009 (hv3d: the 2-D front kept as a sorted array instead of their balanced
 * tree, so O(n log n) comparisons and O(n^2) element moves at worst). Two objectives: the
 * sort-and-sweep hypervolume2d. One objective: ref - min. The cost grows exponentially with the
 * number of objectives in the worst case, as every known exact method's.
 */
import { NasError } from '../core/errors.js';
import { dominates, hypervolume2d } from './pareto.js';

type Point = readonly number[];

/**
 * Exact hypervolume of `points` (minimisation, each of `ref.length` values) bounded by `ref`.
 * Points not strictly better than `ref` on every objective, duplicates and dominated points are
 * allowed (they add nothing); an empty set (or none inside) has hypervolume 0.
 * Errors (`invalid_config`, field `points` or `ref`): a point whose length differs from the
 * reference point's, a non-finite value, an empty reference point.
 */
export function hypervolume(points: readonly Point[], ref: Point): number {
  const m = ref.length;
  if (m === 0) throw new NasError('invalid_config', 'the reference point is empty', { field: 'ref', hint: 'one value per objective' });
  if (!ref.every(Number.isFinite)) throw new NasError('invalid_config', `the reference point (${ref.join(', ')}) has a value that is not finite`, { field: 'ref', hint: 'one finite number per objective' });
  const inside: Point[] = [];
  for (const p of points) {
    if (p.length !== m) throw new NasError('invalid_config', `a point has ${p.length} value(s), the reference point ${m}`, { field: 'points', hint: 'one value per objective, in the reference point\'s order' });
    if (!p.every(Number.isFinite)) throw new NasError('invalid_config', `the point (${p.join(', ')}) has a value that is not finite`, { field: 'points', hint: 'leave out trials whose objective values are not finite' });
    let ok = true;
    for (let j = 0; j < m && ok; j++) ok = p[j]! < ref[j]!;
    if (ok) inside.push(p);
  }
  if (inside.length === 0) return 0;
  if (m === 1) return ref[0]! - Math.min(...inside.map((p) => p[0]!));
  if (m === 2) return hypervolume2d(inside, ref as [number, number]);
  if (m === 3) return hv3d(inside, ref);
  return wfg(nondominated(inside, m), ref, m);
}

/**
 * Exclusive hypervolume of `p` with respect to `others` (minimisation, bounded by `ref`): what
 * adding p to the set adds, inclhv(p) - hv({ max(p, q) : q in others }) (WFG's exclhv). 0 when p
 * is not strictly better than `ref` everywhere or some member of `others` weakly dominates it.
 * Used for a hypervolume history: hv(S + p) = hv(S) + exclusiveHypervolume(p, S, ref).
 */
export function exclusiveHypervolume(p: Point, others: readonly Point[], ref: Point): number {
  const m = ref.length;
  let incl = 1;
  for (let j = 0; j < m; j++) {
    if (!(p[j]! < ref[j]!)) return 0;
    incl *= ref[j]! - p[j]!;
  }
  const limited = others.map((q) => q.map((v, j) => Math.max(v, p[j]!)));
  return incl - hypervolume(limited, ref);
}

/**
 * A growing Pareto set (minimisation vectors) with what each new point adds to its hypervolume,
 * for a hypervolume history. `add(p)`: p joins unless a member strictly dominates it (a point
 * equal to a member joins too: ties are all kept, as src/api/pareto.ts paretoSet keeps them), the
 * members p strictly dominates leave, and the result is exclusiveHypervolume(p, members before,
 * ref) (0 for a dominated or duplicate point or one not strictly inside `ref`). Points outside
 * `ref` are members too (they count in `size` and can dominate later points). Values must be
 * finite (the caller filters). `size`: members, equal ones each counted; `points()`: them.
 */
export interface HypervolumeFront {
  add(p: Point): number;
  readonly size: number;
  points(): Point[];
}

/**
 * Any number of objectives: dominance against every member and exclusiveHypervolume against all
 * of them (the WFG limit set), O(front) plus the hypervolume of the limit set per point.
 */
export class GeneralHypervolumeFront implements HypervolumeFront {
  private front: Point[] = [];
  constructor(private readonly ref: Point) {}
  get size(): number {
    return this.front.length;
  }
  points(): Point[] {
    return [...this.front];
  }
  add(p: Point): number {
    if (this.front.some((q) => dominates(q, p))) return 0;
    const add = exclusiveHypervolume(p, this.front, this.ref);
    this.front = this.front.filter((q) => !dominates(p, q));
    this.front.push(p);
    return add;
  }
}

/**
 * Two objectives, incrementally: the distinct members kept sorted by the first objective
 * (strictly ascending; the second strictly descending), each with its count of equal points. A
 * new point finds its place by binary search; its exclusive area is the strip between its left
 * neighbour's level (or ref) and its right neighbour's x (or ref), less the boxes of the members
 * it dominates (the sweep hv3d does per slab); those members leave. O(log F) comparisons plus the
 * dominated members and an array splice per point, where GeneralHypervolumeFront builds and
 * sorts the whole limit set. Same results as GeneralHypervolumeFront up to rounding (the areas
 * are summed in another order); tested against it.
 */
export class HypervolumeFront2d implements HypervolumeFront {
  private readonly xs: number[] = [];
  private readonly ys: number[] = [];
  private readonly counts: number[] = [];
  private n = 0;
  constructor(private readonly ref: Point) {
    if (ref.length !== 2) throw new NasError('invalid_config', `HypervolumeFront2d needs a reference point of 2 values, got ${ref.length}`, { field: 'ref', hint: 'use GeneralHypervolumeFront (or hypervolumeFront) for other objective counts' });
  }
  get size(): number {
    return this.n;
  }
  points(): Point[] {
    const out: Point[] = [];
    for (let i = 0; i < this.xs.length; i++) for (let c = 0; c < this.counts[i]!; c++) out.push([this.xs[i]!, this.ys[i]!]);
    return out;
  }
  add(p: Point): number {
    const { xs, ys, counts } = this;
    const x = p[0]!;
    const y = p[1]!;
    // j: the last member with x_j <= x; it has the lowest level of those, so only it can dominate p
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    const j = lo - 1;
    if (j >= 0 && ys[j]! <= y) {
      if (xs[j] === x && ys[j] === y) {
        counts[j]!++;
        this.n++;
      }
      return 0;
    }
    // members p dominates: from k (j itself when it has p's x and a worse y) while their y >= p's
    const k = j >= 0 && xs[j] === x ? j : j + 1;
    let e = k;
    while (e < xs.length && ys[e]! >= y) e++;
    const rx = this.ref[0]!;
    const ry = this.ref[1]!;
    let area = 0;
    if (x < rx && y < ry) {
      const right = e < xs.length ? Math.min(xs[e]!, rx) : rx;
      let h = j >= 0 ? Math.min(ys[j]!, ry) : ry;
      let px = x;
      for (let i = k; i < e; i++) {
        const dx = Math.min(xs[i]!, right);
        area += (dx - px) * (h - y);
        px = dx;
        h = Math.min(h, ys[i]!);
      }
      area += (right - px) * (h - y);
    }
    let removed = 0;
    for (let i = k; i < e; i++) removed += counts[i]!;
    xs.splice(k, e - k, x);
    ys.splice(k, e - k, y);
    counts.splice(k, e - k, 1);
    this.n += 1 - removed;
    return area;
  }
}

/** The front for a hypervolume history bounded by `ref`: HypervolumeFront2d for two objectives, else GeneralHypervolumeFront. */
export function hypervolumeFront(ref: Point): HypervolumeFront {
  return ref.length === 2 ? new HypervolumeFront2d(ref) : new GeneralHypervolumeFront(ref);
}

/**
 * The points no other point weakly dominates, each once (minimisation over the first `m`
 * coordinates). O(n^2 m); the caller keeps n to a front.
 */
function nondominated(points: readonly Point[], m: number): Point[] {
  // sorted lexicographically, a point can only be weakly dominated by an earlier one
  const sorted = [...points].sort((a, b) => {
    for (let j = 0; j < m; j++) if (a[j] !== b[j]) return a[j]! - b[j]!;
    return 0;
  });
  const out: Point[] = [];
  for (const p of sorted) {
    let dominated = false;
    for (const q of out) {
      let le = true;
      for (let j = 0; j < m && le; j++) le = q[j]! <= p[j]!;
      if (le) {
        dominated = true;
        break;
      }
    }
    if (!dominated) out.push(p);
  }
  return out;
}

/**
 * Three objectives (the first three coordinates of `points`, all strictly inside `ref`; dominated
 * points and duplicates allowed): sweep the points in ascending third objective, keeping the 2-D
 * front of the first two (x ascending, y strictly descending) and its area; each slab between two
 * successive third values adds area * thickness (Beume et al. 2009).
 */
function hv3d(points: readonly Point[], ref: Point): number {
  const pts = [...points].sort((a, b) => a[2]! - b[2]!);
  // The 2-D front of the first two objectives and its area, grown one point at a time (the same
  // insertion as a two-objective history: a dominated point or a duplicate adds 0).
  const front = new HypervolumeFront2d([ref[0]!, ref[1]!]);
  let area = 0;
  let total = 0;
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i]!;
    area += front.add([p[0]!, p[1]!]);
    total += area * ((i + 1 < pts.length ? pts[i + 1]![2]! : ref[2]!) - p[2]!);
  }
  return total;
}

/** WFG over the first `m` coordinates of `points` (non-dominated, all strictly inside `ref`), m >= 3. */
function wfg(points: readonly Point[], ref: Point, m: number): number {
  const n = points.length;
  if (n === 0) return 0;
  if (m === 3) return hv3d(points, ref);
  const last = m - 1;
  if (n === 1) {
    let v = 1;
    for (let j = 0; j < m; j++) v *= ref[j]! - points[0]![j]!;
    return v;
  }
  // descending in the last objective (ties: any order, the limit sets are still exact)
  const pts = [...points].sort((a, b) => b[last]! - a[last]!);
  let total = 0;
  for (let k = 0; k < n; k++) {
    const p = pts[k]!;
    const height = ref[last]! - p[last]!;
    let incl = 1;
    for (let j = 0; j < last; j++) incl *= ref[j]! - p[j]!;
    const limited: number[][] = [];
    for (let i = k + 1; i < n; i++) {
      const q = pts[i]!;
      const l = new Array<number>(last);
      for (let j = 0; j < last; j++) l[j] = Math.max(p[j]!, q[j]!);
      limited.push(l);
    }
    // the three-objective sweep skips dominated points itself; higher levels need the non-dominated set
    const sub = limited.length === 0 ? 0 : wfg(last === 3 ? limited : nondominated(limited, last), ref, last);
    total += height * (incl - sub);
  }
  return total;
}
