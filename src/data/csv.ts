/**
 * Numeric CSV tables (optionally gzipped) as classification datasets: every column but the label
 * is a float32 feature; the label column is picked by header name or 0-based index (default: last).
 *
 * Labels: the distinct label values of the file are mapped to class indices 0..K-1 in sorted order
 * (numeric order when every label is a number, else string order) and kept as `classNames`, so
 * labels {1, 2} make a 2-class problem and {0, 5000} too. A separate test file is read with the
 * training file's `classes`: a label the training file never had is a data error naming the row.
 * Only a declared `numClasses` keeps integer labels as indices as they are (fixed-class data such
 * as the digits).
 *
 * Header: `header: 'auto'` (default) takes line 1 as a header when a cell is not a number where
 * line 2 has one, or when its cells are exactly the column indices 0..n-1 or 1..n (what pandas and
 * R write for unnamed columns); the choice is reported in `notes`. `true`/`false` force it.
 *
 * Values outside float32's range (|v| > 3.4028235e38, e.g. `1e39`) are a data error naming the
 * file, row and column: stored as float32 they would become Infinity and poison training.
 * Standardisation is not done here: it is fitted on the training split only (normalize.ts).
 */
import { didYouMean } from '../core/suggest.js';
import { dataError } from './errors.js';
import { readMaybeGzip } from './gzip.js';
import type { Dataset } from './types.js';

export interface CsvOptions {
  /**
   * Label column: a header name, or a 0-based column index (a number, or a string of digits such
   * as the CLI's `--label 4` when no header cell has that name); negative counts from the end.
   * Default -1 (the last column).
   */
  label?: string | number;
  /** `true`: line 1 is a header; `false`: it is data; `'auto'` (default): see the module doc. */
  header?: boolean | 'auto';
  delimiter?: string;
  /** Declared number of classes: integer labels are then used as indices as they are, and one >= it is an error. */
  numClasses?: number;
  /**
   * The class labels of the training data (its `classNames`), for a test file: its labels are
   * mapped to these indices, and a label not among them is a data error.
   */
  classes?: readonly string[];
  /** Per-sample shape (e.g. [1, 8, 8] for the digits); default [features]. */
  shape?: readonly number[];
  name?: string;
}

const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const INTEGER = /^[-+]?\d+$/;
/** Largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

function cells(line: string, delim: string): string[] {
  const parts = line.split(delim);
  for (let i = 0; i < parts.length; i++) {
    let c = (parts[i] as string).trim();
    if (c.length >= 2 && c.startsWith('"') && c.endsWith('"')) c = c.slice(1, -1);
    parts[i] = c;
  }
  return parts;
}

/** Line 1's cells are exactly 0..n-1 or 1..n: column indices as pandas (index=False) or R write them. */
function isIndexHeader(head: readonly string[]): boolean {
  if (!head.every((c) => INTEGER.test(c))) return false;
  const v = head.map(Number);
  const from = v[0];
  return (from === 0 || from === 1) && v.every((x, i) => x === (from as number) + i);
}

/**
 * Header decision and the note that says which was chosen and why. A non-numeric cell makes line 1
 * a header only when the next line has a number in that column (as Python's csv.Sniffer compares
 * types): a headerless file with string labels ("1,2,setosa") is data.
 */
function detectHeader(head: readonly string[], next: readonly string[] | undefined, opt: boolean | 'auto' | undefined): { has: boolean; note: string } {
  if (opt === true) return { has: true, note: 'line 1 read as a header (header: true)' };
  if (opt === false) return { has: false, note: 'line 1 read as data (header: false)' };
  const short = (t: string) => (t.length > 20 ? t.slice(0, 20) + '...' : t);
  const text = head.findIndex((c, i) => !NUMERIC.test(c) && (next === undefined || next.length !== head.length || NUMERIC.test(next[i] as string)));
  if (text >= 0) return { has: true, note: `header detected: line 1 has a non-numeric cell ("${short(head[text] as string)}") where the data has numbers` };
  const strings = head.filter((c) => !NUMERIC.test(c));
  if (strings.length > 0)
    return { has: false, note: `no header: line 1's non-numeric cells ("${short(strings[0] as string)}") are in columns that hold text on line 2 too (header: true reads it as a header)` };
  if (isIndexHeader(head))
    return { has: true, note: `header detected: line 1 is the column indices ${head[0]}..${head[head.length - 1]} (as pandas writes unnamed columns); header: false reads it as data` };
  return { has: false, note: 'no header: every cell of line 1 is a number (header: true reads it as a header)' };
}

function compareLabels(numeric: boolean): (a: string, b: string) => number {
  return numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0);
}

export function parseCsv(text: string, file: string, opts: CsvOptions = {}): Dataset {
  const delim = opts.delimiter ?? ',';
  const lines = text.split(/\r?\n/);
  let first = 0;
  while (first < lines.length && (lines[first] as string).trim() === '') first++;
  if (first >= lines.length) throw dataError(file, 'empty CSV file', { row: 1 });
  const head = cells(lines[first] as string, delim);
  let second = first + 1;
  while (second < lines.length && (lines[second] as string).trim() === '') second++;
  const { has: hasHeader, note: headerNote } = detectHeader(head, second < lines.length ? cells(lines[second] as string, delim) : undefined, opts.header);
  const ncol = head.length;
  if (ncol < 2) throw dataError(file, `need at least 2 columns (features and a label), line ${first + 1} has ${ncol}`, { row: first + 1 });
  const names = hasHeader ? head : head.map((_, i) => String(i + 1));

  let labelCol: number;
  const lab = opts.label ?? -1;
  const byIndex = (i: number): number => {
    if (!Number.isInteger(i) || i >= ncol || i < -ncol)
      throw dataError(file, `label column index ${i} is out of range for ${ncol} columns`, { field: 'label', hint: `use 0..${ncol - 1}${hasHeader ? ' or a header name' : ''}` });
    return i < 0 ? ncol + i : i;
  };
  if (typeof lab === 'number') labelCol = byIndex(lab);
  else if (hasHeader && head.includes(lab)) labelCol = head.indexOf(lab);
  else if (INTEGER.test(lab.trim())) labelCol = byIndex(Number(lab));
  else if (!hasHeader)
    throw dataError(file, `label column "${lab}" given by name but the file has no header (${headerNote})`, { field: 'label', hint: 'give a 0-based column index instead, or header: true' });
  else throw dataError(file, `no column named "${lab}" in the header (${head.join(', ')})${didYouMean(String(lab), head)}`, { field: 'label', row: first + 1, hint: 'give a header name or a 0-based column index' });
  const nf = ncol - 1;
  const shape = opts.shape ?? [nf];
  const shapeSize = shape.reduce((a, b) => a * b, 1);
  if (shapeSize !== nf) throw dataError(file, `shape [${shape.join(', ')}] has ${shapeSize} values but rows have ${nf} features`, { field: 'shape' });

  const start = hasHeader ? first + 1 : first;
  let rows = 0;
  for (let i = start; i < lines.length; i++) if ((lines[i] as string).trim() !== '') rows++;
  if (rows === 0) throw dataError(file, 'no data rows', { row: start + 1 });
  const x = new Float32Array(rows * nf);
  const rawLabels: string[] = new Array(rows);
  const lineOf = new Int32Array(rows); // 1-based file line of each data row, for messages
  let r = 0;
  for (let i = start; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    const cs = cells(line, delim);
    if (cs.length !== ncol) throw dataError(file, `has ${cs.length} cells, expected ${ncol}`, { row: i + 1 });
    let k = r * nf;
    for (let c = 0; c < ncol; c++) {
      const v = cs[c] as string;
      if (c === labelCol) {
        if (v === '') throw dataError(file, 'missing label', { row: i + 1, column: names[c] as string });
        rawLabels[r] = v;
        lineOf[r] = i + 1;
        continue;
      }
      if (!NUMERIC.test(v))
        throw dataError(file, v === '' ? 'missing value (empty cell)' : `non-numeric value "${v.length > 40 ? v.slice(0, 40) + '...' : v}"`, {
          row: i + 1,
          column: names[c] as string,
          hint: 'features must be numbers; encode categorical columns numerically first',
        });
      const n = Number(v);
      if (!(Math.abs(n) <= FLOAT32_MAX))
        throw dataError(file, `value ${v} is outside the float32 range (magnitude up to 3.4e38)`, {
          row: i + 1,
          column: names[c] as string,
          hint: 'features are stored as float32: rescale the column (e.g. take a logarithm) or fix the value',
        });
      x[k++] = n;
    }
    r++;
  }

  const labelColumn = names[labelCol] as string;
  const y = new Int32Array(rows);
  const allInt = rawLabels.every((v) => INTEGER.test(v));
  let numClasses: number;
  let classNames: string[] | undefined;
  const notes = [headerNote];
  if (opts.classes !== undefined) {
    // A test file: the training file's classes, nothing else.
    const idx = labelIndex(opts.classes);
    for (let j = 0; j < rows; j++) {
      const k = idx.get(canonicalLabel(rawLabels[j] as string));
      if (k === undefined)
        throw dataError(file, `label ${JSON.stringify(rawLabels[j])} never occurs in the training data (its classes: ${summarizeClasses(opts.classes)})`, {
          row: lineOf[j] as number,
          column: labelColumn,
          hint: 'a test label must be one the network was trained on: fix the label or add training rows of that class',
        });
      y[j] = k;
    }
    classNames = [...opts.classes];
    numClasses = classNames.length;
  } else if (opts.numClasses !== undefined && allInt) {
    // Declared fixed classes (e.g. the digits): integer labels are the indices.
    for (let j = 0; j < rows; j++) {
      const v = Number(rawLabels[j]);
      const row = lineOf[j] as number;
      if (v < 0) throw dataError(file, `label ${v} is negative`, { row, column: labelColumn });
      if (v >= opts.numClasses) throw dataError(file, `label ${v} is out of range [0, ${opts.numClasses})`, { row, column: labelColumn });
      y[j] = v;
    }
    numClasses = opts.numClasses;
  } else {
    const numeric = rawLabels.every((v) => NUMERIC.test(v));
    const distinct = [...new Set(rawLabels.map((v) => (numeric ? canonicalLabel(v) : v)))].sort(compareLabels(numeric));
    classNames = distinct;
    const idx = labelIndex(distinct);
    for (let j = 0; j < rows; j++) y[j] = idx.get(canonicalLabel(rawLabels[j] as string)) as number;
    numClasses = distinct.length;
    if (opts.numClasses !== undefined && numClasses > opts.numClasses)
      throw dataError(file, `${numClasses} distinct labels but numClasses is ${opts.numClasses}`, { column: labelColumn });
    const identity = numeric && distinct.every((c, i) => c === String(i));
    if (!identity) notes.push(`labels mapped to classes 0..${numClasses - 1}: ${summarizeClasses(distinct)}`);
  }
  if (numClasses < 2) throw dataError(file, `the label column has ${numClasses} class(es); classification needs at least 2`, { column: labelColumn });
  return { name: opts.name ?? file, x, y, shape, numClasses, ...(classNames ? { classNames } : {}), notes };
}

/** `"1.0"`, `"+1"` and `"1"` are one numeric label; other strings are themselves. */
function canonicalLabel(v: string): string {
  return NUMERIC.test(v) ? String(Number(v)) : v;
}

function labelIndex(classes: readonly string[]): Map<string, number> {
  return new Map(classes.map((c, i) => [canonicalLabel(c), i]));
}

function summarizeClasses(c: readonly string[]): string {
  const shown = c.slice(0, 8).map((v, i) => `${i}=${v}`);
  return shown.join(', ') + (c.length > 8 ? `, ... (${c.length} in all)` : '');
}

export function readCsv(file: string, opts: CsvOptions = {}): Dataset {
  const bytes = readMaybeGzip(file);
  return parseCsv(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), file, opts);
}
