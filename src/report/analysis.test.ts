import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/rng.js';
import { columnImportance, levelCodes, levelLabels, parameterImportance, topMask, type Param } from './analysis.js';

/** levelLabels as first written (a label string per value): the definition levelCodes must keep. */
function labelsByValue(raw: readonly Param[], maxLevels = 8): string[] {
  const fmt = (v: number): string => {
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-2)) return v.toExponential(1);
    return String(Math.round(v * 100) / 100);
  };
  const numeric = raw.every((v) => typeof v === 'number');
  const labels = raw.map((v) => (typeof v === 'string' ? v : String(v)));
  if (!numeric) return labels;
  if (new Set(raw).size <= maxLevels) return labels;
  const nums = raw as number[];
  const qs = [...nums].sort((a, b) => a - b);
  const edges: number[] = [];
  const bins = Math.min(5, maxLevels);
  for (let b = 1; b < bins; b++) edges.push(qs[Math.floor((b * qs.length) / bins)]!);
  const uniq = [...new Set(edges)];
  return nums.map((v) => {
    let k = 0;
    while (k < uniq.length && v >= uniq[k]!) k++;
    const lo = k === 0 ? qs[0]! : uniq[k - 1]!;
    const hi = k === uniq.length ? qs[qs.length - 1]! : uniq[k]!;
    return `${fmt(lo)}–${fmt(hi)}`;
  });
}

test('levelCodes: the labels of levelLabels\' definition, as codes in order of first appearance', () => {
  const rng = Rng.fromSeed(3);
  const cases: Param[][] = [
    ['sep', 'pool', 'sep', 'skip', 'pool'],
    [1, '1', null, 'null', true, 'true', 0, -0], // values sharing a label share its group
    [3, 1, 3, 2, 1], // few numbers: each its own level
    Array.from({ length: 500 }, () => 10 ** rng.uniform(-4, -1)), // many: quantile bins
    Array.from({ length: 200 }, (_, i) => (i % 50 === 0 ? 1e6 : i % 3 === 0 ? -0 : i)), // repeated edges, -0, exponent labels
    Array.from({ length: 50 }, (_, i) => (i % 7 === 0 ? null : i / 10)), // numbers and absent: labels, no bins
    [],
  ];
  for (const raw of cases) {
    const want = labelsByValue(raw);
    assert.deepEqual(levelLabels(raw), want);
    const { code, labels } = levelCodes(raw);
    assert.deepEqual(labels, [...new Set(want)], 'distinct labels in order of first appearance');
    assert.deepEqual(Array.from(code, (c) => labels[c]), want);
  }
});

test('columnImportance over columns equals parameterImportance over the rows they come from', () => {
  const rng = Rng.fromSeed(5);
  const rows = Array.from({ length: 400 }, (_, i) => {
    const op = ['sep', 'pool', 'skip'][i % 3]!;
    const params: Record<string, Param> = { op, lr: 10 ** rng.uniform(-4, -1), depth: 1 + (i % 4) };
    if (i % 5 === 0) params['momentum'] = 0.9; // conditional
    if (i % 9 === 0) params['only-null'] = null;
    return { params, value: (op === 'sep' ? 10 : 0) + rng.float() + (params['depth'] as number) };
  });
  const columns = new Map<string, (Param | undefined)[]>();
  rows.forEach((r, i) => {
    for (const [k, v] of Object.entries(r.params)) {
      if (!columns.has(k)) columns.set(k, new Array<Param | undefined>(rows.length + 3).fill(undefined));
      columns.get(k)![i + 3] = v; // columns may hold other trials: `at` picks the ranked ones
    }
  });
  for (const dir of ['maximize', 'minimize'] as const) {
    const want = parameterImportance(rows, dir);
    assert.deepEqual(columnImportance(columns, rows.map((_, i) => i + 3), rows.map((r) => r.value), dir), want);
    assert.deepEqual(want.map((x) => x.name).sort(), ['depth', 'lr', 'momentum', 'op'], 'a single-valued parameter is left out');
  }
});

/**
 * columnImportance as first written over columns (every column through levelCodes, then one
 * pass adding each trial to its group): the definition its one-pass grouping must keep, to the bit.
 */
function importanceByCodes(columns: ReadonlyMap<string, readonly (Param | undefined)[]>, at: readonly number[], values: readonly number[], dir: 'maximize' | 'minimize') {
  const n = at.length;
  if (n < 4) return [];
  let mean = 0;
  for (const v of values) mean += v;
  mean /= n;
  let total = 0;
  for (const v of values) total += (v - mean) ** 2;
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => (dir === 'maximize' ? b.v - a.v : a.v - b.v));
  const nTop20 = Math.max(1, Math.round(n * 0.2));
  const nPed = Math.max(2, Math.round(n * 0.1));
  const top20 = new Uint8Array(n);
  const topPed = new Uint8Array(n);
  order.forEach((x, rank) => {
    if (rank < nTop20) top20[x.i] = 1;
    if (rank < nPed) topPed[x.i] = 1;
  });
  const out: ReturnType<typeof columnImportance> = [];
  for (const [name, col] of columns) {
    const raw = at.map((i) => col[i] ?? null);
    if (!raw.some((v) => v !== null)) continue;
    const { code, labels } = levelCodes(raw, 8);
    const k = labels.length;
    if (k < 2) continue;
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
      groups: labels.map((label, c) => ({ label, count: count[c]!, mean: sum[c]! / count[c]!, topCount: top[c]! })).sort((a, b) => (dir === 'maximize' ? b.mean - a.mean : a.mean - b.mean)),
    });
  }
  return out.sort((a, b) => b.ped - a.ped || a.name.localeCompare(b.name));
}

test('columnImportance groups each column as levelCodes does, to the bit (one pass where each label is one value\'s)', () => {
  const rng = Rng.fromSeed(17);
  const n = 700;
  const ops = ['sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'none'];
  const make = (f: (i: number) => Param | undefined): (Param | undefined)[] => Array.from({ length: n + 5 }, (_, i) => f(i));
  const columns = new Map<string, (Param | undefined)[]>([
    ['op', make((i) => ops[(i * 7 + (i >> 3)) % 8]!)],
    ['input', make((i) => (i * 5) % 4)], // few numbers: one level each
    ['lr', make(() => 10 ** rng.uniform(-4, -1))], // many numbers: quantile bins
    ['generation', make((i) => Math.floor(i / 50))], // 15 distinct numbers: bins
    ['nine', make((i) => i % 9)], // one number more than maxLevels, found late
    ['shared', make((i) => [1, '1', true, 'true', null, 'null'][i % 6]!)], // values sharing a label
    ['zeros', make((i) => (i % 3 === 0 ? -0 : i % 3 === 1 ? 0 : 2))],
    ['conditional', make((i) => (i % 4 === 0 ? 'on' : undefined))],
    ['absent-or-null', make((i) => (i % 2 ? null : undefined))],
    ['null-text', make(() => 'null')],
    ['many-labels', make((i) => `w${i % 40}`)], // grows past the first 16 groups
    ['mixed', make((i) => (i % 10 === 0 ? 'x' : i))], // numbers and a string: labels, no bins
    ['bools', make((i) => i % 3 === 0)],
  ]);
  const at = Array.from({ length: n }, (_, j) => (j * 13) % (n + 5)).filter((v, j, a) => a.indexOf(v) === j);
  const values = at.map((i) => (i % 7) + rng.float() * 3 + (i % 3 === 0 ? 2 : 0));
  for (const dir of ['maximize', 'minimize'] as const) {
    const got = columnImportance(columns, at, values, dir);
    assert.deepEqual(got, importanceByCodes(columns, at, values, dir));
    assert.ok(got.some((x) => x.name === 'shared') && got.some((x) => x.name === 'lr') && !got.some((x) => x.name === 'absent-or-null' || x.name === 'null-text'));
  }
});

test('topMask marks the first k of a stable sort by value (ties: the earlier ones), finite or not', () => {
  const rng = Rng.fromSeed(23);
  const bySort = (values: readonly number[], k: number, dir: 'maximize' | 'minimize'): number[] => {
    const mask = new Array<number>(values.length).fill(0);
    values
      .map((v, i) => ({ v, i }))
      .sort((a, b) => (dir === 'maximize' ? b.v - a.v : a.v - b.v))
      .slice(0, k)
      .forEach((x) => (mask[x.i] = 1));
    return mask;
  };
  const cases: number[][] = [
    Array.from({ length: 300 }, () => Math.round(rng.float() * 20) / 4), // many ties
    Array.from({ length: 300 }, () => rng.float()),
    [0, -0, 0, -0, 1, -1],
    [5, 5, 5, 5],
    [3, Number.NaN, 1, Infinity, -Infinity, 2],
    [],
  ];
  for (const values of cases) {
    for (const dir of ['maximize', 'minimize'] as const) {
      for (const k of [0, 1, 2, 3, Math.round(values.length * 0.1), Math.round(values.length * 0.2), values.length, values.length + 2]) {
        assert.deepEqual(Array.from(topMask(values, k, dir)), bySort(values, k, dir), `${dir} k=${k} of ${values.slice(0, 6).join(',')}`);
      }
    }
  }
});
