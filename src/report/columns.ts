/**
 * Number formatting and metric-column choice shared by the static report (src/report/index.ts)
 * and the dashboard (dashboard/src/dom.ts, views/study.ts), so both show the same columns and the
 * same digits.
 *
 * Formatting: a count (an integer, or a metric named as a count: params, nonzero_params, flops,
 * macs, *_bytes, epochs, cv_folds, ...) is always written in full with thousands separators
 * (1,073,466; never 1.07e+6), rounded to an integer; any other number is a float: fixed digits
 * (one decimal from 100 up), exponent form only below 1e-3 or from 1e6.
 *
 * Columns (chooseMetricColumns): the objectives in order, then the tie-break metric, then test
 * metrics (test_acc first), then validation metrics, then the other quality metrics, then costs
 * (params, flops, macs, latency_ms, sizes), then per-device latencies (`latency_<device>_ms`)
 * last; a per-device latency whose values equal latency_ms's in every given row is its copy
 * (the NB201 table's default device) and is dropped. At most `max` columns.
 */

const COUNT = /^(params|nonzero_params|flops|macs|epochs|cv_folds|cv_repeats|steps|.*_threads|.*_bytes|.*_count)$/;

/** True for metrics that are counts (integers by definition). */
export function isCountMetric(name: string): boolean {
  return COUNT.test(name);
}

/** A count: rounded to an integer, written in full with thousands separators; '–' when absent. */
export function fmtCount(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return Math.round(v).toLocaleString('en-US');
}

/** A float: `digits` decimals (one from 100 up); exponent form below 1e-3 or from 1e6; integers as counts. */
export function fmtFloat(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e15) return v.toLocaleString('en-US');
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return v.toFixed(a >= 100 ? 1 : digits);
}

/** A metric's value: fmtCount for count metrics, fmtFloat otherwise. */
export function fmtMetric(name: string, v: number | null | undefined, digits = 3): string {
  return isCountMetric(name) ? fmtCount(v) : fmtFloat(v, digits);
}

const COSTS = ['params', 'nonzero_params', 'flops', 'macs', 'latency_ms', 'size_bytes', 'gzip_bytes'];
const DEVICE_LATENCY = /^latency_.+_ms$/;

function rank(m: string): number {
  if (m === 'test_acc') return 0;
  if (m.startsWith('test_')) return 1;
  if (m === 'val_acc') return 2;
  if (m.startsWith('val_')) return 3;
  const c = COSTS.indexOf(m);
  if (c >= 0) return 20 + c;
  if (m !== 'latency_ms' && DEVICE_LATENCY.test(m)) return 40;
  if (/(_seconds|_ms)$/.test(m) || isCountMetric(m)) return 30;
  return 10;
}

/**
 * The metric columns to show beside a trial table's first-objective column (which is not
 * repeated): see the module docstring for the order. `rows` (optional) are the trials' metric
 * maps, used only to drop per-device latency copies of latency_ms.
 */
export function chooseMetricColumns(
  metricNames: readonly string[],
  objectives: readonly { readonly metric: string }[],
  opts: { readonly tieBreak?: string | null; readonly max?: number; readonly rows?: readonly Readonly<Record<string, number | null | undefined>>[] } = {},
): string[] {
  const first = objectives[0]?.metric;
  const head = [...objectives.slice(1).map((o) => o.metric), ...(opts.tieBreak ? [opts.tieBreak] : [])];
  const rows = opts.rows ?? [];
  const copyOfLatency = (m: string): boolean =>
    m !== 'latency_ms' && DEVICE_LATENCY.test(m) && metricNames.includes('latency_ms') && rows.length > 0 && rows.every((r) => r['latency_ms'] === r[m]);
  const rest = metricNames
    .filter((m) => m !== first && !head.includes(m) && !copyOfLatency(m))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const out = [...new Set(head.filter((m) => m !== first)), ...rest];
  return out.slice(0, opts.max ?? out.length);
}
