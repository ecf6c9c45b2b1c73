/**
 * Issue 17 (errors one at a time), the prune spec: every bad field of `prune` is reported at once
 * (src/core/issues.ts), and a field whose range depends on a bad one (minDensity on sparsity) is
 * not reported as a consequence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNasError, issuesOf } from '../core/errors.js';
import { checkPruneSpec } from './prune.js';

const fields = (e: unknown): string[] => (isNasError(e) ? issuesOf(e).map((i) => i.field ?? '') : []);

test('checkPruneSpec reports every bad field at once', () => {
  assert.throws(() => checkPruneSpec({ kind: 'magnitude', sparsity: 0.5, scope: 'all', schedule: 'slow', minDensity: 0.9, pruneOutput: 'yes' }), (e: unknown) => {
    assert.deepEqual(fields(e), ['prune.scope', 'prune.schedule', 'prune.minDensity', 'prune.pruneOutput']);
    assert.match((e as Error).message, /^4 problems in the prune options:/);
    return true;
  });
  // A bad sparsity: its own error, not a second one about the floor that depends on it.
  assert.throws(() => checkPruneSpec({ kind: 'magnitude', sparsity: 1, minDensity: 0.2 }), (e: unknown) => isNasError(e) && e.field === 'prune.sparsity' && fields(e).length === 1);
  assert.throws(() => checkPruneSpec({ kind: 'channels', ratio: 2, criterion: 'l2' }), (e: unknown) => {
    assert.deepEqual(fields(e), ['prune.criterion', 'prune.ratio']);
    return true;
  });
  assert.deepEqual(checkPruneSpec({ kind: 'channels', flops: 0.5 }), { kind: 'channels', flops: 0.5, criterion: 'l1', allocation: 'greedy' });
  assert.deepEqual(checkPruneSpec({ kind: 'channels', flops: 0.5, allocation: 'uniform' }), { kind: 'channels', flops: 0.5, criterion: 'l1', allocation: 'uniform' });
  // The allocation shares a FLOPs target among layers: with a ratio, or of an unknown kind, it is named.
  for (const bad of [{ kind: 'channels', ratio: 0.5, allocation: 'uniform' }, { kind: 'channels', flops: 0.5, allocation: 'global' }])
    assert.throws(() => checkPruneSpec(bad), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'prune.allocation' && fields(e).length === 1, JSON.stringify(bad));
});
