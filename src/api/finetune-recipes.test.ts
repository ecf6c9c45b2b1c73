/**
 * `tsnas finetune`'s transfer recipes (bodyLrScale: discriminative rates; headEpochs: the new head
 * alone first, LP-FT) on the shipped digits data: recorded in metrics.json; with the defaults the
 * run is the plain recipe's, bit for bit; a smaller body rate moves every transferred conv less;
 * bad values are errors naming the option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChainCnnArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { noGrad, setNumThreads, getNumThreads, tidy, type Tensor } from '../tensor/index.js';
import { finetuneModel } from './finetune.js';
import { sameBits, weightsOf, writeUntrainedDigitsModel } from './testing/weights.js';

const ARCH: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0,
  layers: [
    { kernel: 3, channels: 8, activation: 'relu', batchNorm: true, pool: 2, skip: false },
    { kernel: 3, channels: 8, activation: 'relu', batchNorm: true, pool: 1, skip: false },
  ],
};

const same = sameBits;

test('finetune recipes: head epochs keep the body bit-identical; defaults equal the plain recipe; bad values name the option', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-finetune-recipes-'));
  const threads = getNumThreads();
  setNumThreads(1);
  try {
    const exp = join(dir, 'export');
    writeUntrainedDigitsModel(exp, ARCH);
    const src = join(dir, 'src');
    await finetuneModel({ dir: exp }, { classes: [0, 1, 2, 3, 4], epochs: 1, lr: 3e-3, batchSize: 32, outDir: src, onnx: false });
    const before = weightsOf(src);
    const run = async (name: string, o: Parameters<typeof finetuneModel>[1]) => {
      await finetuneModel({ dir: src }, { classes: [5, 6, 7, 8, 9], batchSize: 32, lr: 3e-3, outDir: join(dir, name), onnx: false, ...o });
      return weightsOf(join(dir, name));
    };

    // The recipe is recorded (the mechanism itself: src/compress/finetune-groups.test.ts).
    const warm = await run('warm', { epochs: 2, headEpochs: 1, bodyLrScale: 0.5 });
    const meta = JSON.parse(readFileSync(join(dir, 'warm', 'metrics.json'), 'utf8')) as { head_epochs: number; body_lr_scale: number };
    assert.deepEqual([meta.head_epochs, meta.body_lr_scale], [1, 0.5]);

    // Defaults (bodyLrScale 1, headEpochs 0) are the plain recipe, bit for bit.
    const plain = await run('plain', { epochs: 1 });
    const explicit = await run('explicit', { epochs: 1, bodyLrScale: 1, headEpochs: 0 });
    for (const [k, t] of plain) assert.ok(same(t, explicit.get(k)!), k);
    // A smaller body rate moves the body less (the head's rate unchanged).
    const slow = await run('slow', { epochs: 1, bodyLrScale: 0.1 });
    const moved = (w: Map<string, Tensor>, k: string) => tidy(() => noGrad(() => w.get(k)!.sub(before.get(k)!).abs().sum().item() as number));
    const convKeys = [...before.keys()].filter((k) => k.endsWith('.weight') && before.get(k)!.shape.length === 4);
    assert.ok(convKeys.length >= 2);
    for (const k of convKeys) assert.ok(moved(slow, k) < moved(plain, k), `${k}: ${moved(slow, k)} < ${moved(plain, k)}`);
    for (const m of [before, warm, plain, explicit, slow]) for (const t of m.values()) t.dispose();

    for (const [o, field] of [
      [{ epochs: 2, headEpochs: 2 }, 'headEpochs'],
      [{ epochs: 2, headEpochs: -1 }, 'headEpochs'],
      [{ epochs: 2, headEpochs: 0.5 }, 'headEpochs'],
      [{ bodyLrScale: 0 }, 'bodyLrScale'],
      [{ bodyLrScale: Number.NaN }, 'bodyLrScale'],
    ] as const)
      await assert.rejects(finetuneModel({ dir: src }, { ...o, outDir: join(dir, 'bad') }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === field, JSON.stringify(o));
  } finally {
    setNumThreads(threads);
    rmSync(dir, { recursive: true, force: true });
  }
});
