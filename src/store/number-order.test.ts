import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pointsInNumberOrder, trialArchitecturesFromRows } from './common.js';
import type { TrialPoints } from './types.js';

// A backend may answer in heap order (PostgreSQL after updates); every column follows the numbers.
test('pointsInNumberOrder: trials out of number order are sorted in every column; sorted input is returned as is', () => {
  const f = (...v: number[]) => Float64Array.from(v);
  const p: TrialPoints = {
    count: 3,
    id: f(12, 10, 11),
    number: f(2, 0, 1),
    state: ['failed', 'complete', 'running'],
    budget: f(3, 1, 2),
    value0: f(0.3, 0.1, Number.NaN),
    startedAt: f(30, 10, 20),
    finishedAt: f(31, 11, Number.NaN),
    metrics: new Map([['acc', [null, 0.1, 0.2]]]),
    params: new Map([['lr', f(3e-3, 1e-3, 2e-3)]]),
    userAttrs: new Map([['seed', f(2, 0, 1)]]),
  };
  const s = pointsInNumberOrder(p);
  assert.deepEqual([...s.number], [0, 1, 2]);
  assert.deepEqual([...s.id], [10, 11, 12]);
  assert.deepEqual(s.state, ['complete', 'running', 'failed']);
  assert.deepEqual([...s.budget], [1, 2, 3]);
  assert.deepEqual([...s.value0], [0.1, Number.NaN, 0.3]);
  assert.deepEqual([...s.startedAt], [10, 20, 30]);
  assert.deepEqual([...s.finishedAt], [11, Number.NaN, 31]);
  assert.deepEqual(s.metrics.get('acc'), [0.1, 0.2, null]);
  assert.deepEqual([...s.params.get('lr')!], [1e-3, 2e-3, 3e-3]);
  assert.deepEqual([...s.userAttrs.get('seed')!], [0, 1, 2]);
  assert.equal(pointsInNumberOrder(s), s);
});

test('trialArchitecturesFromRows: rows in any order come out in number order; a number that is not an integer is storage_error', () => {
  const a = trialArchitecturesFromRows([[2, '{"c":3}'], [0, '{"a":1}'], ['1', '{"b":2}']]);
  assert.equal(a.count, 3);
  assert.deepEqual([...a.number], [0, 1, 2]);
  assert.deepEqual(a.text, ['{"a":1}', '{"b":2}', '{"c":3}']);
  const sorted = trialArchitecturesFromRows([[0, 'x'], [1, 'y']]);
  assert.deepEqual(sorted.text, ['x', 'y']);
  assert.equal(trialArchitecturesFromRows([]).count, 0);
  assert.throws(() => trialArchitecturesFromRows([[0.5, '{}']]), (e: unknown) => (e as { code?: string }).code === 'storage_error');
});
