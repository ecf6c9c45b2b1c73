/** Weight inheritance through a real Study: a promoted trial continues from its parent's kept weights. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MlpArch } from '../core/arch.js';
import { workerId } from '../core/ids.js';
import type { Json, JsonObject } from '../core/json.js';
import { TrainingEvaluator } from '../eval/train.js';
import { SqliteStore } from '../store/sqlite.js';
import type { AskResult, HistoryItem, StrategyDriver } from './driver.js';
import { Study } from './study.js';

const ARCH: MlpArch = { family: 'mlp', hidden: [32], activation: 'relu', batchNorm: true, dropout: 0 };

/** Trial 0 at budget 1; once it is complete, its promotion to budget 3 (params.promotes, as ASHA does); then done. */
function promotingDriver(): StrategyDriver {
  return {
    needsIntermediates: false,
    init: () => ({ step: 0 }),
    ask(state, history: readonly HistoryItem[]): { state: Json; result: AskResult } {
      const step = (state as { step: number }).step;
      const proposal = (budget: number, params: Record<string, Json>) => ({ kind: 'trial' as const, proposal: { arch: ARCH as unknown as Json, archKey: `mlp@${budget}`, budget, params } });
      if (step === 0) return { state: { step: 1 }, result: proposal(1, {}) };
      if (step === 1) {
        const first = history[0]?.trial;
        if (!first || first.state !== 'complete') return { state, result: { kind: 'wait' } };
        return { state: { step: 2 }, result: proposal(3, { promotes: first.id }) };
      }
      return { state, result: { kind: 'done', reason: 'done' } };
    },
    tell: (state) => state,
  };
}

test('inherit: a promoted trial gets its parent (user attr parent_trial), continues from its weights and trains only the extra epochs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-study-inherit-'));
  const store = SqliteStore.open(`sqlite:${join(dir, 's.db')}`, join(dir, 's.db'));
  try {
    for (const inherit of ['exact', 'off'] as const) {
      const ev = new TrainingEvaluator({ dataset: { kind: 'digits' }, split: { seed: 0, trainPerClass: 30 }, epochs: 3, skipTest: true, weightsDir: join(dir, `w-${inherit}`), inherit });
      const rec = await store.createStudy({
        name: `s-${inherit}`,
        strategy: { name: 'list', options: {} },
        space: { name: 'test', definition: null },
        evaluator: { name: 'train', options: {} },
        objectives: [{ metric: 'val_acc', direction: 'maximize' }],
        constraints: [],
        seed: 3,
        maxTrials: null,
        config: {},
      });
      const r = await new Study(store, rec, promotingDriver(), ev, { workerId: workerId('w') }).optimize();
      assert.equal(r.finished, 2);
      const [parent, child] = await store.listTrials(rec.id);
      assert.equal(child!.state, 'complete');
      assert.equal(child!.userAttrs['parent_trial'], parent!.number, 'the parent is recorded');
      const steps = (await store.getIntermediates(child!.id)).map((i) => i.step);
      if (inherit === 'exact') {
        assert.equal(child!.metrics!['inherited_fraction'], 1);
        assert.equal(parent!.metrics!['inherited_fraction'], 0, 'a trial without a parent reports 0');
        assert.equal(child!.metrics!['epochs'], 3);
        assert.deepEqual(steps, [2, 3], 'continues after the parent epoch');
        // The continued run starts where the parent ended: its first new epoch is no worse than a fresh first epoch.
        assert.ok(child!.metrics!['val_acc']! >= parent!.metrics!['val_acc']! - 5, `child ${child!.metrics!['val_acc']} parent ${parent!.metrics!['val_acc']}`);
      } else {
        assert.equal(child!.metrics!['inherited_fraction'], undefined);
        assert.deepEqual(steps, [1, 2, 3], 'from scratch');
      }
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the inherit option of the train evaluator config: values, and conflicts named by field', async () => {
  const { parseTrainOptions } = await import('../api/train-evaluator.js');
  const { isNasError } = await import('../core/errors.js');
  assert.equal(parseTrainOptions({ dataset: 'digits', inherit: 'exact' }, '.').eval.inherit, 'exact');
  assert.equal(parseTrainOptions({ dataset: 'digits', inherit: true }, '.').eval.inherit, 'morph');
  assert.equal(parseTrainOptions({ dataset: 'digits' }, '.').eval.inherit, undefined);
  const bads: JsonObject[] = [{ inherit: 'bogus' }, { inherit: 'exact', keep_weights: false }, { inherit: 'morph', cv_folds: 3 }];
  for (const bad of bads)
    assert.throws(() => parseTrainOptions({ dataset: 'digits', ...bad }, '.'), (e: unknown) => isNasError(e) && e.field === 'evaluator.inherit', JSON.stringify(bad));
  // inherit_lr_scale: parsed, range-checked, needs inherit (src/eval/train-inherit-lr.test.ts: what it does).
  assert.equal(parseTrainOptions({ dataset: 'digits', inherit: 'exact', inherit_lr_scale: 0.5 }, '.').eval.inheritLrScale, 0.5);
  assert.equal(parseTrainOptions({ dataset: 'digits', inherit: 'exact' }, '.').eval.inheritLrScale, undefined);
  const badScales: JsonObject[] = [{ inherit: 'exact', inherit_lr_scale: 0 }, { inherit: 'exact', inherit_lr_scale: 'x' }, { inherit_lr_scale: 0.5 }];
  for (const bad of badScales)
    assert.throws(() => parseTrainOptions({ dataset: 'digits', ...bad }, '.'), (e: unknown) => isNasError(e) && e.field === 'evaluator.inherit_lr_scale', JSON.stringify(bad));
});
