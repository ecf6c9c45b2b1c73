/**
 * Pure computations behind the study view's charts. No DOM, no imports: unit-tested under node
 * (src/server/analysis.test.ts) as well as bundled into the page.
 */

export type Dir = 'maximize' | 'minimize';

export interface ValuePoint {
  readonly number: number;
  readonly value: number;
}

/** Best value after each point, in the order given (points should be sorted by trial number). */
export function bestSoFar(points: readonly ValuePoint[], dir: Dir): number[] {
  const out: number[] = [];
  let best = dir === 'maximize' ? -Infinity : Infinity;
  for (const p of points) {
    if (dir === 'maximize' ? p.value > best : p.value < best) best = p.value;
    out.push(best);
  }
  return out;
}

export interface XY {
  readonly x: number;
  readonly y: number;
}

/**
 * Indices of the non-dominated points for objectives (x, dirX) and (y, dirY), sorted by x
 * ascending. A point dominates another when it is no worse on both and better on one.
 */
export function paretoFront(points: readonly XY[], dirX: Dir, dirY: Dir): number[] {
  const sx = dirX === 'maximize' ? -1 : 1; // sign so that smaller is better
  const sy = dirY === 'maximize' ? -1 : 1;
  const order = points
    .map((p, i) => ({ i, x: p.x * sx, y: p.y * sy }))
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    .sort((a, b) => a.x - b.x || a.y - b.y);
  const front: number[] = [];
  let bestY = Infinity;
  for (const p of order) {
    if (p.y < bestY) {
      front.push(p.i);
      bestY = p.y;
    }
  }
  return front.sort((a, b) => points[a]!.x - points[b]!.x);
}

export type Param = string | number | boolean | null;

export interface Importance {
  readonly name: string;
  /** Correlation ratio eta^2 in [0, 1]: share of the objective's variance explained by the parameter's groups. */
  readonly score: number;
  readonly groups: readonly { readonly label: string; readonly count: number; readonly mean: number; readonly topCount: number }[];
}

/**
 * Per-parameter importance as the correlation ratio (eta squared) of the objective grouped by the
 * parameter's value. Numeric parameters with more than `maxLevels` distinct values are cut into
 * quantile bins. `topCount` per group counts the trials among the best `topFrac` share.
 */
export function importance(
  rows: readonly { readonly params: Readonly<Record<string, Param>>; readonly value: number }[],
  dir: Dir,
  maxLevels = 8,
  topFrac = 0.2,
): Importance[] {
  if (rows.length < 2) return [];
  const values = rows.map((r) => r.value);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const total = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  const sorted = [...values].sort((a, b) => (dir === 'maximize' ? b - a : a - b));
  const nTop = Math.max(1, Math.round(rows.length * topFrac));
  const cut = sorted[nTop - 1]!;
  const isTop = (v: number): boolean => (dir === 'maximize' ? v >= cut : v <= cut);
  const names = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.params)) names.add(k);
  const out: Importance[] = [];
  for (const name of names) {
    const raw = rows.map((r) => r.params[name] ?? null);
    const distinct = new Set(raw.map((v) => String(v)));
    if (distinct.size < 2) continue;
    const numeric = raw.every((v) => typeof v === 'number');
    let labels: string[];
    if (numeric && distinct.size > maxLevels) {
      const nums = raw as number[];
      const qs = [...nums].sort((a, b) => a - b);
      const edges: number[] = [];
      const bins = Math.min(5, maxLevels);
      for (let b = 1; b < bins; b++) edges.push(qs[Math.floor((b * qs.length) / bins)]!);
      const uniq = [...new Set(edges)];
      labels = nums.map((v) => {
        let k = 0;
        while (k < uniq.length && v >= uniq[k]!) k++;
        const lo = k === 0 ? qs[0]! : uniq[k - 1]!;
        const hi = k === uniq.length ? qs[qs.length - 1]! : uniq[k]!;
        return `${fmtNum(lo)}–${fmtNum(hi)}`;
      });
    } else labels = raw.map((v) => String(v));
    const groups = new Map<string, { sum: number; count: number; top: number }>();
    labels.forEach((l, i) => {
      const g = groups.get(l) ?? { sum: 0, count: 0, top: 0 };
      g.sum += values[i]!;
      g.count += 1;
      if (isTop(values[i]!)) g.top += 1;
      groups.set(l, g);
    });
    let between = 0;
    for (const g of groups.values()) between += g.count * (g.sum / g.count - mean) ** 2;
    out.push({
      name,
      score: total > 0 ? between / total : 0,
      groups: [...groups.entries()]
        .map(([label, g]) => ({ label, count: g.count, mean: g.sum / g.count, topCount: g.top }))
        .sort((a, b) => (dir === 'maximize' ? b.mean - a.mean : a.mean - b.mean)),
    });
  }
  return out.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
}

function fmtNum(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-2)) return v.toExponential(1);
  return String(Math.round(v * 100) / 100);
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) return [lo];
  const span = hi - lo;
  const step0 = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(step0));
  const err = step0 / mag;
  const step = (err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1) * mag;
  // Integer multiples of the step, rounded to its decimals (0.1 * 3 is not 0.3 in floating point).
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(Number((k * step).toFixed(decimals)));
  return out;
}

/** Guess whether bigger is better for a metric that is not a declared objective. */
export function guessDirection(metric: string): Dir {
  return /acc|f1|auc|score|precision|recall/i.test(metric) ? 'maximize' : 'minimize';
}
