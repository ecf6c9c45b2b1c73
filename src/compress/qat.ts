/**
 * Quantization-aware training (Jacob et al. 2018, "Quantization and Training of Neural Networks for
 * Efficient Integer-Arithmetic-Only Inference"; PyTorch's eager QAT recipe, torch.ao.quantization
 * prepare_qat/convert): the float network is fine-tuned with fake quantization inserted where
 * the int8 network (quantize.ts) rounds, so training adapts the weights to int8, then it is
 * converted to exactly the int8 network the static path builds (fuse -> QuantizedNet 'static'),
 * with the activation parameters the QAT observers learned instead of a calibration pass.
 *
 * Where it rounds (the static int8 executor's quantization points, derived from fuse()):
 *  - every conv/linear weight: per output channel, symmetric qint8, scale max|w_c| / 127.5, on
 *    the weight as trained (before the batch-norm fold). Symmetric per-channel quantization is
 *    invariant to the fold's per-channel factor g/sqrt(v+eps): q(w*f) = f*q(w), so the folded
 *    weight the converter quantizes lies on the same grid;
 *  - the activations the int8 network re-quantizes: the outputs of fused conv(+BN)(+ReLU),
 *    linear, add and cat, the input, and every float-fallback value an int8 op consumes;
 *    quint8 per tensor, affine, range from a moving-average min/max observer (PyTorch's
 *    MovingAverageMinMaxObserver, averaging constant 0.01; the first batch sets the range).
 *    Pass-through int8 ops (ReLU, pools, flatten, slicing) keep their input's parameters, as the
 *    int8 kernels do, so they get no fake quantization of their own.
 * Gradients go through the rounding by the straight-through estimator of libtorch's
 * fake_quantize ops (src/tensor/quantized.ts). Batch norms train as usual (batch statistics).
 */
import { NasError } from '../core/errors.js';
import { Module } from '../nn/module.js';
import { Tensor, conv2d, linear, noGrad, tidy } from '../tensor/index.js';
import { fakeQuantPerChannel, fakeQuantPerTensor, type QParams } from '../tensor/quantized.js';
import type { Graph } from './graph.js';
import { GraphNet, runFloatNode } from './graphnet.js';
import { disposeFused, fuse, fusedInputs, isInt8, qparamsFor, type FusedNet } from './quantize.js';

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
    if (n.kind === 'qconv' || n.kind === 'qlinear' || n.kind === 'qadd' || n.kind === 'cat') out.add(v);
    else if (!isInt8(n) && consumedByInt8.has(v)) out.add(v);
  });
  return out;
}

/** Per-channel symmetric int8 fake quantization of a weight [out, ...] (scales from the current weight, no gradient through them). */
export function fakeQuantWeight(w: Tensor): Tensor {
  const scales = tidy(() => noGrad(() => w.detach().abs().flatten(1).max(1).div(127.5).clamp(1.1920929e-7, undefined).keep()));
  const zps = Tensor.zeros([w.shape[0]!], 'int32');
  return fakeQuantPerChannel(w, scales, zps, 0, -128, 127);
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
  private readonly observed: Set<number>;
  private forceObserve = false;

  /** @param averaging the observers' moving-average constant (default 0.01, PyTorch's) */
  constructor(readonly graph: Graph, weights: ReadonlyMap<string, Tensor>, seed = 0, readonly averaging = 0.01) {
    super();
    this.net = this.child('net', new GraphNet(graph, weights, seed));
    const f = fuse(graph, weights);
    try {
      this.observed = new Set([...requantizedValues(f)].map((j) => f.values[j]!));
    } finally {
      disposeFused(f);
    }
  }

  private act(v: number, y: Tensor): Tensor {
    if (!this.observed.has(v)) return y;
    let r = this.ranges.get(v);
    if (this.training || this.forceObserve || !r) {
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
    this.graph.nodes.forEach((n, i) => {
      let y: Tensor;
      if (n.kind === 'conv') y = conv2d(v[n.input]!, fakeQuantWeight(sd.get(`n${i}.weight`)!), sd.get(`n${i}.bias`), { stride: n.stride, padding: n.padding, dilation: n.dilation, groups: n.groups });
      else if (n.kind === 'linear') y = linear(v[n.input]!, fakeQuantWeight(sd.get(`n${i}.weight`)!), sd.get(`n${i}.bias`));
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
