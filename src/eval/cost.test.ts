import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MlpArch } from '../core/arch.js';
import { liveTensors } from '../tensor/index.js';
import { analyzeArch, costMetrics, measureArchLatency } from './cost.js';

const mlp: MlpArch = { family: 'mlp', hidden: [128], activation: 'relu', batchNorm: false, dropout: 0 };

test('cost metrics follow the naming convention', () => {
  const r = analyzeArch(mlp, { shape: [64], numClasses: 10 });
  assert.deepEqual(costMetrics(r), { params: 64 * 128 + 128 + 1290, macs: 64 * 128 + 1280, flops: 2 * (64 * 128 + 1280) + 128 + 10 + 128, memory_bytes: (64 + 128) * 4 });
});

test('latency: medians at batch 1 and at a batch size, positive, larger batches take longer; memory freed', () => {
  const before = liveTensors();
  const big: MlpArch = { ...mlp, hidden: [256, 256] };
  const l = measureArchLatency(big, { shape: [256], numClasses: 10 }, { runs: 5, warmup: 1, batchSize: 256, threads: 1 });
  assert.equal(l.runs, 5);
  assert.equal(l.batchSize, 256);
  assert.equal(l.threads, 1);
  assert.ok(l.batch1Ms > 0 && l.batchMs > l.batch1Ms, JSON.stringify(l));
  assert.equal(liveTensors(), before);
});

test("latency engine: the native engine's inference pass by default, op by op on request or for a module the engine cannot express; bad engine named", async () => {
  const { Linear, ReLU, Sequential } = await import('../nn/index.js');
  const { Generator } = await import('../tensor/index.js');
  const { measureLatency } = await import('./cost.js');
  const { isNasError } = await import('../core/errors.js');
  const before = liveTensors();
  const gen = new Generator(0);
  const net = new Sequential(new Linear(16, 32, { gen }), new ReLU(), new Linear(32, 4, { gen }));
  const o = { runs: 2, warmup: 1, batchSize: 8 };
  net.train();
  assert.equal(measureLatency(net, [16], o).engine, 'native');
  assert.equal(net.training, true, 'training flag restored');
  assert.equal(measureLatency(net, [16], { ...o, engine: 'ops' }).engine, 'ops');
  class Custom extends Sequential {}
  const custom = new Custom(new Linear(16, 4, { gen }));
  assert.equal(measureLatency(custom, [16], o).engine, 'ops');
  assert.throws(() => measureLatency(net, [16], { ...o, engine: 'gpu' as never }), (e: unknown) => isNasError(e, 'invalid_config') && /latency\.engine|engine/.test((e as Error).message));
  net.dispose();
  custom.dispose();
  assert.equal(liveTensors(), before);
});

test('batch-1 latency: the thread count is chosen per model (as compress does) and reported; no timing asserted', async () => {
  const { latencyMetrics } = await import('./cost.js');
  const { threadCandidates } = await import('../tensor/thread-choice.js');
  const before = liveTensors();
  const o = { runs: 2, warmup: 1, batchSize: 4 };
  // Two threads set: batch 1 ran at one of the candidates (2 or 1), whichever measured faster.
  const two = measureArchLatency(mlp, { shape: [64], numClasses: 10 }, { ...o, threads: 2 });
  assert.equal(two.threads, 2);
  assert.ok(threadCandidates(2).includes(two.batch1Threads), JSON.stringify(two));
  assert.equal(latencyMetrics(two).latency_threads, two.batch1Threads);
  // No choice on request: batch 1 runs with the threads set.
  const fixed = measureArchLatency(mlp, { shape: [64], numClasses: 10 }, { ...o, threads: 2, chooseThreads: false });
  assert.equal(fixed.batch1Threads, 2);
  // One thread set: nothing to choose.
  assert.equal(measureArchLatency(mlp, { shape: [64], numClasses: 10 }, { ...o, threads: 1 }).batch1Threads, 1);
  assert.equal(liveTensors(), before, 'calibration calls free their tensors');
});
