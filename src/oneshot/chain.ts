/**
 * The chain-CNN supernet: `layers` layers of the `chain_cnn` space's block (conv -> BN -> ReLU ->
 * [max-pool 2]), each with two searchable choices recorded as two alpha rows:
 *   - `layers[i].kernel` (3, 5, 7): parallel candidates, one conv per kernel size (mixed: the
 *     weighted sum of their outputs);
 *   - `layers[i].channels` (32, 64, 128): weight slicing, as in slimmable / once-for-all
 *     supernets (Yu et al. 2019; Cai et al. 2020): every conv has the largest width, and a
 *     channel mask m[ch] = sum_c w_c * [ch < c] keeps the first c channels (mixed: the expected
 *     mask; path: exactly the first c).
 * With a path, the zeroed channels contribute nothing downstream, so the supernet computes what
 * the stand-alone `ChainCnnNet` of the derived architecture computes with the sliced weights
 * (conv without bias before BN, BN per channel, ReLU, pool, global pool, linear). Fixed parts of
 * the derived architecture: ReLU, batch norm, no skip, dropout 0, a 2x2 max pool after the first
 * two layers (28x28 -> 7x7 on Fashion-MNIST).
 */
import type { ChainCnnArch, ChainLayer } from '../core/arch.js';
import { NasError } from '../core/errors.js';
import { analyzeArch, type InputSpec } from '../nn/build/analyze.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ModuleList, Sequential, forwardStage } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { Tensor, stack, tidy, type Generator } from '../tensor/index.js';
import { argmaxRows, type EdgeInfo, type ForwardMode, type ModeRef, type Supernet } from './supernet.js';

export const CHAIN_KERNELS = [3, 5, 7] as const;
export const CHAIN_CHANNELS = [32, 64, 128] as const;

export function chainEdges(layers: number): EdgeInfo[] {
  return Array.from({ length: layers }, (_, i) => [
    { name: `layers[${i}].kernel`, cell: `layers[${i}]`, from: -1, to: -1, ops: CHAIN_KERNELS.map(String) },
    { name: `layers[${i}].channels`, cell: `layers[${i}]`, from: -1, to: -1, ops: CHAIN_CHANNELS.map(String) },
  ]).flat();
}

const CMAX = CHAIN_CHANNELS[CHAIN_CHANNELS.length - 1]!;

class ChainSuperLayer extends Module {
  readonly convs: ModuleList<Conv2d>;
  readonly bn: BatchNorm2d;
  readonly pool: MaxPool2d | undefined;
  constructor(cin: number, private readonly index: number, pool: boolean, gen: Generator, private readonly ref: ModeRef) {
    super();
    this.convs = this.child('convs', new ModuleList(CHAIN_KERNELS.map((k) => new Conv2d(cin, CMAX, k, { gen, padding: k >> 1, bias: false }))));
    this.bn = this.child('bn', new BatchNorm2d(CMAX));
    this.pool = pool ? this.child('pool', new MaxPool2d(2)) : undefined;
  }

  /** [1, CMAX, 1, 1] 0/1 mask of the first c channels. */
  private static step(c: number): Tensor {
    return Tensor.fromArray(Float32Array.from({ length: CMAX }, (_, ch) => (ch < c ? 1 : 0)), [1, CMAX, 1, 1]);
  }

  forward(x: Tensor): Tensor {
    const m = this.ref.mode;
    if (!m) throw new NasError('internal', 'supernet forward before setMode()');
    const ek = 2 * this.index;
    const ec = ek + 1;
    let y: Tensor;
    let mask: Tensor;
    switch (m.kind) {
      case 'path':
        y = this.convs.at(m.index[ek]!).forward(x);
        mask = ChainSuperLayer.step(CHAIN_CHANNELS[m.index[ec]!]!);
        break;
      case 'hard': {
        const k = m.index[ek]!;
        const wk = m.weights[ek]!;
        y = this.convs.at(k).forward(x).mul(wk.select(0, k)).add(wk.sum().sub(wk.select(0, k)));
        mask = this.expectedMask(m.weights[ec]!);
        break;
      }
      case 'mixed': {
        const wk = m.weights[ek]!;
        // own scope: the three candidates' intermediates are freed once summed (see MixedEdge.forward)
        y = tidy(() => CHAIN_KERNELS.map((_, k) => this.convs.at(k).forward(x).mul(wk.select(0, k))).reduce((a, b) => a.add(b)));
        mask = this.expectedMask(m.weights[ec]!);
        break;
      }
    }
    const z = this.bn.forward(y).relu().mul(mask);
    return this.pool ? this.pool.forward(z) : z;
  }

  /** sum_c w_c * step_c; one-hot (straight-through) weights give an exact step mask. */
  private expectedMask(w: Tensor): Tensor {
    const steps = stack(CHAIN_CHANNELS.map((c) => ChainSuperLayer.step(c).reshape([CMAX])), 0); // [3, CMAX]
    return w.reshape([1, CHAIN_CHANNELS.length]).matmul(steps).reshape([1, CMAX, 1, 1]);
  }
}

class ChainSuperNetModule extends Module {
  readonly layers: ModuleList<ChainSuperLayer>;
  readonly head: Sequential;
  constructor(inChannels: number, numClasses: number, layers: number, gen: Generator, ref: ModeRef) {
    super();
    this.layers = this.child('layers', new ModuleList(Array.from({ length: layers }, (_, i) => new ChainSuperLayer(i === 0 ? inChannels : CMAX, i, i < 2, gen, ref))));
    this.head = this.child('head', new Sequential(new AdaptiveAvgPool2d(1), new Flatten(), new Linear(CMAX, numClasses, { gen })));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const l of this.layers) y = forwardStage(() => l.forward(y), y, x);
    return forwardStage(() => this.head.forward(y), y, x);
  }
}

export interface ChainSupernetOptions {
  /** Number of layers (default 3). */
  readonly layers?: number;
}

/** The derived chain architecture of a path (kernel index, channel index per layer). */
export function chainPathArch(index: readonly number[]): ChainCnnArch {
  if (index.length % 2 !== 0) throw new NasError('invalid_arch', `a chain path has 2 choices per layer, got ${index.length}`, { field: 'index' });
  const layers: ChainLayer[] = [];
  for (let i = 0; i < index.length / 2; i++)
    layers.push({ kernel: CHAIN_KERNELS[index[2 * i]!]!, channels: CHAIN_CHANNELS[index[2 * i + 1]!]!, activation: 'relu', batchNorm: true, pool: i < 2 ? 2 : 1, skip: false });
  return { family: 'chain_cnn', layers, dropout: 0 };
}

/** Builds the chain-CNN supernet; alpha starts at 1e-3 * N(0,1). */
export function chainSupernet(input: InputSpec, gen: Generator, o: ChainSupernetOptions = {}): Supernet<ChainCnnArch> {
  const n = o.layers ?? 3;
  if (!(Number.isInteger(n) && n >= 1 && n <= 12)) throw new NasError('invalid_config', `a chain supernet has 1-12 layers, got ${n}`, { field: 'strategy.options.layers' });
  // The stand-alone network's shape rules (pooling must leave at least 1x1) apply to the supernet.
  analyzeArch(chainPathArch(Array.from({ length: 2 * n }, () => 2)), input);
  const ref: ModeRef = { mode: undefined };
  const module = new ChainSuperNetModule(input.shape[0]!, input.numClasses, n, gen, ref);
  const edges = chainEdges(n);
  const alpha = edges.map((e) => tidy(() => gen.randn([e.ops.length]).mul(1e-3)).keep().requiresGrad_(true));
  return {
    module,
    edges,
    alpha,
    setMode(mode: ForwardMode) {
      ref.mode = mode;
    },
    derive: (prefs) => chainPathArch(argmaxRows(prefs)),
    pathArch: chainPathArch,
    archOps: (a) => a.layers.map((l) => `conv_${l.kernel}x${l.kernel}`),
    dispose() {
      module.dispose();
      for (const a of alpha) a.dispose();
    },
  };
}
