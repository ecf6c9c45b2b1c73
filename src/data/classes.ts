/**
 * Class selection for transfer (e.g. Fashion-MNIST classes 0-4 -> 5-9): a view of prepared data
 * that keeps only some classes and renumbers them 0..k-1 in the order given. Samples are not
 * copied (the subsets index the same pixels); only the label array is remapped.
 */
import { NasError } from '../core/errors.js';
import type { PreparedData } from './prepare.js';
import type { Dataset, Subset } from './types.js';

/**
 * Parses a class list such as `5-9`, `0,2,4` or `7,3-4` (ranges inclusive, order kept) into class
 * indices. Throws invalid_config with field `field` (printed once, before the message) for an empty list, a malformed item, a descending
 * range or a repeated class.
 */
export function parseClassList(spec: string, field = 'classes'): number[] {
  const hint = 'give class indices as a list and/or ranges, e.g. 5-9 or 0,2,4';
  const items = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new NasError('invalid_config', `selects no class (got ${JSON.stringify(spec)})`, { field, hint });
  const out: number[] = [];
  for (const it of items) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(it);
    if (!m) throw new NasError('invalid_config', `${JSON.stringify(it)} is not a class index or a range a-b`, { field, hint });
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new NasError('invalid_config', `the range ${it} is empty (it runs downwards)`, { field, hint: `write ${b}-${a}` });
    for (let k = a; k <= b; k++) out.push(k);
  }
  return checkClasses(out, undefined, field);
}

/** Checks a class selection (non-empty, integers, no repeats, each < numClasses when given); returns it. */
export function checkClasses(classes: readonly number[], numClasses: number | undefined, field = 'classes'): number[] {
  if (classes.length === 0) throw new NasError('invalid_config', 'selects no class', { field, hint: 'select at least 2 classes, e.g. 5-9' });
  const seen = new Set<number>();
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0) throw new NasError('invalid_config', `${c} is not a class index (an integer >= 0)`, { field });
    if (numClasses !== undefined && c >= numClasses)
      throw new NasError('invalid_config', `class ${c} does not exist, the dataset has classes 0-${numClasses - 1}`, { field, hint: `select classes in 0-${numClasses - 1}` });
    if (seen.has(c)) throw new NasError('invalid_config', `class ${c} is selected twice`, { field, hint: 'list each class once' });
    seen.add(c);
  }
  return [...classes];
}

/**
 * Keeps the samples of `classes` (indices of `data`'s classes) in every split and renumbers them:
 * class `classes[j]` becomes label j. The normalisation is kept (the caller decides whether to
 * refit it). Throws invalid_config naming `classes` for an empty, repeated or out-of-range
 * selection, and when a selected class has no training sample.
 */
export function selectClasses(data: PreparedData, classes: readonly number[], field = 'classes'): PreparedData {
  const sel = checkClasses(classes, data.numClasses, field);
  const map = new Map<number, number>(sel.map((c, j) => [c, j]));
  const views = new Map<Dataset, Dataset>();
  const view = (d: Dataset): Dataset => {
    let v = views.get(d);
    if (!v) {
      const y = new Int32Array(d.y.length);
      for (let i = 0; i < y.length; i++) y[i] = map.get(d.y[i]!) ?? -1;
      v = { ...d, name: d.name, y, numClasses: sel.length, ...(d.classNames ? { classNames: sel.map((c) => d.classNames![c]!) } : {}) };
      views.set(d, v);
    }
    return v;
  };
  const sub = (s: Subset): Subset => {
    const v = view(s.data);
    return { data: v, indices: s.indices.filter((i) => v.y[i]! >= 0) };
  };
  const train = sub(data.train);
  const counts = new Array<number>(sel.length).fill(0);
  for (const i of train.indices) counts[train.data.y[i]!]!++;
  const missing = sel.filter((_, j) => counts[j] === 0);
  if (missing.length > 0)
    throw new NasError('invalid_config', `${field}: class(es) ${missing.join(', ')} have no training sample in ${data.name}`, { field, hint: 'select classes the dataset has samples of' });
  return {
    ...data,
    name: `${data.name}[classes ${sel.join(',')}]`,
    numClasses: sel.length,
    ...(data.classNames ? { classNames: sel.map((c) => data.classNames![c]!) } : {}),
    train,
    val: sub(data.val),
    test: sub(data.test),
  };
}
