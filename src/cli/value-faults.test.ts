/**
 * New-user finding 10 (session 9), by kind, from the CLI:
 * - every enumerated flag and config enum answers a wrong value with a did-you-mean, and a common
 *   synonym with the value it stands for (`--quantize int8` -> static, `--direction max`);
 * - every place a metric name is taken suggests the metric meant (`--objective val_accuracy`);
 * - a command that builds a config or API options from its flags names the flag in its errors
 *   (`--path: is required`, not `evaluator.path`);
 * - `tsnas search`/`repeat` take `tsnas train`'s evaluator flags (--epochs ...), and a flag that
 *   is a config-only setting says where it goes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured as cli } from './testing/run-captured.js';
import { writeUntrainedDigitsModel } from '../api/testing/weights.js';
import { prepareSearch } from '../api/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-value-faults-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const model = join(dir, 'dgwin');
writeUntrainedDigitsModel(model, { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 });
const db = `sqlite:${join(dir, 'x.db')}`;
const nb = ['--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--trials', '2', '--storage', db];

test('enumerated flags of every command: synonyms and misspellings get the value meant', async () => {
  const cases: [string[], RegExp][] = [
    [['compress', model, '--quantize', 'int8'], /--quantize: unknown value "int8"; did you mean static \(every mode is int8; /],
    [['compress', model, '--quantize', 'ptq'], /--quantize: .*did you mean static \(post-training quantization\)\?/],
    [['compress', model, '--quantize', 'dynamc'], /--quantize: .*did you mean dynamic\?/],
    [['compress', model, '--prune', 'sparsity=0.5', '--prune-scope', 'local'], /--prune-scope: .*did you mean layer/],
    [['compress', model, '--prune', 'sparsity=0.5', '--prune-schedule', 'iterative'], /--prune-schedule: .*did you mean gradual\?/],
    [['compress', model, '--prune', 'channels=0.5', '--prune-criterion', 'magnitude'], /--prune-criterion: .*did you mean l1/],
    [['compress', model, '--quantize', 'static', '--qengine', 'fbgemm'], /--qengine: .*did you mean onednn/],
    [['compress', model, '--quantize', 'static', '--dataset', 'fmnist'], /--dataset: .*did you mean fashion_mnist\?/],
    [['finetune', model, '--dataset', 'cifar-10'], /--dataset: .*did you mean cifar10\?/],
    [['train', join(model, 'arch.json'), '--dataset', 'fashion'], /--dataset: .*did you mean fashion_mnist\?/],
    [['train', join(model, 'arch.json'), '--dataset', 'csv', '--path', 'x.csv', '--header', 'yes'], /--header: .*did you mean true\?/],
    [['search', ...nb, '--objective', 'val_acc', '--direction', 'max'], /--direction: .*did you mean maximize\?/],
    [['search', '--space', 'nb201', '--strategy', 're', '--evaluator', 'nb201', '--storage', db], /--strategy: .*did you mean evolution \(regularized evolution/],
    [['search', '--space', 'mlp_small', '--strategy', 'random', '--dataset', 'csv', '--path', 'x.csv', '--header', 'none', '--storage', db], /--header: .*did you mean false \(pandas' header=None/],
    [['repeat', '--seeds', '0,1', ...nb, '--objective', 'val_acc', '--direction', 'max'], /--direction: .*did you mean maximize\?/],
    [['trials', '--study', 'x', '--storage', db, '--state', 'completed'], /--state: .*did you mean complete\?/],
    [['trials', '--study', 'x', '--storage', db, '--format', 'text'], /--format: .*did you mean table\?/],
    [['export', '--study', 'x', '--storage', db, '--format', 'tsv'], /--format: .*did you mean csv\?/],
    [['ensemble', '--study', 'x', '--storage', db, '--method', 'greedy'], /--method: .*did you mean caruana/],
    [['ensemble', '--study', 'x', '--storage', db, '--method', 'caruana', '--metric', 'accuracy'], /--metric: .*did you mean acc\?/],
    [['ensemble', '--study', 'x', '--storage', db, '--k', '2', '--final', 'cv'], /--final: .*did you mean folds/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('config enums: direction, tie-break direction, strategy, dataset and header get the same suggestions', async () => {
  const file = join(dir, 'enums.yaml');
  writeFileSync(file, `study: e\nstorage: ${db}\nspace: mlp_small\nstrategy: rs\nevaluator: { name: train, dataset: cifar-10, header: yes }\nobjectives:\n  - { metric: val_acc, direction: max, tie_break: { metric: val_loss, direction: lower } }\n`);
  const r = await cli(['search', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /objectives\[0\]\.direction: unknown value "max"; did you mean maximize\?/);
  assert.match(r.stderr, /objectives\[0\]\.tie_break\.direction: unknown value "lower"; did you mean minimize\?/);
  assert.match(r.stderr, /strategy: unknown strategy "rs"; did you mean random \(random search\)\?/);
  assert.match(r.stderr, /evaluator\.dataset: unknown value "cifar-10"; did you mean cifar10\?/);
});

test('metric names: --objective, tie-breaks and constraints suggest the metric meant, named by where they were written', async () => {
  const r = await cli(['search', ...nb, '--objective', 'val_accuracy']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--objective: evaluator nb201 does not report "val_accuracy"; did you mean val_acc\?/);
  assert.doesNotMatch(r.stderr, /objectives\[0\]/, 'the flag, not the config field');
  const file = join(dir, 'metrics.yaml');
  writeFileSync(
    file,
    `study: m\nstorage: ${db}\nspace: nb201\nstrategy: random\nevaluator: nb201\nobjectives:\n  - { metric: accuracy, direction: maximize, tie_break: { metric: num_params, direction: minimize } }\nconstraints:\n  - { metric: latency, max: 50 }\n`,
  );
  const c = await cli(['search', file]);
  assert.equal(c.code, 2, c.stderr);
  assert.match(c.stderr, /objectives\[0\]\.metric: .*"accuracy"; did you mean val_acc\?/);
  assert.match(c.stderr, /objectives\[0\]\.tie_break\.metric: .*"num_params"; did you mean params\?/);
  assert.match(c.stderr, /constraints\[0\]\.metric: .*"latency"; did you mean latency_ms\?/);
});

test('errors of a config or options built from flags name the flags (train, search, finetune, compress)', async () => {
  const train = await cli(['train', join(model, 'arch.json'), '--dataset', 'csv']);
  assert.equal(train.code, 2, train.stderr);
  assert.match(train.stderr, /--path: is required/);
  assert.doesNotMatch(train.stderr, /evaluator\.path/);
  const search = await cli(['search', '--space', 'mlp_small', '--strategy', 'random', '--dataset', 'csv', '--storage', db]);
  assert.equal(search.code, 2, search.stderr);
  assert.match(search.stderr, /--path: is required/);
  assert.doesNotMatch(search.stderr, /evaluator\.path/);
  // A config file's own field keeps its name there.
  const file = join(dir, 'nopath.yaml');
  writeFileSync(file, `study: p\nstorage: ${db}\nspace: mlp_small\nstrategy: random\nevaluator: { name: train, dataset: csv }\n`);
  const fromFile = await cli(['search', file]);
  assert.equal(fromFile.code, 2, fromFile.stderr);
  assert.match(fromFile.stderr, /evaluator\.path: /);
  const ft = await cli(['finetune', model, '--dataset', 'digits', '--epochs', '2', '--head-epochs', '5', '--out', join(dir, 'f1')]);
  assert.equal(ft.code, 2, ft.stderr);
  assert.match(ft.stderr, /--head-epochs: /);
  const cp = await cli(['compress', model, '--prune', 'sparsity=0.8', '--prune-min-density', '0.5', '--out', join(dir, 'c1')]);
  assert.equal(cp.code, 2, cp.stderr);
  assert.match(cp.stderr, /--prune-min-density: /);
  assert.doesNotMatch(cp.stderr, /prune\.minDensity:/);
});

test('search/repeat take train\'s evaluator flags; config-only settings say where they go', async () => {
  const p = prepareSearch({ flags: { space: 'mlp_small', strategy: 'random', dataset: 'digits', epochs: '2', 'train-per-class': '20', 'split-seed': '3', storage: db } });
  assert.deepEqual([p.config.evaluator.options['epochs'], p.config.evaluator.options['train_per_class'], p.config.evaluator.options['split_seed']], [2, 20, 3], 'numbers, as a config file writes them');
  const bad = await cli(['search', '--space', 'mlp_small', '--strategy', 'random', '--dataset', 'digits', '--epochs', '0', '--storage', db]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--epochs: must be a positive integer/);
  const nbEpochs = await cli(['search', ...nb, '--epochs', '3']);
  assert.equal(nbEpochs.code, 2, nbEpochs.stderr);
  assert.match(nbEpochs.stderr, /--epochs: applies to the train evaluator/);
  const cv = await cli(['search', '--space', 'mlp_small', '--strategy', 'random', '--dataset', 'digits', '--cv-folds', '3', '--storage', db]);
  assert.equal(cv.code, 2, cv.stderr);
  assert.match(cv.stderr, /unknown option --cv-folds: this command has no flag for it; cv_folds is a train evaluator option: write it in a config file/);
  const rep = await cli(['repeat', '--seeds', '0,1', '--space', 'mlp_small', '--strategy', 'random', '--dataset', 'digits', '--batch-size', '8']);
  assert.match(rep.stderr, /unknown option --batch-size: .*batchSize is a training hyperparameter/);
  const lr = await cli(['train', join(model, 'arch.json'), '--dataset', 'digits', '--lr', '0.1']);
  assert.equal(lr.code, 2, lr.stderr);
  assert.match(lr.stderr, /unknown option --lr: .*"hparams"/);
});
