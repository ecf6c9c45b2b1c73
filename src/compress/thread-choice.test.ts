/**
 * chooseThreads of the compression runtimes (GraphNet float, QuantizedNet int8): small-batch
 * inference runs with a measured thread count (src/tensor/thread-choice.ts: the choice itself, by
 * an injected clock). Here: which forwards choose, that the threads set are restored, and that a
 * forward with the choice computes what the network computes at the chosen count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lenet } from '../nn/build/lenet.js';
import { Generator, enableGrad, getNumThreads, noGrad, setNumThreads, tidy } from '../tensor/index.js';
import { quantizedEngine, quantizedEngines } from '../tensor/quantized.js';
import { GraphNet } from './graphnet.js';
import { lowerModule } from './lower.js';
import { calibrate, disposeFused, fuse, QuantizedNet } from './quantize.js';
import { decodeInt8, disposeLoadedInt8, encodeInt8 } from './int8file.js';

const SHAPE = [1, 28, 28];

test('GraphNet chooseThreads: eval-mode forwards without gradients of <= 8 samples choose per (batch, threads); training forwards and large batches do not; the result is the network\'s at the chosen count', () => {
  const prev = getNumThreads();
  const low = lowerModule(lenet(new Generator(2)), SHAPE, 10);
  const on = new GraphNet(low.graph, low.weights, 0, { chooseThreads: true }).eval();
  const off = new GraphNet(low.graph, low.weights).eval();
  for (const t of low.weights.values()) t.dispose();
  const gen = new Generator(3);
  const x1 = gen.randn([1, ...SHAPE]).keep();
  const x16 = gen.randn([16, ...SHAPE]).keep();
  try {
    setNumThreads(2);
    const y = tidy(() => noGrad(() => on.forward(x1).toTypedArray() as Float32Array));
    const chosen = on.threadChoices().get('1@2');
    assert.ok(chosen === 1 || chosen === 2, `chosen ${chosen}`);
    assert.equal(getNumThreads(), 2, 'the threads set are restored');
    setNumThreads(chosen!);
    const ref = tidy(() => noGrad(() => off.forward(x1).toTypedArray() as Float32Array));
    setNumThreads(2);
    assert.deepEqual(y, ref, 'the same floats as the network run at the chosen count');
    assert.equal(off.threadChoices().size, 0, 'off by default');
    tidy(() => noGrad(() => on.forward(x16)));
    tidy(() => enableGrad(() => on.forward(x1)));
    on.train();
    tidy(() => noGrad(() => on.forward(x1)));
    assert.deepEqual([...on.threadChoices().keys()], ['1@2'], 'batch 16, gradients on, train mode: no new choice');
  } finally {
    setNumThreads(prev);
    for (const t of [x1, x16]) t.dispose();
    on.dispose();
    off.dispose();
  }
});

test('QuantizedNet chooseThreads (static, oneDNN packs): batch-1 forwards choose; the result equals the network\'s at the chosen count; a read-back file takes the option', { skip: !quantizedEngines().includes('onednn') && 'needs oneDNN' }, () => {
  const prev = getNumThreads();
  const low = lowerModule(lenet(new Generator(2)), SHAPE, 10);
  const fused = fuse(low.graph, low.weights);
  const gen = new Generator(4);
  const cal = [gen.randn([32, ...SHAPE]).keep()];
  const x = gen.randn([1, ...SHAPE]).keep();
  const engine = quantizedEngine();
  try {
    const qp = calibrate(fused, cal);
    const on = new QuantizedNet(fused, 'static', qp, undefined, 'per_channel', { chooseThreads: true });
    const off = new QuantizedNet(fused, 'static', qp);
    setNumThreads(2);
    const y = tidy(() => noGrad(() => on.forward(x).toTypedArray() as Float32Array));
    const chosen = on.threadChoices().get('1@2');
    assert.ok(chosen === 1 || chosen === 2, `chosen ${chosen}`);
    assert.equal(getNumThreads(), 2);
    assert.equal(quantizedEngine(), engine, 'the process engine is restored');
    setNumThreads(chosen!);
    assert.deepEqual(y, tidy(() => noGrad(() => off.forward(x).toTypedArray() as Float32Array)), 'the same outputs as the network run at the chosen count');
    setNumThreads(2);
    assert.equal(off.threadChoices().size, 0, 'off by default');
    const back = decodeInt8(encodeInt8(on, { engine: 'onednn' }), 'test', { chooseThreads: true });
    tidy(() => noGrad(() => back.forward(x)));
    assert.ok([1, 2].includes(back.threadChoices().get('1@2')!));
    disposeLoadedInt8(back);
    on.dispose();
    off.dispose();
  } finally {
    setNumThreads(prev);
    disposeFused(fused);
    for (const t of [x, ...cal, ...low.weights.values()]) t.dispose();
  }
});
