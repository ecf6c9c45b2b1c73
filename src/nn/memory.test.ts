/**
 * 10,000 small training steps (forward, backward, Adam step, LR schedule) with tidy scopes: resident
 * memory and the number of live native tensors must stay flat between step 1,000 and step 10,000.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, crossEntropy, liveTensors, tidy } from '../tensor/index.js';
import { Adam, BatchNorm1d, Dropout, Linear, LrScheduler, ReLU, Sequential, clipGradNorm } from './index.js';

test('10,000 training steps keep RSS and live tensors flat', () => {
  const gen = new Generator(0);
  const model = new Sequential(new Linear(16, 32, { gen }), new BatchNorm1d(32), new ReLU(), new Dropout(0.1, gen), new Linear(32, 4, { gen }));
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  const sched = new LrScheduler(opt, { kind: 'cosine', totalSteps: 10_000, warmupSteps: 100 });
  const x = gen.randn([64, 16]).keep();
  const y = gen.randint(0, 4, [64]).keep();
  let rss1k = 0, live1k = 0, lastLoss = NaN;
  for (let step = 1; step <= 10_000; step++) {
    opt.zeroGrad();
    lastLoss = tidy(() => {
      const idx = gen.randint(0, 64, [32]);
      const loss = crossEntropy(model.forward(x.indexSelect(0, idx)), y.indexSelect(0, idx));
      loss.backward();
      clipGradNorm(model.parameters(), 5);
      opt.step();
      return loss.item();
    });
    sched.step();
    if (step === 1_000) {
      global.gc?.();
      rss1k = process.memoryUsage().rss;
      live1k = liveTensors();
    }
  }
  global.gc?.();
  const rss10k = process.memoryUsage().rss;
  const growthMb = (rss10k - rss1k) / 2 ** 20;
  assert.ok(Number.isFinite(lastLoss) && lastLoss < 1.4, `training did not progress: loss ${lastLoss}`);
  assert.equal(liveTensors(), live1k, 'live native tensors grew');
  assert.ok(growthMb < 20, `RSS grew ${growthMb.toFixed(1)} MB between step 1,000 and 10,000`);
  x.dispose();
  y.dispose();
  model.dispose();
});
