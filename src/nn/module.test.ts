import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNasError } from '../core/errors.js';
import { Generator, Tensor, liveTensors, tidy } from '../tensor/index.js';
import { BatchNorm2d, Conv2d, Dropout, Linear, ReLU, SGD, Adam, Sequential, LSTMCell, decodeStateDict, encodeStateDict, init } from './index.js';

test('module tree: names, parameters, buffers, train/eval, zeroGrad, dispose', () => {
  const before = liveTensors();
  const gen = new Generator(0);
  const m = new Sequential(new Conv2d(3, 4, 3, { gen, bias: false }), new BatchNorm2d(4), new ReLU(), new Dropout(0.5, gen));
  assert.deepEqual(m.namedParameters().map(([n]) => n), ['0.weight', '1.weight', '1.bias']);
  assert.deepEqual([...m.stateDict().keys()], ['0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']);
  assert.equal(m.numParameters(), 4 * 3 * 9 + 8);
  assert.equal(m.modules().length, 5);
  m.eval();
  assert.ok(m.modules().every((x) => !x.training));
  const x = gen.randn([2, 3, 5, 5]).keep();
  const y1 = tidy(() => m.forward(x).toArray());
  const y2 = tidy(() => m.forward(x).toArray());
  assert.deepEqual(y1, y2, 'eval mode is deterministic (no dropout, running stats)');
  m.train();
  tidy(() => m.forward(x).sum().backward());
  assert.ok(tidy(() => m.parameters().every((p) => p.grad !== undefined)));
  m.zeroGrad();
  assert.ok(m.parameters().every((p) => p.grad === undefined));
  assert.equal((m.stateDict().get('1.num_batches_tracked') as Tensor).item(), 1);
  m.dispose();
  x.dispose();
  assert.equal(liveTensors(), before);
});

test('loadStateDict checks keys and shapes; encode/decode round-trips every dtype', () => {
  const gen = new Generator(1);
  const a = new Linear(3, 2, { gen });
  const b = new Linear(3, 4, { gen });
  assert.throws(() => b.loadStateDict(a.stateDict()), (e: unknown) => isNasError(e, 'shape_mismatch') && /weight/.test(e.message));
  const sd = new Map([['x', Tensor.fromArray([1, 2], [2], 'int64')], ['y', Tensor.fromArray([true, false], [2], 'bool')], ['z', Tensor.zeros([2, 0])]]);
  assert.throws(() => a.loadStateDict(sd), (e: unknown) => isNasError(e, 'shape_mismatch') && /missing/.test(e.message));
  const { tensors, meta } = decodeStateDict(encodeStateDict(sd, { k: 1 }));
  assert.deepEqual(meta, { k: 1 });
  assert.deepEqual([...tensors.keys()], ['x', 'y', 'z']);
  assert.equal(tensors.get('x')!.dtype, 'int64');
  assert.deepEqual(tensors.get('y')!.toArray(), [1, 0]);
  assert.deepEqual(tensors.get('z')!.shape, [2, 0]);
  assert.throws(() => decodeStateDict(new Uint8Array([1, 2, 3])), (e: unknown) => isNasError(e, 'data_error'));
  for (const t of [...sd.values(), ...tensors.values()]) t.dispose();
  a.dispose();
  b.dispose();
});

test('optimizer and layer options are validated with field names', () => {
  const gen = new Generator(2);
  const l = new Linear(2, 2, { gen });
  assert.throws(() => new SGD(l.parameters(), { lr: 0.1, nesterov: true }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'nesterov');
  assert.throws(() => new Adam(l.parameters(), { betas: [1, 0.9] }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'betas');
  assert.throws(() => new SGD([], { lr: 0.1 }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'params');
  assert.throws(() => new Conv2d(3, 4, 3, { gen, groups: 2 }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'groups');
  assert.throws(() => new Dropout(1.5, gen), (e: unknown) => isNasError(e, 'invalid_config'));
  const opt = new SGD(l.parameters(), { lr: 0.1 });
  opt.lr = 0.05;
  assert.equal(opt.lr, 0.05);
  l.dispose();
});

test('LSTMCell unrolls over a sequence and trains', () => {
  const gen = new Generator(3);
  const cell = new LSTMCell(4, 8, { gen });
  const head = new Linear(8, 1, { gen });
  const opt = new Adam([...cell.parameters(), ...head.parameters()], { lr: 0.05 });
  const xs = gen.randn([5, 2, 4]).keep();
  const losses: number[] = [];
  for (let it = 0; it < 30; it++) {
    opt.zeroGrad();
    losses.push(tidy(() => {
      let state = cell.initialState(2);
      for (let t = 0; t < 5; t++) state = cell.forward(xs.select(0, t), state);
      const loss = head.forward(state[0]).sub(1).square().mean();
      loss.backward();
      opt.step();
      return loss.item();
    }));
  }
  assert.ok(losses[29]! < losses[0]! * 0.5, `loss ${losses[0]} -> ${losses[29]}`);
  xs.dispose();
  cell.dispose();
  head.dispose();
});

test('init: kaiming/xavier bounds and statistics', () => {
  tidy(() => {
    const gen = new Generator(4);
    const w = Tensor.zeros([256, 128]);
    init.kaimingNormal_(w, gen, { nonlinearity: 'relu' });
    assert.ok(Math.abs(w.std().item() - Math.sqrt(2 / 128)) < 0.005);
    init.xavierUniform_(w, gen);
    const a = Math.sqrt(6 / (256 + 128));
    assert.ok(w.abs().max().item() <= a);
    assert.ok(Math.abs(w.std().item() - a / Math.sqrt(3)) < 0.003);
    init.kaimingUniform_(w, gen, { mode: 'fan_out', nonlinearity: 'relu' });
    assert.ok(w.abs().max().item() <= Math.sqrt(3) * Math.sqrt(2 / 256) + 1e-6);
    assert.equal(init.calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(2 / 6));
  });
});
