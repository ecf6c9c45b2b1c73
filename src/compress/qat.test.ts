/**
 * Quantization-aware training: the fake-quant ops' forward and straight-through gradients, and a
 * QAT network converted to the static int8 network computes what the fake-quantized one does.
 */
import { test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeStateDict } from '../nn/state.js';
import { decodeInt8 } from './int8file.js';
import assert from 'node:assert/strict';
import { Generator, Tensor, noGrad, tidy } from '../tensor/index.js';
import { dequantize, fakeQuantPerChannel, fakeQuantPerTensor, quantizePerTensor } from '../tensor/quantized.js';
import { prepareData } from '../data/prepare.js';
import { buildNetwork } from '../nn/build/index.js';
import { lowerModule } from './lower.js';
import { GraphNet } from './graphnet.js';
import { finetune } from './finetune.js';
import { QatNet, qatFreezeEpochs, requantizedValues } from './qat.js';
import { QuantizedNet, disposeFused, fuse } from './quantize.js';
import { calibrationBatches, compressNetwork, testAccuracy } from './pipeline.js';
import type { ChainCnnArch } from '../core/arch.js';

/** Small and quick to train on digits; the SiLU layer runs in float between int8 ops (a fallback value to re-quantize). */
const NET: ChainCnnArch = {
  family: 'chain_cnn',
  dropout: 0,
  layers: [
    { kernel: 3, channels: 12, activation: 'relu', batchNorm: true, pool: 1, skip: false },
    { kernel: 3, channels: 16, activation: 'silu', batchNorm: true, pool: 2, skip: false },
  ],
};

test('fake quantization: forward = quantize/dequantize, gradient = straight-through inside the range, 0 outside', () => {
  tidy(() => {
    // Per tensor, quint8 scale 0.1 zero point 10: representable range [-1.0, 24.5].
    const vals = [-3, -1.04, -0.96, -0.5, 0, 0.04, 0.26, 3.3, 24.4, 24.6, 30];
    const x = Tensor.fromArray(Float32Array.from(vals), [vals.length]).requiresGrad_(true);
    const p = { scale: 0.1, zeroPoint: 10 };
    const y = fakeQuantPerTensor(x, p, 0, 255);
    const ref = noGrad(() => dequantize(quantizePerTensor(x.detach(), p)).toTypedArray() as Float32Array);
    const got = y.toTypedArray() as Float32Array;
    for (let i = 0; i < vals.length; i++) assert.ok(Math.abs(got[i]! - ref[i]!) < 1e-6, `${vals[i]}: ${got[i]} vs ${ref[i]}`);
    const g = Tensor.fromArray(Float32Array.from(vals.map((_, i) => i + 1)), [vals.length]);
    y.mul(g).sum().backward();
    const grad = x.grad!.toTypedArray() as Float32Array;
    vals.forEach((v, i) => {
      const q = Math.round(v / 0.1) + 10;
      assert.equal(grad[i], q >= 0 && q <= 255 ? i + 1 : 0, `d/dx at ${v}`);
    });
    // Per channel, qint8 symmetric: channel c has scale s_c, range [-128 s_c, 127 s_c].
    const w = Tensor.fromArray(Float32Array.from([0.5, -1.3, 1.28, -1.29, 2, -2, 0.013, 0.3]), [2, 4]).requiresGrad_(true);
    const s = Tensor.fromArray(Float32Array.from([0.01, 0.02]));
    const z = Tensor.zeros([2], 'int32');
    const yw = fakeQuantPerChannel(w, s, z, 0, -128, 127);
    const wy = yw.toTypedArray() as Float32Array;
    const wv = w.detach().toTypedArray() as Float32Array;
    yw.sum().backward();
    const gw = w.grad!.toTypedArray() as Float32Array;
    for (let i = 0; i < 8; i++) {
      const sc = i < 4 ? 0.01 : 0.02;
      const q = Math.round(wv[i]! / sc);
      const inside = q >= -128 && q <= 127;
      assert.ok(Math.abs(wy[i]! - sc * Math.min(127, Math.max(-128, q))) < 1e-6, `w[${i}]`);
      assert.equal(gw[i], inside ? 1 : 0, `d/dw[${i}] = ${gw[i]} (q = ${q})`);
    }
  });
});

test('QAT: the converted int8 network computes what the fake-quantized network does; compress --quantize qat and the max-drop fallback', { timeout: 600_000 }, async () => {
  const data = await prepareData({ kind: 'digits' });
  const { module } = buildNetwork(NET, { shape: data.shape, numClasses: data.numClasses }, { gen: new Generator(0) });
  const low = lowerModule(module, data.shape, data.numClasses);
  const net = new GraphNet(low.graph, low.weights);
  await finetune(net, data, { epochs: 3, seed: 0, lr: 3e-3 });
  net.eval();
  const float = testAccuracy((x) => net.forward(x), data);
  const qat = new QatNet(low.graph, net.stateDict(), 0);
  try {
    const f0 = fuse(low.graph, net.stateDict());
    // Every conv/linear output is re-quantized, and so is the input (consumed by the first int8 conv).
    const rv = requantizedValues(f0);
    assert.ok(rv.has(0));
    f0.nodes.forEach((n, i) => {
      if (n.kind === 'qconv' || n.kind === 'qlinear' || n.kind === 'qadd') assert.ok(rv.has(i + 1));
    });
    disposeFused(f0);
    await finetune(qat, data, { epochs: 1, seed: 1, lr: 1e-4 });
    qat.eval();
    const fused = fuse(low.graph, qat.net.stateDict());
    const qn = new QuantizedNet(fused, 'static', qat.toInt8Params(fused));
    try {
      const simulated = testAccuracy((x) => qat.forward(x), data);
      const int8 = testAccuracy((x) => qn.forward(x), data);
      assert.ok(simulated > 50 && simulated >= float - 5, `QAT network ${simulated}% vs float ${float}%`);
      // Same rounding points and parameters: the two differ only by the int32 bias and accumulation order.
      assert.ok(Math.abs(simulated - int8) <= 1.5, `simulated ${simulated}% vs converted int8 ${int8}%`);
      let agree = 0;
      let n = 0;
      tidy(() =>
        noGrad(() => {
          const x = new Generator(3).randn([64, ...data.shape]);
          const a = qat.forward(x).argmax(1).toInt32Array();
          const b = qn.forward(x).argmax(1).toInt32Array();
          for (let i = 0; i < a.length; i++) agree += a[i] === b[i] ? 1 : 0;
          n = a.length;
        }),
      );
      assert.ok(agree >= 0.9 * n, `argmax agreement ${agree}/${n}`);
    } finally {
      qn.dispose();
      disposeFused(fused);
    }

    const lines: string[] = [];
    const r = await compressNetwork(net, data, { quantize: 'qat', finetuneEpochs: 1, latencyRuns: 1, log: (l) => lines.push(l) });
    assert.deepEqual(r.rows.map((x) => [x.stage, x.quant_mode ?? null]), [['float', null], ['int8', 'qat']]);
    assert.ok(lines.some((l) => /QAT epoch 1\/1/.test(l)));
    assert.ok(r.rows[1]!.test_acc >= r.rows[0]!.test_acc - 5, `int8 (qat) ${r.rows[1]!.test_acc}% vs float ${r.rows[0]!.test_acc}%`);
    // Fallback: max drop 0 runs QAT exactly when post-training quantization lost validation accuracy.
    const fl: string[] = [];
    const r2 = await compressNetwork(net, data, { quantize: 'static', maxDrop: 0, finetuneEpochs: 1, latencyRuns: 1, log: (l) => fl.push(l) });
    const m = /drop (-?[0-9.]+), max 0\)/.exec(fl.join('\n'));
    assert.ok(m, fl.join('\n'));
    const ranQat = fl.some((l) => /QAT epoch/.test(l));
    assert.equal(ranQat, Number(m[1]) > 0, fl.join('\n'));
    const row = r2.rows[1]!;
    if (row.quant_mode === 'qat') assert.equal(typeof row.ptq_test_acc, 'number');
    else assert.equal(row.quant_mode, 'static');
    // Magnitude pruning + QAT: the pruned zeros are held through QAT, so they are int8 zeros.
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-qat-sparse-'));
    try {
      await compressNetwork(net, data, { prune: { kind: 'magnitude', sparsity: 0.5 }, quantize: 'qat', finetuneEpochs: 1, latencyRuns: 1, onnx: false, outDir: join(dir, 'o') });
      const pruned = decodeStateDict(readFileSync(join(dir, 'o', 'pruned', 'weights.bin'))).tensors;
      const qn8 = decodeInt8(readFileSync(join(dir, 'o', 'int8', 'model.int8.bin')));
      let zeros = 0;
      let checked = 0;
      try {
        qn8.fused.nodes.forEach((n, i) => {
          if (n.kind !== 'qconv') return;
          const w8 = qn8.int8Weight(i).data;
          // The fused conv i comes from the i-th conv of the graph in order (BN/ReLU folded into it).
          const convKeys = [...pruned.keys()].filter((k) => k.endsWith('.weight') && pruned.get(k)!.ndim === 4);
          const w = pruned.get(convKeys[checked]!)!.toTypedArray() as Float32Array;
          assert.equal(w.length, w8.length);
          for (let j = 0; j < w.length; j++)
            if (w[j] === 0) {
              zeros++;
              assert.equal(w8[j], 0, `conv ${convKeys[checked]} weight ${j} was pruned`);
            }
          checked++;
        });
      } finally {
        qn8.dispose();
        for (const t of pruned.values()) t.dispose();
      }
      assert.ok(checked === 2 && zeros > 500, `${checked} convs, ${zeros} pruned zeros checked`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    qat.dispose();
    net.dispose();
    module.dispose();
    for (const t of low.weights.values()) t.dispose();
  }
});

test('QAT recipe: BN folded in training, BN statistics and observers freeze on schedule; per-tensor QAT converts to the per-tensor int8 network it simulates', { timeout: 600_000 }, async () => {
  assert.deepEqual(qatFreezeEpochs(1), { bn: Infinity, observers: Infinity });
  assert.deepEqual(qatFreezeEpochs(2), { bn: 2, observers: 2 });
  assert.deepEqual(qatFreezeEpochs(5), { bn: 3, observers: 3 });
  assert.deepEqual(qatFreezeEpochs(4, { freezeBn: 1, freezeObservers: 4 }), { bn: 1, observers: 4 });
  const data = await prepareData({ kind: 'digits' });
  const { module } = buildNetwork(NET, { shape: data.shape, numClasses: data.numClasses }, { gen: new Generator(0) });
  const low = lowerModule(module, data.shape, data.numClasses);
  module.dispose();
  const net = new GraphNet(low.graph, low.weights);
  await finetune(net, data, { epochs: 2, seed: 0, lr: 3e-3 });
  net.eval();
  const cal = calibrationBatches(data, 64, 0);
  const qat = new QatNet(low.graph, net.stateDict(), 0, { weightScheme: 'per_tensor' });
  try {
    qat.observe(cal);
    const bnKey = [...qat.net.stateDict().keys()].find((k) => k.endsWith('running_mean'))!;
    const snap = () => Float32Array.from(qat.net.stateDict().get(bnKey)!.toTypedArray() as Float32Array);
    const ranges = () => JSON.stringify([...qat.ranges]);
    const step = () => tidy(() => void qat.forward(cal[0]!.mul(1.5))); // a training-mode forward on shifted data
    // Before freezing, a training forward moves the BN statistics and the observers (so the checks below can fail).
    qat.train();
    let bn0 = snap();
    let r0 = ranges();
    step();
    assert.notDeepEqual(snap(), bn0);
    assert.notEqual(ranges(), r0);
    // Frozen: the batch norms stay in inference mode through train(), nothing moves.
    qat.freezeBn();
    qat.freezeObservers();
    qat.train();
    for (const [i, l] of qat.net.layers) if (low.graph.nodes[i]!.kind === 'bn') assert.equal(l.training, false);
    bn0 = snap();
    r0 = ranges();
    step();
    assert.deepEqual(snap(), bn0);
    assert.equal(ranges(), r0);
    // QAT with frozen BN: the fake-quantized net in training mode is the folded network (same output as eval).
    const same = tidy(() => noGrad(() => {
      const a = qat.forward(cal[0]!).toTypedArray() as Float32Array;
      qat.eval();
      const b = qat.forward(cal[0]!).toTypedArray() as Float32Array;
      return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    }));
    assert.ok(same < 1e-4, `training-mode vs eval forward with frozen BN: max diff ${same}`);
    // Per-tensor QAT -> per-tensor int8: same predictions as the fake-quantized network.
    await finetune(qat, data, { epochs: 1, seed: 1, lr: 1e-4 });
    qat.eval();
    const fused = fuse(low.graph, qat.net.stateDict());
    const qn = new QuantizedNet(fused, 'static', qat.toInt8Params(fused), undefined, 'per_tensor');
    try {
      const sim = testAccuracy((x) => qat.forward(x), data);
      const int8 = testAccuracy((x) => qn.forward(x), data);
      assert.ok(Math.abs(sim - int8) <= 1.5, `per-tensor QAT simulated ${sim}% vs converted ${int8}%`);
    } finally {
      qn.dispose();
      disposeFused(fused);
    }
  } finally {
    qat.dispose();
    net.dispose();
    for (const t of [...cal, ...low.weights.values()]) t.dispose();
  }
});
