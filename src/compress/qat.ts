/**
 * Quantization-aware training (Jacob et al. 2018, "Quantization and Training of Neural Networks for
 * Efficient Integer-Arithmetic-Only Inference"; PyTorch's eager QAT recipe, torch.ao.quantization
 * prepare_qat/convert): the float network is fine-tuned with fake quantization inserted where
 * the int8 network (quantize.ts) rounds, so training adapts the weights to int8, then it is
 * converted to exactly the int8 network the static path builds (fuse -> QuantizedNet 'static'),
 * with the activation parameters the QAT observers learned instead of a calibration pass.
 *
 * Where it rounds (the static int8 executor's quantization points, derived from fuse()):
 *  - every conv/linear weight, after the batch-norm fold the converter applies: symmetric qint8,
 *    scale max|w_c| / 127.5 per output channel (default) or max|w| / 127.5 per tensor
 *    (`weightScheme`). A conv/linear whose batch norm fuse() folds is trained as PyTorch's
 *    ConvBn QAT modules do (torch.ao.nn.intrinsic.qat, `_forward_approximate`; Krishnamoorthi
 *    2018, section 3.2): f = g / sqrt(running_var + eps), y = conv(x, fq(w * f)) / f (+ b), then
 *    the batch norm itself (batch statistics while it trains, running statistics once frozen) -
 *    so the weight rounded is the folded weight the int8 network uses;
 *  - the activations the int8 network re-quantizes: the outputs of fused conv(+BN)(+ReLU),
 *    linear, add and cat, the input, and every float-fallback value an int8 op consumes;
 *    quint8 per tensor, affine, range from a moving-average min/max observer (PyTorch's
 *    MovingAverageMinMaxObserver, averaging constant 0.01; the first batch sets the range).
 *    Pass-through int8 ops (ReLU, pools, flatten, slicing) keep their input's parameters, as the
 *    int8 kernels do, so they get no fake quantization of their own.
 * Gradients go through the rounding by the straight-through estimator of libtorch's
 * fake_quantize ops (src/tensor/quantized.ts).
 * Freezing, as PyTorch's QAT recipe (freeze_bn_stats, disable_observer after some epochs):
 * `freezeBn()` puts the batch norms in inference mode (running statistics used and no longer
 * updated: training then sees exactly the folded network it will be converted to);
 * `freezeObservers()` stops the activation ranges from moving, so the last epochs train against
 * the quantization grid the int8 network gets.
 */
import { NasError } from '../core/errors.js';
import { Module } from '../nn/module.js';
import { Tensor, conv2d, linear, noGrad, tidy, where } from '../tensor/index.js';
import { fakeQuantPerChannel, fakeQuantPerTensor, type QParams } from '../tensor/quantized.js';
import type { Graph } from './graph.js';
import { GraphNet, runFloatNode } from './graphnet.js';
import { bnFolds, disposeFused, fuse, fusedInputs, isInt8, qparamsFor, type FusedNet, type WeightScheme } from './quantize.js';

/** Fused values (indices into the fused network's values) that the static int8 network re-quantizes. */
export function requantizedValues(f: FusedNet): Set<number> {
  const out = new Set<number>();
  const consumedByInt8 = new Set<number>();
  f.nodes.forEach((n) => {
    if (isInt8(n)) for (const k of fusedInputs(n)) consumedByInt8.add(k);
  });
  if (consumedByInt8.has(0)) out.add(0);
  f.nodes.forEach((n, i) => {
    const v = i + 1;
    if (n.kind === 'qconv' || n.kind === 'qlinear' || n.kind === 'qadd' || n.kind === 'cat' || (n.kind === 'act' && n.fn !== 'relu')) out.add(v);
    else if (!isInt8(n) && consumedByInt8.has(v)) out.add(v);
  });
  return out;
}

/**
 * Symmetric int8 fake quantization of a weight [out, ...], per output channel (default) or per
 * tensor, with quantizeWeight()'s scales (from the current weight, no gradient through them).
 */
export function fakeQuantWeight(w: Tensor, scheme: WeightScheme = 'per_channel'): Tensor {
  if (scheme === 'per_tensor') {
    const m = noGrad(() => w.detach().abs().max().item() as number);
    return fakeQuantPerTensor(w, { scale: Math.max(m / 127.5, 1.1920929e-7), zeroPoint: 0 }, -128, 127);
  }
  const scales = tidy(() => noGrad(() => w.detach().abs().flatten(1).max(1).div(127.5).clamp(1.1920929e-7, undefined).keep()));
  const zps = Tensor.zeros([w.shape[0]!], 'int32');
  return fakeQuantPerChannel(w, scales, zps, 0, -128, 127);
}

/**
 * The epochs (1-based) from which QAT freezes the batch-norm statistics and the observers: the
 * second half of the run by default (PyTorch's recipe freezes both part-way, BN statistics first;
 * with 1 epoch nothing is frozen). `Infinity` = never.
 */
export function qatFreezeEpochs(epochs: number, o: { readonly freezeBn?: number; readonly freezeObservers?: number } = {}): { bn: number; observers: number } {
  const half = epochs >= 2 ? Math.floor(epochs / 2) + 1 : Infinity;
  return { bn: o.freezeBn ?? half, observers: o.freezeObservers ?? half };
}

/** The `beforeEpoch` hook of finetune() that applies the freezing schedule to `q`. */
export function qatSchedule(q: QatNet, at: { bn: number; observers: number }): (epoch: number) => void {
  return (e) => {
    if (e >= at.bn && !q.frozen.bn) q.freezeBn();
    if (e >= at.observers && !q.frozen.observers) q.freezeObservers();
  };
}

export interface QatOptions {
  /** The observers' moving-average constant (default 0.01, PyTorch's MovingAverageMinMaxObserver). */
  readonly averaging?: number;
  /** Weight scales of the int8 network to train for (default per_channel). */
  readonly weightScheme?: WeightScheme;
}

/**
 * A GraphNet with fake quantization at the static int8 network's rounding points (see the file
 * comment). Trains like any module (its child `net` holds the weights); `observers` hold the
 * activation ranges, updated in training mode. `toInt8Params` gives the fused network's QParams.
 */
export class QatNet extends Module {
  readonly net: GraphNet;
  /** Graph value -> [min, max] observed (moving average). */
  readonly ranges = new Map<number, [number, number]>();
  readonly averaging: number;
  readonly weightScheme: WeightScheme;
  private readonly observed: Set<number>;
  /** conv/linear node -> the batch norm node folded into it (fuse()'s folds). */
  private readonly folds: Map<number, number>;
  private readonly foldedBn = new Set<number>();
  private forceObserve = false;
  private bnFrozen = false;
  private observersFrozen = false;

  constructor(readonly graph: Graph, weights: ReadonlyMap<string, Tensor>, seed = 0, o: QatOptions = {}) {
    super();
    this.averaging = o.averaging ?? 0.01;
    this.weightScheme = o.weightScheme ?? 'per_channel';
    this.net = this.child('net', new GraphNet(graph, weights, seed));
    this.folds = bnFolds(graph);
    for (const j of this.folds.values()) this.foldedBn.add(j);
    const f = fuse(graph, weights);
    try {
      this.observed = new Set([...requantizedValues(f)].map((j) => f.values[j]!));
    } finally {
      disposeFused(f);
    }
  }

  /** Batch norms in inference mode from now on (running statistics fixed), also through train(). */
  freezeBn(): void {
    this.bnFrozen = true;
    this.train(this.training);
  }

  /** Activation ranges fixed from now on (the observers stop updating). */
  freezeObservers(): void {
    this.observersFrozen = true;
  }

  get frozen(): { bn: boolean; observers: boolean } {
    return { bn: this.bnFrozen, observers: this.observersFrozen };
  }

  override train(on = true): this {
    super.train(on);
    if (this.bnFrozen) for (const [i, l] of this.net.layers) if (this.graph.nodes[i]!.kind === 'bn') l.train(false);
    return this;
  }

  private act(v: number, y: Tensor): Tensor {
    if (!this.observed.has(v)) return y;
    let r = this.ranges.get(v);
    if ((this.training && !this.observersFrozen) || this.forceObserve || !r) {
      const [lo, hi] = noGrad(() => [y.min().item() as number, y.max().item() as number]);
      if (!r) r = [lo, hi];
      else r = [r[0] + this.averaging * (lo - r[0]), r[1] + this.averaging * (hi - r[1])];
      this.ranges.set(v, r);
    }
    return fakeQuantPerTensor(y, qparamsFor(r[0], r[1]), 0, 255);
  }

  forward(x: Tensor): Tensor {
    const sd = this.net.stateDict();
    const v: Tensor[] = [this.act(0, x)];
    const s = this.weightScheme;
    this.graph.nodes.forEach((n, i) => {
      let y: Tensor;
      if (n.kind === 'conv' || n.kind === 'linear') {
        const w = sd.get(`n${i}.weight`)!;
        const b = sd.get(`n${i}.bias`);
        const op = (inp: Tensor, wq: Tensor, bias: Tensor | undefined) =>
          n.kind === 'conv' ? conv2d(inp, wq, bias, { stride: n.stride, padding: n.padding, dilation: n.dilation, groups: n.groups }) : linear(inp, wq, bias);
        const j = this.folds.get(i);
        if (j === undefined) y = op(v[n.input]!, fakeQuantWeight(w, s), b);
        else {
          // The folded weight is fake-quantized; dividing by f gives the unfolded conv output, which the batch norm then normalises.
          const bn = this.graph.nodes[j] as { eps: number };
          const f = sd.get(`n${j}.weight`)!.div(sd.get(`n${j}.running_var`)!.detach().add(bn.eps).sqrt());
          const shape = [-1, ...new Array<number>(w.ndim - 1).fill(1)];
          const out = [1, -1, ...new Array<number>(w.ndim - 2).fill(1)];
          // A zero gamma makes that channel's folded weight 0: divide it by 1 instead of 0 (the batch norm then gives beta).
          const conv = op(v[n.input]!, fakeQuantWeight(w.mul(f.reshape(shape)), s), undefined).div(where(f.eq(0), 1, f).reshape(out));
          y = this.net.layers.get(j)!.forward(b ? conv.add(b.reshape(out)) : conv);
        }
      } else if (n.kind === 'bn' && this.foldedBn.has(i)) y = v[n.input]!; // applied with its conv/linear above
      else y = runFloatNode(n, i, v, (k) => this.net.layers.get(k)!);
      v.push(this.act(i + 1, y));
    });
    return v[this.graph.output]!;
  }

  /** Runs `inputs` through in inference mode (batch norms unchanged), updating the observers (the first batch sets a range). */
  observe(inputs: readonly Tensor[]): void {
    const was = this.training;
    this.eval(); // batch norms keep their running statistics
    this.forceObserve = true;
    try {
      for (const x of inputs) tidy(() => noGrad(() => void this.forward(x)));
    } finally {
      this.forceObserve = false;
      this.train(was);
    }
  }

  /** The activation QParams of the fused network `f` (fuse() of this graph), from the observers. */
  toInt8Params(f: FusedNet): QParams[] {
    if (f.values.length !== f.nodes.length + 1) throw new NasError('internal', 'toInt8Params: the fused network has no value map');
    return f.values.map((gv) => {
      const r = this.ranges.get(gv);
      return r ? qparamsFor(r[0], r[1]) : qparamsFor(0, 0);
    });
  }
}
