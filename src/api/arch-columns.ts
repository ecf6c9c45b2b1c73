/**
 * Architecture texts flattened into parameter columns, fast: the study view of a 20,000-trial
 * study turns ~11 MB of stored architecture JSON into ~60 columns of 20,000 values.
 *
 * The definition is `walk(JSON.parse(text), set)` (src/api/dashboard.ts: the leaf paths of
 * TrialRow.params). The trials of a study mostly share one *shape*: the text with every scalar
 * value replaced by a placeholder of its kind (string, number, boolean, null), keys and punctuation
 * kept. For a shape seen before, the leaf paths are known, so a text of that shape is matched
 * against it character by character and its values are cut out and stored into the columns:
 * no object is built per trial and no path per leaf. A text of a new shape is parsed and walked
 * (the definition), and its shape is learnt by walking a copy whose values are replaced by
 * markers (leaf k of the text becomes `"\u0000k"` if a string, else the number k): where the
 * marker of leaf k lands is the path of leaf k, in the order the walk sets them. So duplicate
 * keys (JSON.parse keeps the last), integer-like keys (objects list them first), dropped leaves
 * (a `family` tag) and everything else the walk does come out as the walk has them. Values are
 * read as JSON.parse reads them: strings with escapes by JSON.parse of the token, numbers by
 * Number() of a token checked against JSON's number grammar (the same double), so a text that is
 * not valid JSON never matches a shape and takes the definition's path (which fails as it did).
 */
import type { Json } from '../core/json.js';

export type LeafValue = string | number | boolean | null;

/**
 * Hands each leaf path and value of an architecture to `set`, in a fixed order (the definition).
 * Its paths may depend on the structure, the keys and on which leaves are strings, not on other
 * values (a shape is learnt from a copy whose values are markers); a learnt shape is checked
 * against the definition's answer for the text it was learnt from and dropped if they differ.
 */
export type ArchWalk = (arch: Json, set: (path: string, value: LeafValue) => void) => void;

// Placeholders in a shape: control characters, which JSON text holds neither between tokens nor
// raw inside a string, so they never collide with a literal character of the text.
const STR = 1;
const NUM = 2;
const BOOL = 3;
const NULL = 4;

interface Shape {
  readonly text: string;
  /** Leaves of a text of this shape, in text order. */
  readonly leaves: number;
  /** Per leaf the walk sets, in its order: the column and the leaf (text order) it takes. */
  readonly paths: readonly string[];
  readonly from: Int32Array;
  /** Columns of `paths`, resolved once per shape. */
  readonly cols: (LeafValue | undefined)[][];
}

/** At most this many shapes are tried per text (most recently matched first); more are learnt. */
const TRY_SHAPES = 8;
const KEEP_SHAPES = 64;

/**
 * Parameter columns of `count` trials: `columns` maps a leaf path to its values per trial
 * (undefined where the trial has no such leaf).
 */
export class ArchColumns {
  readonly columns = new Map<string, (LeafValue | undefined)[]>();
  private readonly shapes: Shape[] = [];
  private values: LeafValue[] = [];
  /** Texts added through a known shape (not parsed): for tests and diagnostics. */
  matched = 0;

  /**
   * `parse` turns trial i's architecture text into JSON (and throws a helpful error when it is
   * not JSON: a text of a known shape is always valid JSON, so it is called only for new shapes).
   */
  constructor(
    readonly count: number,
    private readonly walk: ArchWalk,
    private readonly parse: (text: string, i: number) => Json,
  ) {}

  /** The column of `path`, created (every trial absent) on first use. */
  column(path: string): (LeafValue | undefined)[] {
    let col = this.columns.get(path);
    if (col === undefined) this.columns.set(path, (col = new Array<LeafValue | undefined>(this.count).fill(undefined)));
    return col;
  }

  set(i: number, path: string, value: LeafValue): void {
    this.column(path)[i] = value;
  }

  has(i: number, path: string): boolean {
    return this.columns.get(path)?.[i] !== undefined;
  }

  /** Trial `i`'s value at `path`; undefined when it has none. */
  get(i: number, path: string): LeafValue | undefined {
    return this.columns.get(path)?.[i];
  }

  /** Trial `i`'s architecture, given as its JSON text: its leaves set as `walk` would set them. */
  add(i: number, text: string): void {
    const vals = this.values;
    const tries = Math.min(this.shapes.length, TRY_SHAPES);
    for (let s = 0; s < tries; s++) {
      const sh = this.shapes[s]!;
      if (!matchShape(text, sh.text, vals)) continue;
      const { from, cols } = sh;
      for (let e = 0; e < from.length; e++) cols[e]![i] = vals[from[e]!]!;
      this.matched++;
      if (s > 0) {
        this.shapes.splice(s, 1);
        this.shapes.unshift(sh);
      }
      return;
    }
    // The definition, then the shape learnt for the next texts like this one (kept only if it
    // gives this text's leaves exactly as the definition did).
    const arch = this.parse(text, i);
    const setPaths: string[] = [];
    const setValues: LeafValue[] = [];
    this.walk(arch, (path, v) => {
      this.set(i, path, v);
      setPaths.push(path);
      setValues.push(v);
    });
    const sh = this.learn(text);
    if (sh && matchShape(text, sh.text, vals) && sh.paths.length === setPaths.length && sh.paths.every((p, e) => p === setPaths[e] && Object.is(vals[sh.from[e]!], setValues[e]))) {
      this.shapes.unshift(sh);
      if (this.shapes.length > KEEP_SHAPES) this.shapes.pop();
    }
  }

  private learn(text: string): Shape | null {
    const scan = scanShape(text);
    if (scan === null) return null;
    const paths: string[] = [];
    const from: number[] = [];
    let bad = false;
    const marked = JSON.parse(scan.marked) as Json;
    this.walk(marked, (path, v) => {
      const k = typeof v === 'number' ? v : typeof v === 'string' && v.charCodeAt(0) === 0 ? Number(v.slice(1)) : Number.NaN;
      if (!(Number.isInteger(k) && k >= 0 && k < scan.leaves)) bad = true;
      paths.push(path);
      from.push(k);
    });
    if (bad) return null;
    return { text: scan.shape, leaves: scan.leaves, paths, from: Int32Array.from(from), cols: paths.map((p) => this.column(p)) };
  }
}

/** The shape of valid JSON text `text`, its leaf count and the text with leaf k marked k; null if not scannable. */
function scanShape(text: string): { shape: string; leaves: number; marked: string } | null {
  const shape: string[] = [];
  const marked: string[] = [];
  let k = 0;
  let last = 0;
  const n = text.length;
  let i = 0;
  const leaf = (code: number, start: number, end: number, str: boolean): void => {
    shape.push(text.slice(last, start), String.fromCharCode(code));
    marked.push(text.slice(last, start), str ? `"\\u0000${k}"` : String(k));
    k++;
    last = end;
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      const e = stringEnd(text, i);
      if (e < 0) return null;
      // a key when the next token is ':'
      let j = e;
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) !== 58) leaf(STR, i, e, true);
      i = e;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      const e = numberEnd(text, i);
      if (e < 0) return null;
      leaf(NUM, i, e, false);
      i = e;
    } else if (c === 116 && text.startsWith('true', i)) {
      leaf(BOOL, i, i + 4, false);
      i += 4;
    } else if (c === 102 && text.startsWith('false', i)) {
      leaf(BOOL, i, i + 5, false);
      i += 5;
    } else if (c === 110 && text.startsWith('null', i)) {
      leaf(NULL, i, i + 4, false);
      i += 4;
    } else if (c < 32 && !isSpace(c)) return null;
    else i++;
  }
  shape.push(text.slice(last));
  marked.push(text.slice(last));
  return { shape: shape.join(''), leaves: k, marked: marked.join('') };
}

/**
 * Whether `text` has shape `shape`; if so its leaf values (text order) are in `out`. Never
 * accepts text that is not valid JSON when the shape came from valid JSON: every character
 * outside a value must equal the shape's, and every value is checked against JSON's grammar.
 */
function matchShape(text: string, shape: string, out: LeafValue[]): boolean {
  const n = text.length;
  const m = shape.length;
  let i = 0;
  let k = 0;
  for (let j = 0; j < m; j++) {
    const c = shape.charCodeAt(j);
    if (c > NULL) {
      if (text.charCodeAt(i) !== c) return false;
      i++;
      continue;
    }
    switch (c) {
      case STR: {
        if (text.charCodeAt(i) !== 34) return false;
        let e = i + 1;
        let escaped = false;
        for (;;) {
          if (e >= n) return false;
          const d = text.charCodeAt(e);
          if (d === 34) break;
          if (d < 32) return false;
          if (d === 92) {
            escaped = true;
            e += 2;
          } else e++;
        }
        if (escaped) {
          try {
            out[k++] = JSON.parse(text.slice(i, e + 1)) as string;
          } catch {
            return false;
          }
        } else out[k++] = text.slice(i + 1, e);
        i = e + 1;
        break;
      }
      case NUM: {
        const e = numberEnd(text, i);
        if (e < 0) return false;
        // a short run of digits is its integer (exact below 2^53); anything else as JSON.parse reads it
        let v = 0;
        let p = i;
        for (; p < e && isDigit(text.charCodeAt(p)); p++) v = v * 10 + (text.charCodeAt(p) - 48);
        out[k++] = p === e && e - i <= 15 ? v : Number(text.slice(i, e));
        i = e;
        break;
      }
      case BOOL:
        if (text.startsWith('true', i)) {
          out[k++] = true;
          i += 4;
        } else if (text.startsWith('false', i)) {
          out[k++] = false;
          i += 5;
        } else return false;
        break;
      default:
        if (!text.startsWith('null', i)) return false;
        out[k++] = null;
        i += 4;
    }
  }
  return i === n;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** End (exclusive) of the JSON string starting at `i` (a quote), or -1. */
function stringEnd(text: string, i: number): number {
  const n = text.length;
  for (let e = i + 1; e < n; e++) {
    const d = text.charCodeAt(e);
    if (d === 34) return e + 1;
    if (d === 92) e++;
  }
  return -1;
}

/** End (exclusive) of the JSON number starting at `i`, or -1 when there is none (JSON's grammar). */
function numberEnd(text: string, i: number): number {
  let p = i;
  if (text.charCodeAt(p) === 45) p++;
  if (!isDigit(text.charCodeAt(p))) return -1;
  if (text.charCodeAt(p) === 48) p++;
  else while (isDigit(text.charCodeAt(p))) p++;
  if (text.charCodeAt(p) === 46) {
    p++;
    if (!isDigit(text.charCodeAt(p))) return -1;
    while (isDigit(text.charCodeAt(p))) p++;
  }
  const ex = text.charCodeAt(p);
  if (ex === 101 || ex === 69) {
    p++;
    const sign = text.charCodeAt(p);
    if (sign === 43 || sign === 45) p++;
    if (!isDigit(text.charCodeAt(p))) return -1;
    while (isDigit(text.charCodeAt(p))) p++;
  }
  return p;
}

/** charCodeAt past the end is NaN: not a digit. */
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
