import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/rng.js';
import { columnImportance, levelCodes, levelLabels, parameterImportance, type Param } from './analysis.js';

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
