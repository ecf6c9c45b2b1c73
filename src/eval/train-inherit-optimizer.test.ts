/**
 * The train evaluator's inheritOptimizer (config `inherit_optimizer`; src/nn/optim-state.ts: the
 * restore itself) and weight inheritance with budgetSamples (budgets in training samples).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MlpArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { optimizerStatePath } from '../nn/optim-state.js';
import { liveTensors } from '../tensor/index.js';
import { TrainingEvaluator, weightsFileName } from './train.js';
import type { EvalOutcome } from './types.js';

const ARCH: MlpArch = { family: 'mlp', hidden: [16], activation: 'relu', batchNorm: true, dropout: 0 };
const artifact = (o: EvalOutcome) => (o.status === 'complete' ? o.artifact! : assert.fail(`not complete: ${JSON.stringify(o)}`));

test('inheritOptimizer: the state is kept beside the weights, restored for tensors copied whole, fresh for reshaped ones; discarded with the weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-inherit-opt-'));
  try {
    const base = { dataset: { kind: 'digits' as const }, split: { seed: 0, trainPerClass: 20 }, epochs: 2, skipTest: true, weightsDir: dir, hparams: { lr: 2e-3 }, threads: 1 };
    const ev = new TrainingEvaluator({ ...base, inherit: 'morph', inheritOptimizer: true });
    assert.ok(ev.metricNames.includes('inherited_optimizer_fraction'));
    const before = liveTensors();
    const p = await ev.evaluate({ arch: ARCH, budget: 1, seed: 1, id: 'p' });
    const w = artifact(p);
    assert.ok(existsSync(optimizerStatePath(w)), 'state file beside the weights');
    assert.equal(p.status === 'complete' && p.metrics['inherited_optimizer_fraction'], 0, 'no parent: 0');
    // A promotion of the same architecture: every tensor copied whole, every optimizer state restored.
    const promo = await ev.evaluate({ arch: ARCH, budget: 2, seed: 1, id: 'c', parent: { trial: 0, kind: 'promotion', arch: ARCH, budget: 1, weightsPath: w } });
    assert.equal(promo.status === 'complete' && promo.metrics['inherited_optimizer_fraction'], 1);
    // A widened child: the reshaped tensors start fresh.
    const child = await ev.evaluate({ arch: { ...ARCH, hidden: [24] }, budget: 1, seed: 1, id: 'm', parent: { trial: 0, kind: 'mutation', arch: ARCH, budget: 1, weightsPath: w } });
    const f = child.status === 'complete' ? child.metrics['inherited_optimizer_fraction']! : NaN;
    assert.ok(f > 0 && f < 0.1, `only the head's bias keeps its shape: ${f}`);
    // The same options without inheritOptimizer: no state file, no metric, weights still inherited.
    const plain = new TrainingEvaluator({ ...base, inherit: 'morph' });
    const q = await plain.evaluate({ arch: ARCH, budget: 1, seed: 2, id: 'q' });
    assert.ok(!existsSync(optimizerStatePath(artifact(q))));
    assert.equal(q.status === 'complete' && q.metrics['inherited_optimizer_fraction'], undefined);
    // A parent kept without a state file: fresh optimizer state (0), weights inherited (1).
    const r = await ev.evaluate({ arch: ARCH, budget: 2, seed: 2, id: 'r', parent: { trial: 1, kind: 'promotion', arch: ARCH, budget: 1, weightsPath: artifact(q) } });
    assert.equal(r.status === 'complete' && r.metrics['inherited_optimizer_fraction'], 0);
    assert.equal(r.status === 'complete' && r.metrics['inherited_fraction'], 1);
    assert.equal(liveTensors(), before);
    ev.discardArtifact(w);
    assert.ok(!existsSync(w) && !existsSync(optimizerStatePath(w)), 'both files removed');
    assert.throws(() => new TrainingEvaluator({ ...base, inheritOptimizer: true }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'evaluator.inherit_optimizer');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('budgetSamples with inherit: a promotion continues for the units it lacks, a mutated child trains its whole budget', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-inherit-samples-'));
  try {
    // 200 training samples (20 per class), batch 50, 1 unit = 100 samples = 2 steps.
    const ev = new TrainingEvaluator({ dataset: { kind: 'digits' }, split: { seed: 0, trainPerClass: 20 }, epochs: 9, budgetSamples: 100, skipTest: true, weightsDir: dir, inherit: 'exact', hparams: { batchSize: 50, schedule: 'cosine' }, threads: 1 });
    const p = await ev.evaluate({ arch: ARCH, budget: 3, seed: 1, id: 'p' }); // 6 steps, 2 passes (4 + 2)
    assert.deepEqual(p.curve.map((c) => c.step), [1, 2]);
    // Promotion 3 -> 7 units: 4 units = 8 steps = 2 passes, numbered after the parent's 2.
    const promo = await ev.evaluate({ arch: ARCH, budget: 7, seed: 1, id: 'c', parent: { trial: 0, kind: 'promotion', arch: ARCH, budget: 3, weightsPath: artifact(p) } });
    assert.deepEqual(promo.curve.map((c) => c.step), [3, 4]);
    assert.equal(promo.status === 'complete' && promo.metrics['epochs'], 4);
    assert.equal(promo.status === 'complete' && promo.metrics['inherited_fraction'], 1);
    // A mutated child at 3 units trains its 3 units (6 steps, 2 passes) from the parent's weights.
    const child = await ev.evaluate({ arch: { ...ARCH, hidden: [24] }, budget: 3, seed: 1, id: 'm', parent: { trial: 0, kind: 'mutation', arch: ARCH, budget: 3, weightsPath: artifact(p) } });
    assert.deepEqual(child.curve.map((c) => c.step), [1, 2]);
    assert.ok(child.status === 'complete' && child.metrics['inherited_fraction']! > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the inherit_optimizer option of the train evaluator config: parsed, needs inherit; budget_samples with inherit accepted', async () => {
  const { parseTrainOptions } = await import('../api/train-evaluator.js');
  assert.equal(parseTrainOptions({ dataset: 'digits', inherit: 'morph', inherit_optimizer: true }, '.').eval.inheritOptimizer, true);
  assert.equal(parseTrainOptions({ dataset: 'digits', inherit: 'morph' }, '.').eval.inheritOptimizer, undefined);
  assert.equal(parseTrainOptions({ dataset: 'digits', inherit: 'exact', budget_samples: 100 }, '.').eval.budgetSamples, 100);
  const bads: JsonObject[] = [{ inherit_optimizer: true }, { inherit: 'morph', inherit_optimizer: 'yes' }];
  for (const bad of bads)
    assert.throws(() => parseTrainOptions({ dataset: 'digits', ...bad }, '.'), (e: unknown) => isNasError(e) && e.field === 'evaluator.inherit_optimizer', JSON.stringify(bad));
});

test('inheritOptimizer with early stopping: the restored weights get no optimizer state, and a stale state file of the same name is removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-inherit-opt-es-'));
  try {
    const ev = new TrainingEvaluator({ dataset: { kind: 'digits' }, split: { seed: 0, trainPerClass: 20 }, epochs: 2, skipTest: true, weightsDir: dir, inherit: 'morph', inheritOptimizer: true, earlyStopping: { patience: 5 }, threads: 1 });
    const req = { arch: ARCH, budget: 2, seed: 3, id: 'es' };
    const stale = optimizerStatePath(join(dir, weightsFileName(req)));
    writeFileSync(stale, 'stale');
    const w = artifact(await ev.evaluate(req));
    assert.equal(w, join(dir, weightsFileName(req)));
    assert.ok(existsSync(w) && !existsSync(stale), 'weights kept, no state beside them');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
