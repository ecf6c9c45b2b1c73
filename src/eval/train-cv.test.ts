/** k-fold cross-validation in the training evaluator (issue 17 fault 17): folds, means, spread. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MlpArch } from '../core/arch.js';
import { parseCsv } from '../data/csv.js';
import { crossValidationViews, prepareSplits } from '../data/prepare.js';
import { stratifiedKFold } from '../data/split.js';
import { fullSubset } from '../data/types.js';
import { isNasError } from '../core/errors.js';
import { liveTensors } from '../tensor/index.js';
import { TrainingEvaluator } from './train.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-cv-'));
const lines = Array.from({ length: 90 }, (_, i) => `${(i % 3) + Math.sin(i)},${Math.cos(i * 7)},${['a', 'b', 'c'][i % 3]}`);
const csv = join(dir, 'three.csv');
writeFileSync(csv, 'x,y,label\n' + lines.join('\n') + '\n');

test('stratifiedKFold: disjoint, covering, class-balanced folds; deterministic under a seed', () => {
  const d = parseCsv('x,y\n' + Array.from({ length: 23 }, (_, i) => `${i},${i < 15 ? 0 : 1}`).join('\n'), 'k.csv');
  const folds = stratifiedKFold(fullSubset(d), 4, 's');
  const all = folds.flatMap((f) => Array.from(f.indices)).sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 23 }, (_, i) => i));
  for (const f of folds) {
    const ones = Array.from(f.indices).filter((i) => d.y[i] === 1).length;
    assert.ok(ones === 2 || ones === 3, `class 1 per fold: ${ones}`);
    assert.ok(f.indices.length === 5 || f.indices.length === 6);
  }
  assert.deepEqual(stratifiedKFold(fullSubset(d), 4, 's').map((f) => Array.from(f.indices)), folds.map((f) => Array.from(f.indices)));
  assert.throws(() => stratifiedKFold(fullSubset(d), 1, 's'), (e: unknown) => isNasError(e, 'invalid_config'));
});

test('crossValidationViews: pools train + val, each view validates on its fold with its own normalisation; same test split', () => {
  const p = prepareSplits({ train: parseCsv('x,y,label\n' + lines.join('\n'), csv) });
  const views = crossValidationViews(p, 3);
  const pool = [...p.train.indices, ...p.val.indices].sort((a, b) => a - b);
  assert.deepEqual(views.flatMap((v) => Array.from(v.val.indices)).sort((a, b) => a - b), pool);
  for (const v of views) {
    assert.equal(v.train.indices.length + v.val.indices.length, pool.length);
    assert.equal(v.test, p.test);
  }
  assert.notDeepEqual(views[0]!.normalization, views[1]!.normalization);
});

test('TrainingEvaluator cv_folds: 3: objective is the mean over folds, spread recorded, curve averaged', async () => {
  const before = liveTensors();
  const arch: MlpArch = { family: 'mlp', hidden: [16], activation: 'relu', batchNorm: false, dropout: 0 };
  const ev = new TrainingEvaluator({ dataset: { kind: 'csv', path: csv }, epochs: 2, cvFolds: 3, hparams: { lr: 1e-2, batchSize: 16 } });
  assert.ok(ev.metricNames.includes('val_acc_std') && ev.metricNames.includes('cv_folds'));
  const steps: number[] = [];
  const o = await ev.evaluate({ arch, seed: 3, onProgress: (p) => (steps.push(p.step), 'continue') });
  assert.equal(o.status, 'complete');
  if (o.status !== 'complete') return;
  assert.equal(o.metrics['cv_folds'], 3);
  assert.ok(o.metrics['val_acc_std']! >= 0 && Number.isFinite(o.metrics['val_loss_std']));
  assert.ok(o.metrics['val_acc']! >= 0 && o.metrics['val_acc']! <= 100);
  assert.ok(Number.isFinite(o.metrics['test_acc']));
  assert.deepEqual(steps, [1, 2]);
  assert.equal(o.curve.length, 2);
  // pruned on the first reported epoch
  const pr = await ev.evaluate({ arch, seed: 3, onProgress: () => 'stop' });
  assert.equal(pr.status, 'pruned');
  assert.equal(liveTensors(), before);
  assert.throws(() => new TrainingEvaluator({ dataset: { kind: 'csv', path: csv }, cvFolds: 1 }), (e: unknown) => isNasError(e, 'invalid_config'));
});

test('config: evaluator cv_folds is accepted and checked', async () => {
  const { parseTrainOptions } = await import('../api/train-evaluator.js');
  assert.equal(parseTrainOptions({ dataset: 'csv', path: csv, cv_folds: 4 }, '/').eval.cvFolds, 4);
  assert.throws(() => parseTrainOptions({ dataset: 'csv', path: csv, cv_folds: 1 }, '/'), (e: unknown) => isNasError(e, 'invalid_config') && (e as { field?: string }).field === 'evaluator.cv_folds');
});

test('TrainingEvaluator cv_repeats: 2 x 3 folds, distinct partitions, cv_repeats recorded; repeats 1 = plain cv_folds; checked', async () => {
  const arch: MlpArch = { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 };
  const p = prepareSplits({ train: parseCsv('x,y,label\n' + lines.join('\n'), csv) });
  // Repeat 2's partition is another shuffle of the same pool.
  assert.notDeepEqual(crossValidationViews(p, 3, '0/repeat2').map((v) => Array.from(v.val.indices)), crossValidationViews(p, 3, 0).map((v) => Array.from(v.val.indices)));
  const base = { dataset: { kind: 'csv', path: csv } as const, epochs: 1, cvFolds: 3, hparams: { lr: 1e-2, batchSize: 16 }, threads: 1 };
  const ev = new TrainingEvaluator({ ...base, cvRepeats: 2 });
  assert.ok(ev.metricNames.includes('cv_repeats'));
  const o = await ev.evaluate({ arch, seed: 1 });
  assert.equal(o.status, 'complete');
  if (o.status !== 'complete') return;
  assert.equal(o.metrics['cv_folds'], 3);
  assert.equal(o.metrics['cv_repeats'], 2);
  const once = await new TrainingEvaluator({ ...base, cvRepeats: 1 }).evaluate({ arch, seed: 1 });
  const plain = await new TrainingEvaluator(base).evaluate({ arch, seed: 1 });
  assert.ok(once.status === 'complete' && plain.status === 'complete');
  if (once.status !== 'complete' || plain.status !== 'complete') return;
  // Same partition, same seeds, one thread: the same trainings (tolerance for float summation order only).
  assert.ok(Math.abs(once.metrics['val_loss']! - plain.metrics['val_loss']!) < 1e-6);
  assert.equal(plain.metrics['cv_repeats'], undefined);
  assert.throws(() => new TrainingEvaluator({ dataset: { kind: 'csv', path: csv }, cvRepeats: 2 }), (e: unknown) => isNasError(e, 'invalid_config') && (e as { field?: string }).field === 'evaluator.cv_repeats');
  assert.throws(() => new TrainingEvaluator({ ...base, cvRepeats: 0 }), (e: unknown) => isNasError(e, 'invalid_config'));
  const { parseTrainOptions } = await import('../api/train-evaluator.js');
  assert.equal(parseTrainOptions({ dataset: 'csv', path: csv, cv_folds: 4, cv_repeats: 3 }, '/').eval.cvRepeats, 3);
  assert.throws(() => parseTrainOptions({ dataset: 'csv', path: csv, cv_repeats: 3 }, '/'), (e: unknown) => isNasError(e, 'invalid_config') && (e as { field?: string }).field === 'evaluator.cv_repeats');
});

test('TrainingEvaluator cv_predictions: every pooled row predicted once by the fold that held it out (rows sum to 1, accuracy = the folds\'); checked', async () => {
  const { decodeCvPredictions } = await import('./cv-predictions.js');
  const arch: MlpArch = { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 };
  const base = { dataset: { kind: 'csv', path: csv } as const, epochs: 2, cvFolds: 3, hparams: { lr: 1e-2, batchSize: 16 }, threads: 1 };
  const o = await new TrainingEvaluator({ ...base, cvPredictions: true }).evaluate({ arch, seed: 2 });
  assert.equal(o.status, 'complete');
  if (o.status !== 'complete') return;
  const p = decodeCvPredictions(o.attrs?.['cv_predictions']);
  const d = prepareSplits({ train: parseCsv('x,y,label\n' + lines.join('\n'), csv) });
  assert.deepEqual(Array.from(p.rows), [...d.train.indices, ...d.val.indices].sort((a, b) => a - b));
  assert.equal(p.classes, 3);
  let hits = 0;
  for (let i = 0; i < p.rows.length; i++) {
    const row = Array.from(p.probs.subarray(i * 3, i * 3 + 3));
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    if (row.indexOf(Math.max(...row)) === d.train.data.y[p.rows[i]!]) hits++;
  }
  // Folds of 24 rows each (72 pooled): the mean of the folds' accuracies is the pooled accuracy.
  assert.equal(p.rows.length, 72);
  assert.ok(Math.abs((100 * hits) / 72 - o.metrics['val_acc']!) < 1e-6, `${(100 * hits) / 72} vs ${o.metrics['val_acc']}`);
  // Without the option nothing extra is attached, and the metrics are the same trainings'.
  const plain = await new TrainingEvaluator(base).evaluate({ arch, seed: 2 });
  assert.ok(plain.status === 'complete' && plain.attrs === undefined);
  if (plain.status === 'complete') assert.ok(Math.abs(plain.metrics['val_loss']! - o.metrics['val_loss']!) < 1e-6);
  // Repeats: still one prediction per row (the mean over repeats).
  const r = await new TrainingEvaluator({ ...base, epochs: 1, cvRepeats: 2, cvPredictions: true }).evaluate({ arch, seed: 2 });
  assert.ok(r.status === 'complete');
  if (r.status === 'complete') assert.equal(decodeCvPredictions(r.attrs?.['cv_predictions']).rows.length, 72);
  // The test split (20% of this file) was evaluated: the fold networks' test prediction is kept too.
  assert.equal(p.test?.rows.length, 18);
  assert.throws(() => new TrainingEvaluator({ dataset: { kind: 'csv', path: csv }, cvPredictions: true }), (e: unknown) => isNasError(e, 'invalid_config') && (e as { field?: string }).field === 'evaluator.cv_predictions');
  const { parseTrainOptions } = await import('../api/train-evaluator.js');
  assert.equal(parseTrainOptions({ dataset: 'csv', path: csv, cv_folds: 4, cv_predictions: true }, '/').eval.cvPredictions, true);
  assert.throws(() => parseTrainOptions({ dataset: 'csv', path: csv, cv_predictions: true }, '/'), (e: unknown) => isNasError(e, 'invalid_config') && /cv_predictions/.test((e as Error).message));
});

test('TrainingEvaluator cv_predictions with the test split evaluated: the fold networks\' bagged test prediction (the mean of each fold network\'s); skip_test leaves it out', async () => {
  const { decodeCvPredictions } = await import('./cv-predictions.js');
  const { trainOnData } = await import('./train.js');
  const arch: MlpArch = { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 };
  const split = { seed: 3, testFraction: 0.2 };
  const base = { dataset: { kind: 'csv', path: csv } as const, split, epochs: 2, cvFolds: 2, hparams: { lr: 1e-2, batchSize: 16 }, threads: 1, cvPredictions: true };
  const o = await new TrainingEvaluator(base).evaluate({ arch, seed: 5 });
  assert.equal(o.status, 'complete');
  if (o.status !== 'complete') return;
  const p = decodeCvPredictions(o.attrs?.['cv_predictions']);
  const d = prepareSplits({ train: parseCsv('x,y,label\n' + lines.join('\n'), csv) }, split);
  assert.ok(p.test !== undefined);
  assert.deepEqual(Array.from(p.test!.rows), Array.from(d.test.indices).sort((a, b) => a - b));
  assert.equal(p.test!.classes, 3);
  // The same two fold networks trained here, each predicting the test rows: their mean.
  const folds = crossValidationViews(d, 2, 3);
  const each = [];
  for (const f of folds) {
    const r = await trainOnData(f, { arch, seed: 5, budget: 2 }, { epochs: 2, hparams: { lr: 1e-2, batchSize: 16 }, threads: 1, testPredictions: true });
    assert.deepEqual(Array.from(f.test.indices), Array.from(d.test.indices));
    each.push(r.testProbs!);
  }
  const at = new Map(Array.from(d.test.indices, (r, i) => [r, i] as const));
  for (let i = 0; i < p.test!.rows.length; i++) {
    const j = at.get(p.test!.rows[i]!)!;
    let sum = 0;
    for (let c = 0; c < 3; c++) {
      const want = (each[0]![j * 3 + c]! + each[1]![j * 3 + c]!) / 2;
      assert.ok(Math.abs(p.test!.probs[i * 3 + c]! - want) < 1e-4, `row ${p.test!.rows[i]} class ${c}: ${p.test!.probs[i * 3 + c]} vs ${want}`);
      sum += p.test!.probs[i * 3 + c]!;
    }
    assert.ok(Math.abs(sum - 1) < 1e-5);
  }
  // Asked without an evaluated test split (skipTest): no testProbs, no test part.
  const skipped = await new TrainingEvaluator({ ...base, skipTest: true }).evaluate({ arch, seed: 5 });
  assert.ok(skipped.status === 'complete' && decodeCvPredictions(skipped.attrs?.['cv_predictions']).test === undefined);
  const r = await trainOnData(folds[0]!, { arch, seed: 5, budget: 1 }, { epochs: 1, threads: 1, testPredictions: true, skipTest: true });
  assert.equal(r.testProbs, undefined);
});

test('joint_mlp_small\'s linear member (0 hidden layers: logistic regression) trains under cv_folds and separates a linear problem', async () => {
  const rows = Array.from({ length: 60 }, (_, i) => {
    const x = Math.sin(i * 1.7) * 2;
    const y = Math.cos(i * 2.3) * 2;
    // a margin of 0.3 around the line x + y = 0: separable by a linear model
    return x + y > 0.3 ? `${x},${y},p` : x + y < -0.3 ? `${x},${y},n` : undefined;
  }).filter((l) => l !== undefined);
  const f = join(dir, 'linear.csv');
  writeFileSync(f, 'x,y,label\n' + rows.join('\n') + '\n');
  const ev = new TrainingEvaluator({ dataset: { kind: 'csv', path: f }, epochs: 40, cvFolds: 3 });
  const o = await ev.evaluate({ arch: { arch: { family: 'mlp', hidden: [], activation: 'relu', batchNorm: false, dropout: 0 }, hparams: { optimizer: 'adam', lr: 0.05, batchSize: 16, weightDecay: 1e-4 } }, seed: 1 });
  assert.equal(o.status, 'complete', o.status === 'failed' ? o.message : '');
  if (o.status !== 'complete') return;
  assert.equal(o.metrics['params'], 2 * 2 + 2, 'one linear layer: 2 features x 2 classes + 2 biases');
  assert.ok(o.metrics['val_acc']! >= 90, `val_acc ${o.metrics['val_acc']}`);
});
