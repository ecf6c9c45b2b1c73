/**
 * Numeric CSV tables (optionally gzipped) as classification datasets: every column but the label
 * is a float feature; the label column is picked by header name or 0-based index (default: last).
 * Integer labels are used as class indices as they are; any other label values are mapped to
 * classes in sorted order (and kept as classNames). Standardisation is not done here: it is fitted
 * on the training split only (normalize.ts), like every other normalisation.
 */
import { dataError } from './errors.js';
import { readMaybeGzip } from './gzip.js';
import type { Dataset } from './types.js';

export interface CsvOptions {
  /** Header name or 0-based column index of the label; negative counts from the end. Default -1. */
  label?: string | number;
  /** `true`: first line is a header; `false`: none; `'auto'` (default): a header if any cell of line 1 is not a number. */
  header?: boolean | 'auto';
  delimiter?: string;
  /** Declared number of classes: an integer label >= it is an error. Default: max label + 1. */
  numClasses?: number;
  /** Per-sample shape (e.g. [1, 8, 8] for the digits); default [features]. */
  shape?: readonly number[];
  name?: string;
}

const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function cells(line: string, delim: string): string[] {
  const parts = line.split(delim);
  for (let i = 0; i < parts.length; i++) {
    let c = (parts[i] as string).trim();
    if (c.length >= 2 && c.startsWith('"') && c.endsWith('"')) c = c.slice(1, -1);
    parts[i] = c;
  }
  return parts;
}

export function parseCsv(text: string, file: string, opts: CsvOptions = {}): Dataset {
  const delim = opts.delimiter ?? ',';
  const lines = text.split(/\r?\n/);
  let first = 0;
  while (first < lines.length && (lines[first] as string).trim() === '') first++;
  if (first >= lines.length) throw dataError(file, 'empty CSV file', { row: 1 });
  const head = cells(lines[first] as string, delim);
  const hasHeader = opts.header === 'auto' || opts.header === undefined ? head.some((c) => !NUMERIC.test(c)) : opts.header;
  const ncol = head.length;
  if (ncol < 2) throw dataError(file, `need at least 2 columns (features and a label), line ${first + 1} has ${ncol}`, { row: first + 1 });
  const names = hasHeader ? head : head.map((_, i) => String(i + 1));

  let labelCol: number;
  const lab = opts.label ?? -1;
  if (typeof lab === 'number') {
    if (!Number.isInteger(lab) || lab >= ncol || lab < -ncol)
      throw dataError(file, `label column index ${lab} is out of range for ${ncol} columns`, { field: 'label', hint: `use 0..${ncol - 1} or a header name` });
    labelCol = lab < 0 ? ncol + lab : lab;
  } else {
    if (!hasHeader) throw dataError(file, `label column "${lab}" given by name but the file has no header`, { field: 'label', hint: 'give a 0-based column index instead' });
    labelCol = head.indexOf(lab);
    if (labelCol < 0) throw dataError(file, `no column named "${lab}" in the header (${head.join(', ')})`, { field: 'label', row: first + 1 });
  }
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
      x[k++] = Number(v);
    }
    r++;
  }

  const y = new Int32Array(rows);
  const allInt = rawLabels.every((v) => /^[-+]?\d+$/.test(v));
  let numClasses: number;
  let classNames: string[] | undefined;
  if (allInt) {
    let max = -1;
    for (let j = 0; j < rows; j++) {
      const v = Number(rawLabels[j]);
      const row = lineOf[j] as number;
      if (v < 0) throw dataError(file, `label ${v} is negative`, { row, column: names[labelCol] as string });
      if (opts.numClasses !== undefined && v >= opts.numClasses)
        throw dataError(file, `label ${v} is out of range [0, ${opts.numClasses})`, { row, column: names[labelCol] as string });
      y[j] = v;
      if (v > max) max = v;
    }
    numClasses = opts.numClasses ?? max + 1;
  } else {
    classNames = [...new Set(rawLabels)].sort();
    const idx = new Map(classNames.map((c, i) => [c, i]));
    for (let j = 0; j < rows; j++) y[j] = idx.get(rawLabels[j] as string) as number;
    numClasses = classNames.length;
    if (opts.numClasses !== undefined && numClasses > opts.numClasses)
      throw dataError(file, `${numClasses} distinct labels but numClasses is ${opts.numClasses}`, { column: names[labelCol] as string });
  }
  if (numClasses < 2) throw dataError(file, `the label column has ${numClasses} class(es); classification needs at least 2`, { column: names[labelCol] as string });
  return { name: opts.name ?? file, x, y, shape, numClasses, ...(classNames ? { classNames } : {}) };
}

export function readCsv(file: string, opts: CsvOptions = {}): Dataset {
  const bytes = readMaybeGzip(file);
  return parseCsv(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), file, opts);
}
