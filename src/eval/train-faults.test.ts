/**
 * Fault 3 of issue 17, by kind: NaN metrics must never make a complete result. A last training
 * batch of one sample with batch norm (the reported input: 70 training rows, batch size 69) is
 * dropped as PyTorch's drop_last; a batch size of 1 with batch norm fails clearly (PyTorch raises);
 * a non-finite objective from any evaluator makes a failed trial with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChainCnnArch, MlpArch } from '../core/arch.js';
import { workerId } from '../core/ids.js';
import { parseCsv } from '../data/csv.js';
import { prepareSplits } from '../data/prepare.js';
import { SqliteStore } from '../store/sqlite.js';
import type { StrategyDriver } from '../run/driver.js';
import { Study } from '../run/study.js';
import { liveTensors } from '../tensor/index.js';
import { trainOnData } from './train.js';
import type { Evaluator } from './types.js';

const bnMlp: MlpArch = { family: 'mlp', hidden: [16], activation: 'relu', batchNorm: true, dropout: 0 };

/** 80 training rows (val_fraction 0.125 -> 70 for training) of 2 separable classes, and a test file. */
function data70() {
  const line = (i: number) => `${(i % 2) * 2 + Math.sin(i)},${Math.cos(i * 3)},${i % 2}`;
  const train = parseCsv(Array.from({ length: 80 }, (_, i) => line(i)).join('\n'), 'seventy.csv');
  const test = parseCsv(Array.from({ length: 20 }, (_, i) => line(i + 100)).join('\n'), 'seventy-test.csv');
  return prepareSplits({ train, test }, { valFraction: 0.125 });
}

test('fault 3: batch norm, 70 training rows, batch size 69: the one-sample batch is dropped, metrics finite', async () => {
  const data = data70();
  assert.equal(data.train.indices.length, 70);
  const before = liveTensors();
  for (const bs of [69, 23, 35]) {
    // 69: remainder 1 (dropped); 23: 3 batches + 1 (dropped); 35: no remainder
    const r = await trainOnData(data, { arch: bnMlp, seed: 0, budget: 3 }, { hparams: { batchSize: bs, lr: 1e-2 } });
    assert.equal(r.outcome.status, 'complete', `batch ${bs}: ${r.outcome.status === 'failed' ? r.outcome.message : ''}`);
    if (r.outcome.status !== 'complete') continue;
    for (const k of ['val_loss', 'val_acc', 'test_loss', 'test_acc', 'train_loss']) assert.ok(Number.isFinite(r.outcome.metrics[k]), `batch ${bs}: ${k} = ${r.outcome.metrics[k]}`);
    assert.equal(r.steps, 3 * Math.floor(70 / bs), `batch ${bs}: steps`);
  }
  assert.equal(liveTensors(), before);
});

test('fault 3 sibling: batch size 1 with batch norm fails clearly (as PyTorch raises); a CNN with 1 sample of many pixels is fine', async () => {
  const data = data70();
  const r = await trainOnData(data, { arch: bnMlp, seed: 0, budget: 1 }, { hparams: { batchSize: 1 } });
  assert.equal(r.outcome.status, 'failed');
  if (r.outcome.status === 'failed') assert.match(r.outcome.message, /BatchNorm1d expects more than 1 value per channel when training, got input \[1,16\]/);
  // without batch norm, batch size 1 trains
  const plain = await trainOnData(data, { arch: { ...bnMlp, batchNorm: false }, seed: 0, budget: 1 }, { hparams: { batchSize: 1 } });
  assert.equal(plain.outcome.status, 'complete');
  // BatchNorm2d over one image has H*W values per channel: allowed, as in PyTorch
  const img = parseCsv(Array.from({ length: 40 }, (_, i) => [...Array.from({ length: 16 }, (_, j) => ((i * 7 + j) % 5) + (i % 2) * 3), i % 2].join(',')).join('\n'), 'img.csv', {
    shape: [1, 4, 4],
  });
  const cnn: ChainCnnArch = { family: 'chain_cnn', dropout: 0, layers: [{ kernel: 3, channels: 4, activation: 'relu', batchNorm: true, pool: 1, skip: false }] };
  const r2 = await trainOnData(prepareSplits({ train: img }, { valFraction: 0.25 }), { arch: cnn, seed: 0, budget: 1 }, { hparams: { batchSize: 1 } });
  assert.equal(r2.outcome.status, 'complete');
});

test('fault 3: a non-finite objective from any evaluator is a failed trial with the reason, never complete', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-nonfinite-'));
  const path = join(dir, 's.db');
  const store = SqliteStore.open(`sqlite:${path}`, path);
  try {
    const rec = await store.createStudy({
      name: 'nan',
      strategy: { name: 'counter', options: {} },
      space: { name: 'test', definition: null },
      evaluator: { name: 'nan', options: {} },
      objectives: [{ metric: 'val_acc', direction: 'maximize' }],
      constraints: [],
      seed: 1,
      maxTrials: 2,
      config: {},
    });
    const values = [NaN, Infinity, 50, -Infinity];
    const ev: Evaluator<{ x: number }> = {
      name: 'nan',
      metricNames: ['val_acc', 'val_loss'],
      maxBudget: 1,
      evaluate: async ({ arch }) => ({ status: 'complete', metrics: { val_acc: values[arch.x % 4]!, val_loss: NaN }, curve: [] }),
    };
    const driver: StrategyDriver = {
      needsIntermediates: false,
      init: () => 0,
      ask: (s) => ({ state: (s as number) + 1, result: { kind: 'trial', proposal: { arch: { x: s as number }, archKey: String(s), budget: null, params: {} } } }),
      tell: (s) => s,
    };
    await new Study(store, rec, driver, ev, { workerId: workerId('w') }).optimize();
    const trials = await store.listTrials(rec.id);
    assert.deepEqual(trials.slice(0, 4).map((t) => t.state), ["failed", "failed", "complete", "failed"]);
    assert.match(trials[0]!.error!, /^non_finite: evaluator nan reported val_acc = NaN/);
    assert.match(trials[1]!.error!, /val_acc = Infinity/);
    assert.deepEqual(trials[2]!.values, [50]);
    assert.equal((await store.bestTrial(rec.id))!.number, 2);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
