/** `tsnas finetune MODEL_DIR` in a real process: a new model directory, and bad input exits 2 naming the option, writing nothing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MlpArch } from '../core/arch.js';
import { writeUntrainedDigitsModel } from '../api/testing/weights.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8' });

test('tsnas finetune MODEL_DIR --classes 5-9: metrics as JSON, a model directory; bad input exits 2 and writes nothing', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-cli-finetune-'));
  try {
    const arch: MlpArch = { family: 'mlp', hidden: [16, 16], activation: 'relu', batchNorm: false, dropout: 0 };
    const model = join(dir, 'model');
    writeUntrainedDigitsModel(model, arch);
    const out = join(dir, 'out');
    const r = cli(['finetune', model, '--classes', '5-9', '--freeze', '1', '--epochs', '1', '--out', out, '--no-onnx', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout) as { num_classes: number; frozen_layers: number; layers: number; dir: string };
    assert.deepEqual([m.num_classes, m.frozen_layers, m.layers, m.dir], [5, 1, 2, out]);
    assert.deepEqual(readdirSync(out).sort(), ['metrics.json', 'model.json', 'weights.bin']);
    assert.deepEqual((JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { classes: number[] }).classes, [5, 6, 7, 8, 9]);
    const csv = join(dir, 'tab.csv');
    writeFileSync(csv, ['a,b,label', ...Array.from({ length: 30 }, (_, i) => `${i % 3},${i % 5},${i % 2}`)].join('\n') + '\n');
    for (const [flags, field, hint] of [
      [['--freeze', '3'], 'freeze', /--freeze 0\.\.2/],
      [['--classes', ','], 'classes', /5-9/],
      [['--classes', '8-12'], 'classes', /0-9/],
      [['--dataset', 'csv', '--data-dir', csv], 'dataset', /\[1, 8, 8\]/],
    ] as const) {
      const bad = cli(['finetune', model, ...flags, '--epochs', '1', '--out', join(dir, 'bad')]);
      assert.equal(bad.status, 2, `${flags.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, new RegExp(field));
      assert.match(bad.stderr, hint);
      assert.deepEqual(readdirSync(dir).sort(), ['model', 'out', 'tab.csv'], `${field}: nothing written`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
