import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChainCnnArch } from '../core/arch.js';
import { isNasError } from '../core/errors.js';
import { prepareData, type PreparedData } from '../data/prepare.js';
import { batches } from '../data/batch.js';
import { buildNetwork } from '../nn/build/index.js';
import { Generator, Tensor, noGrad, tidy } from '../tensor/index.js';
import { GraphNet } from './graphnet.js';
import { checkDistill, finetune } from './finetune.js';
import { lowerModule } from './lower.js';

const ARCH: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0,
  layers: [
    { kernel: 3, channels: 8, activation: 'relu', batchNorm: true, pool: 2, skip: false },
    { kernel: 3, channels: 8, activation: 'relu', batchNorm: true, pool: 1, skip: false },
  ],
};

function net(data: PreparedData, seed: number): GraphNet {
  const { module } = buildNetwork(ARCH, { shape: data.shape, numClasses: 10 }, { gen: new Generator(seed) });
  const low = lowerModule(module, data.shape, 10);
  module.dispose();
  const n = new GraphNet(low.graph, low.weights, seed);
  for (const t of low.weights.values()) t.dispose();
  return n;
}

/** Percent of the test images on which a and b predict the same class, and mean KL(b || a) of their softmaxes. */
function agreement(a: GraphNet, b: GraphNet, data: PreparedData): { agree: number; kl: number } {
  let same = 0;
  let n = 0;
  let kl = 0;
  for (const bt of batches(data.test, { batchSize: 500, normalization: data.normalization }))
    tidy(() =>
      noGrad(() => {
        const x = Tensor.fromArray(bt.x, bt.shape);
        const la = a.forward(x);
        const lb = b.forward(x);
        const pa = la.argmax(1).toInt32Array();
        const pb = lb.argmax(1).toInt32Array();
        for (let k = 0; k < bt.size; k++) if (pa[k] === pb[k]) same++;
        kl += lb.softmax(1).mul(lb.logSoftmax(1).sub(la.logSoftmax(1))).sum().item() as number;
        n += bt.size;
      }),
    );
  return { agree: (100 * same) / n, kl: kl / n };
}

test('distillation pulls the student toward the teacher; recipe augmentation and label smoothing train', async () => {
  const data = await prepareData({ kind: 'digits' }, { seed: 0 });
  // The teacher is a different, untrained network: its predictions are unrelated to the labels, so
  // only the distillation term can make the student agree with it.
  const teacher = net(data, 7).eval();
  const plain = net(data, 1);
  const distilled = net(data, 1);
  const before = agreement(distilled.eval(), teacher, data);
  await finetune(plain, data, { epochs: 2, lr: 3e-3, seed: 0 });
  await finetune(distilled, data, { epochs: 2, lr: 3e-3, seed: 0, distill: { teacher: (x) => teacher.forward(x), temperature: 2, weight: 1 } });
  const p = agreement(plain, teacher, data);
  const d = agreement(distilled, teacher, data);
  assert.ok(d.kl < before.kl / 2, `KL to the teacher fell from ${before.kl} to ${d.kl}`);
  assert.ok(d.agree > p.agree + 20, `distilled agrees with the teacher on ${d.agree}% vs plain ${p.agree}%`);
  // With weight 1 the labels play no part; the teacher's outputs are not touched (no gradient into it).
  const t0 = [...teacher.stateDict().values()].map((t) => t.toFloat32Array());
  const recipe = net(data, 2);
  const loss = await finetune(recipe, data, { epochs: 1, lr: 3e-3, seed: 0, augment: { hflip: true }, labelSmoothing: 0.1, distill: { teacher: (x) => teacher.forward(x) } });
  assert.ok(Number.isFinite(loss) && loss > 0);
  [...teacher.stateDict().values()].forEach((t, k) => assert.deepEqual(t.toFloat32Array(), t0[k]));
  for (const n of [teacher, plain, distilled, recipe]) n.dispose();
});

test('checkDistill names the field of a bad temperature or weight', () => {
  const teacher = (x: Tensor) => x;
  checkDistill(undefined);
  checkDistill({ teacher });
  for (const [d, field] of [
    [{ teacher, temperature: 0 }, 'distill.temperature'],
    [{ teacher, temperature: Number.NaN }, 'distill.temperature'],
    [{ teacher, weight: 1.5 }, 'distill.weight'],
    [{ teacher, weight: -0.1 }, 'distill.weight'],
  ] as const)
    assert.throws(
      () => checkDistill(d),
      (e: unknown) => isNasError(e) && e.code === 'invalid_config' && e.field === field,
    );
});
