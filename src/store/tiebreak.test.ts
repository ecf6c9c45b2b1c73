/**
 * Issue 17 fault 17, the tie-break: trials with equal objective values are ordered by the
 * objective's stated secondary metric (here val_loss, minimised) in the store's best trial (SQL
 * fast path bypassed), the study list, the strategies' bestTrial and TPE's ranking; without a
 * tie-break the earliest trial stays best.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trialId, workerId } from '../core/ids.js';
import { compareTieBreak } from '../core/metrics.js';
import { bestTrial as strategyBest } from '../strategy/common.js';
import { validateConfig } from '../api/config.js';

const parseConfig = (raw: unknown) => validateConfig(raw, '/tmp');
import { SqliteStore } from './sqlite.js';
import type { StudySpec } from './types.js';

const TB = { metric: 'val_loss', direction: 'minimize' as const };

test('compareTieBreak: direction, missing and NaN values rank last, no tie-break = 0', () => {
  assert.ok(compareTieBreak({ val_loss: 0.1 }, { val_loss: 0.2 }, TB) > 0);
  assert.ok(compareTieBreak({ val_loss: 0.3 }, { val_loss: 0.2 }, TB) < 0);
  assert.ok(compareTieBreak({ val_loss: 0.3 }, {}, TB) > 0);
  assert.ok(compareTieBreak({ val_loss: NaN }, { val_loss: 9 }, TB) < 0);
  assert.equal(compareTieBreak({ val_loss: 0.1 }, { val_loss: 0.2 }, undefined), 0);
  assert.ok(compareTieBreak({ val_f1: 0.9 }, { val_f1: 0.8 }, { metric: 'val_f1', direction: 'maximize' }) > 0);
});

test('store: equal best values are decided by the tie-break (bestTrial and listStudies); without one the first stays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-tb-'));
  const path = join(dir, 's.db');
  const store = SqliteStore.open(`sqlite:${path}`, path);
  try {
    const spec = (name: string, tieBreak?: typeof TB): StudySpec => ({
      name,
      strategy: { name: 'random', options: {} },
      space: { name: 'test', definition: null },
      evaluator: { name: 'x', options: {} },
      objectives: [{ metric: 'val_acc', direction: 'maximize', ...(tieBreak ? { tieBreak } : {}) }],
      constraints: [],
      seed: 1,
      maxTrials: null,
      config: {},
    });
    for (const [name, tb] of [['with', TB], ['without', undefined]] as const) {
      const rec = await store.createStudy(spec(name, tb));
      const w = workerId('w');
      for (const [acc, loss] of [[100, 0.30], [99, 0.01], [100, 0.05], [100, 0.20]] as const) {
        const t = await store.createTrial(rec.id, { arch: { acc, loss }, archKey: `${acc}-${loss}`, budget: null, params: {}, claim: { workerId: w, leaseMs: 60_000 } });
        await store.finishTrial(t.id, w, { state: 'complete', metrics: { val_acc: acc, val_loss: loss }, values: [acc] });
      }
      const best = await store.bestTrial(rec.id);
      const listed = (await store.listStudies()).find((s) => s.name === name)!;
      assert.equal(best!.number, tb ? 2 : 0, name);
      assert.equal(listed.best!.number, tb ? 2 : 0, `${name} (listStudies)`);
    }
    assert.deepEqual((await store.getStudy('with'))!.objectives[0]!.tieBreak, TB);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('strategies: bestTrial orders equal fitness by the tie-break', () => {
  const t = (id: number, acc: number, loss: number) => ({ id: trialId(id), arch: {}, key: String(id) as never, state: 'complete' as const, metrics: { val_acc: acc, val_loss: loss }, intermediate: [] });
  const h = [t(1, 100, 0.3), t(2, 100, 0.1), t(3, 90, 0.01)];
  assert.equal(strategyBest(h, { objectives: [{ metric: 'val_acc', direction: 'maximize', tieBreak: TB }], constraints: [] })!.id, 2);
  assert.equal(strategyBest(h, { objectives: [{ metric: 'val_acc', direction: 'maximize' }], constraints: [] })!.id, 1);
});

test('config: tie_break as a metric name (a *_loss is minimised) or { metric, direction }; bad values name the field', () => {
  const base = { study: 's', space: 'mlp', strategy: 'tpe', evaluator: { name: 'train', dataset: 'digits' }, trials: 2 };
  assert.deepEqual(parseConfig({ ...base, objectives: [{ metric: 'val_acc', tie_break: 'val_loss' }] }).objectives[0], { metric: 'val_acc', direction: 'maximize', tieBreak: TB });
  assert.deepEqual(parseConfig({ ...base, objectives: [{ metric: 'val_acc', tie_break: { metric: 'val_f1' } }] }).objectives[0]!['tieBreak'], { metric: 'val_f1', direction: 'maximize' });
  assert.throws(() => parseConfig({ ...base, objectives: [{ metric: 'val_acc', tie_break: { metric: 'val_f1', direction: 'up' } }] }), (e: unknown) => (e as { field?: string }).field === 'objectives[0].tie_break.direction');
});
