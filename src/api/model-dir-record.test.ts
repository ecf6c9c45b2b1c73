/**
 * Every model directory tsnas writes carries its record (issue 17, kind: "a model's record"):
 * a compress run's stage directories (`OUT/float`, `OUT/pruned`, `OUT/int8`), a finetune output
 * and tsnas main's compressed winner record the data, split, classes and augmentation they were
 * trained on, so a later finetune/compress of them uses the same rows and refuses a split whose
 * validation or test rows they trained on (before: no metrics.json in a stage directory, a later
 * stage needed --dataset and used the whole split). The augmentation of a model's training
 * (tsnas main's final training: hflip) is recorded and reused on its own data, said either way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MlpArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { decodeStateDict } from '../nn/state.js';
import { writeUntrainedModel } from './testing/weights.js';
import { compressModel } from './compress.js';
import { finetuneModel } from './finetune.js';
import { readArchRecord, recordOfSplit, stageAugment } from './model-record.js';
import { withRecord } from './train.js';
import { mainFinalRecord } from './main-job.js';

const ARCH: MlpArch = { family: 'mlp', hidden: [16], activation: 'relu', batchNorm: false, dropout: 0 };
const DIGITS = { shape: [1, 8, 8], numClasses: 10 };
const EV = { dataset: 'digits', train_per_class: 20, val_fraction: 0.2, split_seed: 3 };
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;

test('compress stage directories record their data: a finetune/compress of OUT/float or OUT/pruned uses the recorded rows and refuses an overlapping split', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-dir-record-'));
  try {
    writeUntrainedModel(join(dir, 'model'), ARCH, DIGITS, EV);
    const out = join(dir, 'c');
    await compressModel({ dir: join(dir, 'model') }, { prune: { kind: 'magnitude', sparsity: 0.5 }, finetuneEpochs: 1, quantize: 'dynamic', outDir: out, latencyRuns: 1, onnx: false, trainPerClass: 'all' });
    assert.deepEqual(readdirSync(out).sort(), ['float', 'int8', 'pruned', 'report.json']);
    const float = json(join(out, 'float', 'metrics.json'));
    const pruned = json(join(out, 'pruned', 'metrics.json'));
    const int8 = json(join(out, 'int8', 'metrics.json'));
    // The float stage is the model as it was trained: the model's own record.
    assert.deepEqual(float['dataset'], { kind: 'digits' });
    assert.deepEqual(float['split'], { trainPerClass: 20, valFraction: 0.2, seed: 3 });
    // The pruned stage was fine-tuned here on the whole training split (--train-per-class all).
    assert.deepEqual(pruned['split'], { valFraction: 0.2, seed: 3 });
    // Dynamic int8 is the pruned network quantized: its record.
    assert.deepEqual(int8['split'], pruned['split']);
    for (const m of [float, pruned, int8]) {
      assert.equal(m['format'], 'tsnas-compress');
      assert.equal(typeof (m['metrics'] as { test_acc?: unknown }).test_acc, 'number');
      assert.equal(m['augment'], null);
    }
    // A later finetune of OUT/float, no --dataset: the float stage's recorded 20 rows per class.
    const lines: string[] = [];
    await finetuneModel({ dir: join(out, 'float') }, { epochs: 1, onnx: false, outDir: join(dir, 'f1'), onData: (l) => lines.push(l) });
    assert.match(lines.join('\n'), /data: digits, 200 train \/ \d+ val \/ \d+ test rows \(train_per_class 20, val_fraction 0\.2, split_seed 3\), as recorded with the model/);
    // compress of OUT/pruned: its own record (the whole training split), not the whole data by default with a note.
    const c2 = await compressModel({ dir: join(out, 'pruned') }, { quantize: 'dynamic', outDir: join(dir, 'c2'), latencyRuns: 1, onnx: false });
    const report = json(join(dir, 'c2', 'report.json'));
    assert.match((report['data'] as { line: string }).line, /val_fraction 0\.2, split_seed 3\), as recorded with the model/);
    assert.equal(c2.rows.length, 2);
    // A split whose test rows the stage trained on is refused, nothing written.
    await assert.rejects(finetuneModel({ dir: join(out, 'pruned') }, { epochs: 1, testFraction: 0.5, outDir: join(dir, 'f2') }), (e: unknown) => isNasError(e, 'invalid_config') && /rows the model was trained on/.test(e.message));
    await assert.rejects(compressModel({ dir: join(out, 'float') }, { quantize: 'dynamic', splitSeed: 7, outDir: join(dir, 'c3') }), (e: unknown) => isNasError(e, 'invalid_config') && /rows the model was trained on/.test(e.message));
    assert.deepEqual(readdirSync(dir).sort(), ['c', 'c2', 'f1', 'model']);
    // The finetune output records the split it trained on in turn.
    assert.deepEqual(json(join(dir, 'f1', 'metrics.json'))['split'], { trainPerClass: 20, valFraction: 0.2, seed: 3 });
    // The stage weights carry the normalisation their inputs got (a later stage scales inputs the same way).
    for (const s of ['float', 'pruned']) {
      const { tensors, meta } = decodeStateDict(readFileSync(join(out, s, 'weights.bin')));
      for (const t of tensors.values()) t.dispose();
      assert.equal(typeof (meta['normalization'] as { scale?: unknown }).scale, 'number', s);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a retrained winner\'s final_record replaces the search split in its record; its augmentation is reused on its own data and said, not on other data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-dir-record-'));
  try {
    const model = join(dir, 'model');
    writeUntrainedModel(model, ARCH, DIGITS, { ...EV, val_per_class: 5, budget_samples: 100, epochs: 3 });
    // An export of a tsnas main study: metrics.json with the search's evaluator and the final training's record.
    const m = json(join(model, 'metrics.json'));
    writeFileSync(join(model, 'metrics.json'), JSON.stringify({ ...m, final_record: mainFinalRecord(2) }));
    const rec = readArchRecord(model)!;
    assert.deepEqual(rec.split, { seed: 0, valFraction: 0 });
    assert.deepEqual(rec.augment, { hflip: true });
    assert.equal(rec.options['epochs'], 2);
    assert.equal(rec.options['val_fraction'], 0.2, 'the options keep the search split (a training anew validates on it)');
    assert.equal(rec.options['budget_samples'], undefined);
    assert.match(rec.from, /its final training/);
    // tsnas train of the export: the recorded augmentation is used (and named) on the same data, not on other data.
    const same = withRecord({}, rec);
    assert.deepEqual(same.augment, { hflip: true });
    assert.ok(same.recorded.includes('augment'));
    assert.equal(withRecord({ dataset: 'csv', path: 'x.csv' }, rec).augment, undefined);
    assert.match(stageAugment(rec, false, [1, 8, 8], 'fine-tuning').line!, /not used for fine-tuning on other data/);
    // finetune on its own data: the default split would test on rows it trained on (no validation split recorded).
    await assert.rejects(finetuneModel({ dir: model }, { epochs: 1, valFraction: 0.1, outDir: join(dir, 'x') }), (e: unknown) => isNasError(e, 'invalid_config') && /validation rows are rows the model was trained on/.test(e.message));
    const lines: string[] = [];
    const a = await finetuneModel({ dir: model }, { epochs: 1, onnx: false, outDir: join(dir, 'fa'), onData: (l) => lines.push(l) });
    assert.match(lines.join('\n'), /augmentation: hflip in fine-tuning, as recorded with the model/);
    const fa = json(join(dir, 'fa', 'metrics.json'));
    assert.deepEqual(fa['augment'], { hflip: true });
    assert.deepEqual(fa['split'], { seed: 0, valFraction: 0 });
    assert.deepEqual(recordOfSplit(fa['split'], { kind: 'digits' }, 'x', fa['augment'])!.augment, { hflip: true });
    // The same model without the recorded augmentation trains on other batches: the record is what changed the loss.
    writeFileSync(join(model, 'metrics.json'), JSON.stringify({ ...m, final_record: { ...mainFinalRecord(2), augment: undefined } }));
    const b = await finetuneModel({ dir: model }, { epochs: 1, onnx: false, outDir: join(dir, 'fb') });
    assert.equal(json(join(dir, 'fb', 'metrics.json'))['augment'], null);
    assert.notEqual(a.metrics.train_loss, b.metrics.train_loss);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
