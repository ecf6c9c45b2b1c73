/** Early stopping on the training loss (scikit-learn MLPClassifier's rule) and the evaluator option `early_stopping`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MlpArch } from '../core/arch.js';
import { isNasError, issuesOf } from '../core/errors.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { parseTrainOptions } from '../api/train-evaluator.js';
import { TrainingEvaluator, noImprovementStep, trainOnData } from './train.js';

const mlp: MlpArch = { family: 'mlp', hidden: [32], activation: 'relu', batchNorm: false, dropout: 0 };
let digits: PreparedData;
let noVal: PreparedData;
test.before(async () => {
  digits = await prepareData({ kind: 'digits' }, { seed: 0, trainPerClass: 30 });
  noVal = await prepareData({ kind: 'digits' }, { seed: 0, valFraction: 0 });
});

test('noImprovementStep is scikit-learn\'s count: the lowest loss moves even by less than tol, the count does not reset', () => {
  // sklearn: count += 1 when loss > best - tol, else 0; best = min(best, loss).
  const losses = [1.0, 0.95, 0.91, 0.85, 0.8, 0.5, 0.49];
  let s = { best: Infinity, count: 0 };
  const counts: number[] = [];
  for (const l of losses) counts.push((s = noImprovementStep(s, l, 0.1)).count);
  assert.deepEqual(counts, [0, 1, 2, 3, 4, 0, 1]);
  assert.equal(s.best, 0.49);
  // A rule that moved the best only on improvements larger than tol would have reset at 0.85 (0.85 <= 1.0 - 0.1).
  assert.notEqual(counts[3], 0);
  // tol 0: a higher loss is no improvement; an equal one is not counted (loss > best - tol is false), as in scikit-learn.
  assert.deepEqual([0.5, 0.4, 0.45, 0.4, 0.3].reduce<{ best: number; count: number; seen: number[] }>((a, l) => { const n = noImprovementStep(a, l, 0); return { ...n, seen: [...a.seen, n.count] }; }, { best: Infinity, count: 0, seen: [] }).seen, [0, 0, 1, 0, 0]);
});

test('train_loss early stopping works without validation rows and keeps the last epoch\'s weights; val_loss needs validation rows', async () => {
  // min_delta so large that nothing after epoch 1 is an improvement: 1 + patience epochs.
  const es = await trainOnData(noVal, { arch: mlp, seed: 3, budget: 10 }, { threads: 1, earlyStopping: { metric: 'train_loss', patience: 2, minDelta: 100 } });
  assert.equal(es.outcome.status, 'complete');
  assert.equal(es.epochs, 3);
  // The same training run for exactly 3 epochs: identical (the last weights were kept, not epoch 1's).
  const three = await trainOnData(noVal, { arch: mlp, seed: 3, budget: 3 }, { threads: 1 });
  assert.ok(es.outcome.status === 'complete' && three.outcome.status === 'complete');
  assert.equal(es.outcome.metrics['test_loss'], three.outcome.metrics['test_loss']);
  assert.equal(es.outcome.metrics['train_loss'], three.outcome.metrics['train_loss']);
  // A validation metric has nothing to watch without validation rows: all 10 epochs train.
  const val = await trainOnData(noVal, { arch: mlp, seed: 3, budget: 10 }, { threads: 1, earlyStopping: { metric: 'val_loss', patience: 2, minDelta: 100 } });
  assert.equal(val.epochs, 10);
  // tol 0 on a learnable problem: the loss keeps falling for a few epochs, so it does not stop at 1 + patience.
  const real = await trainOnData(digits, { arch: mlp, seed: 3, budget: 6 }, { threads: 1, hparams: { lr: 3e-3, batchSize: 32 }, earlyStopping: { metric: 'train_loss', patience: 2 } });
  assert.equal(real.epochs, 6);
});

test('TrainingEvaluator early_stopping under cv_folds: every fold stops by its own training loss', async () => {
  const ev = new TrainingEvaluator({ dataset: { kind: 'digits' }, split: { seed: 0, trainPerClass: 20 }, epochs: 10, cvFolds: 3, skipTest: true, threads: 1, earlyStopping: { metric: 'train_loss', patience: 2, minDelta: 100 } });
  const o = await ev.evaluate({ arch: mlp, seed: 1 });
  assert.equal(o.status, 'complete');
  if (o.status !== 'complete') return;
  assert.equal(o.metrics['epochs'], 3);
  assert.equal(o.metrics['cv_folds'], 3);
});

test('config: evaluator early_stopping is parsed, and every problem of it is reported at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-es-'));
  const csv = join(dir, 'd.csv');
  writeFileSync(csv, 'a,label\n' + Array.from({ length: 20 }, (_, i) => `${i},${i % 2}`).join('\n') + '\n');
  const ok = parseTrainOptions({ dataset: 'csv', path: csv, epochs: 200, early_stopping: { metric: 'train_loss', patience: 11, min_delta: 1e-4 } }, dir);
  assert.deepEqual(ok.eval.earlyStopping, { metric: 'train_loss', patience: 11, minDelta: 1e-4 });
  assert.deepEqual(parseTrainOptions({ dataset: 'csv', path: csv, early_stopping: { patience: 3 } }, dir).eval.earlyStopping, { patience: 3 });
  assert.equal(parseTrainOptions({ dataset: 'csv', path: csv }, dir).eval.earlyStopping, undefined);
  assert.throws(
    () => parseTrainOptions({ dataset: 'csv', path: csv, early_stopping: { metric: 'train_los', min_delta: -1, patiense: 3 } }, dir),
    (e: unknown) => {
      assert.ok(isNasError(e, 'invalid_config'));
      const byField = new Map(issuesOf(e).map((i) => [i.field, `${i.message} ${i.hint ?? ''}`]));
      assert.match(byField.get('evaluator.early_stopping.patiense') ?? '', /did you mean patience/);
      assert.match(byField.get('evaluator.early_stopping.metric') ?? '', /train_loss/);
      assert.match(byField.get('evaluator.early_stopping.patience') ?? '', /is required/);
      assert.match(byField.get('evaluator.early_stopping.min_delta') ?? '', />= 0/);
      return true;
    },
  );
  assert.throws(() => parseTrainOptions({ dataset: 'csv', path: csv, early_stopping: { patience: 0 } }, dir), (e: unknown) => isNasError(e, 'invalid_config') && /patience/.test(String((e as Error).message)));
  assert.throws(() => parseTrainOptions({ dataset: 'csv', path: csv, early_stopping: 5 }, dir), (e: unknown) => isNasError(e, 'invalid_config') && /early_stopping/.test(String((e as Error).message)));
});
