/** Caruana et al. 2004's greedy ensemble selection (src/eval/ensemble-selection.ts) and the out-of-fold codec (src/eval/cv-predictions.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNasError } from '../core/errors.js';
import { decodeCvPredictions, encodeCvPredictions, poolFoldPredictions } from './cv-predictions.js';
import { ensembleSelection, scoreProbs } from './ensemble-selection.js';

const f = (xs: number[]) => Float32Array.from(xs);
// 4 rows, 2 classes, labels 0 1 0 1.
const labels = [0, 1, 0, 1];
// A: right on rows 0,1 (confident), wrong on 2,3 (barely). B: the mirror. C: 0.5 everywhere.
const A = f([0.9, 0.1, 0.1, 0.9, 0.4, 0.6, 0.6, 0.4]);
const B = f([0.4, 0.6, 0.6, 0.4, 0.9, 0.1, 0.1, 0.9]);
const C = f([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
const P = f([0.99, 0.01, 0.01, 0.99, 0.99, 0.01, 0.01, 0.99]);

test('scoreProbs: log loss and accuracy of sum/div; argmax ties go to the lower class', () => {
  const s = scoreProbs(A, 1, labels, 2);
  assert.equal(s.acc, 50);
  assert.ok(Math.abs(s.loss - -(2 * Math.log(0.9) + 2 * Math.log(0.4)) / 4) < 1e-6);
  // C: every row a tie -> class 0 -> rows 0 and 2 right.
  assert.equal(scoreProbs(C, 1, labels, 2).acc, 50);
});

test('ensembleSelection: a perfect model alone; complementary models combined; the best nested ensemble is kept; ties keep the earlier model', () => {
  const one = ensembleSelection([C, P, A], labels, 2, { size: 5, metric: 'loss' });
  // Every step adds P again (the same average): the earliest of equal ensembles, step 1.
  assert.deepEqual(one.trace.map((t) => t.model), [1, 1, 1, 1, 1]);
  assert.deepEqual(one.counts, [0, 1, 0]);
  assert.deepEqual(one.weights, [0, 1, 0]);
  assert.equal(one.step, 1);
  assert.equal(one.acc, 100);
  // A and B alone are 50%; their mean is right on every row (0.65 vs 0.35): the steps alternate
  // them, and the 2-member mean (step 2; step 4 is the same average) is kept over step 3's 2:1.
  const two = ensembleSelection([A, B, C], labels, 2, { size: 4, metric: 'acc' });
  assert.deepEqual(two.trace.map((t) => t.model), [0, 1, 0, 1]);
  assert.deepEqual(two.counts, [1, 1, 0]);
  assert.equal(two.step, 2);
  assert.equal(two.acc, 100);
  assert.ok(Math.abs(two.loss - -Math.log(0.65)) < 1e-6);
  assert.ok(two.trace[2]!.loss > two.loss);
  // The same model twice in the library: the first copy is taken.
  assert.deepEqual(ensembleSelection([A, A], labels, 2, { size: 3, metric: 'loss' }).counts, [1, 0]);
  // Sorted initialization: the 2 best by their own score (A, B; C is worse) start the ensemble.
  const init = ensembleSelection([C, A, B], labels, 2, { size: 1, metric: 'loss', init: 2 });
  assert.deepEqual(init.trace[0]!.step, 0);
  assert.deepEqual(init.counts, [0, 1, 1]);
  assert.equal(init.step, 0);
  assert.ok(Math.abs(init.weights.reduce((a, b) => a + b, 0) - 1) < 1e-12);
});

test('ensembleSelection: bad inputs are invalid_config naming the field', () => {
  const bad = (fn: () => unknown, field: string) => assert.throws(fn, (e: unknown) => isNasError(e, 'invalid_config') && (e as { field?: string }).field === field);
  bad(() => ensembleSelection([], labels, 2, { size: 1, metric: 'loss' }), 'library');
  bad(() => ensembleSelection([A], labels, 2, { size: 0, metric: 'loss' }), 'size');
  bad(() => ensembleSelection([A], labels, 2, { size: 1, metric: 'loss', init: 2 }), 'init');
  bad(() => ensembleSelection([A, f([1, 0])], labels, 2, { size: 1, metric: 'loss' }), 'library[1]');
  bad(() => ensembleSelection([A], [0, 1, 2, 1], 2, { size: 1, metric: 'loss' }), 'labels');
});

test('cv_predictions: folds pooled by row (repeats averaged), encoded losslessly as float32, malformed records refused', () => {
  const p = poolFoldPredictions(
    [
      { rows: Int32Array.from([7, 2]), probs: f([0.25, 0.75, 1, 0]) },
      { rows: Int32Array.from([5]), probs: f([0.5, 0.5]) },
      { rows: Int32Array.from([2]), probs: f([0, 1]) },
    ],
    2,
  );
  assert.deepEqual(Array.from(p.rows), [2, 5, 7]);
  assert.deepEqual(Array.from(p.probs), [0.5, 0.5, 0.5, 0.5, 0.25, 0.75]);
  const j = encodeCvPredictions({ rows: Int32Array.from([0, 3]), classes: 3, probs: f([0.1, 0.2, 0.7, 1 / 3, 1 / 3, 1 / 3]) });
  const back = decodeCvPredictions(JSON.parse(JSON.stringify(j)));
  assert.deepEqual(Array.from(back.rows), [0, 3]);
  assert.equal(back.classes, 3);
  assert.deepEqual(back.probs, f([0.1, 0.2, 0.7, 1 / 3, 1 / 3, 1 / 3]));
  assert.equal(back.test, undefined);
  // With the fold networks' test prediction: a second part, the same codec.
  const jt = encodeCvPredictions({ rows: Int32Array.from([0, 3]), classes: 3, probs: f([0.1, 0.2, 0.7, 1 / 3, 1 / 3, 1 / 3]), test: { rows: Int32Array.from([1, 2, 9]), classes: 3, probs: f([1, 0, 0, 0, 1, 0, 0.2, 0.3, 0.5]) } });
  const bt = decodeCvPredictions(JSON.parse(JSON.stringify(jt)));
  assert.deepEqual(Array.from(bt.test!.rows), [1, 2, 9]);
  assert.deepEqual(bt.test!.probs, f([1, 0, 0, 0, 1, 0, 0.2, 0.3, 0.5]));
  assert.deepEqual(bt.probs, back.probs);
  assert.throws(() => encodeCvPredictions({ ...bt, test: { ...bt.test!, classes: 2 } }), (e: unknown) => isNasError(e, 'internal'));
  const o = j as Record<string, unknown>;
  const t = jt as Record<string, unknown>;
  for (const broken of [null, [], { ...o, format: 'json' }, { ...o, classes: 0 }, { ...o, rows: [3, 0] }, { ...o, probs: 'AAAA' }, { ...o, probs: 1 }, { ...o, test_rows: [1] }, { ...t, test_probs: undefined }, { ...t, test_rows: [2, 1, 9] }, { ...t, test_probs: 'AAAA' }])
    assert.throws(() => decodeCvPredictions(broken, 'trial 4\'s cv_predictions'), (e: unknown) => isNasError(e, 'invalid_config') && /trial 4's cv_predictions/.test((e as Error).message));
});
