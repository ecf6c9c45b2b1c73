/**
 * Issue 17.17 (second round): every single-objective strategy ranks by one comparator
 * (common.ts compareTrials / keyOrder): fitness, then the objective's tie-break. Two trials tie on
 * val_acc; the one with the lower val_loss must win in evolution's tournament, the GA's and BO's
 * orderings, and local search's moves, as it already did in bestTrial and TPE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capTraining } from './bo.js';
import { compareTrials, keyOrder } from './common.js';
import type { TrialRecord } from './types.js';

const TB = { metric: 'val_loss', direction: 'minimize' as const };
const ctx = { objectives: [{ metric: 'val_acc', direction: 'maximize' as const, tieBreak: TB }], constraints: [] };
const plain = { objectives: [{ metric: 'val_acc', direction: 'maximize' as const }], constraints: [] };

function trial(id: number, key: string, metrics: Record<string, number> | null, state: 'complete' | 'failed' = 'complete'): TrialRecord<unknown> {
  return { id, number: id, key, arch: { k: key }, state, metrics, values: metrics ? [metrics['val_acc']!] : null } as unknown as TrialRecord<unknown>;
}

test('compareTrials and keyOrder: fitness first, then the tie-break; failed trials tie at the bottom', () => {
  const a = trial(1, 'a', { val_acc: 100, val_loss: 0.3 });
  const b = trial(2, 'b', { val_acc: 100, val_loss: 0.1 });
  const c = trial(3, 'c', { val_acc: 90, val_loss: 0.01 });
  const f1 = trial(4, 'f1', null, 'failed');
  const f2 = trial(5, 'f2', null, 'failed');
  assert.ok(compareTrials(b, a, ctx) > 0);
  assert.ok(compareTrials(a, b, ctx) < 0);
  assert.equal(compareTrials(a, b, plain), 0, 'without a tie-break they tie');
  assert.ok(compareTrials(a, c, ctx) > 0, 'the primary metric decides first');
  assert.equal(compareTrials(f1, f2, ctx), 0);
  const order = keyOrder([a, b, c, f1, f2], ctx);
  assert.deepEqual(['a', 'c', 'f1', 'b', 'zz'].sort((x, y) => order(y, x)), ['b', 'a', 'c', 'f1', 'zz']);
  assert.equal(keyOrder([a, b], plain)('a', 'b'), 0);
});

test('BO keeps the tie-break winner when the training set is capped', () => {
  const all = [
    { f: 1, t: trial(1, 'a', { val_acc: 1, val_loss: 0.5 }) },
    { f: 1, t: trial(2, 'b', { val_acc: 1, val_loss: 0.1 }) },
    { f: 0, t: trial(3, 'c', { val_acc: 0, val_loss: 0 }) },
    { f: 0, t: trial(4, 'd', { val_acc: 0, val_loss: 0 }) },
  ];
  // cap 3: the best 1 (by fitness, then val_loss: b), then the most recent ones (d, c).
  const kept = capTraining(all, 3, (x, y) => compareTrials(x.t, y.t, ctx)).map((x) => x.t.key);
  assert.deepEqual(kept, ['b', 'c', 'd']);
  assert.deepEqual(capTraining(all, 3).map((x) => x.t.key), ['a', 'c', 'd'], 'without a tie-break the earlier one');
});
