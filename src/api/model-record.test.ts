/** The one loader of what was recorded with a trained model (model-record.ts) and how stages use it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readArchRecord, recordOfEvaluator, recordOfSplit, stageData, stageSplit } from './model-record.js';
import { withRecord } from './train.js';

const EV = { name: 'train', options: { dataset: 'digits', train_per_class: 20, val_fraction: 0.2, split_seed: 3, nb201: { width: 4, cells: 1 }, epochs: 2 } };

test('readArchRecord: metrics.json beside arch.json (or in the directory); none for another evaluator, a missing or broken file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-record-'));
  try {
    writeFileSync(join(dir, 'arch.json'), '{}');
    assert.equal(readArchRecord(join(dir, 'arch.json')), undefined);
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ evaluator: EV, costs: { params: 1234 } }));
    for (const p of [join(dir, 'arch.json'), dir]) {
      const r = readArchRecord(p)!;
      assert.equal(r.params, 1234);
      assert.deepEqual(r.nb201, { width: 4, cells: 1 });
      assert.deepEqual(r.split, { trainPerClass: 20, valFraction: 0.2, seed: 3 });
      assert.equal(r.dataset.kind, 'digits');
    }
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ evaluator: { name: 'nb201', options: {} } }));
    assert.equal(readArchRecord(dir), undefined);
    writeFileSync(join(dir, 'metrics.json'), '{not json');
    assert.equal(readArchRecord(dir), undefined);
    assert.equal(readArchRecord(join(dir, 'missing.json')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('withRecord: builder options always, data settings on the same (or no) dataset; given options win and are named', () => {
  const rec = recordOfEvaluator(EV, 'm.json', 10)!;
  const a = withRecord({ latency: false }, rec);
  assert.deepEqual(a.options, { latency: false, dataset: 'digits', train_per_class: 20, val_fraction: 0.2, split_seed: 3, nb201: { width: 4, cells: 1 }, epochs: 2 });
  assert.deepEqual(a.overridden, []);
  assert.ok(a.recorded.includes('epochs'), 'the recorded epochs are the default (new user 10b finding 2)');
  assert.deepEqual(withRecord({ epochs: 5 }, rec).overridden, ['epochs'], 'other epochs are named');
  const b = withRecord({ dataset: 'digits', train_per_class: 5, nb201: { width: 8 } }, rec);
  assert.equal(b.options['train_per_class'], 5);
  assert.deepEqual(b.overridden.sort(), ['nb201', 'train_per_class']);
  const c = withRecord({ dataset: 'fashion_mnist' }, rec);
  assert.deepEqual(c.recorded, ['nb201', 'epochs'], 'other data: only the builder options and training settings');
  assert.deepEqual(withRecord({ dataset: 'digits' }, undefined), { options: { dataset: 'digits' }, recorded: [], overridden: [] });
});

test('stageSplit / stageData: the recorded subset by default, an override said, nothing recorded on other data', () => {
  const rec = recordOfEvaluator(EV, 'm.json')!;
  const d = { name: 'digits', train: { indices: new Array(200) }, val: { indices: new Array(40) }, test: { indices: new Array(360) } } as never;
  const own = stageSplit(rec, true, {});
  assert.deepEqual(own.split, { trainPerClass: 20, valFraction: 0.2, seed: 3 });
  assert.match(stageData(d, rec, true, own).line, /^data: digits, 200 train \/ 40 val \/ 360 test rows \(train_per_class 20, val_fraction 0\.2, split_seed 3\), as recorded with the model$/);
  const all = stageSplit(rec, true, { trainPerClass: 'all' });
  assert.equal(all.split.trainPerClass, undefined);
  assert.deepEqual(all.overridden, ['train_per_class']);
  assert.match(stageData(d, rec, true, all).line, /--train-per-class all: the whole training split, not the model's recorded train_per_class 20/);
  const seed = stageSplit(rec, true, { splitSeed: 0 });
  assert.match(seed.said.join(), /split seed 0, not the model's 3/);
  const other = stageSplit(rec, false, {});
  assert.deepEqual(other.split, {});
  assert.match(stageData(d, rec, false, other).line, /other data than the model's/);
  assert.match(stageData(d, undefined, true, stageSplit(undefined, true, {})).line, /no training data recorded with the model: the whole training split/);
});

test('train({ record }): an architecture taken from a study trial is built and trained as its record says; a params mismatch is refused', async () => {
  const { train } = await import('./train.js');
  const { analyzeArch } = await import('../nn/build/index.js');
  const arch = { family: 'nb201', ops: ['nor_conv_3x3', 'skip_connect', 'nor_conv_1x1', 'avg_pool_3x3', 'none', 'nor_conv_3x3'] };
  const params = analyzeArch(arch as never, { shape: [1, 8, 8], numClasses: 10 }, { nb201: { width: 4, cells: 1 } }).params;
  const rec = recordOfEvaluator(EV, 'study s', params)!;
  const r = await train({ arch, options: { epochs: 1, latency: false }, record: rec });
  assert.equal(r.costs['params'], params);
  assert.equal(r.data?.train, 200);
  assert.deepEqual(r.data?.recorded, ['dataset', 'train_per_class', 'val_fraction', 'split_seed', 'nb201']);
  assert.deepEqual(r.data?.overridden, ['epochs']);
  await assert.rejects(
    () => train({ arch, options: { epochs: 1, latency: false }, record: { ...rec, params: params + 1 } }),
    (e: unknown) => (e as { code?: string }).code === 'shape_mismatch' && /records \d+/.test((e as Error).message),
  );
});

test('recordOfSplit: a fine-tuned model\'s recorded split (numbers only); none without one', () => {
  const r = recordOfSplit({ trainPerClass: 20, seed: 3, valFraction: 'x' }, { kind: 'digits' }, 'f/metrics.json')!;
  assert.deepEqual(r.split, { trainPerClass: 20, seed: 3 });
  assert.equal(r.nb201, undefined);
  for (const v of [undefined, null, 3, [1]]) assert.equal(recordOfSplit(v, { kind: 'digits' }, 'x'), undefined);
});
