/**
 * Session 9 faults of a new user (issue 17's kind):
 * 1. an objective on a cost without a direction maximized it (`--objective latency_ms` -> the
 *    slowest network, exit 0): now a config error naming the direction field and the fix;
 * 2. a search where no complete trial meets a measured constraint printed "complete" and no best
 *    line: now the summary and `status --study` say none satisfies the constraints and how to fix it;
 * 3. a constraint on the train evaluator's latency_ms without `latency: true` now names that option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricSense } from '../core/metrics.js';
import { runCaptured as cli } from './testing/run-captured.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-direction-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('metricSense: accuracies maximise, costs and losses minimise, unknown names have none', () => {
  for (const m of ['val_acc', 'test_acc', 'acc', 'val_f1', 'val_precision', 'val_recall']) assert.equal(metricSense(m), 'maximize', m);
  for (const m of ['latency_ms', 'latency_batch_ms', 'params', 'flops', 'macs', 'memory_bytes', 'size_bytes', 'train_seconds', 'val_loss', 'proxy_ms']) assert.equal(metricSense(m), 'minimize', m);
  for (const m of ['proxy_synflow', 'epochs', 'val_acc_std', 'nope']) assert.equal(metricSense(m), undefined, m);
});

test('--objective on a cost without --direction: exit 2 naming --direction minimize, nothing written; with it the fastest is found', async () => {
  const db = join(dir, 'flags.db');
  const base = ['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--trials', '4', '--study', 'x', '--storage', `sqlite:${db}`];
  const r = await cli([...base, '--objective', 'latency_ms']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--direction: is required with --objective latency_ms .*add --direction minimize/);
  assert.ok(!existsSync(db), 'no database written');
  const ok = await cli([...base, '--objective', 'latency_ms', '--direction', 'minimize', '--quiet', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const trials = await cli(['trials', '--study', 'x', '--storage', `sqlite:${db}`, '--format', 'json']);
  const all = (JSON.parse(trials.stdout) as { trials: { number: number; values: number[] }[] }).trials;
  const best = JSON.parse(ok.stdout) as { best: { number: number; values: number[] } };
  assert.equal(best.best.values[0], Math.min(...all.map((t) => t.values[0]!)), 'minimize: the fastest trial is best');
  // An accuracy or an unknown name keeps the old default (maximize).
  // (--study given once: a repeated flag is an error, not the last one winning)
  const acc = await cli([...base.map((w) => (w === 'x' ? 'acc' : w)), '--objective', 'val_acc', '--quiet']);
  assert.equal(acc.code, 0, acc.stderr);
});

test('a config objective on a cost without direction (object and string form, multi-objective): one problem per objective, field objectives[i].direction', async () => {
  const file = join(dir, 'mo.yaml');
  const db = join(dir, 'mo.db');
  writeFileSync(file, `study: mo\nstorage: sqlite:${db}\nspace: nb201\nstrategy: nsga2\nevaluator: nb201\nobjectives: [val_acc, { metric: params }, latency_ms]\ntrials: 2\n`);
  const r = await cli(['search', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /objectives\[0\]/, 'val_acc keeps maximize');
  assert.match(r.stderr, /objectives\[1\]\.direction: is required for params \(a cost or loss: lower is better\) \(write \{ metric: params, direction: minimize \}/);
  assert.match(r.stderr, /objectives\[2\]\.direction: is required for latency_ms/);
  assert.ok(!existsSync(db));
  writeFileSync(file, `study: mo\nstorage: sqlite:${db}\nspace: nb201\nstrategy: nsga2\nevaluator: nb201\nobjectives: [val_acc, { metric: latency_ms, direction: minimize }]\ntrials: 2\n`);
  const ok = await cli(['search', file, '--quiet']);
  assert.equal(ok.code, 0, ok.stderr);
});

test('no complete trial meets a measured constraint: the summary and status --study say so, name the constraint and the fix; exit 0', async () => {
  const db = join(dir, 'inf.db');
  const file = join(dir, 'inf.yaml');
  writeFileSync(file, `study: inf\nstorage: sqlite:${db}\nspace: nb201\nstrategy: random\nevaluator: nb201\nconstraints: [{ metric: val_acc, min: 99.9 }]\ntrials: 3\n`);
  const r = await cli(['search', file, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /3 complete/);
  assert.doesNotMatch(r.stdout, /^best:/m);
  const why = /no best: study inf has 3 complete trial\(s\), but none satisfies its constraints \(val_acc >= 99\.9\); .*loosen the constraints/;
  assert.match(r.stdout, why);
  const st = await cli(['status', '--study', 'inf', '--storage', `sqlite:${db}`]);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, why);
  // A feasible study prints its best line and no such note.
  writeFileSync(file, `study: ok\nstorage: sqlite:${db}\nspace: nb201\nstrategy: random\nevaluator: nb201\nconstraints: [{ metric: val_acc, min: 1 }]\ntrials: 3\n`);
  const ok = await cli(['search', file, '--quiet']);
  assert.match(ok.stdout, /^best: trial/m);
  assert.doesNotMatch(ok.stdout, /no best/);
  assert.doesNotMatch((await cli(['status', '--study', 'ok', '--storage', `sqlite:${db}`])).stdout, /no best/);
});

test('a constraint on the train evaluator\'s latency_ms without latency: true names that option; a proxy metric names the proxies option', async () => {
  const file = join(dir, 'lat.yaml');
  writeFileSync(file, `study: lat\nstorage: sqlite:${join(dir, 'lat.db')}\nspace: mlp\nstrategy: random\nevaluator: { name: train, dataset: digits, epochs: 1 }\nconstraints: [{ metric: latency_ms, max: 5 }]\ntrials: 1\n`);
  const r = await cli(['search', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /constraints\[0\]\.metric: evaluator train does not report "latency_ms" without latency: true in its options \(add latency: true to the evaluator's options/);
  writeFileSync(file, `study: px\nstorage: sqlite:${join(dir, 'px.db')}\nspace: mlp\nstrategy: random\nevaluator: { name: proxy, dataset: digits, proxies: [synflow] }\nobjectives: [{ metric: proxy_grad_norm, direction: maximize }]\ntrials: 1\n`);
  const p = await cli(['search', file]);
  assert.equal(p.code, 2, p.stderr);
  assert.match(p.stderr, /evaluator proxy does not report "proxy_grad_norm" without proxies: \[synflow, grad_norm\] in its options/);
});
