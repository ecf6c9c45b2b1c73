/**
 * New-user finding 10 (session 9): `tsnas train dgwin` (an export directory) was `cannot read
 * architecture file dgwin (EISDIR)` while finetune and compress took the same directory. Every
 * command that takes an architecture now takes the same forms through one resolver
 * (src/api/arch-source.ts): a JSON file, an export directory, a study's trial; its errors name
 * the file or directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeUntrainedDigitsModel } from '../api/testing/weights.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnas-arch-source-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const model = join(dir, 'dgwin');
writeUntrainedDigitsModel(model, { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 });
// A process per command (as arch-check-cli.test.ts): the output of a training is not captured in-process.
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const cli = async (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const quick = ['--dataset', 'digits', '--epochs', '1', '--no-latency', '--json'];

test('tsnas train takes an export directory, as finetune and compress do', async () => {
  const r = await cli(['train', model, ...quick]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).status, 'complete');
  const file = await cli(['train', join(model, 'arch.json'), ...quick]);
  assert.equal(file.code, 0, file.stderr);
});

test('a directory without an architecture says what it is and what it holds', async () => {
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'notes.txt'), 'x');
  const r = await cli(['train', empty, '--dataset', 'digits']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${empty.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is a directory without arch\\.json \\(it holds notes\\.txt\\)`));
  const graph = join(dir, 'graph');
  mkdirSync(graph);
  writeFileSync(join(graph, 'model.json'), '{}');
  const g = await cli(['train', graph, '--dataset', 'digits']);
  assert.equal(g.code, 2, g.stderr);
  assert.match(g.stderr, /is a fine-tuned or compressed model \(model\.json, a compression graph\)/);
  const missing = await cli(['train', join(dir, 'nope.json'), '--dataset', 'digits']);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /cannot read architecture file .*nope\.json \(ENOENT\)/);
});

test('errors of an architecture file name the file', async () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ family: 'mlp', hidden: [16] }));
  const r = await cli(['train', bad, '--dataset', 'digits']);
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(`3 problems in the architecture file ${bad}:`), r.stderr);
  const one = join(dir, 'one.json');
  writeFileSync(one, JSON.stringify({ family: 'mlp', hidden: 16, activation: 'relu', batchNorm: false, dropout: 0 }));
  const o = await cli(['train', one, '--dataset', 'digits']);
  assert.equal(o.code, 2, o.stderr);
  assert.ok(o.stderr.includes(`${one}:hidden: must be an array`), o.stderr);
  // A model directory's arch.json (finetune/compress) too.
  const broken = join(dir, 'broken');
  writeUntrainedDigitsModel(broken, { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 });
  writeFileSync(join(broken, 'arch.json'), JSON.stringify({ family: 'mlp', hidden: [8], activation: 'relu', batchNorm: 'no', dropout: 0 }));
  const f = await cli(['finetune', broken, '--dataset', 'digits', '--out', join(dir, 'ft-broken')]);
  assert.equal(f.code, 2, f.stderr);
  assert.ok(f.stderr.includes(join(broken, 'arch.json')), f.stderr);
});

test('tsnas train --study [--trial]: a study trial\'s architecture; the forms are exclusive; compress takes arch.json as a file', async () => {
  const db = `sqlite:${join(dir, 's.db')}`;
  const s = await cli(['search', '--space', 'mlp_small', '--strategy', 'random', '--dataset', 'digits', '--epochs', '1', '--trials', '2', '--study', 's', '--storage', db, '--quiet']);
  assert.equal(s.code, 0, s.stderr);
  const best = await cli(['train', '--study', 's', '--storage', db, ...quick]);
  assert.equal(best.code, 0, best.stderr);
  const t0 = await cli(['train', '--study', 's', '--storage', db, '--trial', '0', ...quick]);
  assert.equal(t0.code, 0, t0.stderr);
  const t9 = await cli(['train', '--study', 's', '--storage', db, '--trial', '9', '--dataset', 'digits']);
  assert.equal(t9.code, 2, t9.stderr);
  assert.match(t9.stderr, /--trial: study s has no trial number 9 \(trial numbers run from 0 to 1/);
  const both = await cli(['train', model, '--study', 's', '--dataset', 'digits']);
  assert.equal(both.code, 2, both.stderr);
  assert.match(both.stderr, /--study: and .* both name an architecture/);
  const lone = await cli(['train', model, '--trial', '1', '--dataset', 'digits']);
  assert.equal(lone.code, 2, lone.stderr);
  assert.match(lone.stderr, /--trial: applies with --study NAME/);
  const c = await cli(['compress', join(model, 'arch.json'), '--quantize', 'dynamic', '--json', '--no-onnx', '--out', join(dir, 'c1')]);
  assert.equal(c.code, 0, c.stderr);
});
