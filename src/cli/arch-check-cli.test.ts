/**
 * New-user finding (session 9): a malformed architecture file crashed `tsnas train` with a
 * TypeError stack trace and exit 1. It is an input error now: exit 2, one message naming every
 * bad field, no stack trace; also for an exported model directory's arch.json (finetune).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeUntrainedDigitsModel } from '../api/testing/weights.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8' });

test('tsnas train: a malformed architecture is exit 2 naming the fields, no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-archcheck-'));
  try {
    for (const [arch, fields] of [
      [{ family: 'mlp', layers: [16], activation: 'relu' }, ['hidden: missing', 'layers', 'batchNorm: missing', 'dropout: missing']],
      [{ family: 'mlp', hidden: 16, activation: 'relu', batchNorm: false, dropout: 0 }, ['hidden']],
      [{ family: 'chain_cnn', layers: [{ kernel: 4, channels: 8 }], dropout: 0 }, ['layers[0].kernel', 'layers[0].skip: missing']],
      [{ arch: { family: 'nb201', ops: ['none'] }, hparams: { lr: 0.1 } }, ['arch.ops']],
    ] as const) {
      const f = join(dir, 'a.json');
      writeFileSync(f, JSON.stringify(arch));
      const r = cli(['train', f, '--dataset', 'digits', '--epochs', '1']);
      assert.equal(r.status, 2, `${JSON.stringify(arch)}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at |TypeError|unexpected error/, r.stderr);
      for (const x of fields) assert.ok(r.stderr.includes(x), `${x} not named:\n${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsnas finetune: a model directory whose arch.json is malformed is exit 2 naming the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-archcheck-'));
  try {
    const model = join(dir, 'model');
    writeUntrainedDigitsModel(model, { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 });
    writeFileSync(join(model, 'arch.json'), JSON.stringify({ family: 'mlp', hidden: '8', activation: 'relu', batchNorm: false, dropout: 0 }));
    const r = cli(['finetune', model, '--dataset', 'digits', '--epochs', '1', '--out', join(dir, 'out')]);
    assert.equal(r.status, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at |TypeError|unexpected error/, r.stderr);
    assert.match(r.stderr, /hidden/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
