/**
 * Session 9, fault kind 1: a constraint no architecture can meet was found at the first ask, after
 * the study was written (`running`, 0 trials; a rerun with a fixed constraint was refused as "already
 * exists ... with different constraints"; with 2 workers the error printed twice, exit 1). Now:
 *  - a bound outside the metric's range (max < 0 on a cost, min > 100 on an accuracy, min > max) is
 *    a config error (every problem at once, with the others);
 *  - a bound inside the range that no architecture of the space meets (by the evaluator's cheap
 *    costs) is `constraint_unsatisfiable` before the store is opened (createStudy): nothing is
 *    written, workers are never started;
 *  - a bound met by no *evaluated* trial (measured latency <= 1e-6: issue 17 fault 2) still runs
 *    (the costs before training cannot judge it) and `best` says none is feasible.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNasError, type Issue } from '../core/errors.js';
import { impossibleConstraint, metricBounds } from '../core/metrics.js';
import { createStudy, prepareSearch, search } from './index.js';

const issuesOf = (e: unknown): Issue[] => ((e as { details?: { issues?: Issue[] } }).details?.issues ?? []);
const dir = mkdtempSync(join(tmpdir(), 'tsnas-unsat-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const base = (db: string) => ({ study: 's', storage: `sqlite:${join(dir, db)}`, space: 'nb201', strategy: 'evolution', evaluator: { name: 'nb201' }, trials: 3 });

test('metric ranges by name: accuracies 0-100, costs/losses/spreads >= 0, unknown names unbounded', () => {
  assert.deepEqual(metricBounds('val_acc'), { lo: 0, hi: 100 });
  assert.deepEqual(metricBounds('test_acc'), { lo: 0, hi: 100 });
  for (const m of ['latency_ms', 'latency_raspi4_ms', 'latency_batch_ms', 'params', 'flops', 'macs', 'memory_bytes', 'train_seconds', 'val_loss', 'val_acc_std', 'val_f1'])
    assert.deepEqual(metricBounds(m), { lo: 0 }, m);
  for (const m of ['proxy_synflow', 'my_score', 'accuracy_gain']) assert.deepEqual(metricBounds(m), {}, m);
  assert.match(impossibleConstraint({ metric: 'latency_ms', max: -5 })!, /below 0/);
  assert.match(impossibleConstraint({ metric: 'val_acc', min: 101 })!, /above 100/);
  assert.match(impossibleConstraint({ metric: 'my_score', min: 2, max: 1 })!, /above max/);
  assert.equal(impossibleConstraint({ metric: 'latency_ms', max: 0 }), undefined);
  assert.equal(impossibleConstraint({ metric: 'my_score', max: -5 }), undefined);
  assert.equal(impossibleConstraint({ metric: 'val_acc', min: 100 }), undefined);
});

test('a bound outside the metric range is a config error, listed with the other problems; nothing is written', () => {
  const db = 'range.db';
  for (const [c, field] of [
    [{ metric: 'latency_ms', max: -5 }, 'constraints[0].max'],
    [{ metric: 'params', max: -1 }, 'constraints[0].max'],
    [{ metric: 'val_acc', min: 100.5 }, 'constraints[0].min'],
    [{ metric: 'latency_ms', min: 10, max: 5 }, 'constraints[0]'],
  ] as const)
    assert.throws(
      () => prepareSearch({ config: { ...base(db), constraints: [c] } }),
      (e: unknown) => isNasError(e, 'invalid_config') && e.field === field && /can never be met/.test(e.message),
      JSON.stringify(c),
    );
  // Together with another bad field: one numbered list.
  assert.throws(
    () => prepareSearch({ config: { ...base(db), trials: 0, constraints: [{ metric: 'latency_ms', max: -5 }] } }),
    (e: unknown) => {
      assert.deepEqual(issuesOf(e).map((i) => i.field), ['constraints[0].max', 'trials']);
      return true;
    },
  );
  assert.ok(!existsSync(join(dir, db)));
});

test('a bound no architecture of the space meets: constraint_unsatisfiable before the store is opened, with the range found; a fixed rerun under the same name runs', async () => {
  const db = 'unsat.db';
  const prepared = prepareSearch({ config: { ...base(db), constraints: [{ metric: 'latency_ms', max: 0.001 }] } });
  await assert.rejects(createStudy(prepared), (e: unknown) => {
    assert.ok(isNasError(e, 'constraint_unsatisfiable'), String(e));
    assert.equal(e.field, 'constraints');
    assert.match(e.message, /latency_ms \d[\d.]* to \d/);
    assert.match(e.message, /loosen latency_ms <= 0\.001/);
    return true;
  });
  // The same through search(), with workers: no worker is started, nothing written.
  const withWorkers = prepareSearch({ config: { ...base(db), workers: 2, constraints: [{ metric: 'params', max: 1 }] } });
  await assert.rejects(search(withWorkers), (e: unknown) => isNasError(e, 'constraint_unsatisfiable'));
  assert.ok(!existsSync(join(dir, db)), 'no database written');
  // The fixed constraint under the same study name: a new study, not a conflict.
  const r = await search(prepareSearch({ config: { ...base(db), constraints: [{ metric: 'latency_ms', max: 40 }] } }));
  assert.equal(r.counts.complete, 3);
});

test('a constraint met by no evaluated trial (measured, issue 17 fault 2) still runs; best says none is feasible', async () => {
  const db = 'measured.db';
  // val_acc is known only once a trial is evaluated (not one of the table's costs), like measured latency.
  const r = await search(prepareSearch({ config: { ...base(db), constraints: [{ metric: 'val_acc', min: 99.9 }] } }));
  assert.equal(r.counts.complete, 3);
  assert.equal(r.best, null);
});

test('an enqueued architecture outside the constraints is named before anything is written (it was skipped silently at its ask)', async () => {
  const db = 'enqueue.db';
  const big = { family: 'nb201', ops: Array(6).fill('nor_conv_3x3') };
  const small = { family: 'nb201', ops: ['skip_connect', 'none', 'skip_connect', 'none', 'none', 'skip_connect'] };
  const prepared = prepareSearch({ config: { ...base(db), enqueue: [small, big], constraints: [{ metric: 'latency_ms', max: 40 }] } });
  await assert.rejects(createStudy(prepared), (e: unknown) => {
    assert.ok(isNasError(e, 'invalid_config'), String(e));
    assert.equal(e.field, 'enqueue[1]');
    assert.match(e.message, /violates latency_ms <= 40 \(its latency_ms: [\d.]+\): it would never be proposed/);
    return true;
  });
  assert.ok(!existsSync(join(dir, db)));
  const ok = await search(prepareSearch({ config: { ...base(db), enqueue: [small], constraints: [{ metric: 'latency_ms', max: 40 }] } }));
  assert.equal(ok.counts.complete, 3);
});
