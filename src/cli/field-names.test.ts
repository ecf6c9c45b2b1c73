/**
 * Session 10, finding 4 (a) by kind: an error names a field the way the user can write it. The
 * data layer names config fields (val_fraction, test_fraction, data_dir, train_per_class,
 * hparams.batch_size), and the finetune/compress commands say their library's TypeScript option
 * names (headEpochs, finetuneEpochs) as their flags (withFlagNames).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeUntrainedDigitsModel } from '../api/testing/weights.js';
import { NasError } from '../core/errors.js';
import { withFlagNames } from './args.js';
import { runCaptured } from './testing/run-captured.js';

const SRC = dirname(dirname(fileURLToPath(import.meta.url)));

test('withFlagNames: a library option field becomes the command flag in field and text; others unchanged', () => {
  const spec = { 'head-epochs': { type: 'string' as const }, 'no-keep-zeros': { type: 'boolean' as const } };
  const e = withFlagNames(new NasError('invalid_config', 'headEpochs must be below epochs, got 3', { field: 'headEpochs', hint: 'h' }), spec) as NasError;
  assert.equal(e.field, '--head-epochs');
  assert.equal(e.message, '--head-epochs: must be below epochs, got 3 (h)');
  assert.equal(e.code, 'invalid_config');
  const k = withFlagNames(new NasError('invalid_config', 'keepZeros must be true or false', { field: 'keepZeros' }), spec, { keepZeros: 'no-keep-zeros' }) as NasError;
  assert.equal(k.field, '--no-keep-zeros');
  // a plain word is renamed as a field only, never in the text
  const w = withFlagNames(new NasError('data_error', 'the label column looks continuous', { field: 'label' }), { label: { type: 'string' } }) as NasError;
  assert.equal(w.message, '--label: the label column looks continuous');
  const other = new NasError('invalid_config', 'x', { field: 'classes' });
  assert.equal(withFlagNames(other, spec), other);
  const plain = new Error('boom');
  assert.equal(withFlagNames(plain, spec), plain);
});

test('the data layer names no field in camelCase (the config and flags are snake_case / kebab-case)', () => {
  const bad: string[] = [];
  for (const f of readdirSync(join(SRC, 'data')).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
    const text = readFileSync(join(SRC, 'data', f), 'utf8');
    for (const m of text.matchAll(/field: ['`]([^'`]*)['`]/g)) {
      // dataset.testPath is a TypeScript-API-only option (no config field or flag reads a test file)
      if (/[a-z][A-Z]/.test(m[1]!) && m[1] !== 'dataset.testPath') bad.push(`${f}: ${m[1]}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('tsnas finetune and compress name their flags, not the library options (was headEpochs, finetuneEpochs)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-fieldnames-'));
  try {
    const model = join(dir, 'model');
    writeUntrainedDigitsModel(model, { family: 'mlp', hidden: [8], activation: 'relu', batchNorm: false, dropout: 0 });
    const f = await runCaptured(['finetune', model, '--epochs', '2', '--head-epochs', '2', '--out', join(dir, 'ft')]);
    assert.equal(f.code, 2, f.stderr);
    assert.match(f.stderr, /--head-epochs: must be an integer from 0 to epochs - 1 \(1\), got 2/);
    assert.doesNotMatch(f.stderr, /headEpochs/);
    const c = await runCaptured(['compress', model, '--quantize', 'qat', '--finetune-epochs', '0', '--out', join(dir, 'cq')]);
    assert.equal(c.code, 2, c.stderr);
    assert.match(c.stderr, /--finetune-epochs: QAT needs at least 1 fine-tuning epoch/);
    assert.doesNotMatch(c.stderr, /finetuneEpochs/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
