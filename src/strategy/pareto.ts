/**
 * Pareto tools shared by multi-objective strategies and benchmarks. Every function takes points
 * as minimisation vectors (negate maximised objectives first).
 */
import { NasError } from '../core/errors.js';

/** a dominates b: no worse in every objective and better in at least one (minimisation). */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! > b[i]!) return false;
    if (a[i]! < b[i]!) better = true;
  }
  return better;
}

/**
 * Fast non-dominated sorting (Deb et al. 2002): fronts of indices, front 0 the non-dominated set.
 * O(M N^2).
 */
export function nonDominatedSort(points: readonly (readonly number[])[]): number[][] {
  const n = points.length;
  const dominatedBy = Array.from({ length: n }, () => [] as number[]);
  const count = new Int32Array(n);
  const fronts: number[][] = [[]];
  for (let p = 0; p < n; p++)
    for (let q = p + 1; q < n; q++) {
      if (dominates(points[p]!, points[q]!)) {
        dominatedBy[p]!.push(q);
        count[q]!++;
      } else if (dominates(points[q]!, points[p]!)) {
        dominatedBy[q]!.push(p);
        count[p]!++;
      }
    }
  for (let p = 0; p < n; p++) if (count[p] === 0) fronts[0]!.push(p);
  for (let i = 0; fronts[i]!.length; i++) {
    const next: number[] = [];
    for (const p of fronts[i]!)
      for (const q of dominatedBy[p]!) {
        count[q]!--;
        if (count[q] === 0) next.push(q);
      }
    fronts.push(next);
  }
  fronts.pop();
  return fronts;
}

/** Crowding distance of each member of one front (Deb et al. 2002); boundary points get Infinity. */
export function crowdingDistance(points: readonly (readonly number[])[]): number[] {
  const n = points.length;
  const d = new Array<number>(n).fill(0);
  if (n === 0) return d;
  const m = points[0]!.length;
  for (let k = 0; k < m; k++) {
    const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => points[a]![k]! - points[b]![k]! || a - b);
    const lo = points[idx[0]!]![k]!;
    const hi = points[idx[n - 1]!]![k]!;
    d[idx[0]!] = Infinity;
    d[idx[n - 1]!] = Infinity;
    if (hi === lo) continue;
    for (let i = 1; i < n - 1; i++) d[idx[i]!]! += (points[idx[i + 1]!]![k]! - points[idx[i - 1]!]![k]!) / (hi - lo);
  }
  return d;
}

/** The non-dominated points (duplicates kept once), as copies. */
export function paretoFront(points: readonly (readonly number[])[]): number[][] {
  const front = nonDominatedSort(points)[0] ?? [];
  const seen = new Set<string>();
  const out: number[][] = [];
  for (const i of front) {
    const s = points[i]!.join(',');
    if (!seen.has(s)) {
      seen.add(s);
      out.push([...points[i]!]);
    }
  }
  return out;
}

/**
 * Exact 2-D hypervolume (minimisation) dominated by `points` and bounded by the reference point
 * `ref`; points not strictly better than `ref` in both objectives contribute nothing.
 */
export function hypervolume2d(points: readonly (readonly number[])[], ref: readonly [number, number]): number {
  const pts = points.filter((p) => {
    if (p.length !== 2) throw new NasError('invalid_config', `hypervolume2d needs 2 objectives, got a point with ${p.length}`, { field: 'points' });
    return p[0]! < ref[0] && p[1]! < ref[1];
  });
  pts.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let hv = 0;
  let yPrev = ref[1];
  for (const p of pts) {
    if (p[1]! >= yPrev) continue; // dominated by an earlier point
    hv += (ref[0] - p[0]!) * (yPrev - p[1]!);
    yPrev = p[1]!;
  }
  return hv;
}
