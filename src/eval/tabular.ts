/**
 * Tabular NAS-Bench-201 evaluator: looks architectures up in a CSV table instead of training them.
 *
 * Table format (CSV with a header row; column names configurable through TableOptions):
 *   arch       the NB201 arch string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`  (option `archColumn`)
 *   valid_acc  validation accuracy in percent, what search sees -> metric `val_acc` (`valColumn`)
 *   test_acc   test accuracy in percent, reported only          -> metric `test_acc` (`testColumn`)
 *   params_m   parameters in millions                          -> metric `params` (count) (`paramsColumn`, null to skip)
 *              A count is an integer: `params` is params_m x 1e6 rounded to the nearest integer
 *              (Math.round; the shipped table's params_m is a mean over its runs, e.g. 0.11997266666666667,
 *              and x 1e6 also adds float noise such as 400346.00000000006).
 *   any other numeric column can be reported through `extra: { metric: column }`.
 * An optional latency table (same arch column, one `<device>_ms` column per device) is joined by
 * arch string: every `<device>_ms` column becomes metric `latency_<device>_ms`, and `latency_ms`
 * is the `defaultDevice` one (raspi4 by default). Costs (params, latencies) are also offered through
 * `costs()` so strategies can honour constraints before "evaluating".
 *
 * The table holds one fidelity (the final, 200-epoch values), so `maxBudget` is 200 and a request
 * for a smaller budget fails (status `failed`) rather than returning numbers the table does not have.
 * The table's values are seed-averaged: `seed` does not change the result.
 */
import { fileURLToPath } from 'node:url';
import { readMaybeGzip } from '../data/gzip.js';
import { basename } from 'node:path';
import type { Nb201Arch } from '../core/arch.js';
import { NasError, isNasError } from '../core/errors.js';
import { didYouMeanMetric } from '../core/metrics.js';
import { didYouMean } from '../core/suggest.js';
import { nb201Index, nb201IndexOfString } from '../space/nb201.js';
import type { EvalOutcome, EvalRequest, Evaluator, Metrics } from './types.js';

export interface LatencyTableOptions {
  readonly path: string;
  readonly archColumn?: string;
  /** metric name -> column; default: every column ending in `_ms` -> `latency_<column>`. */
  readonly columns?: Readonly<Record<string, string>>;
  /** Column reported as `latency_ms`; default `raspi4_ms` when present, else the first latency column. */
  readonly defaultDevice?: string;
}

export interface TableOptions {
  readonly archColumn?: string;
  readonly valColumn?: string;
  readonly testColumn?: string;
  /** Parameters in millions; null when the table has none. */
  readonly paramsColumn?: string | null;
  /** metric name -> column of the main table, reported as is. */
  readonly extra?: Readonly<Record<string, string>>;
  readonly latency?: LatencyTableOptions | null;
  /** Evaluator name; default `tabular:<file name>`. */
  readonly name?: string;
}

const SPACE_SIZE = 15625;

/** A loaded table: columns as Float64Arrays indexed by row, and arch code (base-5 ops) -> row. */
export class Nb201Table {
  /** Row of each arch code, -1 when the table lacks that arch. */
  readonly rowOfCode: Int32Array;
  readonly codes: Int32Array;

  constructor(
    readonly file: string,
    readonly metrics: ReadonlyMap<string, Float64Array>,
    codes: Int32Array,
    /** Metrics that are costs (known without training). */
    readonly costMetrics: readonly string[],
  ) {
    this.codes = codes;
    this.rowOfCode = new Int32Array(SPACE_SIZE).fill(-1);
    codes.forEach((c, r) => (this.rowOfCode[c] = r));
  }

  get size(): number {
    return this.codes.length;
  }
  /** How many distinct architectures of the NB201 space (of 15,625) have a row. */
  get covered(): number {
    let n = 0;
    for (const r of this.rowOfCode) if (r >= 0) n++;
    return n;
  }
  get metricNames(): string[] {
    return [...this.metrics.keys()];
  }

  /** Row of an arch, or -1. */
  rowOf(arch: Nb201Arch): number {
    return this.rowOfCode[nb201Index(arch.ops)] ?? -1;
  }

  /** All metrics of a row (metrics missing for that row, e.g. no latency, are left out). */
  rowMetrics(row: number, only?: readonly string[]): Metrics {
    const out: Record<string, number> = {};
    for (const name of only ?? this.metrics.keys()) {
      const v = this.metrics.get(name)?.[row];
      if (v !== undefined && !Number.isNaN(v)) out[name] = v;
    }
    return out;
  }

  /** Synchronous lookup for benchmarks; undefined when the arch is not in the table. */
  lookup(arch: Nb201Arch): Metrics | undefined {
    const r = this.rowOf(arch);
    return r < 0 ? undefined : this.rowMetrics(r);
  }

  /** One metric as a column (NaN where missing), indexed by row. */
  column(metric: string): Float64Array {
    const c = this.metrics.get(metric);
    if (!c) throw new NasError('not_found', `table ${this.file} has no metric ${JSON.stringify(metric)}${didYouMeanMetric(metric, this.metricNames)}`, { field: 'metric', hint: `use one of: ${this.metricNames.join(', ')}` });
    return c;
  }
}

function readText(path: string): string {
  try {
    return new TextDecoder().decode(readMaybeGzip(path));
  } catch (e) {
    throw new NasError('data_error', `cannot read table ${path}: ${(e as Error).message}`, { field: 'table', hint: 'check the path (tables are CSV files with a header row)', cause: e });
  }
}

/** Splits a CSV line; handles double-quoted fields when the line has quotes. */
function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (q) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** A CSV file: header, and data lines kept unsplit until the single parsing pass. */
interface Csv {
  readonly file: string;
  readonly header: string[];
  readonly lines: string[];
  /** 1-based file line of each data line (for messages). */
  readonly lineNo: number[];
}
function readCsv(path: string): Csv {
  const file = basename(path);
  const all = readText(path).split('\n');
  const header = splitCsv((all[0] ?? '').replace(/\r$/, '')).map((h) => h.trim());
  if (header.length === 1 && header[0] === '') throw new NasError('data_error', `table ${path} is empty`, { field: file });
  const lines: string[] = [];
  const lineNo: number[] = [];
  for (let i = 1; i < all.length; i++) {
    let l = all[i]!;
    if (l.endsWith('\r')) l = l.slice(0, -1);
    if (l.trim() === '') continue;
    lines.push(l);
    lineNo.push(i + 1);
  }
  return { file, header, lines, lineNo };
}

/** The config field (src/api/parts.ts, evaluator nb201) that sets each option, named in hints. */
const CONFIG_OPTION: Readonly<Record<string, string>> = {
  archColumn: 'evaluator.arch_column',
  valColumn: 'evaluator.val_column',
  testColumn: 'evaluator.test_column',
  paramsColumn: 'evaluator.params_column',
};

function colIndex(c: Csv, col: string, option: string): number {
  const i = c.header.indexOf(col);
  if (i < 0) {
    const config = CONFIG_OPTION[option];
    throw new NasError('data_error', `missing column ${JSON.stringify(col)}${didYouMean(col, c.header)}`, {
      field: `${c.file}:header`,
      hint: `the header has ${c.header.join(', ')}; name the column with ${config ? `${config} in a config (option ${option} in the API)` : `option ${option}`}`,
    });
  }
  return i;
}

interface NumericColumn {
  readonly col: number;
  readonly out: Float64Array;
  readonly scale: number;
  /** A count (e.g. params from params_m): the scaled value is rounded to the nearest integer. */
  readonly integer?: boolean;
}

/**
 * One pass over a table: splits each line once, parses its arch (rejecting malformed strings and
 * duplicates) and its numeric columns. `rowOf(code)` maps an arch to the output row (-1: skip it).
 */
function scan(c: Csv, archCol: number, nums: readonly NumericColumn[], rowOf: (code: number, r: number) => number): Int32Array {
  const codes = new Int32Array(c.lines.length);
  const firstLine = new Int32Array(SPACE_SIZE);
  const width = c.header.length;
  for (let r = 0; r < c.lines.length; r++) {
    const cells = splitCsv(c.lines[r]!);
    const line = c.lineNo[r]!;
    if (cells.length !== width)
      throw new NasError('data_error', `has ${cells.length} fields, the header has ${width}`, { field: `${c.file}:line ${line}`, hint: 'every row needs one value per header column' });
    const s = cells[archCol]!.trim();
    const code = nb201IndexOfString(s, `${c.file}:line ${line}.${c.header[archCol]}`);
    if (firstLine[code]) {
      throw new NasError('data_error', `duplicate architecture ${s} (first on line ${firstLine[code]})`, {
        field: `${c.file}:line ${line}.${c.header[archCol]}`,
        hint: 'each architecture must appear once; average repeated runs before loading',
      });
    }
    firstLine[code] = line;
    codes[r] = code;
    const row = rowOf(code, r);
    if (row < 0) continue;
    for (const n of nums) {
      const text = cells[n.col]!;
      const v = Number(text);
      if (!Number.isFinite(v) || text.trim() === '') throw new NasError('data_error', `not a number: ${JSON.stringify(text)}`, { field: `${c.file}:line ${line}.${c.header[n.col]}` });
      n.out[row] = n.integer ? Math.round(v * n.scale) : v * n.scale;
    }
  }
  return codes;
}

export function loadNb201Table(path: string, opts: TableOptions = {}): Nb201Table {
  const main = readCsv(path);
  const n = main.lines.length;
  const metrics = new Map<string, Float64Array>();
  const cost: string[] = [];
  const nums: NumericColumn[] = [];
  const add = (metric: string, col: number, scale = 1, integer = false): void => {
    const out = new Float64Array(n).fill(NaN);
    metrics.set(metric, out);
    nums.push({ col, out, scale, integer });
  };
  const archCol = colIndex(main, opts.archColumn ?? 'arch', 'archColumn');
  add('val_acc', colIndex(main, opts.valColumn ?? 'valid_acc', 'valColumn'));
  add('test_acc', colIndex(main, opts.testColumn ?? 'test_acc', 'testColumn'));
  const paramsCol = opts.paramsColumn === undefined ? 'params_m' : opts.paramsColumn;
  if (paramsCol !== null) {
    add('params', colIndex(main, paramsCol, 'paramsColumn'), 1e6, true);
    cost.push('params');
  }
  for (const [metric, col] of Object.entries(opts.extra ?? {})) add(metric, colIndex(main, col, `extra.${metric}`));
  const codes = scan(main, archCol, nums, (_code, r) => r);

  if (opts.latency) {
    const lat = readCsv(opts.latency.path);
    const rowOfCode = new Int32Array(SPACE_SIZE).fill(-1);
    codes.forEach((c, r) => (rowOfCode[c] = r));
    const columns = opts.latency.columns ?? Object.fromEntries(lat.header.filter((h) => h.endsWith('_ms')).map((h) => [`latency_${h}`, h]));
    if (!Object.keys(columns).length)
      throw new NasError('data_error', 'latency table has no `<device>_ms` column', { field: `${lat.file}:header`, hint: 'name the columns with option latency.columns' });
    const latNums: NumericColumn[] = [];
    for (const [metric, col] of Object.entries(columns)) {
      const out = new Float64Array(n).fill(NaN);
      metrics.set(metric, out);
      latNums.push({ col: colIndex(lat, col, `latency.columns.${metric}`), out, scale: 1 });
      cost.push(metric);
    }
    // Latency rows of archs missing from the main table are ignored; main rows without latency get NaN (left out).
    scan(lat, colIndex(lat, opts.latency.archColumn ?? 'arch', 'latency.archColumn'), latNums, (code) => rowOfCode[code]!);
    const defCol = opts.latency.defaultDevice ?? (lat.header.includes('raspi4_ms') ? 'raspi4_ms' : Object.values(columns)[0]!);
    const defMetric = Object.entries(columns).find(([, c]) => c === defCol)?.[0];
    if (!defMetric)
      throw new NasError('invalid_config', `default latency device ${JSON.stringify(defCol)} is not a loaded column${didYouMean(defCol, Object.values(columns))}`, {
        field: 'latency.defaultDevice',
        hint: `use one of: ${Object.values(columns).join(', ')}`,
      });
    metrics.set('latency_ms', metrics.get(defMetric)!);
    cost.push('latency_ms');
  }
  return new Nb201Table(main.file, metrics, codes, cost);
}

/**
 * Absolute paths of the tables shipped in the repository (`data/nb201/`, gzip; sources and licences
 * in data/README.md). Resolved from this module's location, so they hold from src/ (tsx) and dist/
 * alike and whatever the working directory.
 */
export const NB201_CIFAR10_CSV = fileURLToPath(new URL('../../data/nb201/nb201-cifar10.csv.gz', import.meta.url));
export const NB201_LATENCY_CSV = fileURLToPath(new URL('../../data/nb201/nb201-latency.csv.gz', import.meta.url));

export class TabularEvaluator implements Evaluator<Nb201Arch> {
  readonly name: string;
  readonly metricNames: readonly string[];
  readonly maxBudget = 200;
  /** One fidelity: the final (200-epoch) values. */
  readonly fidelities = [200] as const;

  constructor(readonly table: Nb201Table, name?: string) {
    this.name = name ?? `tabular:${table.file}`;
    this.metricNames = table.metricNames;
  }

  async evaluate(req: EvalRequest<Nb201Arch>): Promise<EvalOutcome> {
    if (req.signal?.aborted) return { status: 'failed', reason: 'aborted', message: 'aborted before the lookup', curve: [] };
    const out = this.evaluateSync(req);
    // The table has one step (the final epoch); report it like any evaluator reports a step.
    if (out.status === 'complete' && req.onProgress && (await req.onProgress(out.curve[0]!)) === 'stop')
      return { status: 'pruned', step: this.maxBudget, metrics: out.metrics, curve: out.curve };
    return out;
  }

  /** Same as `evaluate`, without the promise (benchmarks call it 10^6 times). */
  evaluateSync(req: Pick<EvalRequest<Nb201Arch>, 'arch' | 'budget'>): EvalOutcome {
    if (req.budget !== undefined && req.budget !== this.maxBudget)
      return { status: 'failed', reason: 'error', message: `table ${this.table.file} only has the final values (budget ${this.maxBudget}), not budget ${req.budget}`, curve: [] };
    let row: number;
    try {
      row = this.table.rowOf(req.arch);
    } catch (e) {
      const error = isNasError(e) ? e : undefined;
      return { status: 'failed', reason: 'invalid_arch', message: (e as Error).message, curve: [], ...(error ? { error } : {}) };
    }
    if (row < 0) return { status: 'failed', reason: 'error', message: `architecture not in table ${this.table.file}`, curve: [] };
    const metrics = this.table.rowMetrics(row);
    return { status: 'complete', metrics, curve: [{ step: this.maxBudget, metrics }] };
  }

  costs(arch: Nb201Arch): Metrics {
    const row = this.table.rowOf(arch);
    return row < 0 ? {} : this.table.rowMetrics(row, this.table.costMetrics);
  }
}

/** The bundled CIFAR-10 table with the latency table (HELP's four devices), as an evaluator. */
export function nb201Cifar10(opts: TableOptions = {}): TabularEvaluator {
  return new TabularEvaluator(loadNb201Table(NB201_CIFAR10_CSV, { latency: { path: NB201_LATENCY_CSV }, ...opts }));
}
