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
 * Header: `header: 'auto'` (default) decides by the rules of `detectHeader` (a text cell above
 * numbers, the label's name, column indices 0..n-1 / 1..n, a label cell that would be a class of
 * one row, integers above decimals); the choice and its reason are in `notes`. `true`/`false` force it.
 *
 * Label column: refused before any split when it looks continuous (numbers, some not whole) or
 * near-unique (>= 10 values, < 2 rows each on average), naming likely label columns
 * (`checkLabelColumn`). A class with a single row is warned about in `notes`.
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

const short = (t: string) => (t.length > 20 ? t.slice(0, 20) + '...' : t);

/**
 * The label column line 1 would have under a header (a name of line 1 wins, as parseCsv resolves
 * it) or else as an index; `named` when a non-integer label name is a cell of line 1.
 */
function provisionalLabel(lab: string | number, head: readonly string[]): { col: number | undefined; named: boolean } {
  const n = head.length;
  const at = (i: number) => (Number.isInteger(i) && i < n && i >= -n ? (i < 0 ? n + i : i) : undefined);
  if (typeof lab === 'number') return { col: at(lab), named: false };
  const t = lab.trim();
  if (head.includes(lab)) return { col: head.indexOf(lab), named: !INTEGER.test(t) };
  return { col: INTEGER.test(t) ? at(Number(t)) : undefined, named: false };
}

/**
 * Header decision (`header: 'auto'`) and the note that says which rule chose it. Line 1 is a header when
 *  1. a cell is not a number where line 2 has a number in that column (as Python's csv.Sniffer
 *     compares types; a headerless file with string labels, "1,2,setosa", is data);
 *  2. the label is given by a name (not a number) that is a cell of line 1;
 *  3. its cells are exactly the column indices 0..n-1 or 1..n (pandas / R for unnamed columns);
 *  4. its label cell is a value no other row's label has, while every label of the other rows
 *     occurs on at least 2 rows (read as data it would be a class of one row: `10,20,30,40` over
 *     labels {1, 2}); for a test file (`classes` given): its label cell is no training class while
 *     every other row's label is one; or
 *  5. its cells are distinct integers and, of the feature columns whose other rows hold one kind
 *     of number, more hold decimals than integers (csv.Sniffer's vote: line 1 is of another kind).
 * Otherwise line 1 is data. pandas (`header='infer'`) and readr (`col_names = TRUE`) always take
 * line 1 as the header; tsnas guesses because pandas' unnamed `to_csv(header=False)` and R's
 * `write.table(col.names=FALSE)` files are common, and says which it chose (`header: true/false`
 * or `--header true/false` forces it).
 */
function detectHeader(
  head: readonly string[],
  next: readonly string[] | undefined,
  /** The cells of every line after line 1, split on demand (read once or twice; nothing kept). */
  rest: () => Iterable<readonly string[]>,
  lab: string | number,
  opt: boolean | 'auto' | undefined,
  classes: readonly string[] | undefined,
): { has: boolean; note: string } {
  if (opt === true) return { has: true, note: 'line 1 read as a header (header: true)' };
  if (opt === false) return { has: false, note: 'line 1 read as data (header: false)' };
  const asData = '--header false (config header: false) reads it as data';
  const text = head.findIndex((c, i) => !NUMERIC.test(c) && (next === undefined || next.length !== head.length || NUMERIC.test(next[i] as string)));
  if (text >= 0) return { has: true, note: `header detected: line 1 has a non-numeric cell ("${short(head[text] as string)}") where the data has numbers` };
  const { col, named } = provisionalLabel(lab, head);
  if (named) return { has: true, note: `header detected: line 1 holds the label column's name "${short(String(lab))}"` };
  const strings = head.filter((c) => !NUMERIC.test(c));
  if (strings.length > 0)
    return { has: false, note: `no header: line 1's non-numeric cells ("${short(strings[0] as string)}") are in columns that hold text on line 2 too (--header true reads it as a header)` };
  if (isIndexHeader(head))
    return { has: true, note: `header detected: line 1 is the column indices ${head[0]}..${head[head.length - 1]} (as pandas writes unnamed columns); ${asData}` };
  // Lines of another length are left to the reader's ragged-row error.
  const body = function* (): Generator<readonly string[]> {
    for (const r of rest()) if (r.length === head.length) yield r;
  };
  if (next === undefined) return { has: false, note: 'no header: line 1 is the only line (--header true, config header: true, reads it as a header)' };
  if (col !== undefined) {
    const count = new Map<string, number>();
    let n = 0;
    for (const r of body()) {
      const v = canonicalLabel(r[col] as string);
      count.set(v, (count.get(v) ?? 0) + 1);
      n++;
    }
    const mine = canonicalLabel(head[col] as string);
    if (classes !== undefined) {
      // A test file: line 1's label is no training class while every other row's label is one.
      const known = new Set(classes.map(canonicalLabel));
      if (!known.has(mine) && [...count.keys()].every((v) => known.has(v)))
        return { has: true, note: `header detected: line 1's label cell "${short(head[col] as string)}" is no class of the training data, while every other row's label is one; ${asData}` };
    } else if (!count.has(mine) && count.size >= 2 && [...count.values()].every((c) => c >= 2))
      return {
        has: true,
        note: `header detected: line 1's label cell "${short(head[col] as string)}" is no label of the other ${n} rows (their ${count.size} labels each occur at least twice); as data it would be a class of one row; ${asData}`,
      };
  }
  if (head.every((c) => INTEGER.test(c)) && new Set(head.map(Number)).size === head.length) {
    // Per column: every other row an integer / every other row a decimal (one pass over the rows).
    const allInt = head.map(() => true);
    const allDec = head.map(() => true);
    for (const r of body())
      for (let c = 0; c < head.length; c++) {
        if (!allInt[c] && !allDec[c]) continue;
        const v = r[c] as string;
        if (INTEGER.test(v)) allDec[c] = false;
        else if (NUMERIC.test(v)) allInt[c] = false;
        else allInt[c] = allDec[c] = false;
      }
    let decimals = 0;
    let integers = 0;
    for (let c = 0; c < head.length; c++) {
      if (c === col) continue;
      if (allDec[c]) decimals++;
      else if (allInt[c]) integers++;
    }
    if (decimals > integers)
      return {
        has: true,
        note: `header detected: line 1 is distinct integers above ${decimals} column(s) of decimals (as Python's csv.Sniffer: line 1 differs in kind from the data); ${asData}`,
      };
  }
  return { has: false, note: 'no header: every cell of line 1 is a number, like the data below it (--header true, config header: true, reads it as a header)' };
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
  // The 0-based indices of the non-empty lines; their cells are split when read (not kept: a large file).
  const filled: number[] = [];
  for (let i = first; i < lines.length; i++) if ((lines[i] as string).trim() !== '') filled.push(i);
  const head = cells(lines[first] as string, delim);
  const next = filled.length > 1 ? cells(lines[filled[1] as number] as string, delim) : undefined;
  const rest = function* (): Generator<string[]> {
    for (let k = 1; k < filled.length; k++) yield cells(lines[filled[k] as number] as string, delim);
  };
  const { has: hasHeader, note: headerNote } = detectHeader(head, next, rest, opts.label ?? -1, opts.header, opts.classes);
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
    throw dataError(file, `label column "${lab}" given by name but the file has no header (${headerNote})`, { field: 'label', hint: 'give a 0-based column index instead (--label 2), or --header true (config header: true)' });
  else throw dataError(file, `no column named "${lab}" in the header (${head.join(', ')})${didYouMean(String(lab), head)}`, { field: 'label', row: first + 1, hint: 'give a header name or a 0-based column index' });
  const nf = ncol - 1;
  const shape = opts.shape ?? [nf];
  const shapeSize = shape.reduce((a, b) => a * b, 1);
  if (shapeSize !== nf) throw dataError(file, `shape [${shape.join(', ')}] has ${shapeSize} values but rows have ${nf} features`, { field: 'shape' });

  const body = hasHeader ? filled.slice(1) : filled;
  const rows = body.length;
  if (rows === 0) throw dataError(file, 'no data rows', { row: first + 2 });
  const x = new Float32Array(rows * nf);
  const rawLabels: string[] = new Array(rows);
  const lineOf = new Int32Array(rows); // 1-based file line of each data row, for messages
  let r = 0;
  for (const i of body) {
    const cs = cells(lines[i] as string, delim);
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
          hint: (v !== '' && opts.label === undefined && textLabelHint(body.map((b) => cells(lines[b] as string, delim)[c] ?? ''), c, hasHeader ? head : undefined, ncol)) || 'features must be numbers; encode categorical columns numerically first',
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
    checkLabelColumn(file, rawLabels, x, nf, labelCol, hasHeader ? head : undefined);
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
  if (opts.classes === undefined) {
    // A class of a single row cannot be both trained on and validated (the split puts it in one part).
    const count = new Int32Array(numClasses);
    const at = new Int32Array(numClasses);
    for (let j = 0; j < rows; j++) {
      count[y[j] as number]!++;
      at[y[j] as number] = lineOf[j] as number;
    }
    const single = [...count.keys()].filter((k) => count[k] === 1);
    if (single.length > 0) {
      const show = single.slice(0, 5).map((k) => `${classNames?.[k] ?? k} (line ${at[k]})`).join(', ');
      notes.push(
        `warning: ${single.length} class(es) with a single row: ${show}${single.length > 5 ? ', ...' : ''}; such a class cannot be both trained on and validated: check the label column, or add rows of it`,
      );
    }
  }
  return { name: opts.name ?? file, x, y, shape, numClasses, ...(classNames ? { classNames } : {}), notes };
}

/** A classes table has at least this many distinct labels before "near-unique" can refuse it (tiny files are judged by the split check). */
const NEAR_UNIQUE_MIN_CLASSES = 10;
/** A column with at most this many distinct whole numbers is offered as a likely label column. */
const LIKELY_LABEL_MAX_CLASSES = 20;

/**
 * Refuses a label column that is not a class label, before any split or training: one whose values
 * are all numbers and some not whole (continuous: scikit-learn's `type_of_target` calls it
 * "continuous" and its classifiers refuse it), or one with at least 10 distinct values and fewer
 * than 2 rows per value on average (near-unique: an identifier or a measurement). The data_error
 * names the column and suggests likely label columns: other columns whose values are whole numbers
 * with 2..20 distinct values, each on at least 2 rows, fewer than half the rows (the last column first,
 * then the fewest values).
 */
function checkLabelColumn(file: string, raw: readonly string[], x: Float32Array, nf: number, labelCol: number, head: readonly string[] | undefined): void {
  const rows = raw.length;
  const numeric = raw.every((v) => NUMERIC.test(v));
  const fractional = numeric ? raw.filter((v) => !Number.isInteger(Number(v))) : [];
  const distinct = new Set(raw.map(canonicalLabel)).size;
  const continuous = fractional.length > 0;
  const nearUnique = distinct >= NEAR_UNIQUE_MIN_CLASSES && distinct * 2 > rows;
  if (!continuous && !nearUnique) return;
  const ncol = nf + 1;
  const colName = (c: number) => (head ? `"${head[c]}" (index ${c})` : `index ${c}`);
  const examples = (vs: readonly string[]) => [...new Set(vs)].slice(0, 3).join(', ');
  const why = continuous
    ? `looks continuous: ${fractional.length} of its ${rows} values are not whole numbers (e.g. ${examples(fractional)}); classification needs class labels`
    : `has ${distinct} distinct values in ${rows} rows (fewer than 2 rows per class on average): it looks like an identifier or a measurement, not a class label`;
  // Candidates: whole-number, low-cardinality columns with every value on at least 2 rows.
  const cands: { col: number; k: number }[] = [];
  for (let f = 0; f < nf; f++) {
    const col = f < labelCol ? f : f + 1;
    const count = new Map<number, number>();
    let whole = true;
    for (let j = 0; j < rows && whole; j++) {
      const v = x[j * nf + f] as number;
      if (!Number.isInteger(v)) whole = false;
      else count.set(v, (count.get(v) ?? 0) + 1);
      if (count.size > LIKELY_LABEL_MAX_CLASSES) whole = false;
    }
    if (whole && count.size >= 2 && count.size * 2 <= rows && [...count.values()].every((n) => n >= 2)) cands.push({ col, k: count.size });
  }
  cands.sort((a, b) => (b.col === ncol - 1 ? 1 : 0) - (a.col === ncol - 1 ? 1 : 0) || a.k - b.k || a.col - b.col);
  const hint = cands.length
    ? `is the label column right? likely label column${cands.length > 1 ? 's' : ''}: ${cands
        .slice(0, 3)
        .map((c) => `${colName(c.col)} with ${c.k} whole-number values (--label ${head ? head[c.col] : c.col}; config label: ${head ? JSON.stringify(head[c.col]) : c.col})`)
        .join('; ')}`
    : 'is the label column right? give it with --label (config: label) as a header name or a 0-based index; tsnas does classification, not regression';
  throw dataError(file, `the label column ${colName(labelCol)} ${why}`, { field: 'label', hint });
}

/**
 * The hint for a non-numeric cell in feature column `col` when the label column was defaulted
 * (the last): when the column's values (`values`, every data row) are non-empty with 2..20
 * distinct values, each on at least 2 rows and fewer than half the rows (checkLabelColumn's
 * likely-label rule, for text), it is likely the label column, and `--label NAME` is suggested
 * (new user 10b, finding 5: header `species,a,b,c` was told to encode species numerically).
 * Empty string otherwise.
 */
function textLabelHint(values: readonly string[], col: number, head: readonly string[] | undefined, ncol: number): string {
  if (values.some((v) => v === '')) return '';
  const count = new Map<string, number>();
  for (const v of values) {
    count.set(v, (count.get(v) ?? 0) + 1);
    if (count.size > LIKELY_LABEL_MAX_CLASSES) return '';
  }
  if (count.size < 2 || count.size * 2 > values.length || [...count.values()].some((n) => n < 2)) return '';
  const name = head ? head[col]! : String(col);
  const last = head ? `"${head[ncol - 1]}" (index ${ncol - 1})` : `index ${ncol - 1}`;
  return (
    `likely label column: ${head ? `"${name}" (index ${col})` : `index ${col}`} with ${count.size} distinct values (--label ${name}; config label: ${head ? JSON.stringify(name) : col}); ` +
    `no label was given, so the last column ${last} was taken as the label. Otherwise features must be numbers: encode categorical columns numerically first`
  );
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
