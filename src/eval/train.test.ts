import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChainCnnArch, MlpArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { liveTensors } from '../tensor/index.js';
import { TrainingEvaluator, trainArchitecture, trainOnData } from './train.js';

const mlp: MlpArch = { family: 'mlp', hidden: [64], activation: 'relu', batchNorm: true, dropout: 0.1 };
const cnn: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0,
  layers: [
    { kernel: 3, channels: 16, activation: 'relu', batchNorm: true, pool: 1, skip: false },
    { kernel: 3, channels: 16, activation: 'relu', batchNorm: true, pool: 2, skip: true },
  ],
};
let digits: PreparedData;
test.before(async () => {
  digits = await prepareData({ kind: 'digits' }, { seed: 0 });
});

test('trains an MLP on the digits: learns, reports val/test metrics, confusion matrix and costs; deterministic under a seed', async () => {
  const before = liveTensors();
  const run = () => trainOnData(digits, { arch: mlp, seed: 7, budget: 4 }, { hparams: { lr: 3e-3, batchSize: 32 } });
  const r = await run();
  assert.equal(r.outcome.status, 'complete');
  if (r.outcome.status !== 'complete') return;
  const m = r.outcome.metrics;
  assert.equal(r.outcome.curve.length, 4);
  assert.ok(m.val_acc! > 85, `val_acc ${m.val_acc}`);
  assert.ok(m.test_acc! > 85, `test_acc ${m.test_acc}`);
  for (const k of ['val_loss', 'val_f1', 'val_precision', 'val_recall', 'test_loss', 'test_f1', 'train_loss', 'params', 'flops', 'macs', 'memory_bytes']) assert.ok(Number.isFinite(m[k]), k);
  assert.equal(m.params, 64 * 64 + 64 + 128 + 650);
  assert.equal(r.test!.confusion.flat().reduce((a, b) => a + b, 0), digits.test.indices.length);
  assert.ok(r.outcome.curve[3]!.metrics.train_loss! < r.outcome.curve[0]!.metrics.train_loss!);
  const again = await run();
  assert.deepEqual(again.outcome.status === 'complete' && again.outcome.metrics.val_acc, m.val_acc);
  assert.deepEqual(again.test!.confusion, r.test!.confusion);
  assert.equal(liveTensors(), before, 'no native tensor outlives a trial');
});

test('a huge learning rate diverges: failed/diverged, memory freed, the process lives on', async () => {
  const before = liveTensors();
  const r = await trainOnData(digits, { arch: { ...mlp, batchNorm: false, dropout: 0 }, seed: 1, budget: 3 }, { hparams: { optimizer: 'sgd', lr: 1e12, momentum: 0.9 } });
  assert.equal(r.outcome.status, 'failed');
  if (r.outcome.status === 'failed') {
    assert.equal(r.outcome.reason, 'diverged');
    assert.ok(isNasError(r.outcome.error, 'diverged'));
    assert.match(r.outcome.message, /training loss became (NaN|Infinity|-Infinity)/);
  }
  assert.equal(liveTensors(), before);
  const ok = await trainOnData(digits, { arch: mlp, seed: 1, budget: 1 }, {});
  assert.equal(ok.outcome.status, 'complete');
});

test('onProgress answering stop prunes; early stopping; epochs vs step budget', async () => {
  const seen: number[] = [];
  const r = await trainOnData(digits, { arch: mlp, seed: 2, budget: 5, onProgress: (p) => (seen.push(p.step), p.step === 2 ? 'stop' : 'continue') }, {});
  assert.equal(r.outcome.status, 'pruned');
  assert.deepEqual(seen, [1, 2]);
  if (r.outcome.status === 'pruned') assert.equal(r.outcome.step, 2);

  // minDelta so large that nothing after epoch 1 counts as an improvement: stops after 1 + patience epochs
  const es = await trainOnData(digits, { arch: mlp, seed: 2, budget: 10 }, { earlyStopping: { patience: 2, minDelta: 100 } });
  assert.equal(es.outcome.status, 'complete');
  assert.equal(es.epochs, 3);

  const steps = await trainOnData(digits, { arch: mlp, seed: 2, budget: 10 }, { maxSteps: 30, hparams: { batchSize: 64 } });
  assert.equal(steps.steps, 30);
  assert.equal(steps.epochs, 2); // 23 steps per epoch: the second epoch stops after 7
});

test('wall-clock limit, invalid architecture and bad hyperparameters', async () => {
  const t0 = Date.now();
  const r = await trainOnData(digits, { arch: cnn, seed: 3, budget: 50 }, { timeLimitSeconds: 0.3 });
  assert.equal(r.outcome.status === 'failed' && r.outcome.reason, 'timeout');
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);

  const bad: ChainCnnArch = { ...cnn, layers: [...cnn.layers, { ...cnn.layers[0]!, pool: 5 }, { ...cnn.layers[0]!, pool: 2 }] };
  const b = await trainOnData(digits, { arch: bad, seed: 3, budget: 1 }, {});
  assert.equal(b.outcome.status, 'failed');
  if (b.outcome.status === 'failed') {
    assert.equal(b.outcome.reason, 'invalid_arch');
    assert.equal(b.outcome.error?.field, 'layers[2].pool'); // 8x8 -> pool 2 -> 4x4 -> pool 5 -> 0x0
  }
  await assert.rejects(trainOnData(digits, { arch: mlp, seed: 3, budget: 1 }, { hparams: { lr: -1 } }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'hparams.lr');
  await assert.rejects(trainArchitecture({ family: 'resnet' }, digits), (e: unknown) => isNasError(e, 'invalid_arch') && e.field === 'family');
});

test('a CNN with augmentation, label smoothing, cosine schedule and AdamW; latency measured', async () => {
  const before = liveTensors();
  const r = await trainArchitecture({ arch: cnn, hparams: { optimizer: 'adamw', lr: 3e-3, batchSize: 64, weightDecay: 1e-4, labelSmoothing: 0.1, schedule: 'cosine', warmupEpochs: 1 } }, digits, {
    budget: 6,
    seed: 4,
    augment: { cropPadding: 1, cutout: 2 },
    latency: { runs: 5, warmup: 1, batchSize: 16 },
  });
  assert.equal(r.outcome.status, 'complete');
  if (r.outcome.status !== 'complete') return;
  assert.ok(r.outcome.metrics.val_acc! > 50, `val_acc ${r.outcome.metrics.val_acc}`);
  assert.ok(r.outcome.metrics.latency_ms! > 0 && r.outcome.metrics.latency_batch_ms! > 0);
  assert.ok(r.outcome.curve[5]!.metrics.lr! < 3e-3 * 0.1, 'cosine decays the learning rate');
  assert.equal(liveTensors(), before);
});

test('TrainingEvaluator: loads the data once, budget = epochs, costs before training', async () => {
  const ev = new TrainingEvaluator({ dataset: { kind: 'digits' }, split: { seed: 0, trainPerClass: 30 }, epochs: 3, skipTest: true });
  assert.equal(ev.maxBudget, 3);
  assert.ok(!ev.metricNames.includes('test_acc'));
  await ev.prepared();
  assert.equal(ev.costs(mlp).params, 64 * 64 + 64 + 128 + 650);
  const before = liveTensors();
  for (let i = 0; i < 3; i++) {
    const o = await ev.evaluate({ arch: mlp, seed: i, budget: 1 });
    assert.equal(o.status, 'complete');
    if (o.status === 'complete') {
      assert.equal(o.curve.length, 1);
      assert.equal(o.metrics.test_acc, undefined);
      for (const k of ev.metricNames) assert.ok(k in o.metrics, k);
    }
  }
  assert.equal(liveTensors(), before);
});
