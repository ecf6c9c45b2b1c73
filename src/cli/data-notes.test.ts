/**
 * Session 10, new-user findings 4 and 9 through `tsnas search` and `tsnas repeat` in a process:
 * the header decision and the label mapping are said once per command (not per trial), the label
 * column's sanity check and the split fractions work from their flags as from `tsnas train`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeUntrainedModel } from '../api/testing/weights.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsnas-cli-notes-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function tsnas(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const num2 = join(dir, 'num2.csv');
writeFileSync(num2, '10,20,30,40\n' + Array.from({ length: 40 }, (_, i) => `${i % 5},${(i * 7) % 3},${i % 4},${1 + (i % 2)}`).join('\n') + '\n');
const cfg = (name: string) => join(dir, `${name}.yaml`);
const small = (path: string, extra = '') =>
  `space: mlp\nstrategy: random\ntrials: 2\nevaluator:\n  name: train\n  dataset: csv\n  path: ${path}\n  epochs: 1\n  keep_weights: false\n${extra}`;

test('tsnas search on a CSV with a numeric header says the header decision and the label mapping once', () => {
  writeFileSync(cfg('s'), small(num2));
  const r = tsnas('search', cfg('s'), '--storage', `sqlite:${join(dir, 's.db')}`, '--study', 's');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.match(/data: header detected: line 1's label cell "40"/g)?.length, 1, r.stderr);
  assert.equal(r.stderr.match(/data: labels mapped to classes 0\.\.1: 0=1, 1=2/g)?.length, 1, r.stderr);
  // said before the banner, i.e. before any trial
  assert.ok(r.stderr.indexOf('data: header') < r.stderr.indexOf('tsnas: study s'), r.stderr);
  // --quiet drops the notes but not a warning
  const single = join(dir, 'single.csv');
  writeFileSync(single, 'a,b,y\n' + Array.from({ length: 30 }, (_, i) => `${i},${i % 3},${i === 29 ? 7 : i % 2}`).join('\n') + '\n');
  const q = tsnas('search', '--space', 'mlp', '--strategy', 'random', '--dataset', 'csv', '--path', single, '--trials', '1', '--quiet', '--storage', `sqlite:${join(dir, 'q.db')}`, '--study', 'q');
  assert.equal(q.code, 0, q.stderr);
  assert.doesNotMatch(q.stderr, /data: header detected/);
  assert.match(q.stderr, /data: warning: 1 class\(es\) with a single row: 7 \(line 31\)/);
});

test('tsnas search: a continuous label column is refused before a study is written; --val-fraction/--test-fraction are its flags', () => {
  const cont = join(dir, 'cont.csv');
  writeFileSync(cont, Array.from({ length: 200 }, (_, i) => `${(Math.sin(i) * 3 + 0.001).toFixed(3)},${(i * 1.3).toFixed(2)},${1 + (i % 3)}`).join('\n') + '\n');
  const db = join(dir, 'c.db');
  const r = tsnas('search', '--space', 'mlp', '--strategy', 'random', '--dataset', 'csv', '--path', cont, '--label', '0', '--trials', '1', '--storage', `sqlite:${db}`, '--study', 'c');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /the label column index 0 looks continuous.*--label 2; config label: 2/s);
  assert.ok(!existsSync(db), 'no database written');
  // 4 rows per class: the split error names the flag, and the flag fixes it
  const four = join(dir, 'four.csv');
  writeFileSync(four, 'a,b,y\n' + Array.from({ length: 8 }, (_, i) => `${i},1,${i % 2}`).join('\n') + '\n');
  const e = tsnas('search', cfg('s'), '--path', four, '--storage', `sqlite:${join(dir, 'f.db')}`, '--study', 'f');
  assert.equal(e.code, 2, e.stderr);
  assert.match(e.stderr, /raise val_fraction \(flag --val-fraction\) to at least 0\.125/);
  const ok = tsnas('search', cfg('s'), '--path', four, '--val-fraction', '0.125', '--test-fraction', '0.25', '--storage', `sqlite:${join(dir, 'f.db')}`, '--study', 'f');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /2 complete/);
  // the config spelling; test_fraction on a dataset with an official test split is refused
  writeFileSync(cfg('v'), small(four, '  val_fraction: 0.125\n  test_fraction: 0.25\n'));
  assert.equal(tsnas('search', cfg('v'), '--storage', `sqlite:${join(dir, 'v.db')}`, '--study', 'v', '--quiet').code, 0);
  writeFileSync(cfg('bad'), 'space: mlp\nstrategy: random\nevaluator:\n  name: train\n  dataset: fashion_mnist\n  test_fraction: 0.2\n  valFraction: 0.2\n');
  const bad = tsnas('search', cfg('bad'), '--storage', `sqlite:${join(dir, 'b.db')}`);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /evaluator\.test_fraction: fashion_mnist has an official test partition/);
  assert.match(bad.stderr, /did you mean val_fraction\?/);
});

test('tsnas repeat says the data notes once for all seeds', () => {
  const r = tsnas('repeat', cfg('s'), '--seeds', '0,1', '--storage', `sqlite:${join(dir, 'r.db')}`, '--study', 'r');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.match(/data: header detected/g)?.length, 1, r.stderr);
});

test('tsnas finetune on a CSV: --label/--header are its flags too, the data notes are said, a continuous label refused', () => {
  const model = join(dir, 'model');
  writeUntrainedModel(model, { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 }, { shape: [3], numClasses: 2 }, { dataset: 'csv', path: num2 });
  const r = tsnas('finetune', model, '--dataset', 'csv', '--path', num2, '--epochs', '1', '--out', join(dir, 'ft'), '--no-onnx');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.match(/data: header detected: line 1's label cell "40"/g)?.length, 1, r.stderr);
  // forced to data: the header row becomes a class of one row, warned about
  const h = tsnas('finetune', model, '--dataset', 'csv', '--path', num2, '--header', 'false', '--epochs', '1', '--out', join(dir, 'ft2'), '--no-onnx');
  assert.match(h.stderr, /data: line 1 read as data \(header: false\)/);
  assert.match(h.stderr, /data: warning: 1 class\(es\) with a single row: 40 \(line 1\)/);
  const cont = join(dir, 'cont4.csv');
  writeFileSync(cont, Array.from({ length: 200 }, (_, i) => `${(Math.sin(i) * 3 + 0.001).toFixed(3)},${(i * 1.3).toFixed(2)},${i % 4},${1 + (i % 3)}`).join('\n') + '\n');
  const c = tsnas('finetune', model, '--dataset', 'csv', '--path', cont, '--label', '0', '--epochs', '1', '--out', join(dir, 'ft3'));
  assert.equal(c.code, 2, c.stderr);
  assert.match(c.stderr, /--label: .*cont4\.csv: the label column index 0 looks continuous.*--label 3/s);
  assert.ok(!existsSync(join(dir, 'ft3')));
  const d = tsnas('finetune', model, '--dataset', 'digits', '--label', '0', '--epochs', '1', '--out', join(dir, 'ft4'));
  assert.equal(d.code, 2);
  assert.match(d.stderr, /--label: applies to --dataset csv, not digits/);
});
