import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfusionAccumulator } from './train-metrics.js';

test('metrics: hand-computed macro precision/recall/F1, accuracy and confusion matrix', () => {
  const acc = new ConfusionAccumulator(3);
  // true:  0 0 0 1 1 2
  // pred:  0 0 1 1 2 2
  acc.add([0, 0, 0], [0, 0, 1], 1.0);
  acc.add([1, 1, 2], [1, 2, 2], 2.0);
  const m = acc.result();
  assert.deepEqual(m.confusion, [
    [2, 1, 0],
    [0, 1, 1],
    [0, 0, 1],
  ]);
  assert.equal(m.n, 6);
  assert.equal(m.loss, 1.5);
  assert.ok(Math.abs(m.acc - (400 / 6)) < 1e-9);
  // precision: c0 2/2, c1 1/2, c2 1/2 ; recall: c0 2/3, c1 1/2, c2 1/1
  assert.ok(Math.abs(m.precision - (1 + 0.5 + 0.5) / 3) < 1e-12);
  assert.ok(Math.abs(m.recall - (2 / 3 + 0.5 + 1) / 3) < 1e-12);
  const f1 = (p: number, r: number) => (2 * p * r) / (p + r);
  assert.ok(Math.abs(m.f1 - (f1(1, 2 / 3) + f1(0.5, 0.5) + f1(0.5, 1)) / 3) < 1e-12);
});

test('metrics: a class never predicted counts precision 0', () => {
  const acc = new ConfusionAccumulator(2);
  acc.add([0, 1], [0, 0], 0);
  const m = acc.result();
  assert.equal(m.acc, 50);
  assert.equal(m.precision, (0.5 + 0) / 2);
  assert.equal(m.recall, (1 + 0) / 2);
});
