/**
 * Training after magnitude pruning keeps the zeros: `tsnas finetune` of a sparse model (keepZeros,
 * default on) and a compress run on a sparse source (channel pruning's fine-tuning) hold every
 * exact zero of the layers that train; keepZeros false lets them regrow (so the check can fail).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChainCnnArch } from '../core/arch.js';
import { prepareData } from '../data/prepare.js';
import { buildNetwork } from '../nn/build/index.js';
import { decodeStateDict, encodeStateDict } from '../nn/state.js';
import { Generator, type Tensor } from '../tensor/index.js';
import { applyMasks } from '../compress/finetune.js';
import { GraphNet } from '../compress/graphnet.js';
import { lowerModule } from '../compress/lower.js';
import { compressNetwork } from '../compress/pipeline.js';
import { magnitudeMasks, prunableWeights } from '../compress/prune.js';
import { finetuneModel } from './finetune.js';

const ARCH: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0,
  layers: [
    { kernel: 3, channels: 12, activation: 'relu', batchNorm: true, pool: 1, skip: false },
    { kernel: 3, channels: 16, activation: 'relu', batchNorm: true, pool: 2, skip: false },
  ],
};

const f32 = (t: Tensor) => t.toTypedArray() as Float32Array;

test('training after magnitude pruning holds the zeros: tsnas finetune of a pruned model, channel pruning of a sparse source', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-finetune-sparse-'));
  const { module } = buildNetwork(ARCH, { shape: [1, 8, 8], numClasses: 10 }, { gen: new Generator(0) });
  const low = lowerModule(module, [1, 8, 8], 10);
  module.dispose();
  const keys = prunableWeights(low.graph);
  const masks = magnitudeMasks(low.weights, keys, 0.5, 'global', undefined, low.graph);
  applyMasks(low.weights, masks);
  for (const m of masks.values()) m.dispose();
  try {
    // A model directory as `tsnas compress` writes for its pruned stage (model.json + weights.bin).
    const src = join(dir, 'pruned');
    mkdirSync(src);
    writeFileSync(join(src, 'model.json'), JSON.stringify(low.graph) + '\n');
    writeFileSync(join(src, 'weights.bin'), encodeStateDict(low.weights, { format: 'tsnas-compress', stage: 'pruned' }));
    writeFileSync(join(src, 'metrics.json'), JSON.stringify({ dataset: { kind: 'digits' } }));
    const zerosBefore = new Map(keys.map((k) => [k, f32(low.weights.get(k)!)] as const));
    const total = [...zerosBefore.values()].reduce((s, w) => s + w.filter((x) => x === 0).length, 0);
    assert.ok(total > 300, `${total} zeros in the source`);

    const kept = await finetuneModel({ dir: src }, { classes: [5, 6, 7, 8, 9], epochs: 1, lr: 3e-3, batchSize: 16, outDir: join(dir, 'kept'), onnx: false });
    assert.equal(kept.metrics.held_zeros, total);
    const dense = await finetuneModel({ dir: src }, { classes: [5, 6, 7, 8, 9], epochs: 1, lr: 3e-3, batchSize: 16, keepZeros: false, outDir: join(dir, 'dense'), onnx: false });
    assert.equal(dense.metrics.held_zeros, 0);
    const wk = decodeStateDict(readFileSync(join(dir, 'kept', 'weights.bin'))).tensors;
    const wd = decodeStateDict(readFileSync(join(dir, 'dense', 'weights.bin'))).tensors;
    try {
      let changed = 0;
      let regrown = 0;
      for (const [k, before] of zerosBefore) {
        const a = f32(wk.get(k)!);
        const d = f32(wd.get(k)!);
        for (let j = 0; j < before.length; j++) {
          if (before[j] === 0) {
            assert.ok(a[j] === 0, `${k}[${j}] was pruned and must stay zero (-0 counts), got ${a[j]}`);
            if (d[j] !== 0) regrown++;
          } else if (a[j] !== before[j]) changed++;
        }
      }
      assert.ok(changed > total / 2, `the unpruned weights trained (${changed} changed)`);
      assert.ok(regrown > total / 2, `without keepZeros the zeros regrow (${regrown} of ${total})`);
    } finally {
      for (const t of [...wk.values(), ...wd.values()]) t.dispose();
    }

    // compress on the sparse source: channel pruning removes filters; the zeros in the channels left stay zero.
    const data = await prepareData({ kind: 'digits' });
    const net = new GraphNet(low.graph, low.weights).eval();
    try {
      const r = await compressNetwork(net, data, { prune: { kind: 'channels', flops: 0.7 }, finetuneEpochs: 1, latencyRuns: 1, outDir: join(dir, 'c'), onnx: false });
      const g = JSON.parse(readFileSync(join(dir, 'c', 'pruned', 'model.json'), 'utf8')) as typeof low.graph;
      const w = decodeStateDict(readFileSync(join(dir, 'c', 'pruned', 'weights.bin'))).tensors;
      try {
        let zeros = 0;
        let n = 0;
        for (const k of prunableWeights(g)) {
          const a = f32(w.get(k)!);
          n += a.length;
          zeros += a.filter((x) => x === 0).length;
        }
        assert.ok(r.rows[1]!.flops < r.rows[0]!.flops);
        // Filters with the largest L1 norms are kept; their zeros (about half) must survive the fine-tuning.
        assert.ok(zeros / n > 0.3, `pruned stage sparsity ${zeros}/${n}`);
      } finally {
        for (const t of w.values()) t.dispose();
      }
    } finally {
      net.dispose();
    }
  } finally {
    for (const t of low.weights.values()) t.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
