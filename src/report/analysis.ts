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

// ---------------------------------------------------------------------------------------------
// Scale: fronts, distributions and sampling over every trial of large studies (the hypervolume
// history is src/api/pareto.ts hypervolumeHistory).

/**
 * PED-ANOVA importance (Watanabe, Bansal and Hutter, "PED-ANOVA: Efficiently Quantifying
 * Hyperparameter Importance in Arbitrary Subspaces", IJCAI 2023), for discrete values: the Pearson
 * divergence between the distribution of a parameter's values among the top `topFrac` trials
 * (p_top) and among all trials (p_all), sum_v p_all(v) (p_top(v)/p_all(v) - 1)^2. Both
 * distributions are histograms with add-one smoothing; numeric parameters with more than
 * `maxLevels` distinct values are cut into 5 quantile bins first (the paper uses Parzen estimators
 * for continuous parameters; bins are the simpler, discrete form). 0 = the top trials use the
 * parameter like everyone else; larger = the top trials concentrate on some values. O(n) per parameter.
 */
export function pedAnova(
  rows: readonly { readonly params: Readonly<Record<string, Param>>; readonly value: number }[],
  dir: Dir,
  topFrac = 0.1,
  maxLevels = 8,
): { name: string; score: number }[] {
  if (rows.length < 4) return [];
  const order = rows.map((r, i) => ({ v: r.value, i })).sort((a, b) => (dir === 'maximize' ? b.v - a.v : a.v - b.v));
  const nTop = Math.max(2, Math.round(rows.length * topFrac));
  const top = new Set(order.slice(0, nTop).map((x) => x.i));
  const names = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.params)) names.add(k);
  const out: { name: string; score: number }[] = [];
  for (const name of names) {
    const labels = levelLabels(rows.map((r) => r.params[name] ?? null), maxLevels);
    const all = new Map<string, number>();
    const tops = new Map<string, number>();
    labels.forEach((l, i) => {
      all.set(l, (all.get(l) ?? 0) + 1);
      if (top.has(i)) tops.set(l, (tops.get(l) ?? 0) + 1);
    });
    if (all.size < 2) continue;
    const k = all.size;
    let score = 0;
    for (const [l, c] of all) {
      const pAll = (c + 1) / (rows.length + k);
      const pTop = ((tops.get(l) ?? 0) + 1) / (nTop + k);
      score += pAll * (pTop / pAll - 1) ** 2;
    }
    out.push({ name, score });
  }
  return out.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
}

/** Group labels of a parameter's values: the value itself, or a quantile bin for many numbers. */
export function levelLabels(raw: readonly Param[], maxLevels = 8): string[] {
  const { code, labels } = levelCodes(raw, maxLevels);
  return Array.from(code, (c) => labels[c]!);
}

/**
 * `levelLabels` as codes: `labels` are the distinct labels in order of first appearance and
 * `code[i]` indexes the label of raw[i]. No string is made per value (a label per distinct value
 * or quantile bin only): what ranking 20,000 trials' parameters needs.
 */
export function levelCodes(raw: readonly Param[], maxLevels = 8): { code: Int32Array; labels: string[] } {
  const n = raw.length;
  const code = new Int32Array(n);
  const labels: string[] = [];
  const byLabel = new Map<string, number>();
  const labelCode = (l: string): number => {
    let c = byLabel.get(l);
    if (c === undefined) {
      c = labels.length;
      labels.push(l);
      byLabel.set(l, c);
    }
    return c;
  };
  let numeric = true;
  for (let i = 0; i < n && numeric; i++) numeric = typeof raw[i] === 'number';
  // distinct values -> the code of their label (values with one label share it: 1 and '1')
  const byValue = new Map<Param, number>();
  const coded = (): { code: Int32Array; labels: string[] } => {
    for (let i = 0; i < n; i++) {
      const v = raw[i]!;
      let c = byValue.get(v);
      if (c === undefined) byValue.set(v, (c = labelCode(typeof v === 'string' ? v : String(v))));
      code[i] = c;
    }
    return { code, labels };
  };
  if (!numeric) return coded();
  const nums = raw as readonly number[];
  const distinct = new Set(nums);
  if (distinct.size <= maxLevels) return coded();
  const qs = Float64Array.from(nums).sort();
  const edges: number[] = [];
  const bins = Math.min(5, maxLevels);
  for (let b = 1; b < bins; b++) edges.push(qs[Math.floor((b * qs.length) / bins)]!);
  const uniq = [...new Set(edges)];
  const binCode: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = nums[i]!;
    let k = 0;
    while (k < uniq.length && v >= uniq[k]!) k++;
    let c = binCode[k];
    if (c === undefined) {
      const lo = k === 0 ? qs[0]! : uniq[k - 1]!;
      const hi = k === uniq.length ? qs[qs.length - 1]! : uniq[k]!;
      binCode[k] = c = labelCode(`${fmtNum(lo)}–${fmtNum(hi)}`);
    }
    code[i] = c;
  }
  return { code, labels };
}

/**
 * Empirical distribution function of `values` (finite ones): at most `maxPoints` (x, F(x)) steps
 * taken at evenly spaced ranks of the sorted values, always including the first and the last.
 * `n` is how many values it describes (all of them, whatever was drawn).
 */
export function edf(values: readonly number[], maxPoints = 400): { n: number; points: { x: number; y: number }[] } {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  const n = v.length;
  if (n === 0) return { n, points: [] };
  const idx = sampleIndices(n, maxPoints);
  return { n, points: idx.map((i) => ({ x: v[i]!, y: (i + 1) / n })) };
}

/** `k` (at most n) indices spread evenly over 0..n-1, first and last included. */
export function sampleIndices(n: number, k: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let j = 0; j < k; j++) out.push(Math.round((j * (n - 1)) / Math.max(1, k - 1)));
  return [...new Set(out)];
}

/**
 * Indices of at most `max` items to draw: every index in `keep` (best-so-far improvements,
 * front members), then evenly strided others; returned ascending.
 */
export function downsample(n: number, max: number, keep: Iterable<number>): number[] {
  const chosen = new Set<number>();
  for (const i of keep) if (i >= 0 && i < n) chosen.add(i);
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const room = Math.max(0, max - chosen.size);
  for (const i of sampleIndices(n, room)) chosen.add(i);
  return [...chosen].sort((a, b) => a - b);
}

/** Whether values spanning [lo, hi] read better on a log axis: all positive and > 2 decades. */
export function wantsLog(values: readonly number[]): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo > 0 && hi / lo > 100;
}

export type MetricKind = 'percent' | 'loss' | 'score' | 'lr' | 'time' | 'other';
export const METRIC_KINDS: readonly MetricKind[] = ['percent', 'loss', 'score', 'lr', 'time', 'other'];
export const METRIC_KIND_LABEL: Record<MetricKind, string> = {
  percent: 'accuracy (%)',
  loss: 'loss',
  score: 'score (0-1)',
  lr: 'learning rate',
  time: 'time',
  other: 'other',
};

/**
 * What kind of quantity a per-epoch metric is, so that curves sharing an axis share a unit:
 * accuracies in percent; losses; 0-1 scores (precision, recall, F1, AUC; an accuracy whose values
 * all lie in [0, 1] counts as a score); learning rates; times (seconds, ms); anything else.
 * `values` (optional) are the metric's observed values.
 */
export function metricKind(name: string, values: readonly number[] = []): MetricKind {
  const n = name.toLowerCase();
  if (/(^|_)(lr|learning_rate)($|_)/.test(n)) return 'lr';
  if (/loss|nll|cross_?entropy|mse|mae/.test(n)) return 'loss';
  if (/(_s|_ms|_sec|_seconds|seconds|time|duration)$|^time|epoch_s/.test(n)) return 'time';
  const finite = values.filter(Number.isFinite);
  const unit = finite.length > 0 && finite.every((v) => v >= 0 && v <= 1);
  if (/acc/.test(n)) return unit ? 'score' : 'percent';
  if (/precision|recall|f1|auc|iou|score/.test(n)) return unit || finite.length === 0 ? 'score' : 'percent';
  return 'other';
}

/**
 * Both importance measures in one pass per parameter (each parameter's value labels are computed
 * once): eta^2 with its value groups (see `importance`) and the PED-ANOVA score (see `pedAnova`),
 * ranked by PED-ANOVA. Parameters with a single value are left out. Rows are turned into one
 * column per parameter name and ranked by `columnImportance`.
 */
export function parameterImportance(
  rows: readonly { readonly params: Readonly<Record<string, Param>>; readonly value: number }[],
  dir: Dir,
  opts: { maxLevels?: number; topFrac?: number; pedTopFrac?: number } = {},
): { name: string; ped: number; eta2: number; groups: Importance['groups'] }[] {
  return columnImportance(paramColumnsOf(rows), Array.from(rows, (_, i) => i), rows.map((r) => r.value), dir, opts);
}

/**
 * The rows' params as columns: parameter name -> its value per row, aligned with `rows` (undefined
 * where a row lacks it, as in conditional spaces).
 */
export function paramColumnsOf<V>(rows: readonly { readonly params: Readonly<Record<string, V>> }[]): Map<string, (V | undefined)[]> {
  const columns = new Map<string, (V | undefined)[]>();
  for (let i = 0; i < rows.length; i++) {
    const p = rows[i]!.params;
    for (const k in p) {
      let c = columns.get(k);
      if (c === undefined) columns.set(k, (c = new Array<V | undefined>(rows.length).fill(undefined)));
      c[i] = p[k];
    }
  }
  return columns;
}

/**
 * 1 for the `k` best of `values` (largest when maximising), the rest 0: the first k of a stable
 * sort by value, so among equal values the earlier ones. Through the k-th best value of a typed
 * array's sort (no comparator call per pair); values that are not all finite take the sort itself.
 */
export function topMask(values: readonly number[], k: number, dir: Dir): Uint8Array {
  const n = values.length;
  const mask = new Uint8Array(n);
  if (k <= 0 || n === 0) return mask;
  let finite = true;
  for (let i = 0; i < n && finite; i++) finite = Number.isFinite(values[i]);
  if (!finite) {
    const order = values.map((v, i) => ({ v, i })).sort((a, b) => (dir === 'maximize' ? b.v - a.v : a.v - b.v));
    for (let r = 0; r < Math.min(k, n); r++) mask[order[r]!.i] = 1;
    return mask;
  }
  if (k >= n) return mask.fill(1);
  const sorted = Float64Array.from(values).sort();
  // the k-th best value; those better are in, then equal ones in order until k
  const kth = dir === 'maximize' ? sorted[n - k]! : sorted[k - 1]!;
  let room = k;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (dir === 'maximize' ? v > kth : v < kth) {
      mask[i] = 1;
      room--;
    }
  }
  for (let i = 0; i < n && room > 0; i++) {
    if (values[i] === kth) {
      mask[i] = 1;
      room--;
    }
  }
  return mask;
}

interface Groups {
  readonly labels: string[];
  readonly sum: Float64Array;
  readonly count: Float64Array;
  readonly top: Float64Array;
  readonly pedCount: Float64Array;
}

/**
 * One column's groups as columnImportance makes them of levelCodes' codes, in one pass over the
 * trials `at` and one Map lookup per value, when every label is one distinct value's (its trials
 * are then exactly that value's, so each sum adds the same values in the same order): null when
 * levelCodes must group them, i.e. numbers of more than `maxLevels` distinct values (quantile
 * bins) or two distinct values of one label (1 and '1'). Absent values count as null, as there.
 */
function valueGroups(
  col: readonly (Param | undefined)[],
  at: readonly number[],
  values: readonly number[],
  top20: Uint8Array,
  topPed: Uint8Array,
  maxLevels: number,
): Groups | null {
  const n = at.length;
  const index = new Map<Param, number>();
  const distinct: Param[] = [];
  let numeric = true;
  let size = 16;
  let sum = new Float64Array(size);
  let count = new Float64Array(size);
  let top = new Float64Array(size);
  let pedCount = new Float64Array(size);
  for (let j = 0; j < n; j++) {
    const x = col[at[j]!];
    const v = x === undefined ? null : x;
    let c = index.get(v);
    if (c === undefined) {
      c = distinct.length;
      if (typeof v !== 'number') numeric = false;
      else if (numeric && c >= maxLevels) return null;
      if (c === size) {
        size *= 2;
        const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
          const b = new Float64Array(size);
          b.set(a);
          return b;
        };
        sum = grow(sum);
        count = grow(count);
        top = grow(top);
        pedCount = grow(pedCount);
      }
      distinct.push(v);
      index.set(v, c);
    }
    sum[c]! += values[j]!;
    count[c]! += 1;
    top[c]! += top20[j]!;
    pedCount[c]! += topPed[j]!;
  }
  const labels = distinct.map((v) => (typeof v === 'string' ? v : String(v)));
  if (new Set(labels).size !== labels.length) return null;
  const k = labels.length;
  return { labels, sum: sum.subarray(0, k), count: count.subarray(0, k), top: top.subarray(0, k), pedCount: pedCount.subarray(0, k) };
}

/**
 * `parameterImportance` over parameter columns: `columns` maps a parameter name to its value per
 * trial (undefined or null where a trial lacks it), `at[j]` is the column index of the j-th
 * ranked trial and `values[j]` its objective value. Values are grouped by their `levelLabels`;
 * each trial adds to its group's count, sum, top-20% and top-10% (PED-ANOVA's gamma) counts.
 */
export function columnImportance(
  columns: ReadonlyMap<string, readonly (Param | undefined)[]>,
  at: readonly number[],
  values: readonly number[],
  dir: Dir,
  opts: { maxLevels?: number; topFrac?: number; pedTopFrac?: number } = {},
): { name: string; ped: number; eta2: number; groups: Importance['groups'] }[] {
  const n = at.length;
  if (n < 4) return [];
  const maxLevels = opts.maxLevels ?? 8;
  let mean = 0;
  for (const v of values) mean += v;
  mean /= n;
  let total = 0;
  for (const v of values) total += (v - mean) ** 2;
  const nTop20 = Math.max(1, Math.round(n * (opts.topFrac ?? 0.2)));
  const nPed = Math.max(2, Math.round(n * (opts.pedTopFrac ?? 0.1)));
  const top20 = topMask(values, nTop20, dir);
  const topPed = topMask(values, nPed, dir);
  const out: { name: string; ped: number; eta2: number; groups: Importance['groups'] }[] = [];
  const raw: Param[] = new Array<Param>(n);
  for (const [name, col] of columns) {
    // groups by label, in order of first appearance: in one pass over the values when each label
    // is one value's, else through levelCodes
    let g = valueGroups(col, at, values, top20, topPed, maxLevels);
    if (g === null) {
      let any = false;
      for (let j = 0; j < n; j++) {
        const v = col[at[j]!];
        raw[j] = v === undefined ? null : v;
        if (v !== undefined && v !== null) any = true;
      }
      if (!any) continue;
      const { code, labels } = levelCodes(raw, maxLevels);
      const k = labels.length;
      const sum = new Float64Array(k);
      const count = new Float64Array(k);
      const top = new Float64Array(k);
      const pedCount = new Float64Array(k);
      for (let j = 0; j < n; j++) {
        const c = code[j]!;
        sum[c]! += values[j]!;
        count[c]! += 1;
        top[c]! += top20[j]!;
        pedCount[c]! += topPed[j]!;
      }
      g = { labels, sum, count, top, pedCount };
    } else if (g.labels.length === 1 && g.labels[0] === 'null') continue; // every trial lacks it
    const { labels, sum, count, top, pedCount } = g;
    const k = labels.length;
    if (k < 2) continue;
    let between = 0;
    let ped = 0;
    for (let c = 0; c < k; c++) {
      between += count[c]! * (sum[c]! / count[c]! - mean) ** 2;
      const pAll = (count[c]! + 1) / (n + k);
      const pTop = (pedCount[c]! + 1) / (nPed + k);
      ped += pAll * (pTop / pAll - 1) ** 2;
    }
    out.push({
      name,
      ped,
      eta2: total > 0 ? between / total : 0,
      groups: labels
        .map((label, c) => ({ label, count: count[c]!, mean: sum[c]! / count[c]!, topCount: top[c]! }))
        .sort((a, b) => (dir === 'maximize' ? b.mean - a.mean : a.mean - b.mean)),
    });
  }
  return out.sort((a, b) => b.ped - a.ped || a.name.localeCompare(b.name));
}
