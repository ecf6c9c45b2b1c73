/**
 * The train evaluator's inheritLrScale (config `inherit_lr_scale`): a training from inherited
 * weights (a promotion continuing its parent, an evolution child) runs at lr x the factor, a
 * training from scratch at lr (the config option `inherit_lr_scale`: src/run/study-inherit.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MlpArch } from '../core/arch.js';
import { TrainingEvaluator } from './train.js';

const ARCH: MlpArch = { family: 'mlp', hidden: [16], activation: 'relu', batchNorm: true, dropout: 0 };

test('inheritLrScale: inherited trainings run at lr x scale (promotion and mutation), trainings from scratch at lr', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-inherit-lr-'));
  try {
    const ev = new TrainingEvaluator({ dataset: { kind: 'digits' }, split: { seed: 0, trainPerClass: 20 }, epochs: 2, skipTest: true, weightsDir: dir, inherit: 'exact', inheritLrScale: 0.25, hparams: { lr: 2e-3 }, threads: 1 });
    const p = await ev.evaluate({ arch: ARCH, budget: 1, seed: 1, id: 'p' });
    assert.equal(p.status, 'complete');
    const lrs = (o: Awaited<ReturnType<typeof ev.evaluate>>) => o.curve.map((c) => c.metrics['lr']);
    assert.deepEqual(lrs(p), [2e-3], 'no parent: the full rate');
    const artifact = p.status === 'complete' ? p.artifact! : '';
    const promo = await ev.evaluate({ arch: ARCH, budget: 2, seed: 1, id: 'c', parent: { trial: 0, kind: 'promotion', arch: ARCH, budget: 1, weightsPath: artifact } });
    assert.equal(promo.status, 'complete');
    assert.deepEqual(lrs(promo), [5e-4], 'the continued epoch at 0.25 x lr');
    const child = await ev.evaluate({ arch: { ...ARCH, hidden: [24] }, budget: 1, seed: 1, id: 'm', parent: { trial: 0, kind: 'mutation', arch: ARCH, budget: 1, weightsPath: artifact } });
    assert.deepEqual(lrs(child), [5e-4]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
