/**
 * Issue 17, messages by kind: what is missing is said of the source the user gave. `tsnas train
 * --study S` of a study that trained nothing (the NB201 table) said "no dataset given, and the
 * architecture has no metrics.json beside it recording one" (new user 10b, finding 7): the user
 * gave a study, not a file. Siblings: an export of such a study (its metrics.json records no
 * dataset: it was there), an architecture file without metrics.json, --no-record, and finetune /
 * compress of such a study or export ("kept no weights: use keep_weights" of a study that never
 * trained).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from './testing/run-captured.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-model-source-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const db = ['--storage', `sqlite:${join(dir, 'n.db')}`];
const exported = join(dir, 'nbx');

test.before(async () => {
  const s = await runCaptured(['search', '--space', 'nb201', '--strategy', 'random', '--evaluator', 'nb201', '--trials', '3', '--study', 'nb', '--quiet', ...db]);
  assert.equal(s.code, 0, s.stderr);
  const e = await runCaptured(['export', '--study', 'nb', ...db, '--out', exported]);
  assert.equal(e.code, 0, e.stderr);
});

test('tsnas train without --dataset: the message names the source given (a study, an export, a file, --no-record)', async () => {
  const arch = join(dir, 'm.json');
  writeFileSync(arch, JSON.stringify({ family: 'mlp', hidden: [4], activation: 'relu', batchNorm: false, dropout: 0 }));
  const cases: [string[], RegExp][] = [
    [['train', '--study', 'nb', ...db, '--trial', '0'], /--dataset: no dataset given, and the study of nb trial 0 was evaluated by nb201, not by training on a dataset, so it records no dataset/],
    [['train', '--study', 'nb', ...db], /the study of nb trial \d \(the best\) was evaluated by nb201/],
    [['train', exported], /no dataset given, and .*nbx[/\\]metrics\.json records none: its study was evaluated by nb201/],
    [['train', join(exported, 'arch.json')], /.*nbx[/\\]metrics\.json records none: its study was evaluated by nb201/],
    [['train', arch], /no dataset given, and .*m\.json has no metrics\.json beside it recording one, as an export has/],
    [['train', exported, '--no-record'], /no dataset given, and the record beside .*nbx is not read \(--no-record\)/],
  ];
  for (const [args, re] of cases) {
    const r = await runCaptured([...args, '--epochs', '1']);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, `${args.join(' ')}: ${r.stderr}`);
    // a study is never said to be a file without metrics.json
    if (args.includes('--study')) assert.doesNotMatch(r.stderr, /metrics\.json/, r.stderr);
  }
});

test('finetune / compress of a study or export that trained nothing: said so, not "kept no weights: use keep_weights"', async () => {
  for (const cmd of ['finetune', 'compress']) {
    const extra = cmd === 'compress' ? ['--quantize', 'dynamic'] : [];
    const s = await runCaptured([cmd, '--study', 'nb', ...db, ...extra, '--out', join(dir, `${cmd}-s`)]);
    assert.equal(s.code, 2, s.stderr);
    assert.match(s.stderr, /--study: trial \d of study nb has no trained weights: the study was evaluated by nb201, not by training networks \(a trained network is needed: use a study searched with the train evaluator/, s.stderr);
    assert.doesNotMatch(s.stderr, /keep_weights/);
    const e = await runCaptured([cmd, exported, ...extra, '--out', join(dir, `${cmd}-e`)]);
    assert.equal(e.code, 2, e.stderr);
    assert.match(e.stderr, /weights\.bin does not exist: .*metrics\.json records a study that was evaluated by nb201, not by training networks/, e.stderr);
  }
});
