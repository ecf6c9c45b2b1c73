/**
 * Session 9, fault kind 4 (confusing output):
 *  - `best --json` showed `params.parent` (a trial id) beside `userAttrs.parent_trial` (a trial
 *    number): lineage is now named once, as a number, in every trial output (best --json,
 *    trials/export --format json, and a parent_trial column in CSV), as the `parent` column of the table;
 *  - unrounded values in printed lines (`best: trial 24 val_acc=91.2199999991862`);
 * (the compress table's nonzero params: commands-compress.test.ts; the dashboard's SIGTERM line: dashboard.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trialForOutput, trialNumbersById } from '../api/index.js';
import { runCaptured } from './testing/run-captured.js';

const cli = runCaptured;

const dir = mkdtempSync(join(tmpdir(), 'tsnas-output-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const db = ['--storage', `sqlite:${join(dir, 's.db')}`, '--study', 'ev'];
let searchOut = '';

test.before(async () => {
  const r = await cli(['search', '--space', 'nb201', '--strategy', 'evolution', '--evaluator', 'nb201', '--trials', '30', '--quiet', ...db]);
  assert.equal(r.code, 0, r.stderr);
  searchOut = r.stdout;
});

type T = { number: number; id: number; params: Record<string, unknown>; userAttrs: Record<string, unknown> };

test('lineage is one trial number in every output: no params.parent id beside userAttrs.parent_trial', async () => {
  const all = JSON.parse((await cli(['trials', ...db, '--format', 'json'])).stdout) as { trials: T[] };
  const children = all.trials.filter((t) => t.userAttrs['parent_trial'] !== undefined);
  assert.ok(children.length > 0, 'evolution made children');
  for (const t of all.trials) {
    assert.equal(t.params['parent'], undefined, `trial ${t.number} params`);
    assert.equal(t.params['promotes'], undefined);
  }
  for (const c of children) assert.ok(all.trials.some((p) => p.number === c.userAttrs['parent_trial'] && p.number < c.number));
  const best = JSON.parse((await cli(['best', ...db, '--json'])).stdout) as T;
  assert.equal(best.params['parent'], undefined);
  const same = all.trials.find((t) => t.number === best.number)!;
  assert.equal(best.userAttrs['parent_trial'], same.userAttrs['parent_trial']);
  // CSV: a parent_trial column with the same numbers.
  const csv = (await cli(['trials', ...db, '--format', 'csv'])).stdout.trim().split('\n');
  assert.match(csv[0]!, /,error,parent_trial$/, 'the last column, so the others keep their places');
  for (const c of children) assert.equal(csv.find((l) => l.startsWith(`${c.number},`))!.split(',').at(-1), String(c.userAttrs['parent_trial']));
});

test('trialForOutput: a parent not yet recorded as a number is resolved from its id; promotions too', () => {
  const t = (id: number, number: number, params: Record<string, unknown>, userAttrs: Record<string, unknown> = {}) => ({ id, number, params, userAttrs }) as never;
  const trials = [t(7, 0, {}), t(9, 1, { parent: 7 }), t(12, 2, { promotes: 9, rung: 1 }, { parent_trial: 1 })];
  const numbers = trialNumbersById(trials);
  const a = trialForOutput(trials[1]!, numbers) as unknown as T;
  assert.deepEqual(a.params, {});
  assert.equal(a.userAttrs['parent_trial'], 0);
  const b = trialForOutput(trials[2]!, numbers) as unknown as T;
  assert.deepEqual(b.params, { rung: 1 });
  assert.equal(b.userAttrs['parent_trial'], 1);
  assert.equal(trialForOutput(trials[0]!, numbers), trials[0]);
});

test('printed values are rounded like the tables (search\'s best line)', () => {
  const m = /best: trial \d+ val_acc=(\S+) /.exec(searchOut);
  assert.ok(m, searchOut);
  assert.ok(m[1]!.replace(/^-|\./g, '').length <= 6, `${m[1]} has at most 6 significant digits`);
});

test('tsnas train warns about an accuracy at or near chance (the sibling of finetune\'s warning), not about a good one', async () => {
  const { trainChanceWarning } = await import('./commands-extra.js');
  const confusion = Array.from({ length: 10 }, () => Array.from({ length: 10 }, () => 1));
  const s = (val: number, test: number, status: 'complete' | 'failed' = 'complete') => ({ status, metrics: { val_acc: val, test_acc: test }, costs: {}, epochs: 1, seconds: 1, confusion });
  assert.match(trainChanceWarning(s(12, 40))!, /^val_acc 12\.00% is at or near chance \(10\.0% for 10 classes\) after 1 epoch\(s\): train longer \(--epochs\)/);
  assert.match(trainChanceWarning(s(9, 14))!, /val_acc 9\.00% and test_acc 14\.00% are/);
  assert.equal(trainChanceWarning(s(16, 90)), undefined);
  assert.equal(trainChanceWarning(s(5, 5, 'failed')), undefined);
  assert.equal(trainChanceWarning({ ...s(5, 5), confusion: undefined }), undefined, 'class count unknown: nothing assumed');
});
