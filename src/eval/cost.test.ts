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
