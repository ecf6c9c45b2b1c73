/**
 * Every tensor op against PyTorch 1.13: forward values (shape, dtype, data) and gradients of
 * loss = sum(out * cot(out)) with respect to every float input. Expected values are computed live
 * by scripts/torch/parity.py on the same inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from './index.js';
import { Generator, Tensor, tidy } from './index.js';
import { assertClose, cot, enc, runTorch, SKIP_REASON, torchAvailable, type Encoded } from './testing/torch.js';

interface Case {
  name: string;
  op: string;
  args?: Record<string, unknown>;
  inputs: Tensor[];
  js: (x: Tensor[]) => Tensor | Tensor[];
}

function buildCases(): Case[] {
  const g = new Generator(1234);
  const r = (...s: number[]): Tensor => g.randn(s).requiresGrad_();
  const rn = (...s: number[]): Tensor => g.randn(s);
  const pos = (...s: number[]): Tensor => g.rand(s).add(0.5).detach().requiresGrad_();
  const unit = (...s: number[]): Tensor => g.rand(s).mul(1.8).sub(0.9).detach().requiresGrad_();
  const int = (hi: number, ...s: number[]): Tensor => g.randint(0, hi, s);
  const bool = (...s: number[]): Tensor => g.rand(s).gt(0.5);
  const cases: Case[] = [];
  const add = (name: string, op: string, inputs: Tensor[], js: Case['js'], args: Record<string, unknown> = {}): void => {
    cases.push({ name, op, inputs, js, args });
  };

  // unary
  const unary: [string, (t: Tensor) => Tensor, 'any' | 'pos' | 'unit'][] = [
    ['neg', (t) => t.neg(), 'any'], ['abs', (t) => t.abs(), 'any'], ['exp', (t) => t.exp(), 'any'], ['log', (t) => t.log(), 'pos'],
    ['sqrt', (t) => t.sqrt(), 'pos'], ['rsqrt', (t) => t.rsqrt(), 'pos'], ['sin', (t) => t.sin(), 'any'], ['cos', (t) => t.cos(), 'any'],
    ['tanh', (t) => t.tanh(), 'any'], ['sigmoid', (t) => t.sigmoid(), 'any'], ['relu', (t) => t.relu(), 'any'], ['gelu', (t) => t.gelu(), 'any'],
    ['silu', (t) => t.silu(), 'any'], ['square', (t) => t.square(), 'any'], ['sign', (t) => t.sign(), 'any'], ['floor', (t) => t.floor(), 'any'],
    ['ceil', (t) => t.ceil(), 'any'], ['round', (t) => t.round(), 'any'], ['reciprocal', (t) => t.reciprocal(), 'pos'],
    ['log1p', (t) => t.log1p(), 'pos'], ['expm1', (t) => t.expm1(), 'any'], ['erf', (t) => t.erf(), 'any'], ['softplus', (t) => t.softplus(), 'any'],
    ['relu6', (t) => t.mul(4).relu6(), 'any'], ['hardswish', (t) => t.mul(4).hardswish(), 'any'], ['hardsigmoid', (t) => t.mul(4).hardsigmoid(), 'any'],
    ['mish', (t) => t.mish(), 'any'], ['elu', (t) => t.elu(), 'any'], ['selu', (t) => t.selu(), 'any'], ['logSigmoid', (t) => t.logSigmoid(), 'any'],
    ['tan', (t) => t.tan(), 'unit'], ['asin', (t) => t.asin(), 'unit'], ['acos', (t) => t.acos(), 'unit'], ['atan', (t) => t.atan(), 'any'],
    ['sinh', (t) => t.sinh(), 'any'], ['cosh', (t) => t.cosh(), 'any'], ['log2', (t) => t.log2(), 'pos'], ['log10', (t) => t.log10(), 'pos'],
    ['exp2', (t) => t.exp2(), 'any'], ['trunc', (t) => t.trunc(), 'any'], ['frac', (t) => t.frac(), 'any'],
  ];
  for (const [fn, js, dom] of unary) {
    const x = dom === 'pos' ? pos(3, 4) : dom === 'unit' ? unit(3, 4) : r(3, 4);
    // relu6/hardswish/hardsigmoid are applied to 4x in JS; mirror by feeding 4x to torch as a leaf.
    if (fn === 'relu6' || fn === 'hardswish' || fn === 'hardsigmoid') {
      const x4 = x.detach().mul(4).requiresGrad_();
      const jsFn = fn === 'relu6' ? (t: Tensor) => t.relu6() : fn === 'hardswish' ? (t: Tensor) => t.hardswish() : (t: Tensor) => t.hardsigmoid();
      add(`unary ${fn}`, 'unary', [x4], ([a]) => jsFn(a!), { fn });
      continue;
    }
    add(`unary ${fn}`, 'unary', [x], ([a]) => js(a!), { fn });
  }
  add('unary isnan', 'unary', [rn(5).div(Tensor.fromArray([0, 1, 1, 1, 0]))], ([a]) => a!.isnan(), { fn: 'isnan' });
  add('unary isfinite', 'unary', [rn(5).div(Tensor.fromArray([0, 1, 1, 1, 0]))], ([a]) => a!.isfinite(), { fn: 'isfinite' });
  add('unary logicalNot', 'unary', [bool(6)], ([a]) => a!.logicalNot(), { fn: 'logicalNot' });

  // binary, broadcasting
  const bins: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ['add', (a, b) => a.add(b)], ['sub', (a, b) => a.sub(b)], ['mul', (a, b) => a.mul(b)], ['div', (a, b) => a.div(b)],
    ['maximum', (a, b) => a.maximum(b)], ['minimum', (a, b) => a.minimum(b)], ['atan2', (a, b) => a.atan2(b)],
  ];
  for (const [fn, js] of bins) add(`binary ${fn} broadcast`, 'binary', [r(2, 3, 4), r(3, 1)], ([a, b]) => js(a!, b!), { fn });
  add('binary pow', 'binary', [pos(3, 4), r(4)], ([a, b]) => a!.pow(b!), { fn: 'pow' });
  add('binary remainder', 'binary', [r(3, 4), pos(3, 4)], ([a, b]) => a!.remainder(b!), { fn: 'remainder' });
  add('binary floorDivide int', 'binary', [int(50, 6), int(5, 6).add(1)], ([a, b]) => a!.floorDivide(b!), { fn: 'floorDivide' });
  for (const fn of ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
    const a = int(3, 4, 3).to('float32');
    add(`compare ${fn}`, 'binary', [a, int(3, 3).to('float32')], ([x, y]) => x![fn](y!), { fn });
    add(`compare ${fn} scalar`, 'binary', [a], ([x]) => x![fn](1), { fn, scalar: 1 });
  }
  for (const fn of ['logicalAnd', 'logicalOr', 'logicalXor'] as const) add(`logical ${fn}`, 'binary', [bool(4, 3), bool(3)], ([x, y]) => x![fn](y!), { fn });
  for (const fn of ['add', 'sub', 'mul', 'div', 'pow'] as const) add(`scalar ${fn}`, 'binary', [pos(2, 3)], ([x]) => x![fn](2.5), { fn, scalar: 2.5 });
  add('scalar int add keeps int64', 'binary', [int(10, 5)], ([x]) => x!.add(3), { fn: 'add', scalar: 3 });
  for (const fn of ['sub', 'div', 'pow'] as const) {
    const js = fn === 'sub' ? (t: Tensor) => t.rsub(3) : fn === 'div' ? (t: Tensor) => t.rdiv(3) : (t: Tensor) => t.rpow(3);
    add(`rbinary ${fn}`, 'rbinary', [pos(2, 3)], ([x]) => js(x!), { fn, scalar: 3 });
  }
  add('addScaled', 'addScaled', [r(3, 4), r(3, 4)], ([a, b]) => a!.addScaled(b!, -0.5), { alpha: -0.5 });
  add('where', 'where', [bool(3, 4), r(3, 4), r(4)], ([c, a, b]) => T.where(c!, a!, b!));
  add('clamp', 'clamp', [r(3, 4)], ([a]) => a!.clamp(-0.5, 0.7), { min: -0.5, max: 0.7 });
  add('clamp min only', 'clamp', [r(3, 4)], ([a]) => a!.clamp(0), { min: 0 });
  add('maskedFill', 'maskedFill', [r(3, 4), bool(3, 4)], ([a, m]) => a!.maskedFill(m!, 2), { value: 2 });
  add('leakyRelu', 'leakyRelu', [r(3, 4)], ([a]) => a!.leakyRelu(0.2), { slope: 0.2 });

  // reductions
  for (const fn of ['sum', 'mean', 'amax', 'amin', 'logsumexp', 'norm', 'prod'] as const) {
    const js = (t: Tensor, d?: number[], k = false): Tensor =>
      fn === 'amax' ? t.max(d, k) : fn === 'amin' ? t.min(d, k) : t[fn](d, k);
    add(`reduce ${fn} all`, 'reduce', [r(2, 3, 4)], ([a]) => js(a!), { fn, dims: null });
    add(`reduce ${fn} dims`, 'reduce', [r(2, 3, 4)], ([a]) => js(a!, [0, 2]), { fn, dims: [0, 2] });
    add(`reduce ${fn} keepdim`, 'reduce', [r(2, 3, 4)], ([a]) => js(a!, [-1], true), { fn, dims: [-1], keepdim: true });
  }
  add('reduce all', 'reduce', [bool(3, 4)], ([a]) => a!.all(1), { fn: 'all', dims: [1] });
  add('reduce any', 'reduce', [bool(3, 4)], ([a]) => a!.any(), { fn: 'any', dims: null });
  add('maxDim', 'maxDim', [r(3, 5)], ([a]) => { const m = a!.maxDim(1); return [m.values, m.indices]; }, { dim: 1 });
  add('minDim keepdim', 'minDim', [r(3, 5)], ([a]) => { const m = a!.minDim(0, true); return [m.values, m.indices]; }, { dim: 0, keepdim: true });
  add('argmax all', 'argmax', [r(3, 5)], ([a]) => a!.argmax(), {});
  add('argmax dim', 'argmax', [r(3, 5)], ([a]) => a!.argmax(1), { dim: 1 });
  add('argmin dim keepdim', 'argmin', [r(3, 5)], ([a]) => a!.argmin(0, true), { dim: 0, keepdim: true });
  add('var all', 'var', [r(3, 5)], ([a]) => a!.var(), {});
  add('var dims biased', 'var', [r(3, 5)], ([a]) => a!.var(1, { unbiased: false, keepdim: true }), { dims: [1], unbiased: false, keepdim: true });
  add('std dims', 'std', [r(3, 5)], ([a]) => a!.std([0]), { dims: [0] });
  add('cumsum', 'cumsum', [r(3, 5)], ([a]) => a!.cumsum(1), { dim: 1 });
  add('sort desc', 'sort', [r(3, 5)], ([a]) => { const s = a!.sort(1, true); return [s.values, s.indices]; }, { dim: 1, descending: true });
  add('topk', 'topk', [r(3, 6)], ([a]) => { const s = a!.topk(2, 1, true); return [s.values, s.indices]; }, { k: 2, dim: 1, largest: true });

  // shape ops
  add('reshape', 'reshape', [r(2, 3, 4)], ([a]) => a!.reshape([4, -1]), { shape: [4, -1] });
  add('view', 'view', [r(2, 3, 4)], ([a]) => a!.view([6, 4]), { shape: [6, 4] });
  add('permute', 'permute', [r(2, 3, 4)], ([a]) => a!.permute([2, 0, 1]), { dims: [2, 0, 1] });
  add('transpose', 'transpose', [r(2, 3, 4)], ([a]) => a!.transpose(0, 2), { d0: 0, d1: 2 });
  add('cat', 'cat', [r(2, 3), r(4, 3)], (x) => T.cat(x, 0), { dim: 0 });
  add('stack', 'stack', [r(2, 3), r(2, 3)], (x) => T.stack(x, 1), { dim: 1 });
  add('slice step', 'slice', [r(6, 5)], ([a]) => a!.slice(1, 1, 5, 2), { dim: 1, start: 1, end: 5, step: 2 });
  add('slice negative to end', 'slice', [r(6, 5)], ([a]) => a!.slice(0, -3), { dim: 0, start: -3 });
  add('select', 'select', [r(4, 5)], ([a]) => a!.select(1, 2), { dim: 1, index: 2 });
  add('indexSelect', 'indexSelect', [r(5, 3), Tensor.fromArray([4, 0, 2, 2], [4], 'int64')], ([a, i]) => a!.indexSelect(0, i!), { dim: 0 });
  add('gather', 'gather', [r(3, 4), int(4, 3, 2)], ([a, i]) => a!.gather(1, i!), { dim: 1 });
  add('scatter', 'scatter', [r(3, 4), Tensor.fromArray([0, 1, 2, 3, 2, 1], [3, 2], 'int64'), r(3, 2)], ([a, i, s]) => a!.scatter(1, i!, s!), { dim: 1 });
  add('scatterAdd', 'scatterAdd', [r(3, 4), int(4, 3, 5), r(3, 5)], ([a, i, s]) => a!.scatterAdd(1, i!, s!), { dim: 1 });
  add('maskedSelect', 'maskedSelect', [r(3, 4), bool(3, 4)], ([a, m]) => a!.maskedSelect(m!));
  add('flatten', 'flatten', [r(2, 3, 4, 5)], ([a]) => a!.flatten(1, 2), { start: 1, end: 2 });
  add('squeeze all', 'squeeze', [r(2, 1, 3, 1)], ([a]) => a!.squeeze(), { dim: null });
  add('squeeze dim', 'squeeze', [r(2, 1, 3, 1)], ([a]) => a!.squeeze(1), { dim: 1 });
  add('unsqueeze', 'unsqueeze', [r(2, 3)], ([a]) => a!.unsqueeze(-1), { dim: -1 });
  add('expand', 'expand', [r(3, 1)], ([a]) => a!.expand([2, 3, 4]), { shape: [2, 3, 4] });
  add('repeat', 'repeat', [r(2, 3)], ([a]) => a!.repeat([2, 1, 2]), { reps: [2, 1, 2] });
  add('flip', 'flip', [r(2, 3)], ([a]) => a!.flip([0, 1]), { dims: [0, 1] });
  add('contiguous', 'contiguous', [r(2, 3)], ([a]) => a!.transpose(0, 1).contiguous());
  add('clone', 'clone', [r(2, 3)], ([a]) => a!.clone());
  add('to int64', 'to', [r(2, 3).mul(3).detach()], ([a]) => a!.to('int64'), { dtype: 'int64' });
  add('to float64', 'to', [r(2, 3)], ([a]) => a!.to('float64'), { dtype: 'float64' });
  add('split', 'split', [r(7, 2)], ([a]) => a!.split(3, 0), { size: 3, dim: 0 });
  add('split sizes', 'split', [r(7, 2)], ([a]) => a!.split([2, 5], 0), { size: [2, 5], dim: 0 });
  add('oneHot', 'oneHot', [int(5, 6)], ([a]) => T.oneHot(a!, 5), { n: 5 });
  add('tril', 'tril', [r(4, 4)], ([a]) => a!.tril(-1), { k: -1 });
  add('triu', 'triu', [r(4, 4)], ([a]) => a!.triu(1), { k: 1 });

  // linear algebra
  add('matmul 2d', 'matmul', [r(3, 4), r(4, 5)], ([a, b]) => a!.matmul(b!));
  add('matmul batched broadcast', 'matmul', [r(2, 3, 4), r(4, 5)], ([a, b]) => T.matmul(a!, b!));
  add('matmul vec', 'matmul', [r(3, 4), r(4)], ([a, b]) => a!.matmul(b!));
  add('mm', 'mm', [r(3, 4), r(4, 2)], ([a, b]) => a!.mm(b!));
  add('bmm', 'bmm', [r(2, 3, 4), r(2, 4, 2)], ([a, b]) => T.bmm(a!, b!));
  add('linear', 'linear', [r(5, 4), r(3, 4), r(3)], ([x, w, b]) => T.linear(x!, w!, b!));
  add('linear no bias', 'linear', [r(2, 5, 4), r(3, 4)], ([x, w]) => T.linear(x!, w!));
  add('outer', 'outer', [r(3), r(4)], ([a, b]) => a!.outer(b!));

  // nn ops
  add('conv2d', 'conv2d', [r(2, 3, 7, 7), r(4, 3, 3, 3), r(4)], ([x, w, b]) => T.conv2d(x!, w!, b!, { padding: 1 }), { padding: 1 });
  add('conv2d stride dilation', 'conv2d', [r(2, 3, 9, 9), r(4, 3, 3, 3)], ([x, w]) => T.conv2d(x!, w!, undefined, { stride: 2, padding: 2, dilation: 2 }), { stride: 2, padding: 2, dilation: 2 });
  add('conv2d groups', 'conv2d', [r(2, 4, 6, 6), r(6, 2, 3, 3), r(6)], ([x, w, b]) => T.conv2d(x!, w!, b!, { groups: 2 }), { groups: 2 });
  add('conv2d depthwise', 'conv2d', [r(2, 4, 6, 6), r(4, 1, 3, 3)], ([x, w]) => T.conv2d(x!, w!, undefined, { padding: 1, groups: 4 }), { padding: 1, groups: 4 });
  add('conv2d rect', 'conv2d', [r(1, 2, 6, 8), r(3, 2, 1, 3)], ([x, w]) => T.conv2d(x!, w!, undefined, { stride: [1, 2], padding: [0, 1] }), { stride: [1, 2], padding: [0, 1] });
  add('conv1d', 'conv1d', [r(2, 3, 10), r(4, 3, 3), r(4)], ([x, w, b]) => T.conv1d(x!, w!, b!, { stride: 2, padding: 1 }), { stride: 2, padding: 1 });
  add('convTranspose2d', 'convTranspose2d', [r(2, 3, 4, 4), r(3, 2, 3, 3), r(2)], ([x, w, b]) => T.convTranspose2d(x!, w!, b!, { stride: 2, padding: 1, outputPadding: 1 }), { stride: 2, padding: 1, outputPadding: 1 });
  add('maxPool2d', 'maxPool2d', [r(2, 3, 8, 8)], ([x]) => T.maxPool2d(x!, 2), { k: 2 });
  add('maxPool2d pad stride ceil', 'maxPool2d', [r(2, 3, 7, 7)], ([x]) => T.maxPool2d(x!, 3, { stride: 2, padding: 1, ceilMode: true }), { k: 3, stride: 2, padding: 1, ceilMode: true });
  add('avgPool2d', 'avgPool2d', [r(2, 3, 8, 8)], ([x]) => T.avgPool2d(x!, 2), { k: 2 });
  add('avgPool2d no pad count', 'avgPool2d', [r(2, 3, 7, 7)], ([x]) => T.avgPool2d(x!, 3, { stride: 1, padding: 1, countIncludePad: false }), { k: 3, stride: 1, padding: 1, countIncludePad: false });
  add('adaptiveAvgPool2d', 'adaptiveAvgPool2d', [r(2, 3, 7, 5)], ([x]) => T.adaptiveAvgPool2d(x!, [3, 2]), { out: [3, 2] });
  add('adaptiveAvgPool2d global', 'adaptiveAvgPool2d', [r(2, 3, 7, 5)], ([x]) => T.adaptiveAvgPool2d(x!, 1), { out: 1 });
  add('adaptiveMaxPool2d', 'adaptiveMaxPool2d', [r(2, 3, 7, 5)], ([x]) => T.adaptiveMaxPool2d(x!, 2), { out: 2 });
  for (const training of [true, false]) {
    for (const [nm, shape] of [['2d', [4, 3, 5, 5]], ['1d', [6, 3]]] as const) {
      add(`batchNorm ${nm} ${training ? 'train' : 'eval'}`, 'batchNorm', [r(...shape), r(3), r(3), rn(3), pos(3).detach()], ([x, w, b, rm, rv]) => {
        const m = rm!.clone(), v = rv!.clone();
        const y = T.batchNorm(x!, { weight: w!, bias: b!, runningMean: m, runningVar: v, training, momentum: 0.2, eps: 1e-4 });
        return [y, m, v];
      }, { training, momentum: 0.2, eps: 1e-4 });
    }
  }
  add('layerNorm', 'layerNorm', [r(2, 3, 4), r(3, 4), r(3, 4)], ([x, w, b]) => T.layerNorm(x!, [3, 4], w!, b!), { shape: [3, 4] });
  add('groupNorm', 'groupNorm', [r(2, 4, 3, 3), r(4), r(4)], ([x, w, b]) => T.groupNorm(x!, 2, w!, b!), { groups: 2 });
  add('dropout train', 'dropout', [r(8, 16)], ([x]) => T.dropout(x!, 0.3, true, new Generator(77)), { p: 0.3, training: true, seed: 77 });
  add('dropout eval', 'dropout', [r(8, 16)], ([x]) => T.dropout(x!, 0.3, false, new Generator(77)), { p: 0.3, training: false, seed: 77 });
  add('softmax', 'softmax', [r(3, 5)], ([x]) => T.softmax(x!, 1), { dim: 1 });
  add('logSoftmax', 'logSoftmax', [r(3, 5)], ([x]) => T.logSoftmax(x!, -1), { dim: -1 });
  add('crossEntropy', 'crossEntropy', [r(6, 5), int(5, 6)], ([x, y]) => T.crossEntropy(x!, y!));
  add('crossEntropy smoothing sum', 'crossEntropy', [r(6, 5), int(5, 6)], ([x, y]) => T.crossEntropy(x!, y!, { labelSmoothing: 0.1, reduction: 'sum' }), { labelSmoothing: 0.1, reduction: 'sum' });
  add('crossEntropy weight ignore', 'crossEntropy', [r(6, 5), Tensor.fromArray([0, 1, 2, 3, 4, 1], [6], 'int64'), pos(5).detach()], ([x, y, w]) => T.crossEntropy(x!, y!, { weight: w!, ignoreIndex: 1 }), { ignoreIndex: 1 });
  add('crossEntropy none 4d', 'crossEntropy', [r(2, 3, 4, 4), int(3, 2, 4, 4)], ([x, y]) => T.crossEntropy(x!, y!, { reduction: 'none' }), { reduction: 'none' });
  add('crossEntropy probs', 'crossEntropy', [r(4, 3), g.rand([4, 3]).softmax(1)], ([x, y]) => T.crossEntropy(x!, y!));
  add('nllLoss', 'nllLoss', [r(6, 5), int(5, 6)], ([x, y]) => T.nllLoss(x!.logSoftmax(1), y!), { logSoftmax: true });
  add('mseLoss', 'mseLoss', [r(3, 4), r(3, 4)], ([a, b]) => T.mseLoss(a!, b!));
  add('mseLoss none', 'mseLoss', [r(3, 4), r(3, 4)], ([a, b]) => T.mseLoss(a!, b!, 'none'), { reduction: 'none' });
  add('l1Loss', 'l1Loss', [r(3, 4), r(3, 4)], ([a, b]) => T.l1Loss(a!, b!, 'sum'), { reduction: 'sum' });
  add('smoothL1Loss', 'smoothL1Loss', [r(3, 4), r(3, 4)], ([a, b]) => T.smoothL1Loss(a!, b!, 'mean', 0.5), { beta: 0.5 });
  add('bceWithLogits', 'bceWithLogits', [r(3, 4), g.rand([3, 4])], ([a, b]) => T.binaryCrossEntropyWithLogits(a!, b!));
  add('lstmCell', 'lstmCell', [r(3, 4), r(3, 5), r(3, 5), r(20, 4), r(20, 5), r(20), r(20)], ([x, h, c, wi, wh, bi, bh]) => T.lstmCell(x!, h!, c!, wi!, wh!, bi!, bh!));
  add('gruCell', 'gruCell', [r(3, 4), r(3, 5), r(15, 4), r(15, 5), r(15), r(15)], ([x, h, wi, wh, bi, bh]) => T.gruCell(x!, h!, wi!, wh!, bi!, bh!));
  add('embedding', 'embedding', [int(6, 2, 3), r(6, 4)], ([i, w]) => T.embedding(w!, i!));
  add('pad constant', 'pad', [r(2, 3, 4)], ([x]) => T.pad(x!, [1, 2, 0, 1], 'constant', 0.5), { pads: [1, 2, 0, 1], value: 0.5 });
  add('pad reflect', 'pad', [r(1, 2, 4, 4)], ([x]) => T.pad(x!, [1, 1, 2, 0], 'reflect'), { pads: [1, 1, 2, 0], mode: 'reflect' });
  add('pad replicate', 'pad', [r(1, 2, 4, 4)], ([x]) => T.pad(x!, [1, 1, 1, 1], 'replicate'), { pads: [1, 1, 1, 1], mode: 'replicate' });
  return cases;
}

test('every tensor op matches PyTorch in values and gradients', { skip: torchAvailable() ? false : SKIP_REASON }, () => {
  const cases = buildCases();
  const jsResults = cases.map((c) =>
    tidy(() => {
      const raw = c.js(c.inputs);
      const outs = Array.isArray(raw) ? raw : [raw];
      const diff = outs.filter((o) => o.requiresGrad);
      if (diff.length) {
        let loss = diff.map((o) => o.float().mul(cot(o)).sum()).reduce((a, b) => a.add(b));
        loss.backward();
        loss = loss.detach();
      }
      return {
        outs: outs.map((o) => ({ shape: [...o.shape], dtype: o.dtype, data: o.toArray() })),
        grads: c.inputs.map((x) => x.grad?.toArray() ?? null),
      };
    }),
  );
  const expected = runTorch<{ name: string; outs: Encoded[]; grads: (number[] | null)[] }>(
    'ops',
    cases.map((c) => ({ name: c.name, op: c.op, args: c.args, inputs: c.inputs.map((t) => enc(t, t.requiresGrad)) })),
  );
  assert.equal(expected.length, cases.length);
  let gradsChecked = 0;
  const failures: string[] = [];
  const check = (fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      failures.push((e as Error).message.split('\n')[0]!);
    }
  };
  cases.forEach((c, k) => {
    const e = expected[k]!, a = jsResults[k]!;
    check(() => assert.equal(a.outs.length, e.outs.length, `${c.name}: number of outputs`));
    a.outs.forEach((o, i) => {
      const eo = e.outs[i];
      if (!eo) return;
      check(() => assert.deepEqual(o.shape, eo.shape, `${c.name}: output ${i} shape`));
      check(() => assert.equal(o.dtype, eo.dtype, `${c.name}: output ${i} dtype`));
      check(() => assertClose(o.data, eo.data, `${c.name}: output ${i}`));
    });
    c.inputs.forEach((_x, i) => {
      const eg = e.grads[i] ?? null, ag = a.grads[i] ?? null;
      if (eg === null) check(() => assert.equal(ag, null, `${c.name}: input ${i} has a gradient in tsnas only`));
      else if (ag === null) failures.push(`${c.name}: input ${i} has no gradient in tsnas`);
      else {
        check(() => assertClose(ag, eg, `${c.name}: grad of input ${i}`));
        gradsChecked++;
      }
    });
  });
  assert.deepEqual(failures, [], `${failures.length} mismatches with PyTorch`);
  assert.ok(cases.length > 150, `only ${cases.length} cases`);
  assert.ok(gradsChecked > 150, `only ${gradsChecked} gradients checked`);
  for (const c of cases) for (const x of c.inputs) x.dispose();
});

test('random draws equal torch.manual_seed(seed) draws', { skip: torchAvailable() ? false : SKIP_REASON }, () => {
  const cases: { name: string; fn: string; seed: number; args: Record<string, unknown>; js: (g: Generator) => Tensor }[] = [
    { name: 'randn', fn: 'randn', seed: 3, args: { shape: [4, 5] }, js: (g) => g.randn([4, 5]) },
    { name: 'rand', fn: 'rand', seed: 4, args: { shape: [20] }, js: (g) => g.rand([20]) },
    { name: 'randint', fn: 'randint', seed: 5, args: { low: -3, high: 9, shape: [3, 7] }, js: (g) => g.randint(-3, 9, [3, 7]) },
    { name: 'randperm', fn: 'randperm', seed: 6, args: { n: 50 }, js: (g) => g.randperm(50) },
    { name: 'bernoulli', fn: 'bernoulli', seed: 7, args: { shape: [40], p: 0.3 }, js: (g) => g.bernoulli(0.3, [40]) },
    { name: 'normal', fn: 'normal', seed: 8, args: { shape: [10], mean: 2, std: 0.5 }, js: (g) => g.normal([10], 2, 0.5) },
    { name: 'uniform', fn: 'uniform', seed: 9, args: { shape: [10], low: -2, high: 3 }, js: (g) => g.uniform([10], -2, 3) },
    { name: 'multinomial', fn: 'multinomial', seed: 10, args: { probs: [[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]], n: 2, replacement: false }, js: (g) => g.multinomial(Tensor.from([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]]), 2) },
  ];
  const expected = runTorch<{ name: string; out: Encoded }>('random', cases.map(({ js: _js, ...c }) => c));
  cases.forEach((c, k) => {
    const t = c.js(new Generator(c.seed));
    assert.deepEqual([...t.shape], expected[k]!.out.shape, c.name);
    assert.equal(t.dtype, expected[k]!.out.dtype, c.name);
    assertClose(t.toArray(), expected[k]!.out.data, c.name, 1e-6, 1e-7);
    t.dispose();
  });
});
