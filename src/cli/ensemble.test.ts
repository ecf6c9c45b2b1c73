/** `tsnas ensemble` (src/api/ensemble.ts): the k best trials retrained and averaged; its flags checked at once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareSearch, search } from '../api/study.js';
import { runCaptured } from './testing/run-captured.js';


const cli = runCaptured;

const dir = mkdtempSync(join(tmpdir(), 'tsnas-cli-ensemble-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('tsnas ensemble: members in the study\'s order with their own test accuracy, the ensemble\'s accuracy; bad flags at once', async () => {
  const csv = join(dir, 'three.csv');
  writeFileSync(csv, 'x,y,label\n' + Array.from({ length: 90 }, (_, i) => `${(i % 3) + 0.3 * Math.sin(i)},${Math.cos(i * 7)},${['a', 'b', 'c'][i % 3]}`).join('\n') + '\n');
  const storage = `sqlite:${join(dir, 'e.db')}`;
  const r = await search(prepareSearch({ config: { study: 'e', storage, space: 'joint_mlp', strategy: 'random', seed: 1, trials: 3, evaluator: { name: 'train', dataset: 'csv', path: csv, epochs: 2, keep_weights: false, threads: 1 } } }));
  const j = await cli(['ensemble', '--study', 'e', '--storage', storage, '--k', '2', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const o = JSON.parse(j.stdout) as { test_acc: number; members: { trial: number; test_acc: number }[] };
  assert.equal(o.members.length, 2);
  assert.equal(o.members[0]!.trial, r.best!.number);
  assert.ok(o.test_acc >= 0 && o.test_acc <= 100);
  const t = await cli(['ensemble', '--study', 'e', '--storage', storage, '--k', '1']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, new RegExp(`member 1: trial ${r.best!.number} weight 1.000 test_acc [0-9.]+%\\nensemble of 1 \\(each member retrained\\): test_acc [0-9.]+%`));
  const s2 = await cli(['ensemble', '--study', 'e', '--storage', storage, '--k', '1', '--seeds', '2', '--json']);
  assert.equal(s2.code, 0, s2.stderr);
  const o2 = JSON.parse(s2.stdout) as { final: string; seeds: number; members: unknown[] };
  assert.deepEqual([o2.final, o2.seeds, o2.members.length], ['retrain', 2, 1]);
  // --repeats N, as tsnas train/repeat spell the count (session 9); --seeds N stays its older spelling here.
  const r2 = await cli(['ensemble', '--study', 'e', '--storage', storage, '--k', '1', '--repeats', '2', '--json']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(JSON.parse(r2.stdout), o2);
  const both = await cli(['ensemble', '--study', 'e', '--storage', storage, '--k', '1', '--repeats', '2', '--seeds', '3']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--seeds: is the older spelling of --repeats here/);
  // A search without cv_predictions has no fold networks' test predictions: refused with the hint.
  const nf = await cli(['ensemble', '--study', 'e', '--storage', storage, '--k', '1', '--final', 'folds']);
  assert.equal(nf.code, 2, nf.stdout);
  assert.match(nf.stderr, /no stored test predictions of its fold networks[\s\S]*cv_predictions: true and without skip_test/);
  const bad = await cli(['ensemble', '--storage', storage, '--k', '0']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--study NAME is required/);
  assert.match(bad.stderr, /--k/);
});

test('tsnas ensemble --method caruana: the selection\'s out-of-fold score, weighted members; its flags checked against the method', async () => {
  const csv = join(dir, 'three-c.csv');
  writeFileSync(csv, 'x,y,label\n' + Array.from({ length: 90 }, (_, i) => `${(i % 3) + 0.3 * Math.sin(i)},${Math.cos(i * 7)},${['a', 'b', 'c'][i % 3]}`).join('\n') + '\n');
  const storage = `sqlite:${join(dir, 'c.db')}`;
  await search(prepareSearch({ config: { study: 'c', storage, space: 'joint_mlp', strategy: 'random', seed: 2, trials: 3, evaluator: { name: 'train', dataset: 'csv', path: csv, epochs: 2, keep_weights: false, threads: 1, cv_folds: 2, cv_predictions: true } } }));
  const j = await cli(['ensemble', '--study', 'c', '--storage', storage, '--method', 'caruana', '--size', '5', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const o = JSON.parse(j.stdout) as { method: string; test_acc: number; members: { trial: number; weight: number }[]; selection: { library: number; size: number; metric: string; oof_acc: number } };
  assert.equal(o.method, 'caruana');
  assert.equal(o.selection.size, 5);
  assert.equal(o.selection.metric, 'loss');
  assert.ok(o.selection.library >= 1 && o.selection.library <= 3);
  assert.ok(Math.abs(o.members.reduce((a, m) => a + m.weight, 0) - 1) < 1e-9);
  const t = await cli(['ensemble', '--study', 'c', '--storage', storage, '--method', 'caruana', '--metric', 'acc']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^caruana selection: 50 steps on out-of-fold acc over \d trials: oof_loss [0-9.]+ oof_acc [0-9.]+%\nmember 1: trial \d+ weight [0-9.]+ test_acc [0-9.]+%\n/);
  // --final folds: the fold networks' stored test predictions, nothing retrained.
  const f = await cli(['ensemble', '--study', 'c', '--storage', storage, '--method', 'caruana', '--size', '5', '--final', 'folds', '--json']);
  assert.equal(f.code, 0, f.stderr);
  const fo = JSON.parse(f.stdout) as { final: string; seeds?: number; test_acc: number; members: { trial: number; weight: number }[] };
  assert.equal(fo.final, 'folds');
  assert.equal(fo.seeds, undefined);
  assert.deepEqual(fo.members.map((m) => [m.trial, m.weight]), o.members.map((m) => [m.trial, m.weight]), 'the same selection, only the final models differ');
  const ft = await cli(['ensemble', '--study', 'c', '--storage', storage, '--method', 'caruana', '--final', 'folds']);
  assert.match(ft.stdout, /ensemble of \d+ \(each member its fold networks\): test_acc [0-9.]+%/);
  // Not tsnas trials' test_acc (mean of fold accuracies): said on each member line, in a note and in the JSON.
  assert.match(ft.stdout, /^member 1: trial \d+ weight [0-9.]+ test_acc [0-9.]+% \(fold networks averaged\)$/m);
  assert.match(ft.stdout, /^note: a member's test_acc here is the accuracy on the test split of the member's fold networks' averaged predictions/m);
  assert.match((JSON.parse(f.stdout) as { member_test_acc: string }).member_test_acc, /fold networks' averaged predictions/);
  const badf = await cli(['ensemble', '--study', 'c', '--storage', storage, '--method', 'caruana', '--final', 'folds', '--seeds', '3', '--seed', '1']);
  assert.equal(badf.code, 2);
  assert.match(badf.stderr, /--seed applies only to --final retrain[\s\S]*--seeds applies only to --final retrain/);
  const bad = await cli(['ensemble', '--study', 'c', '--storage', storage, '--method', 'caruana', '--k', '2']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--k applies only to --method top/);
  const bad2 = await cli(['ensemble', '--study', 'c', '--storage', storage, '--k', '2', '--size', '5', '--metric', 'acc']);
  assert.equal(bad2.code, 2);
  assert.match(bad2.stderr, /--size applies only to --method caruana[\s\S]*--metric applies only to --method caruana/);
  const bad3 = await cli(['ensemble', '--study', 'c', '--storage', storage, '--method', 'best']);
  assert.equal(bad3.code, 2);
  assert.match(bad3.stderr, /--method/);
});

test('tsnas ensemble --k more than the study has: says how many were available and why; the best member\'s test accuracy beside the ensemble\'s (new user, session 10, item 11)', async () => {
  const csv = join(dir, 'three-k.csv');
  writeFileSync(csv, 'x,y,label\n' + Array.from({ length: 90 }, (_, i) => `${(i % 3) + 0.3 * Math.sin(i)},${Math.cos(i * 7)},${['a', 'b', 'c'][i % 3]}`).join('\n') + '\n');
  const storage = `sqlite:${join(dir, 'k.db')}`;
  await search(prepareSearch({ config: { study: 'k', storage, space: 'joint_mlp', strategy: 'random', seed: 2, trials: 3, evaluator: { name: 'train', dataset: 'csv', path: csv, epochs: 1, keep_weights: false, threads: 1 } } }));
  const t = await cli(['ensemble', '--study', 'k', '--storage', storage, '--k', '10']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /note: --k 10 asked for 10 members, 3 available: the study has 3 trial\(s\), 3 complete\n/);
  const m = /ensemble of 3 \(each member retrained\): test_acc ([0-9.]+)% test_loss [0-9.]+; best member: trial (\d+) test_acc ([0-9.]+)%/.exec(t.stdout);
  assert.ok(m, t.stdout);
  const accs = [...t.stdout.matchAll(/member \d: trial (\d+) weight [0-9.]+ test_acc ([0-9.]+)%/g)].map((x) => [Number(x[1]), Number(x[2])] as const);
  const best = accs.reduce((a, b) => (b[1] > a[1] ? b : a));
  assert.equal(Number(m[3]), best[1]);
  assert.equal(Number(m[2]), best[0]);
  // Below its best member on test: said, with the gap.
  if (Number(m[1]) < best[1]) assert.match(t.stdout, /note: the ensemble's test_acc is [0-9.]+ points below its best member's \(trial \d+\)/);
  else assert.doesNotMatch(t.stdout, /points below its best member/);
  const j = JSON.parse((await cli(['ensemble', '--study', 'k', '--storage', storage, '--k', '10', '--json'])).stdout) as { fewer: { asked: number; available: number; why: string }; best_member: { trial: number; test_acc: number } };
  assert.deepEqual([j.fewer.asked, j.fewer.available], [10, 3]);
  assert.equal(j.best_member.trial, best[0]);
  const exact = await cli(['ensemble', '--study', 'k', '--storage', storage, '--k', '3']);
  assert.doesNotMatch(exact.stdout, /note: --k/);
});

test('ensemble fewer-members reason: a one-shot study\'s supernet trial 0 (no value) and trials outside the constraints are named', async () => {
  const { fewerWhy } = await import('../api/ensemble.js');
  const t = (number: number, v: number | null, params: number) => ({ number, state: 'complete', values: v === null ? null : [v], metrics: { val_acc: v ?? 0, params }, budget: null }) as never;
  const study = { name: 's', objectives: [{ metric: 'val_acc', direction: 'maximize' }], constraints: [{ metric: 'params', max: 100 }] } as never;
  assert.equal(fewerWhy([t(0, null, 10), t(1, 73.6, 10)], study, 2), "the study has 2 trial(s), 2 complete, 1 without a val_acc value (trial 0; a one-shot study's supernet trial 0 is no network's result)");
  assert.equal(fewerWhy([t(0, 50, 10), t(1, 60, 500), t(2, 70, 900)], study, 4), 'the study has 4 trial(s), 3 complete, 2 outside its constraints');
});
