/**
 * Functional ops over Tensors (PyTorch's torch.* / torch.nn.functional equivalents). All of them
 * record autograd, raise NasError on bad shapes, and return new tensors owned by the current tidy scope.
 */
import { NasError } from '../core/errors.js';
import { native, type Handle } from './native.js';
import { Tensor, type Operand, type Shape } from './tensor.js';
import type { Generator } from './generator.js';

type Pair = number | readonly [number, number];
function pair(v: Pair, field: string): number[] {
  const r = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  for (const x of r) if (!Number.isInteger(x) || x < 0) throw new NasError('invalid_config', `expected a non-negative integer or a pair, got ${JSON.stringify(v)}`, { field });
  return r;
}

export type Reduction = 'mean' | 'sum' | 'none';
function red(r: Reduction | undefined): number {
  switch (r ?? 'mean') {
    case 'none': return 0;
    case 'mean': return 1;
    case 'sum': return 2;
  }
  throw new NasError('invalid_config', `unknown reduction ${JSON.stringify(r)}`, { field: 'reduction', hint: 'use mean, sum or none' });
}

const opt = (t: Tensor | undefined | null): Handle | undefined => (t ? t.h : undefined);

export function cat(ts: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(native.cat(ts.map((t) => t.h), dim));
}
export function stack(ts: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(native.stack(ts.map((t) => t.h), dim));
}
/** cond ? a : b elementwise (broadcasting; a and b may be numbers). */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  return new Tensor(native.where(cond.h, typeof a === 'number' ? a : a.h, typeof b === 'number' ? b : b.h, typeof a !== 'number', typeof b !== 'number'));
}
export function matmul(a: Tensor, b: Tensor): Tensor {
  return a.matmul(b);
}
export function bmm(a: Tensor, b: Tensor): Tensor {
  return a.bmm(b);
}
/** x W^T + b, W of shape [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return new Tensor(native.linear(x.h, weight.h, opt(bias)));
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  /** groups = in channels = out channels for depthwise convolution. */
  groups?: number;
}
/** x [N,Cin,H,W], weight [Cout, Cin/groups, kh, kw]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, o: Conv2dOptions = {}): Tensor {
  return new Tensor(
    native.conv2d(x.h, weight.h, opt(bias), pair(o.stride ?? 1, 'stride'), pair(o.padding ?? 0, 'padding'), pair(o.dilation ?? 1, 'dilation'), o.groups ?? 1),
  );
}
/** x [N,Cin,L], weight [Cout, Cin/groups, k]. */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor, o: { stride?: number; padding?: number; dilation?: number; groups?: number } = {}): Tensor {
  return new Tensor(native.conv1d(x.h, weight.h, opt(bias), [o.stride ?? 1], [o.padding ?? 0], [o.dilation ?? 1], o.groups ?? 1));
}
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor,
  o: Conv2dOptions & { outputPadding?: Pair } = {},
): Tensor {
  return new Tensor(
    native.convTranspose2d(x.h, weight.h, opt(bias), pair(o.stride ?? 1, 'stride'), pair(o.padding ?? 0, 'padding'), pair(o.outputPadding ?? 0, 'outputPadding'), o.groups ?? 1, pair(o.dilation ?? 1, 'dilation')),
  );
}

export interface Pool2dOptions {
  /** Defaults to the kernel size. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}
export function maxPool2d(x: Tensor, kernel: Pair, o: Pool2dOptions & { dilation?: Pair } = {}): Tensor {
  const k = pair(kernel, 'kernel');
  return new Tensor(native.maxPool2d(x.h, k, o.stride === undefined ? k : pair(o.stride, 'stride'), pair(o.padding ?? 0, 'padding'), pair(o.dilation ?? 1, 'dilation'), o.ceilMode ?? false));
}
/** countIncludePad defaults to true as in PyTorch. */
export function avgPool2d(x: Tensor, kernel: Pair, o: Pool2dOptions & { countIncludePad?: boolean } = {}): Tensor {
  const k = pair(kernel, 'kernel');
  return new Tensor(native.avgPool2d(x.h, k, o.stride === undefined ? k : pair(o.stride, 'stride'), pair(o.padding ?? 0, 'padding'), o.ceilMode ?? false, o.countIncludePad ?? true));
}
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  return new Tensor(native.adaptiveAvgPool2d(x.h, pair(outputSize, 'outputSize')));
}
export function adaptiveMaxPool2d(x: Tensor, outputSize: Pair): Tensor {
  return new Tensor(native.adaptiveMaxPool2d(x.h, pair(outputSize, 'outputSize')));
}

export interface BatchNormOptions {
  weight?: Tensor;
  bias?: Tensor;
  runningMean?: Tensor;
  runningVar?: Tensor;
  /** Batch statistics (and running-stat update, in place) when true; running stats when false. */
  training: boolean;
  momentum?: number;
  eps?: number;
}
/** Batch norm over dim 1 of [N,C], [N,C,L] or [N,C,H,W]. */
export function batchNorm(x: Tensor, o: BatchNormOptions): Tensor {
  return new Tensor(native.batchNorm(x.h, opt(o.weight), opt(o.bias), opt(o.runningMean), opt(o.runningVar), o.training, o.momentum ?? 0.1, o.eps ?? 1e-5));
}
export function layerNorm(x: Tensor, normalizedShape: Shape, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  return new Tensor(native.layerNorm(x.h, normalizedShape, opt(weight), opt(bias), eps));
}
export function groupNorm(x: Tensor, groups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  return new Tensor(native.groupNorm(x.h, groups, opt(weight), opt(bias), eps));
}
/** Inverted dropout; the mask comes from `gen` (identical to torch's for the same seed). */
export function dropout(x: Tensor, p: number, training: boolean, gen: Generator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new NasError('invalid_config', `dropout probability ${p} is not in [0, 1]`, { field: 'p' });
  return new Tensor(native.dropout(gen.handle, x.h, p, training));
}
export function softmax(x: Tensor, dim: number): Tensor {
  return x.softmax(dim);
}
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return x.logSoftmax(dim);
}
export function relu(x: Tensor): Tensor {
  return x.relu();
}

export interface CrossEntropyOptions {
  reduction?: Reduction;
  labelSmoothing?: number;
  /** Per-class weights [C]. */
  weight?: Tensor;
  ignoreIndex?: number;
}
/** logits [N,C(,...)] and int64 class targets [N(,...)] (or class probabilities of the logits' shape). */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  return new Tensor(native.crossEntropy(logits.h, target.h, red(o.reduction), o.labelSmoothing ?? 0, opt(o.weight), o.ignoreIndex ?? -100));
}
export function nllLoss(logProbs: Tensor, target: Tensor, o: { reduction?: Reduction; weight?: Tensor; ignoreIndex?: number } = {}): Tensor {
  return new Tensor(native.nllLoss(logProbs.h, target.h, red(o.reduction), opt(o.weight), o.ignoreIndex ?? -100));
}
export function mseLoss(input: Tensor, target: Tensor, reduction?: Reduction): Tensor {
  return new Tensor(native.mseLoss(input.h, target.h, red(reduction)));
}
export function l1Loss(input: Tensor, target: Tensor, reduction?: Reduction): Tensor {
  return new Tensor(native.l1Loss(input.h, target.h, red(reduction)));
}
export function smoothL1Loss(input: Tensor, target: Tensor, reduction?: Reduction, beta = 1): Tensor {
  return new Tensor(native.smoothL1Loss(input.h, target.h, red(reduction), beta));
}
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, reduction?: Reduction, posWeight?: Tensor): Tensor {
  return new Tensor(native.bceWithLogits(logits.h, target.h, red(reduction), opt(posWeight)));
}
/** One LSTM step: returns [h', c']. Weights as in torch.nn.LSTMCell ([4H, in], [4H, H], gates i,f,g,o). */
export function lstmCell(x: Tensor, h: Tensor, c: Tensor, wIh: Tensor, wHh: Tensor, bIh?: Tensor, bHh?: Tensor): [Tensor, Tensor] {
  const [h2, c2] = native.lstmCell(x.h, h.h, c.h, wIh.h, wHh.h, opt(bIh), opt(bHh));
  return [new Tensor(h2), new Tensor(c2)];
}
export function gruCell(x: Tensor, h: Tensor, wIh: Tensor, wHh: Tensor, bIh?: Tensor, bHh?: Tensor): Tensor {
  return new Tensor(native.gruCell(x.h, h.h, wIh.h, wHh.h, opt(bIh), opt(bHh)));
}
/** Rows of weight [V, D] picked by int64 indices. */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return new Tensor(native.embedding(weight.h, indices.h));
}
/** pads = [left, right, top, bottom, ...] from the last dim backwards, as torch.nn.functional.pad. */
export function pad(x: Tensor, pads: readonly number[], mode: 'constant' | 'reflect' | 'replicate' | 'circular' = 'constant', value = 0): Tensor {
  const m = ['constant', 'reflect', 'replicate', 'circular'].indexOf(mode);
  return new Tensor(native.pad(x.h, pads, m, value));
}
export function oneHot(indices: Tensor, numClasses: number): Tensor {
  return new Tensor(native.oneHot(indices.h, numClasses));
}
