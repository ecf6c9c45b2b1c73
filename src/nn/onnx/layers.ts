/**
 * ONNX exporters for the layers of src/nn/layers.ts (opset 13). Ops without an opset-13
 * operator are composed from ones that exist: GELU = x * 0.5 * (1 + Erf(x / sqrt 2)) (exact
 * GELU, as at::gelu), SiLU = x * Sigmoid(x), Hardswish = x * HardSigmoid(x; 1/6, 1/2),
 * ReLU6 = Clip(x, 0, 6).
 */
import { NasError } from '../../core/errors.js';
import {
  AdaptiveAvgPool2d,
  AdaptiveMaxPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  GELU,
  Hardswish,
  Identity,
  LeakyReLU,
  Linear,
  LogSoftmax,
  MaxPool2d,
  ReLU,
  ReLU6,
  Sequential,
  Sigmoid,
  SiLU,
  Softmax,
  Tanh,
} from '../layers.js';
import { exporter, type ExporterEntry, type OnnxContext, type OnnxValue } from './types.js';
import { attr, type AttrValue } from './proto.js';

type Pair = number | readonly [number, number];
const pair = (p: Pair): [number, number] => (typeof p === 'number' ? [p, p] : [p[0], p[1]]);
/** ONNX pads are [top, left, bottom, right] (begin values of every spatial axis, then end values). */
const pads = (p: Pair): number[] => {
  const [h, w] = pair(p);
  return [h, w, h, w];
};

/**
 * Conv2d keeps stride/padding/dilation/groups in a private field; the exporter reads it here, and
 * fails loudly (rather than exporting wrong defaults) if that field ever changes shape.
 */
function convOptions(m: Conv2d): { stride: Pair; padding: Pair; dilation: Pair; groups: number } {
  const o = (m as unknown as { opts?: { stride: Pair; padding: Pair; dilation: Pair; groups: number } }).opts;
  if (!o || o.groups === undefined || o.stride === undefined) throw new NasError('internal', 'Conv2d no longer has the `opts` field the ONNX exporter reads');
  return o;
}

function spatial(x: OnnxValue, ctx: OnnxContext, what: string): void {
  if (x.rank !== 4) throw new NasError('shape_mismatch', `${what} exports for 4-D [N, C, H, W] inputs, got rank ${x.rank}`, { field: ctx.path.replace(/\.$/, '') });
}

function unary(op: string, attributes?: Record<string, AttrValue>) {
  return (_m: unknown, [x]: readonly OnnxValue[], ctx: OnnxContext): OnnxValue => ctx.node(op, [x!], x!.rank, attributes);
}

const passThrough = (_m: unknown, [x]: readonly OnnxValue[]): OnnxValue => x!;

function batchNorm(m: BatchNorm1d | BatchNorm2d, [x]: readonly OnnxValue[], ctx: OnnxContext): OnnxValue {
  if (!m.runningMean || !m.runningVar)
    throw new NasError('invalid_config', `${ctx.path.replace(/\.$/, '')}: a BatchNorm without running statistics normalises by batch statistics even in eval mode; ONNX export needs running statistics`, {
      field: ctx.path.replace(/\.$/, ''),
      hint: 'build the layer with trackRunningStats: true',
    });
  const n = m.numFeatures;
  const scale = m.weight ? ctx.weight('weight', m.weight) : ctx.constant('ones', new Array<number>(n).fill(1), [n]);
  const bias = m.bias ? ctx.weight('bias', m.bias) : ctx.constant('zeros', new Array<number>(n).fill(0), [n]);
  const mean = ctx.weight('running_mean', m.runningMean);
  const variance = ctx.weight('running_var', m.runningVar);
  return ctx.node('BatchNormalization', [x!, scale, bias, mean, variance], x!.rank, { epsilon: attr.float(m.eps) });
}

function maxPool(m: MaxPool2d, [x]: readonly OnnxValue[], ctx: OnnxContext): OnnxValue {
  spatial(x!, ctx, 'MaxPool2d');
  const k = pair(m.kernelSize);
  return ctx.node('MaxPool', [x!], 4, {
    kernel_shape: attr.ints(k),
    strides: attr.ints(pair(m.o.stride ?? m.kernelSize)),
    pads: attr.ints(pads(m.o.padding ?? 0)),
    dilations: attr.ints(pair(m.o.dilation ?? 1)),
    ceil_mode: attr.int(m.o.ceilMode ? 1 : 0),
  });
}

function avgPool(m: AvgPool2d, [x]: readonly OnnxValue[], ctx: OnnxContext): OnnxValue {
  spatial(x!, ctx, 'AvgPool2d');
  return ctx.node('AveragePool', [x!], 4, {
    kernel_shape: attr.ints(pair(m.kernelSize)),
    strides: attr.ints(pair(m.o.stride ?? m.kernelSize)),
    pads: attr.ints(pads(m.o.padding ?? 0)),
    ceil_mode: attr.int(m.o.ceilMode ? 1 : 0),
    // PyTorch's default is count_include_pad=True, ONNX's is 0: always written explicitly.
    count_include_pad: attr.int(m.o.countIncludePad ?? true ? 1 : 0),
  });
}

function globalPool(op: 'GlobalAveragePool' | 'GlobalMaxPool') {
  return (m: AdaptiveAvgPool2d | AdaptiveMaxPool2d, [x]: readonly OnnxValue[], ctx: OnnxContext): OnnxValue => {
    spatial(x!, ctx, m.constructor.name);
    const [h, w] = pair(m.outputSize);
    if (h !== 1 || w !== 1)
      throw new NasError('invalid_config', `${m.constructor.name}(${h}x${w}) has no fixed-window ONNX equivalent; only output size 1 exports`, {
        field: ctx.path.replace(/\.$/, ''),
        hint: 'use output size 1 (global pooling)',
      });
    return ctx.node(op, [x!], 4);
  };
}

function flatten(m: Flatten, [x]: readonly OnnxValue[], ctx: OnnxContext): OnnxValue {
  const r = x!.rank;
  const start = m.startDim < 0 ? m.startDim + r : m.startDim;
  const end = m.endDim < 0 ? m.endDim + r : m.endDim;
  if (end !== r - 1 || start < 0 || start > end)
    throw new NasError('invalid_config', `Flatten(${m.startDim}, ${m.endDim}) on rank ${r}: only flattening through the last dimension exports`, { field: ctx.path.replace(/\.$/, '') });
  if (start === end) return x!;
  if (start === 1) return ctx.node('Flatten', [x!], 2, { axis: attr.int(1) });
  // Reshape: 0 keeps the dimension at that index, -1 takes the rest.
  const shape = [...new Array<number>(start).fill(0), -1];
  return ctx.node('Reshape', [x!, ctx.constant('flatten_shape', shape, [shape.length], 'int64')], start + 1);
}

function linear(m: Linear, [x]: readonly OnnxValue[], ctx: OnnxContext): OnnxValue {
  const w = ctx.weight('weight', m.weight);
  const b = m.bias ? ctx.weight('bias', m.bias) : undefined;
  if (x!.rank === 2) return ctx.node('Gemm', b ? [x!, w, b] : [x!, w], 2, { transB: attr.int(1) });
  // Other ranks: x @ W^T (+ b); the transpose is a node, so the initializer stays the state-dict tensor.
  const y = ctx.node('MatMul', [x!, ctx.node('Transpose', [w], 2, { perm: attr.ints([1, 0]) })], x!.rank);
  return b ? ctx.node('Add', [y, b], x!.rank) : y;
}

function gelu(_m: GELU, [x]: readonly OnnxValue[], ctx: OnnxContext): OnnxValue {
  const r = x!.rank;
  const erf = ctx.node('Erf', [ctx.node('Mul', [x!, ctx.constant('inv_sqrt2', [Math.SQRT1_2], [])], r)], r);
  const half = ctx.node('Mul', [x!, ctx.constant('half', [0.5], [])], r);
  return ctx.node('Mul', [half, ctx.node('Add', [erf, ctx.constant('one', [1], [])], r)], r);
}

function sequential(m: Sequential, [x]: readonly OnnxValue[], ctx: OnnxContext): OnnxValue {
  let y = x!;
  for (let i = 0; i < m.length; i++) y = ctx.call(m.at(i), y);
  return y;
}

export const LAYER_EXPORTERS: readonly ExporterEntry[] = [
  exporter(Conv2d, (m, [x], ctx) => {
    spatial(x!, ctx, 'Conv2d');
    const o = convOptions(m);
    const w = ctx.weight('weight', m.weight);
    const [, , kh, kw] = m.weight.shape as [number, number, number, number];
    return ctx.node('Conv', m.bias ? [x!, w, ctx.weight('bias', m.bias)] : [x!, w], 4, {
      kernel_shape: attr.ints([kh, kw]),
      strides: attr.ints(pair(o.stride)),
      pads: attr.ints(pads(o.padding)),
      dilations: attr.ints(pair(o.dilation)),
      group: attr.int(o.groups),
    });
  }),
  exporter(BatchNorm1d, batchNorm),
  exporter(BatchNorm2d, batchNorm),
  exporter(Linear, linear),
  exporter(MaxPool2d, maxPool),
  exporter(AvgPool2d, avgPool),
  exporter(AdaptiveAvgPool2d, globalPool('GlobalAveragePool')),
  exporter(AdaptiveMaxPool2d, globalPool('GlobalMaxPool')),
  exporter(Flatten, flatten),
  exporter(Sequential, sequential),
  // Inference graph: dropout is the identity.
  exporter(Dropout, passThrough),
  exporter(Identity, passThrough),
  exporter(ReLU, unary('Relu')),
  exporter(Sigmoid, unary('Sigmoid')),
  exporter(Tanh, unary('Tanh')),
  exporter(LeakyReLU, (m, xs, ctx) => unary('LeakyRelu', { alpha: attr.float(m.negativeSlope) })(m, xs, ctx)),
  exporter(ReLU6, (_m, [x], ctx) => ctx.node('Clip', [x!, ctx.constant('zero', [0], []), ctx.constant('six', [6], [])], x!.rank)),
  exporter(GELU, gelu),
  exporter(SiLU, (_m, [x], ctx) => ctx.node('Mul', [x!, ctx.node('Sigmoid', [x!], x!.rank)], x!.rank)),
  exporter(Hardswish, (_m, [x], ctx) => ctx.node('Mul', [x!, ctx.node('HardSigmoid', [x!], x!.rank, { alpha: attr.float(1 / 6), beta: attr.float(0.5) })], x!.rank)),
  exporter(Softmax, (m, xs, ctx) => unary('Softmax', { axis: attr.int(m.dim) })(m, xs, ctx)),
  exporter(LogSoftmax, (m, xs, ctx) => unary('LogSoftmax', { axis: attr.int(m.dim) })(m, xs, ctx)),
];
