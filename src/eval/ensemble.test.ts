/** Ensembles of trained configurations (src/eval/ensemble.ts, src/api/ensemble.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JointArch } from '../core/arch.js';
import { isNasError, type NasError } from '../core/errors.js';
import { parseCsv } from '../data/csv.js';
import { prepareData, prepareSplits } from '../data/prepare.js';
import { liveTensors } from '../tensor/index.js';
import { averagePredictions, trainEnsemble } from './ensemble.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-ensemble-test-'));
const lines = Array.from({ length: 90 }, (_, i) => `${(i % 3) + 0.3 * Math.sin(i)},${Math.cos(i * 7)},${['a', 'b', 'c'][i % 3]}`);
const csv = join(dir, 'three.csv');
writeFileSync(csv, 'x,y,label\n' + lines.join('\n') + '\n');
const member = (hidden: number[], lr: number): JointArch => ({
  arch: { family: 'mlp', hidden, activation: 'relu', batchNorm: false, dropout: 0 },
  hparams: { optimizer: 'adam', lr, batchSize: 32, weightDecay: 1e-6 },
});

test('trainEnsemble: per-member probabilities (rows sum to 1), the mean of them, accuracy and log loss; no tensors leaked', async () => {
  const data = prepareSplits({ train: parseCsv('x,y,label\n' + lines.join('\n'), csv) }, { seed: 1, valFraction: 0 });
  const before = liveTensors();
  const r = await trainEnsemble([member([32], 1e-2), member([32, 32], 3e-3)], data, { epochs: 3, seed: 2, threads: 1 });
  assert.equal(liveTensors(), before);
  const n = data.test.indices.length;
  assert.equal(r.members.length, 2);
  for (const m of r.members) {
    assert.equal(m.probs.length, n * 3);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(m.probs[i * 3]! + m.probs[i * 3 + 1]! + m.probs[i * 3 + 2]! - 1) < 1e-4);
    // A one-member "ensemble" is that member.
    assert.equal(averagePredictions([m.probs], data).acc, m.testAcc);
  }
  for (let i = 0; i < n * 3; i++) assert.ok(Math.abs(r.probs[i]! - (r.members[0]!.probs[i]! + r.members[1]!.probs[i]!) / 2) < 1e-6);
  assert.ok(r.acc >= 0 && r.acc <= 100 && Number.isFinite(r.loss) && r.loss > 0);
  // The member's own accuracy is the trainer's test accuracy for the same training.
  const { trainOnData } = await import('./train.js');
  const one = await trainOnData(data, { arch: member([32], 1e-2), seed: 2, budget: 3 }, { threads: 1 });
  assert.equal(one.outcome.status, 'complete');
  if (one.outcome.status === 'complete') assert.equal(one.outcome.metrics['test_acc'], r.members[0]!.testAcc);
  await assert.rejects(trainEnsemble([], data, { epochs: 1, seed: 0 }), (e: unknown) => isNasError(e, 'invalid_config'));
  assert.throws(() => averagePredictions([new Float32Array(2)], data), (e: unknown) => isNasError(e, 'invalid_config'));
});

test('ensembleOfStudy: members are the study\'s top trials in its own order (member 1 = best); bad k and non-train studies refused', async () => {
  const { prepareSearch, search } = await import('../api/study.js');
  const { ensembleOfStudy } = await import('../api/ensemble.js');
  const storage = `sqlite:${join(dir, 'e.db')}`;
  const r = await search(
    prepareSearch({
      config: {
        study: 'ens', storage, space: 'joint_mlp', strategy: 'random', seed: 4, trials: 3,
        evaluator: { name: 'train', dataset: 'csv', path: csv, epochs: 2, split_seed: 1, keep_weights: false, skip_test: true, threads: 1, cv_folds: 2 },
        objectives: [{ metric: 'val_acc', direction: 'maximize', tie_break: 'val_loss' }],
        enqueue: [member([32], 1e-2)],
      },
    }),
  );
  assert.ok(r.best);
  const e = await ensembleOfStudy(storage, 'ens', { k: 2 });
  assert.equal(e.trials.length, 2);
  assert.equal(e.trials[0], r.best!.number);
  assert.notEqual(e.trials[1], e.trials[0]);
  await assert.rejects(ensembleOfStudy(storage, 'ens', { k: 0 }), (x: unknown) => isNasError(x, 'invalid_config'));
  await search(prepareSearch({ config: { study: 'synth', storage, space: 'mlp', strategy: 'random', evaluator: { name: 'synthetic', steps: 1 }, trials: 2 } }));
  await assert.rejects(ensembleOfStudy(storage, 'synth', { k: 2 }), (x: unknown) => isNasError(x, 'invalid_config') && /train evaluator/.test((x as Error).message));
});

test('ensembleOfStudy caruana: greedy selection over the trials\' stored out-of-fold predictions, weights summing to 1; refused without them', async () => {
  const { prepareSearch, search } = await import('../api/study.js');
  const { ensembleOfStudy } = await import('../api/ensemble.js');
  const { openStore } = await import('../store/index.js');
  const storage = `sqlite:${join(dir, 'c.db')}`;
  const evaluator = { name: 'train', dataset: 'csv', path: csv, epochs: 2, split_seed: 1, keep_weights: false, skip_test: true, threads: 1, cv_folds: 2 };
  await search(prepareSearch({ config: { study: 'oof', storage, space: 'joint_mlp', strategy: 'random', seed: 4, trials: 4, evaluator: { ...evaluator, cv_predictions: true } } }));
  const store = await openStore(storage, { readOnly: true });
  const rec = await store.requireStudy('oof');
  const done = await store.listTrials(rec.id, { states: ['complete'] });
  await store.close();
  assert.ok(done.length >= 2);
  // The run layer recorded each complete trial's out-of-fold predictions: 72 pooled rows x 3 classes.
  for (const t of done) assert.equal((t.userAttrs['cv_predictions'] as { rows: number[] }).rows.length, 72);
  const e = await ensembleOfStudy(storage, 'oof', { method: 'caruana', size: 7 });
  assert.equal(e.selection!.library, done.length);
  assert.equal(e.selection!.size, 7);
  assert.equal(e.trials.length, e.members.length);
  assert.ok(e.trials.every((n) => done.some((t) => t.number === n)));
  assert.ok(Math.abs(e.weights.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  // Weights are multiples of 1/7, heaviest first.
  for (const w of e.weights) assert.ok(Math.abs(w * 7 - Math.round(w * 7)) < 1e-9);
  assert.deepEqual([...e.weights].sort((a, b) => b - a), [...e.weights]);
  assert.ok(e.acc >= 0 && e.acc <= 100 && Number.isFinite(e.loss));
  // The selection's held-out score is never worse than the best single trial's (step 1 takes it).
  assert.ok(e.selection!.loss <= Math.min(...done.map((t) => t.metrics!['val_loss']!)) + 0.05);
  // A study searched without cv_predictions cannot be selected this way.
  await search(prepareSearch({ config: { study: 'nooof', storage, space: 'joint_mlp', strategy: 'random', seed: 4, trials: 2, evaluator } }));
  await assert.rejects(ensembleOfStudy(storage, 'nooof', { method: 'caruana' }), (x: unknown) => isNasError(x, 'invalid_config') && /cv_predictions: true/.test((x as NasError).hint ?? ''));
  await assert.rejects(ensembleOfStudy(storage, 'oof', { method: 'caruana', size: 0 }), (x: unknown) => isNasError(x, 'invalid_config') && (x as NasError).field === 'size');
});

test('ensembleOfStudy final folds: each member its fold networks\' stored test prediction, the same selection as retrain; seeds; refusals', async () => {
  const { prepareSearch, search } = await import('../api/study.js');
  const { ensembleOfStudy } = await import('../api/ensemble.js');
  const { openStore } = await import('../store/index.js');
  const { decodeCvPredictions } = await import('./cv-predictions.js');
  const storage = `sqlite:${join(dir, 'f.db')}`;
  const evaluator = { name: 'train', dataset: 'csv', path: csv, epochs: 2, split_seed: 1, keep_weights: false, threads: 1, cv_folds: 2, cv_predictions: true };
  await search(prepareSearch({ config: { study: 'bag', storage, space: 'joint_mlp', strategy: 'random', seed: 6, trials: 3, evaluator } }));
  const store = await openStore(storage, { readOnly: true });
  const rec = await store.requireStudy('bag');
  const done = await store.listTrials(rec.id, { states: ['complete'] });
  await store.close();
  assert.ok(done.length >= 2);
  const data = await prepareData({ kind: 'csv', path: csv }, { seed: 1, valFraction: 0 });
  const f = await ensembleOfStudy(storage, 'bag', { method: 'caruana', size: 5, final: 'folds' });
  assert.equal(f.final, 'folds');
  assert.equal(f.seeds, undefined);
  // Each member's probabilities are its stored fold-network test prediction, in the test split's order.
  for (const [m, n] of f.trials.entries()) {
    const p = decodeCvPredictions(done.find((t) => t.number === n)!.userAttrs['cv_predictions']).test!;
    data.test.indices.forEach((r, i) => {
      const j = Array.from(p.rows).indexOf(r);
      for (let c = 0; c < 3; c++) assert.equal(f.members[m]!.probs[i * 3 + c], p.probs[j * 3 + c]);
    });
  }
  const avg = averagePredictions(f.members.map((m) => m.probs), data, f.weights);
  assert.equal(f.acc, avg.acc);
  // The selection reads out-of-fold rows only: the same members and weights as with retraining.
  const r = await ensembleOfStudy(storage, 'bag', { method: 'caruana', size: 5 });
  assert.deepEqual([r.trials, r.weights, r.final, r.seeds], [f.trials, f.weights, 'retrain', 1]);
  // Two seeds per member: each member's probabilities the mean of its two trainings.
  const s2 = await ensembleOfStudy(storage, 'bag', { k: 1, seeds: 2 });
  const one = await ensembleOfStudy(storage, 'bag', { k: 1, seed: rec.seed + 1 });
  const zero = await ensembleOfStudy(storage, 'bag', { k: 1 });
  for (let i = 0; i < s2.members[0]!.probs.length; i++) assert.ok(Math.abs(s2.members[0]!.probs[i]! - (zero.members[0]!.probs[i]! + one.members[0]!.probs[i]!) / 2) < 1e-4);
  const bad = (o: Parameters<typeof ensembleOfStudy>[2], field: string | RegExp, study = 'bag') =>
    assert.rejects(ensembleOfStudy(storage, study, o), (x: unknown) => isNasError(x, 'invalid_config') && (typeof field === 'string' ? (x as NasError).field === field : field.test((x as NasError).message)));
  await bad({ k: 1, seeds: 0 }, 'seeds');
  await bad({ k: 1, final: 'folds', seeds: 2 }, 'seeds');
  await bad({ k: 1, final: 'folds', seed: 2 }, 'seed');
  // A member that does not retrain (here a complete trial imported with a learning rate that
  // diverges, ranked first): left out and listed, the rest reweighted; all failing: diverged.
  const w = await openStore(storage);
  try {
    const st = await w.requireStudy('bag');
    const wild = { arch: { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 }, hparams: { optimizer: 'sgd', lr: 1e6, batchSize: 32, weightDecay: 1e-6, momentum: 0.9 } };
    await w.importTrials(st.id, [{ arch: wild, archKey: null, budget: null, params: {}, outcome: { state: 'complete', values: [101], metrics: { val_acc: 101, val_loss: 0 } } }]);
  } finally {
    await w.close();
  }
  const dropped = await ensembleOfStudy(storage, 'bag', { k: 2 });
  assert.equal(dropped.failed?.length, 1);
  assert.match(dropped.failed![0]!.message, /^seed \d+: .*(NaN|diverg|non-finite)/i);
  assert.equal(dropped.members.length, 1);
  assert.deepEqual(dropped.weights, [1]);
  assert.ok(!dropped.trials.includes(dropped.failed![0]!.trial));
  await assert.rejects(ensembleOfStudy(storage, 'bag', { k: 1 }), (x: unknown) => isNasError(x, 'diverged') && (x as NasError).field === 'final');
  // A study searched with skip_test kept no test predictions.
  await search(prepareSearch({ config: { study: 'skipped', storage, space: 'joint_mlp', strategy: 'random', seed: 6, trials: 1, evaluator: { ...evaluator, skip_test: true } } }));
  await bad({ k: 1, final: 'folds' }, /no stored test predictions of its fold networks[\s\S]*without skip_test/, 'skipped');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
