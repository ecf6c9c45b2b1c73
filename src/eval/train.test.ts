import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChainCnnArch, MlpArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { buildNetwork } from '../nn/build/index.js';
import { loadModule } from '../nn/state.js';
import { Generator, liveTensors } from '../tensor/index.js';
import { assertAccClose, assertClose } from './testing/close.js';
import { TrainingEvaluator, defaultEvalBatch, evaluateSubset, evaluateSubsetAsync, trainArchitecture, trainOnData, weightsFileName } from './train.js';

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

test('TrainingEvaluator budgetSamples: a budget unit is a number of training samples, not an epoch', async () => {
  // 300 training samples (30 per class), batch 50: 1 unit of 100 samples = 2 steps inside one epoch;
  // 5 units = 500 samples = 10 steps over 2 passes (6 + 4 steps).
  const ev = new TrainingEvaluator({ dataset: { kind: 'digits' }, split: { seed: 0, trainPerClass: 30 }, epochs: 9, budgetSamples: 100, hparams: { batchSize: 50, schedule: 'cosine' }, skipTest: true });
  assert.equal(ev.maxBudget, 9);
  const one = await ev.evaluate({ arch: mlp, seed: 0, budget: 1 });
  const five = await ev.evaluate({ arch: mlp, seed: 0, budget: 5 });
  assert.equal(one.status, 'complete');
  assert.equal(five.status, 'complete');
  assert.equal(one.curve.length, 1);
  assert.equal(five.curve.length, 2);
  // The schedule spans the budget's steps: the cosine rate of the last step is far below the start.
  const lastLr = (o: typeof one) => o.curve[o.curve.length - 1]!.metrics['lr']!;
  assert.ok(lastLr(five) < lastLr(one), `lr ${lastLr(five)} (5 units) vs ${lastLr(one)} (1 unit)`);
  for (const bad of [{ budgetSamples: 0 }, { budgetSamples: 100, cvFolds: 3 }])
    assert.throws(() => new TrainingEvaluator({ dataset: { kind: 'digits' }, epochs: 3, ...bad }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'evaluator.budget_samples');
});

test('evaluation passes: the async pass (which yields to the event loop) gives the sync metrics; eval batch sized by activation memory', async () => {
  const data = await prepareData({ kind: 'digits' }, { seed: 0, trainPerClass: 20 });
  const net = buildNetwork(mlp, { shape: data.shape, numClasses: data.numClasses }, { gen: Generator.fromRng(Rng.fromSeed(1)) }).module;
  try {
    for (const bs of [7, 1000]) assert.deepEqual(await evaluateSubsetAsync(net, data.val, data, bs), evaluateSubset(net, data.val, data, bs));
  } finally {
    net.dispose();
  }
  assert.equal(defaultEvalBatch(undefined), 1000);
  assert.equal(defaultEvalBatch({ peakActivationBytes: 4 * 64 }), 1000); // an MLP: tiny activations
  // 64 channels at 28x28 (200 KB per image): 83 images per 16 MiB block, not 1000 (200 MB per tensor).
  assert.equal(defaultEvalBatch({ peakActivationBytes: 4 * 64 * 28 * 28 }), 83);
  assert.equal(defaultEvalBatch({ peakActivationBytes: 4 * 512 * 224 * 224 }), 16); // floor
});

/** Validation metrics of a kept weights file, loaded into a freshly built (differently initialised) network. */
function reloadedVal(path: string, arch: MlpArch, data: PreparedData) {
  const net = buildNetwork(arch, { shape: data.shape, numClasses: data.numClasses }, { gen: Generator.fromRng(Rng.fromSeed(12345)) }).module;
  try {
    const meta = loadModule(path, net);
    return { meta, val: evaluateSubset(net, data.val, data, 1000) };
  } finally {
    net.dispose();
  }
}

test('weightsFile: a complete training keeps the final (early-stopping: best) weights; reloaded, they reproduce val metrics exactly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-weights-'));
  try {
    const before = liveTensors();
    const path = join(dir, 'w.sd');
    const r = await trainOnData(digits, { arch: mlp, seed: 5, budget: 2 }, { weightsFile: path });
    assert.equal(r.outcome.status, 'complete');
    if (r.outcome.status !== 'complete') return;
    assert.equal(r.outcome.artifact, path);
    const { meta, val } = reloadedVal(path, mlp, digits);
    // Same process and thread count, but compared with a stated tolerance (testing/close.ts).
    assertAccClose(val.acc, r.outcome.metrics.val_acc, digits.val.indices.length, 'reloaded val_acc');
    assertClose(val.loss, r.outcome.metrics.val_loss, 'reloaded val_loss');
    assert.equal(meta.seed, 5);
    assert.equal(meta.epochs, 2);
    assert.deepEqual((meta.arch as { arch: unknown }).arch, mlp);
    assert.deepEqual(meta.normalization, JSON.parse(JSON.stringify(digits.normalization)));

    // Nothing after epoch 1 counts as an improvement: epoch 1's weights are restored and kept.
    const es = join(dir, 'es.sd');
    const e = await trainOnData(digits, { arch: mlp, seed: 6, budget: 10 }, { weightsFile: es, earlyStopping: { patience: 2, metric: 'val_acc', minDelta: 100 } });
    assert.equal(e.outcome.status, 'complete');
    if (e.outcome.status !== 'complete') return;
    assert.equal(e.epochs, 3);
    const v = reloadedVal(es, mlp, digits).val;
    assertAccClose(v.acc, e.outcome.metrics.val_acc, digits.val.indices.length, 'reloaded val_acc');
    assertAccClose(v.acc, e.outcome.curve[0]!.metrics.val_acc, digits.val.indices.length, 'epoch-1 val_acc');
    assert.equal(liveTensors(), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('weightsFile: failed and pruned trainings leave no file, not even a temporary one; an unwritable path fails the training', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-weights-'));
  try {
    const d = await trainOnData(digits, { arch: { ...mlp, batchNorm: false, dropout: 0 }, seed: 1, budget: 2 }, { hparams: { optimizer: 'sgd', lr: 1e12 }, weightsFile: join(dir, 'd.sd') });
    assert.equal(d.outcome.status === 'failed' && d.outcome.reason, 'diverged');
    const p = await trainOnData(digits, { arch: mlp, seed: 2, budget: 3, onProgress: () => 'stop' }, { weightsFile: join(dir, 'p.sd') });
    assert.equal(p.outcome.status, 'pruned');
    assert.deepEqual(readdirSync(dir), []);
    const bad = await trainOnData(digits, { arch: mlp, seed: 2, budget: 1 }, { weightsFile: join(dir, 'no-such-dir', 'w.sd') });
    assert.equal(bad.outcome.status, 'failed');
    if (bad.outcome.status === 'failed') {
      assert.equal(bad.outcome.reason, 'error');
      assert.ok(isNasError(bad.outcome.error, 'storage_error'), bad.outcome.message);
    }
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TrainingEvaluator with weightsDir: one file per evaluation named by its id, seed and arch; discardArtifact removes only its own files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-weights-'));
  try {
    const wdir = join(dir, 'nested', 'w');
    const ev = new TrainingEvaluator({ dataset: { kind: 'digits' }, split: { seed: 0, trainPerClass: 20 }, epochs: 1, skipTest: true, weightsDir: wdir });
    const a = await ev.evaluate({ arch: mlp, seed: 3, id: 'trial-0-a1' });
    const b = await ev.evaluate({ arch: mlp, seed: 4, id: 'trial-1-a1' });
    assert.ok(a.status === 'complete' && b.status === 'complete');
    if (a.status !== 'complete' || b.status !== 'complete') return;
    assert.equal(a.artifact, join(wdir, weightsFileName({ arch: mlp, seed: 3, id: 'trial-0-a1' })));
    assert.match(a.artifact!, /\/trial-0-a1-s3-[0-9a-f]{8}\.sd$/);
    assert.notEqual(a.artifact, b.artifact);
    assert.equal(readdirSync(wdir).length, 2);
    assert.notEqual(weightsFileName({ arch: mlp, seed: 3 }), weightsFileName({ arch: { ...mlp, hidden: [32] }, seed: 3 }));
    ev.discardArtifact(a.artifact!);
    assert.ok(!existsSync(a.artifact!));
    const outside = join(dir, 'keep.sd');
    writeFileSync(outside, 'not this evaluator\'s');
    ev.discardArtifact(outside);
    assert.ok(existsSync(outside));
    const bad = await ev.evaluate({ arch: mlp, seed: 3, id: '../x' });
    assert.equal(bad.status === 'failed' && bad.error?.field, 'id');
    assert.deepEqual(readdirSync(wdir), [b.artifact!.slice(wdir.length + 1)]);
    // Without weightsDir nothing is kept.
    const none = await new TrainingEvaluator({ dataset: { kind: 'digits' }, split: { seed: 0, trainPerClass: 20 }, epochs: 1, skipTest: true }).evaluate({ arch: mlp, seed: 3, id: 't' });
    assert.equal(none.status === 'complete' && none.artifact, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
