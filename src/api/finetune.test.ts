/**
 * Transfer on the shipped digits data: a small CNN trained on classes 0-4 is fine-tuned on 5-9
 * with a new head; frozen layers stay bit-identical, the head is new, the transferred features beat
 * the same network trained from fresh weights for the same small budget; bad input writes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChainCnnArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { finetuneModel } from './finetune.js';
import { sameBits, weightsOf, writeUntrainedDigitsModel } from './testing/weights.js';

const ARCH: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0,
  layers: [
    { kernel: 3, channels: 12, activation: 'relu', batchNorm: true, pool: 1, skip: false },
    { kernel: 3, channels: 16, activation: 'relu', batchNorm: true, pool: 2, skip: false },
  ],
};

const same = sameBits;

async function rejects(p: Promise<unknown>, code: string, field: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => isNasError(e) && e.code === code && e.field === field);
}

test('finetune: digits 0-4 -> 5-9, frozen layers bit-identical, new head, transfer beats scratch; bad input writes nothing', { timeout: 600_000 }, async (t0) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-finetune-'));
  try {
    // An exported-style directory with untrained weights; the first fine-tune trains it on classes 0-4.
    const exp = join(dir, 'export');
    writeUntrainedDigitsModel(exp, ARCH);
    const src = join(dir, 'src04');
    const s = await finetuneModel({ dir: exp }, { classes: [0, 1, 2, 3, 4], epochs: 5, lr: 3e-3, batchSize: 16, outDir: src, onnx: false });
    assert.equal(s.metrics.num_classes, 5);
    assert.ok(s.metrics.test_acc > 90, `source model trained on 0-4: ${s.metrics.test_acc}`);
    const m = JSON.parse(readFileSync(join(src, 'metrics.json'), 'utf8')) as { classes: number[]; input_shape: number[]; dataset: { kind: string } };
    assert.deepEqual(m.classes, [0, 1, 2, 3, 4]);
    assert.deepEqual(m.input_shape, [1, 8, 8]);

    // Transfer to 5-9 with every feature layer frozen vs the same network from fresh weights, same budget.
    const t = await finetuneModel({ dir: src }, { dataset: { kind: 'digits' }, classes: [5, 6, 7, 8, 9], freeze: 'features', epochs: 1, lr: 3e-3, batchSize: 16, outDir: join(dir, 'tr') });
    const sc = await finetuneModel({ dir: src }, { dataset: { kind: 'digits' }, classes: [5, 6, 7, 8, 9], freeze: 'features', epochs: 1, lr: 3e-3, batchSize: 16, init: 'scratch' });
    t0.diagnostic(`source 0-4: ${s.metrics.test_acc.toFixed(2)}%; 5-9 frozen features, 1 epoch: transfer ${t.metrics.test_acc.toFixed(2)}% vs scratch ${sc.metrics.test_acc.toFixed(2)}%`);
    assert.equal(t.metrics.frozen_layers, 2);
    assert.equal(t.metrics.layers, 2);
    assert.ok(t.metrics.trainable_params < t.metrics.params / 2);
    assert.ok(t.metrics.test_acc > sc.metrics.test_acc + 2.5, `transfer ${t.metrics.test_acc}% vs scratch ${sc.metrics.test_acc}%`);
    assert.deepEqual(readdirSync(join(dir, 'tr')).sort(), ['metrics.json', 'model.json', 'model.onnx', 'weights.bin']);

    const before = weightsOf(src);
    const after = weightsOf(join(dir, 'tr'));
    const graph = JSON.parse(readFileSync(join(dir, 'tr', 'model.json'), 'utf8')) as { nodes: { kind: string }[] };
    const headIdx = graph.nodes.map((n, i) => [n.kind, i] as const).filter(([k]) => k === 'linear').map(([, i]) => i).at(-1)!;
    let frozenChecked = 0;
    for (const [k, a] of after) {
      const b = before.get(k)!;
      if (k.startsWith(`n${headIdx}.`)) assert.ok(!same(a, b), `head ${k} is new`);
      else {
        assert.ok(same(a, b), `frozen ${k} bit-identical (running statistics included)`);
        frozenChecked++;
      }
    }
    assert.ok(frozenChecked >= 8);

    // --freeze 1: the first conv and its batch norm are kept, the second conv trains.
    const f1 = join(dir, 'f1');
    await finetuneModel({ dir: src }, { classes: [5, 6, 7, 8, 9], freeze: 1, epochs: 1, outDir: f1, onnx: false });
    const w1 = weightsOf(f1);
    const convs = graph.nodes.map((n, i) => [n.kind, i] as const).filter(([k]) => k === 'conv').map(([, i]) => i);
    assert.ok(same(w1.get(`n${convs[0]}.weight`)!, before.get(`n${convs[0]}.weight`)!));
    assert.ok(same(w1.get(`n${convs[0]! + 1}.running_mean`)!, before.get(`n${convs[0]! + 1}.running_mean`)!), 'frozen batch norm statistics');
    assert.ok(!same(w1.get(`n${convs[1]}.weight`)!, before.get(`n${convs[1]}.weight`)!));
    for (const m of [before, after, w1]) for (const x of m.values()) x.dispose();

    // Bad input: each names its option, and nothing is written.
    const csv = join(dir, 'tab.csv');
    writeFileSync(csv, ['a,b,c,label', ...Array.from({ length: 40 }, (_, i) => `${i % 3},${i % 5},${i % 7},${i % 2}`)].join('\n') + '\n');
    const bad = join(dir, 'bad');
    await rejects(finetuneModel({ dir: src }, { dataset: { kind: 'csv', path: csv }, outDir: bad }), 'shape_mismatch', 'dataset');
    await rejects(finetuneModel({ dir: src }, { classes: [], outDir: bad }), 'invalid_config', 'classes');
    await rejects(finetuneModel({ dir: src }, { classes: [5, 10], outDir: bad }), 'invalid_config', 'classes');
    await rejects(finetuneModel({ dir: src }, { freeze: 3, outDir: bad }), 'invalid_config', 'freeze');
    await rejects(finetuneModel({ dir: src }, { epochs: 0, outDir: bad }), 'invalid_config', 'epochs');
    await rejects(finetuneModel({ dir: exp }, { outDir: join(dir, 'tr') }), 'invalid_config', 'out');
    assert.deepEqual(readdirSync(dir).sort(), ['export', 'f1', 'src04', 'tab.csv', 'tr']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
