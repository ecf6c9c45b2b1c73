/**
 * Standard layers with PyTorch's parameter names, shapes, defaults and default initialisation.
 * Layers with random init or randomness take an explicit Generator (there is no global RNG).
 */
import { NasError } from '../core/errors.js';
import {
  Tensor,
  adaptiveAvgPool2d,
  adaptiveMaxPool2d,
  avgPool2d,
  batchNorm,
  conv2d,
  dropout,
  embedding,
  layerNorm,
  linear,
  lstmCell,
  maxPool2d,
  tidy,
  type Generator,
} from '../tensor/index.js';
import { normal_, torchDefaultInit_, uniform_ } from './init.js';
import { Module, type Layer } from './module.js';

type Pair = number | readonly [number, number];

function posInt(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 1) throw new NasError('invalid_config', `expected a positive integer, got ${v}`, { field });
  return v;
}

export interface LinearOptions {
  gen: Generator;
  bias?: boolean;
}
/** y = x W^T + b; weight [out, in], bias [out]. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;
  constructor(readonly inFeatures: number, readonly outFeatures: number, o: LinearOptions) {
    super();
    posInt(inFeatures, 'inFeatures');
    posInt(outFeatures, 'outFeatures');
    this.weight = this.param('weight', Tensor.zeros([outFeatures, inFeatures]));
    this.bias = o.bias ?? true ? this.param('bias', Tensor.zeros([outFeatures])) : undefined;
    torchDefaultInit_(this.weight, this.bias, o.gen);
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export interface Conv2dOptions {
  gen: Generator;
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}
/** weight [out, in/groups, kh, kw]. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;
  /** @internal the convolution hyperparameters (read by the native engine, src/nn/native-exec.ts). */
  readonly opts: { readonly stride: Pair; readonly padding: Pair; readonly dilation: Pair; readonly groups: number };
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, o: Conv2dOptions) {
    super();
    const groups = o.groups ?? 1;
    posInt(groups, 'groups');
    if (inChannels % groups || outChannels % groups)
      throw new NasError('invalid_config', `channels ${inChannels}->${outChannels} are not divisible by groups=${groups}`, { field: 'groups' });
    const [kh, kw] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    this.weight = this.param('weight', Tensor.zeros([outChannels, inChannels / groups, kh, kw]));
    this.bias = o.bias ?? true ? this.param('bias', Tensor.zeros([outChannels])) : undefined;
    this.opts = { stride: o.stride ?? 1, padding: o.padding ?? 0, dilation: o.dilation ?? 1, groups };
    torchDefaultInit_(this.weight, this.bias, o.gen);
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.opts);
  }
}

export interface BatchNormOptions {
  eps?: number;
  /** Running-average factor (PyTorch default 0.1). */
  momentum?: number;
  /** Learnable weight and bias (default true). */
  affine?: boolean;
  /** Keep running mean/var for eval (default true). */
  trackRunningStats?: boolean;
}
class BatchNormBase extends Module {
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;
  readonly runningMean: Tensor | undefined;
  readonly runningVar: Tensor | undefined;
  readonly numBatchesTracked: Tensor | undefined;
  readonly eps: number;
  readonly momentum: number;
  /** @param dims the input ranks accepted (read by the native engine too). */
  constructor(readonly numFeatures: number, o: BatchNormOptions, readonly dims: readonly number[]) {
    super();
    posInt(numFeatures, 'numFeatures');
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum ?? 0.1;
    if (o.affine ?? true) {
      this.weight = this.param('weight', Tensor.ones([numFeatures]));
      this.bias = this.param('bias', Tensor.zeros([numFeatures]));
    }
    if (o.trackRunningStats ?? true) {
      this.runningMean = this.buffer('running_mean', Tensor.zeros([numFeatures]));
      this.runningVar = this.buffer('running_var', Tensor.ones([numFeatures]));
      this.numBatchesTracked = this.buffer('num_batches_tracked', Tensor.zeros([], 'int64'));
    }
  }
  forward(x: Tensor): Tensor {
    if (!this.dims.includes(x.ndim))
      throw new NasError('shape_mismatch', `${this.constructor.name} expects ${this.dims.join(' or ')}-D input, got [${x.shape.join(',')}]`, { details: { shape: [...x.shape] } });
    const useBatch = this.training || !this.runningMean;
    if (useBatch) {
      // As PyTorch: one value per channel has no variance (the running variance would become NaN).
      let perChannel = x.shape[0] as number;
      for (let d = 2; d < x.ndim; d++) perChannel *= x.shape[d] as number;
      if (perChannel <= 1)
        throw new NasError('shape_mismatch', `${this.constructor.name} expects more than 1 value per channel when training, got input [${x.shape.join(',')}]`, {
          hint: 'use a training batch size of at least 2 (the trainer drops a last batch of one sample)',
          details: { shape: [...x.shape] },
        });
    }
    if (this.training && this.numBatchesTracked) this.numBatchesTracked.add_(1);
    return batchNorm(x, {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      training: useBatch,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}
/** Batch norm over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, o: BatchNormOptions = {}) {
    super(numFeatures, o, [2, 3]);
  }
}
/** Batch norm over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, o: BatchNormOptions = {}) {
    super(numFeatures, o, [4]);
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;
  readonly normalizedShape: readonly number[];
  constructor(normalizedShape: number | readonly number[], readonly o: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (o.elementwiseAffine ?? true) {
      this.weight = this.param('weight', Tensor.ones(this.normalizedShape));
      this.bias = this.param('bias', Tensor.zeros(this.normalizedShape));
    }
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.o.eps ?? 1e-5);
  }
}

/** Inverted dropout, active in training mode; masks come from `gen`. */
export class Dropout extends Module {
  constructor(readonly p: number, /** @internal */ readonly gen: Generator) {
    super();
    if (!(p >= 0 && p < 1)) throw new NasError('invalid_config', `dropout probability ${p} is not in [0, 1)`, { field: 'p' });
  }
  forward(x: Tensor): Tensor {
    return this.training && this.p > 0 ? dropout(x, this.p, true, this.gen) : x;
  }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly o: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean } = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.o);
  }
}
export class AvgPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly o: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.o);
  }
}
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}
export class AdaptiveMaxPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveMaxPool2d(x, this.outputSize);
  }
}

/** Returns its input unchanged (the same tensor object). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}
export class ReLU6 extends Module {
  forward(x: Tensor): Tensor {
    return x.relu6();
  }
}
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
}
export class GELU extends Module {
  forward(x: Tensor): Tensor {
    return x.gelu();
  }
}
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}
export class Hardswish extends Module {
  forward(x: Tensor): Tensor {
    return x.hardswish();
  }
}
export class Softmax extends Module {
  constructor(readonly dim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.softmax(this.dim);
  }
}
export class LogSoftmax extends Module {
  constructor(readonly dim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }
}

/** Runs its children in order; children are named "0", "1", ... as in PyTorch. */
export class Sequential extends Module {
  private readonly layers: Layer[];
  constructor(...layers: Layer[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.child(String(i), l));
  }
  get length(): number {
    return this.layers.length;
  }
  at(i: number): Layer {
    const l = this.layers[i];
    if (!l) throw new NasError('internal', `Sequential has no layer ${i}`);
    return l;
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const l of this.layers) y = forwardStage(() => l.forward(y), y, x);
    return y;
  }
}

/**
 * One stage of a multi-stage forward pass (a Sequential's layer, a network's cell or block):
 * `run()` in its own tidy scope, then `prev` (the stage's input) disposed when it is an
 * intermediate of the caller's pass: not the pass's own `input`, not the stage's result, not
 * kept. What the stage made and did not return is freed when it ends, and each intermediate as
 * soon as the next stage consumed it, so a pass holds about one stage's tensors at a time instead
 * of every tensor of the whole network until an enclosing tidy ends (an op-by-op NB201 network's
 * no-grad evaluation at batch 334 on 28x28 held 2.4 GB that way, about 30x the native engine's).
 * Autograd keeps what backward needs (the native tensors it saved are reference-counted), so
 * values and gradients are unchanged. A caller that needs a tensor made inside a stage after the
 * stage ends (a forward hook collecting activations) must keep() it and dispose it itself.
 */
export function forwardStage(run: () => Tensor, prev: Tensor, input: Tensor): Tensor {
  const y = tidy(run);
  if (prev !== input && prev !== y && !prev._kept && !prev.isDisposed) prev.dispose();
  return y;
}

/** A list of modules registered as "0", "1", ...; forward is not defined (index it). */
export class ModuleList<M extends Module<any, any> = Layer> extends Module<[], never> {
  private readonly items: M[] = [];
  constructor(items: readonly M[] = []) {
    super();
    for (const m of items) this.push(m);
  }
  push(m: M): this {
    this.child(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new NasError('internal', `ModuleList has no item ${i}`);
    return m;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
  forward(): never {
    throw new NasError('internal', 'ModuleList has no forward(); call its items');
  }
}

export type LstmState = [h: Tensor, c: Tensor];

/**
 * One LSTM step, as torch.nn.LSTMCell: weight_ih [4H, in], weight_hh [4H, H], bias_ih, bias_hh [4H]
 * (gates i, f, g, o), all initialised uniform(+-1/sqrt(H)). forward(x [N,in], state?) -> [h, c].
 */
export class LSTMCell extends Module<[Tensor, LstmState?], LstmState> {
  readonly weightIh: Tensor;
  readonly weightHh: Tensor;
  readonly biasIh: Tensor | undefined;
  readonly biasHh: Tensor | undefined;
  constructor(readonly inputSize: number, readonly hiddenSize: number, o: { gen: Generator; bias?: boolean }) {
    super();
    posInt(inputSize, 'inputSize');
    posInt(hiddenSize, 'hiddenSize');
    this.weightIh = this.param('weight_ih', Tensor.zeros([4 * hiddenSize, inputSize]));
    this.weightHh = this.param('weight_hh', Tensor.zeros([4 * hiddenSize, hiddenSize]));
    if (o.bias ?? true) {
      this.biasIh = this.param('bias_ih', Tensor.zeros([4 * hiddenSize]));
      this.biasHh = this.param('bias_hh', Tensor.zeros([4 * hiddenSize]));
    }
    const k = 1 / Math.sqrt(hiddenSize);
    for (const p of this.parameters()) uniform_(p, o.gen, -k, k);
  }
  /** Zero state [h, c] for a batch. */
  initialState(batch: number): LstmState {
    return [Tensor.zeros([batch, this.hiddenSize]), Tensor.zeros([batch, this.hiddenSize])];
  }
  forward(x: Tensor, state?: LstmState): LstmState {
    const [h, c] = state ?? this.initialState(x.shape[0] ?? 1);
    return lstmCell(x, h, c, this.weightIh, this.weightHh, this.biasIh, this.biasHh);
  }
}

/** Lookup table weight [num, dim], initialised N(0, 1) like torch.nn.Embedding. */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, o: { gen: Generator }) {
    super();
    this.weight = this.param('weight', Tensor.zeros([numEmbeddings, embeddingDim]));
    normal_(this.weight, o.gen);
  }
  forward(indices: Tensor): Tensor {
    return embedding(this.weight, indices);
  }
}
