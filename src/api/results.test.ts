import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { isNasError } from '../core/errors.js';
import type { NetworkArch } from '../core/arch.js';
import { affine } from '../data/normalize.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { buildNetwork } from '../nn/build/index.js';
import { BatchNorm1d } from '../nn/layers.js';
import type { Layer } from '../nn/module.js';
import { saveStateDict } from '../nn/state.js';
import { openStore } from '../store/index.js';
import { Generator, Tensor, noGrad, tidy } from '../tensor/index.js';
import { exportWinner, prepareSearch, search } from './index.js';

const DIGITS = { kind: 'digits' } as const;

/** Max |onnxruntime(raw) - tsnas(raw * a + b)| over 16 test digits. */
async function onnxVsTsnas(file: string, module: Layer, data: PreparedData, t: { a: ArrayLike<number>; b: ArrayLike<number> }): Promise<number> {
  const n = 16;
  const size = 64;
  const raw = new Float32Array(n * size);
  for (let k = 0; k < n; k++) {
    const i = data.test.indices[k]!;
    for (let j = 0; j < size; j++) raw[k * size + j] = data.test.data.x[i * size + j] as number;
  }
  const normed = raw.map((v) => v * t.a[0]! + t.b[0]!);
  const want = tidy(() => noGrad(() => module.eval().forward(Tensor.fromArray(normed, [n, 1, 8, 8])).toTypedArray() as Float32Array));
  assert.ok(want.some((v) => Math.abs(v) > 1e-3), 'the outputs are not trivially zero');
  const session = await ort.InferenceSession.create(readFileSync(file));
  const got = (await session.run({ input: new ort.Tensor('float32', raw, [n, 1, 8, 8]) }))['output']!.data as Float32Array;
  await session.release();
  assert.equal(got.length, want.length);
  return got.reduce((mx, v, i) => Math.max(mx, Math.abs(v - want[i]!)), 0);
}

test('exportWinner: a trained winner gets model.onnx (normalisation inside) that onnxruntime runs like tsnas on raw digits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-export-'));
  try {
    const storage = `sqlite:${join(dir, 's.db')}`;
    const p = prepareSearch({
      config: { study: 'w', storage, space: 'mlp', strategy: 'random', evaluator: { name: 'train', dataset: 'digits', epochs: 1, threads: 1 }, trials: 1, seed: 3 },
    });
    const r = await search(p);
    assert.equal(r.counts.complete, 1);
    const arch = r.best!.arch as unknown as NetworkArch;
    // The trial's weights: this architecture for 8x8 digits with its own parameters and BatchNorm statistics.
    const { module } = buildNetwork(arch, { shape: [1, 8, 8], numClasses: 10 }, { gen: new Generator(42) });
    tidy(() =>
      noGrad(() => {
        for (const b of module.modules())
          if (b instanceof BatchNorm1d) {
            b.runningMean!.copy_(new Generator(1).randn([b.numFeatures]));
            b.runningVar!.copy_(new Generator(2).randn([b.numFeatures]).abs().add(0.5));
          }
      }),
    );
    const weights = join(dir, 'trial0.sd');
    saveStateDict(weights, module.stateDict(), { seed: 42 });
    const store = await openStore(storage);
    try {
      const rec = await store.requireStudy('w');
      await store.setTrialAttr(r.best!.id, 'weights_path', weights);
      assert.equal((await store.bestTrial(rec.id))!.userAttrs['weights_path'], weights);
    } finally {
      await store.close();
    }

    const ex = await exportWinner(storage, 'w', join(dir, 'out'));
    assert.deepEqual(readdirSync(ex.dir).sort(), ['arch.json', 'metrics.json', 'model.onnx', 'weights.bin']);
    assert.deepEqual(ex.files, ['arch.json', 'weights.bin', 'model.onnx', 'metrics.json']);
    const m = JSON.parse(readFileSync(join(ex.dir, 'metrics.json'), 'utf8')) as { onnx: { file: string; opset: number; input_shape: unknown[]; output_shape: unknown[] } };
    assert.equal(m.onnx.file, 'model.onnx');
    assert.equal(m.onnx.opset, 13);
    assert.deepEqual(m.onnx.input_shape, ['batch', 1, 8, 8]);
    assert.deepEqual(m.onnx.output_shape, ['batch', 10]);

    // Raw test digits (0..16) into the ONNX model; the same digits normalised as in training into tsnas.
    const data = await prepareData(DIGITS);
    const diff = await onnxVsTsnas(join(ex.dir, 'model.onnx'), module, data, affine(data.normalization));
    assert.ok(diff < 1e-4, `max |onnxruntime - tsnas| = ${diff}`);

    // A weights file that carries its own normalisation (trained on another split) is exported with it.
    const own = { scale: 1, mean: [3], std: [2] };
    saveStateDict(weights, module.stateDict(), { normalization: own });
    const ex2 = await exportWinner(storage, 'w', join(dir, 'out-own'));
    assert.deepEqual(JSON.parse(readFileSync(join(ex2.dir, 'metrics.json'), 'utf8')).onnx.input_normalization, own);
    assert.ok((await onnxVsTsnas(join(ex2.dir, 'model.onnx'), module, data, { a: [0.5], b: [-1.5] })) < 1e-4);

    const noOnnx = await exportWinner(storage, 'w', join(dir, 'out2'), { onnx: false });
    assert.deepEqual(readdirSync(noOnnx.dir).sort(), ['arch.json', 'metrics.json', 'weights.bin']);
    assert.equal(JSON.parse(readFileSync(join(noOnnx.dir, 'metrics.json'), 'utf8')).onnx, null);

    // Weights of another architecture: an error naming the weights, and no half-written directory.
    const other = buildNetwork({ family: 'mlp', hidden: [7], activation: 'relu', batchNorm: false, dropout: 0 }, { shape: [1, 8, 8], numClasses: 10 }, { gen: new Generator(0) }).module;
    saveStateDict(weights, other.stateDict());
    other.dispose();
    await assert.rejects(exportWinner(storage, 'w', join(dir, 'out3')), (e: unknown) => isNasError(e, 'shape_mismatch') && e.field === 'weights_path' && /--no-onnx/.test(e.message));
    assert.ok(!existsSync(join(dir, 'out3')));
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('out3')), 'no temporary directory left behind');
    module.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
